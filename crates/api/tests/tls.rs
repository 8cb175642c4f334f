//! HTTPS with rustls (feature `tls`): the server presents the configured certificate and
//! answers over TLS; a client that does not trust it is refused by the handshake.
#![cfg(feature = "tls")]

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn client(trust: bool) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if trust {
        for cert in CertificateDer::pem_file_iter(fixture("test-cert.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_configured_certificate() {
    let store = mdms::SqliteStore::open_in_memory().unwrap();
    let state = api::ApiBuilder::new(Box::new(store), api::ApiDb::open_in_memory().unwrap()).build().unwrap();
    let config = api::server::tls::server_config(&fixture("test-cert.pem"), &fixture("test-key.pem")).unwrap();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::server::tls::serve_tls(
        "127.0.0.1:0".parse().unwrap(),
        config,
        state,
        async move {
            let _ = stop_rx.await;
        },
        bound_tx,
    ));
    let addr = bound_rx.await.unwrap();

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = client(true).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    tls.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");

    // A client without the certificate in its roots fails the handshake.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(client(false).connect(ServerName::try_from("localhost").unwrap(), tcp).await.is_err());

    // A key file that is not PEM is refused with its path, not its content.
    let err = api::server::tls::server_config(&fixture("test-cert.pem"), &fixture("README.md")).unwrap_err();
    assert!(err.to_string().contains("README.md"), "{err}");

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
