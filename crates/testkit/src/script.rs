//! A client script in another language (an official SDK's client, run by Python or Node) as
//! a child process that says what it sees as JSON lines on stdout.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;

/// How long a script may stay silent before the test fails.
const SILENCE: Duration = Duration::from_secs(90);

pub struct ScriptClient {
    child: Child,
    lines: Option<Receiver<Value>>,
    /// Files the script reads (its request), kept as long as it runs.
    _dir: Option<tempfile::TempDir>,
}

impl ScriptClient {
    /// Starts `command` with its stdout read line by line (lines that are not JSON are
    /// skipped); `dir` lives as long as the script.
    pub fn spawn(mut command: Command, dir: Option<tempfile::TempDir>) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("the client script starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        ScriptClient {
            child,
            lines: Some(rx),
            _dir: dir,
        }
    }

    /// The script's next JSON line, read off the async runtime.
    pub async fn next(&mut self) -> Value {
        let rx = self.lines.take().expect("lines");
        let (line, rx) = tokio::task::spawn_blocking(move || (rx.recv_timeout(SILENCE), rx))
            .await
            .expect("the reader runs");
        self.lines = Some(rx);
        line.expect("the client script said nothing more")
    }

    /// Waits for the script to exit; true if it succeeded.
    pub async fn finished(mut self) -> bool {
        tokio::task::spawn_blocking(move || self.child.wait().expect("the script ran").success())
            .await
            .expect("the waiter runs")
    }
}
