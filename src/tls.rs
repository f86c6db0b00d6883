//! HTTPS on the API port with rustls (no OpenSSL): the certificate chain and
//! key are read and checked at start-up, and ALPN offers `h2` then
//! `http/1.1`, so browsers get gRPC-Web over either and grpcurl gets gRPC.

use std::{path::Path, sync::Arc};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::ConfigError;

/// Builds the rustls configuration from PEM files, or says what is wrong.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ConfigError> {
    let err = |what: String| ConfigError::Tls(what);
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err(format!("cannot read certificate {}: {e}", cert.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("bad certificate PEM in {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(err(format!("no certificate found in {}", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        err(format!(
            "cannot read a private key from {}: {e}",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| err(format!("certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
