//! TLS: a local CA made with rcgen for the testnet, server configs, and HTTP clients that
//! trust the CA.

use axum_server::tls_rustls::RustlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, GeneralSubtree, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, NameConstraints,
};

use crate::NodeError;

/// Install the ring crypto provider for rustls (once per process; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A local certificate authority.
pub struct LocalCa {
    /// The CA certificate (PEM); trust this in clients and browsers.
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").finish_non_exhaustive()
    }
}

fn tls_err(e: rcgen::Error) -> NodeError {
    NodeError::Tls(e.to_string())
}

/// The names a testnet CA may certify: `localhost`, `127.0.0.1`, `::1`, and `extra` (IP
/// literals as single addresses, anything else as a DNS name).
fn permitted(extra: &[String]) -> Vec<GeneralSubtree> {
    let mut out = vec![
        GeneralSubtree::DnsName("localhost".into()),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 1], 32)),
        GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
            std::net::Ipv6Addr::LOCALHOST.into(),
            128,
        )),
    ];
    for e in extra {
        out.push(match e.parse::<std::net::IpAddr>() {
            Ok(ip) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                ip,
                if ip.is_ipv4() { 32 } else { 128 },
            )),
            Err(_) => GeneralSubtree::DnsName(e.clone()),
        });
    }
    out
}

impl LocalCa {
    /// Generate a new CA, name-constrained to `localhost`, `127.0.0.1` and `::1`: a browser
    /// or client that trusts it for the testnet trusts nothing else it could sign.
    pub fn generate() -> Result<Self, NodeError> {
        Self::generate_for(&[])
    }

    /// As [`LocalCa::generate`], also permitting `extra` names (the testnet's `--bind`
    /// address when it is not loopback).
    pub fn generate_for(extra: &[String]) -> Result<Self, NodeError> {
        let key = KeyPair::generate().map_err(tls_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted(extra),
            excluded_subtrees: Vec::new(),
        });
        params
            .distinguished_name
            .push(DnType::CommonName, "Umbra local testnet CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(tls_err)?;
        Ok(Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A leaf certificate for `localhost` and `127.0.0.1` (plus `extra` names): returns
    /// (certificate chain PEM, private key PEM).
    pub fn leaf(&self, extra: &[String]) -> Result<(String, String), NodeError> {
        let key = KeyPair::generate().map_err(tls_err)?;
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        names.extend(extra.iter().cloned());
        names.dedup();
        let mut params = CertificateParams::new(names).map_err(tls_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "Umbra testnet node");
        let cert = params.signed_by(&key, &self.issuer).map_err(tls_err)?;
        Ok((
            format!("{}{}", cert.pem(), self.ca_pem),
            key.serialize_pem(),
        ))
    }

    /// A rustls server config with a fresh leaf.
    pub async fn server_config(&self, extra: &[String]) -> Result<RustlsConfig, NodeError> {
        let (cert, key) = self.leaf(extra)?;
        RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes())
            .await
            .map_err(NodeError::io)
    }
}

/// A self-signed certificate as a Session storage server makes one (oxenss
/// `server_certificates.cpp`: `CN=localhost`, its own key, no CA), here with the SANs
/// `localhost` and `127.0.0.1` and rcgen's ECDSA P-256 key (oxenss `server/https.cpp`:
/// "ECDHE-ECDSA with our P-256 certificate"). Returns (certificate PEM, private key PEM).
pub fn self_signed_localhost() -> Result<(String, String), NodeError> {
    let key = KeyPair::generate().map_err(tls_err)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(tls_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.self_signed(&key).map_err(tls_err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// An HTTP client that accepts any server certificate (still checking the handshake
/// signature) and never uses a proxy or follows a redirect: how Session clients and nodes
/// talk to nodes' self-signed HTTPS (the faithful testnet's nodes and seed).
pub fn http_client_any_cert() -> Result<reqwest::Client, NodeError> {
    let tls = crate::bridge::verify::Verifier::any().client_config()?;
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| NodeError::Tls(e.to_string()))
}

/// An HTTP client that trusts `ca_pem` (if given) and never uses a proxy.
pub fn http_client(ca_pem: Option<&str>) -> Result<reqwest::Client, NodeError> {
    let mut b = reqwest::Client::builder().no_proxy().use_rustls_tls();
    if let Some(pem) = ca_pem {
        let cert = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| NodeError::Tls(e.to_string()))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| NodeError::Tls(e.to_string()))
}
