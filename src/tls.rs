//! HTTPS on the API port with rustls (no OpenSSL): the certificate chain and
//! key are read and checked at start-up, and ALPN offers `h2` then
//! `http/1.1`, so browsers get gRPC-Web over either and grpcurl gets gRPC.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::rustls::{self, ServerConfig};

/// Why the certificate or key cannot be served (a start-up error; the
/// configuration wraps it as `ConfigError::Tls`).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificate {}: {source}", .path.display())]
    ReadCertificate {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("bad certificate PEM in {}: {source}", .path.display())]
    CertificatePem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("no certificate found in {}", .0.display())]
    NoCertificate(PathBuf),
    #[error("cannot read a private key from {}: {source}", .path.display())]
    ReadKey {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{0}")]
    Protocols(rustls::Error),
    #[error("certificate and key do not fit together: {0}")]
    Mismatch(rustls::Error),
}

/// Builds the rustls configuration from PEM files, or says what is wrong.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|source| TlsError::ReadCertificate {
            path: cert.to_owned(),
            source,
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::CertificatePem {
            path: cert.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::ReadKey {
        path: key.to_owned(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Protocols)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Mismatch)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
