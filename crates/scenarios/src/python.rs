//! The project's Python, for interop tests against independent implementations (PyJWT,
//! `rfc8785`, `cryptography`): `COUNTERSIGN_PYTHON`, or the `.venv` that `scripts/setup.sh`
//! creates at the workspace root.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The interpreter to use, or why there is none (with how to fix it).
pub fn interpreter() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("COUNTERSIGN_PYTHON") {
        return Ok(path.into());
    }
    // Looked up from where the tests run (cargo starts them in their package's directory),
    // not from a path compiled in: a build cache shared between checkouts would otherwise
    // point at another checkout's `.venv`.
    let here = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    here.ancestors()
        .map(|dir| dir.join(".venv/bin/python"))
        .find(|venv| venv.exists())
        .ok_or_else(|| {
            format!(
                "interop tests need the project's Python packages: run scripts/setup.sh (creates \
                 .venv at the workspace root, above {}) or set COUNTERSIGN_PYTHON",
                here.display()
            )
        })
}

/// Runs `script args…` with `stdin`, and returns what it did.
pub fn run(script: &Path, args: &[&str], stdin: &[u8]) -> Result<Output, String> {
    let mut child = Command::new(interpreter()?)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start python: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .map_err(|e| format!("cannot write to python: {e}"))?;
    }
    child
        .wait_with_output()
        .map_err(|e| format!("python did not finish: {e}"))
}

/// Runs a script that reads JSON on stdin and prints JSON; a failure is its stderr.
pub fn run_json(
    script: &Path,
    args: &[&str],
    input: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let output = run(script, args, input.to_string().as_bytes())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("python did not print JSON: {e}"))
}
