//! Serving the application over TCP (HTTP/1.1), and over TLS with rustls (feature `tls`).

use std::future::Future;

use tokio::net::TcpListener;

use crate::routes::app;
use crate::state::AppState;

/// Serves `state`'s application on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
///
/// Errors: I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (router, _) = app(state);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// HTTPS with rustls (ring provider, TLS 1.2 and 1.3).
#[cfg(feature = "tls")]
pub mod tls {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use axum_server::Handle;
    use axum_server::tls_rustls::RustlsConfig;

    use crate::routes::app;
    use crate::state::AppState;

    /// Why TLS could not start.
    #[derive(Debug, thiserror::Error)]
    pub enum TlsError {
        /// The certificate chain or the private key could not be read or parsed (PEM).
        #[error("TLS certificate or key: {0}")]
        Pem(String),
        /// rustls refused the configuration.
        #[error("TLS configuration: {0}")]
        Config(#[from] rustls::Error),
        /// The server failed.
        #[error("HTTPS server: {0}")]
        Io(#[from] std::io::Error),
    }

    /// A rustls server configuration from a PEM certificate chain and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), HTTP/1.1 by ALPN.
    ///
    /// Errors: [`TlsError`].
    pub fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<rustls::ServerConfig, TlsError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert_pem)
            .map_err(|e| TlsError::Pem(format!("{}: {e}", cert_pem.display())))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(format!("{}: {e}", cert_pem.display())))?;
        if certs.is_empty() {
            return Err(TlsError::Pem(format!("{}: no certificate", cert_pem.display())));
        }
        // The key's path is named in errors; the key itself never is.
        let key =
            PrivateKeyDer::from_pem_file(key_pem).map_err(|e| TlsError::Pem(format!("{}: {e}", key_pem.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Serves `state`'s application over HTTPS on `address` until `shutdown` completes;
    /// `bound` receives the listening address once bound (port 0 picks one).
    ///
    /// Errors: [`TlsError`].
    pub async fn serve_tls(
        address: SocketAddr,
        config: rustls::ServerConfig,
        state: AppState,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        bound: tokio::sync::oneshot::Sender<SocketAddr>,
    ) -> Result<(), TlsError> {
        let (router, _) = app(state);
        let handle = Handle::new();
        let watcher = handle.clone();
        tokio::spawn(async move {
            if let Some(addr) = watcher.listening().await {
                let _ = bound.send(addr);
            }
        });
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopper.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        axum_server::bind_rustls(address, RustlsConfig::from_config(Arc::new(config)))
            .handle(handle)
            .serve(router.into_make_service())
            .await?;
        Ok(())
    }
}
