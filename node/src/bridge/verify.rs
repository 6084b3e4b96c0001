//! Certificate checks for the bridge's outgoing TLS: exact pins for seeds, and "any
//! certificate, but a real handshake signature" for service nodes.
//!
//! Seeds are pinned by their whole certificate, as Session desktop pins the seed
//! certificates' fingerprints (session-desktop `ts/session/apis/seed_node_api/
//! SeedNodeAPI.ts`) and Android trusts only `res/raw/seedN.pem`
//! (session-android `res/xml/network_security_configuration.xml`). Nodes serve self-signed
//! certificates that no client can verify (oxenss `server/https.cpp`: the onion layer,
//! encrypted to the node's X25519 key, is what protects a request), so any certificate is
//! accepted there. Either way the handshake signature is still checked against the
//! presented key.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::NodeError;

/// Which end-entity certificates are accepted.
#[derive(Debug)]
pub struct Verifier {
    /// Exact DER certificates accepted; `None` accepts any certificate.
    pins: Option<Vec<Vec<u8>>>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    /// Accept exactly the certificates in `pem` (one or more PEM blocks).
    pub fn pinned(pem: &str) -> Result<Self, NodeError> {
        let pins = parse_pem_certs(pem)?;
        Ok(Self {
            pins: Some(pins),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// Accept any certificate (service nodes' self-signed ones).
    pub fn any() -> Self {
        Self {
            pins: None,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }

    /// A rustls client config using this verifier.
    pub fn client_config(self) -> Result<rustls::ClientConfig, NodeError> {
        let provider = self.provider.clone();
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| NodeError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(self))
            .with_no_client_auth();
        Ok(cfg)
    }
}

/// The DER bytes of every certificate in `pem`; an error when there is none.
pub fn parse_pem_certs(pem: &str) -> Result<Vec<Vec<u8>>, NodeError> {
    let mut out = Vec::new();
    for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let c = c.map_err(|e| NodeError::Tls(e.to_string()))?;
        out.push(c.as_ref().to_vec());
    }
    if out.is_empty() {
        return Err(NodeError::Tls("no certificate in PEM".into()));
    }
    Ok(out)
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.pins {
            None => Ok(ServerCertVerified::assertion()),
            Some(pins) if pins.iter().any(|p| p.as_slice() == end_entity.as_ref()) => {
                Ok(ServerCertVerified::assertion())
            }
            Some(_) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
