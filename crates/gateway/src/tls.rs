//! TLS served by the gateway itself, with rustls and its `ring` provider: a certificate chain
//! and its private key (PEM files), loaded and checked once at start-up, and a listener that
//! hands `axum::serve` connections whose handshake is done. The connections are then served,
//! drained and stopped by the same loop as plain HTTP ones, so graceful shutdown is the same.
//!
//! Plain HTTP stays the default, for loopback and behind a proxy that terminates TLS.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject as _};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// The certificate chain and private key the gateway serves HTTPS with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFiles {
    /// The certificate chain (PEM), the gateway's own certificate first.
    pub cert: PathBuf,
    /// That certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// TLS from a certificate and a key, both or neither: one without the other is a
    /// configuration error, never plain HTTP by surprise.
    pub fn pair(cert: Option<PathBuf>, key: Option<PathBuf>) -> anyhow::Result<Option<Self>> {
        match (cert, key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
            (Some(cert), None) => anyhow::bail!(
                "a TLS certificate ({}) is set without its key: set tls_key (--tls-key, \
                 COUNTERSIGN_TLS_KEY) too, or neither for plain HTTP",
                cert.display()
            ),
            (None, Some(key)) => anyhow::bail!(
                "a TLS key ({}) is set without its certificate: set tls_cert (--tls-cert, \
                 COUNTERSIGN_TLS_CERT) too, or neither for plain HTTP",
                key.display()
            ),
        }
    }
}

/// Reads and checks the certificate chain and key: a file that cannot be read, holds no
/// certificate or key, or a key that is not the certificate's, is an error naming the file.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(&read(&files.cert, "certificate")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("TLS certificate {}: {e}", files.cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "TLS certificate {}: no PEM CERTIFICATE in it",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key, "key")?).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow::anyhow!(
            "TLS key {}: no PEM private key in it (PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        ),
        e => anyhow::anyhow!("TLS key {}: {e}", files.key.display()),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => anyhow::anyhow!(
                "TLS key {} is not the key of the certificate {}",
                files.key.display(),
                files.cert.display()
            ),
            e => anyhow::anyhow!(
                "TLS key {} cannot serve the certificate {}: {e}",
                files.key.display(),
                files.cert.display()
            ),
        })?;
    // axum serves HTTP/1.1 (its `http2` feature is off): say so, rather than let a client
    // assume h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read TLS {what} {}", path.display()))
}

/// How long a client has to finish its handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes under way at once; beyond that, new connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

/// A TCP listener whose connections come out with their TLS handshake done. Handshakes run in
/// their own tasks, so a slow or silent client holds up nobody else's; they all end when the
/// listener is dropped, which `axum::serve` does as soon as it stops accepting.
pub(crate) struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, addr: SocketAddr, config: Arc<ServerConfig>) -> Self {
        let (done, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept(listener, TlsAcceptor::from(config), done));
        TlsListener {
            addr,
            ready,
            accepting,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended, which only aborting it (dropping `self`) does: no
            // connection comes any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Accepts connections and runs their handshakes, passing on those that complete.
async fn accept(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    done: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    // Dropped with this task: a handshake under way when the gateway stops is dropped too.
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if handshakes.len() < MAX_HANDSHAKES => {
                let (tcp, peer) = match accepted {
                    Ok(connection) => connection,
                    Err(e) => {
                        accept_error(e).await;
                        continue;
                    }
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                handshakes.spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            // Refused only once the server stopped accepting.
                            let _ = done.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
        }
    }
}

/// As axum's own listener does: a connection that failed before it was accepted is nobody's
/// concern; anything else (out of file descriptors) is logged and waited out.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
