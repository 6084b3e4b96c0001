//! A small native client built on `umbra-protocol`: test accounts, signed request
//! parameters, and direct or onion-routed storage RPC. Used by the tests, the benchmark
//! and anyone driving a testnet from Rust.

use ed25519_dalek::{Signer, SigningKey};
use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::{Value, json};
use umbra_protocol::onion::{Destination, EncType, OnionError, PathHop, build_request, decrypt_snode_response};
use umbra_protocol::rpc::{
    Namespace, NamespaceSel,
    params::{AccountId, Data, EdPubkey, Signature64, StoreParams},
    sign,
};

use crate::directory::NodeInfo;

/// A Session account for tests: an Ed25519 key and its `05` id.
pub struct Account {
    sk: SigningKey,
    /// The `05…` account id.
    pub id: AccountId,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("id", &self.id.to_hex()).finish_non_exhaustive()
    }
}

impl Account {
    /// Account from a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let sk = SigningKey::from_bytes(seed);
        let id = AccountId { prefix: 0x05, key: sk.verifying_key().to_montgomery().to_bytes() };
        Self { sk, id }
    }

    /// A random account.
    pub fn random() -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        // The OS RNG failing is not recoverable for a test client.
        getrandom::fill(seed.as_mut()).expect("OS random number generator");
        Self::from_seed(&seed)
    }

    /// The Ed25519 public key.
    pub fn ed25519(&self) -> EdPubkey {
        EdPubkey(self.sk.verifying_key().to_bytes())
    }

    /// Sign `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature64 {
        Signature64(self.sk.sign(msg).to_bytes())
    }

    /// `retrieve` params for namespace `ns` after `last_hash`, signed at `now_ms`.
    pub fn retrieve(&self, ns: Namespace, last_hash: Option<&str>, now_ms: u64) -> Value {
        let mut p = json!({
            "pubkey": self.id.to_hex(),
            "namespace": ns.0,
            "timestamp": now_ms,
            "pubkey_ed25519": self.ed25519(),
            "signature": self.sign(&sign::retrieve(ns, now_ms)),
        });
        if let Some(h) = last_hash {
            p["last_hash"] = json!(h);
        }
        p
    }

    /// Signed `store` params for this account's own private namespace `ns`.
    pub fn store_private(&self, ns: Namespace, data: &[u8], now_ms: u64, ttl_ms: u64) -> Value {
        let mut p = store_params(&self.id, ns, data, now_ms, ttl_ms);
        p["signature"] = json!(self.sign(&sign::store(ns, now_ms)));
        p["pubkey_ed25519"] = json!(self.ed25519());
        p
    }

    /// Signed `delete` params.
    pub fn delete(&self, hashes: &[String]) -> Value {
        json!({
            "pubkey": self.id.to_hex(),
            "pubkey_ed25519": self.ed25519(),
            "messages": hashes,
            "signature": self.sign(&sign::delete(hashes)),
        })
    }

    /// Signed `delete_all` params.
    pub fn delete_all(&self, ns: NamespaceSel, now_ms: u64) -> Value {
        json!({
            "pubkey": self.id.to_hex(),
            "pubkey_ed25519": self.ed25519(),
            "namespace": ns,
            "timestamp": now_ms,
            "signature": self.sign(&sign::delete_all(ns, now_ms)),
        })
    }

    /// Signed `expire` params.
    pub fn expire(&self, hashes: &[String], expiry_ms: u64, mode: sign::ExpireMode) -> Value {
        json!({
            "pubkey": self.id.to_hex(),
            "pubkey_ed25519": self.ed25519(),
            "messages": hashes,
            "expiry": expiry_ms,
            "shorten": mode == sign::ExpireMode::Shorten,
            "extend": mode == sign::ExpireMode::Extend,
            "signature": self.sign(&sign::expire(mode, expiry_ms, hashes)),
        })
    }

    /// Signed `get_expiries` params.
    pub fn get_expiries(&self, hashes: &[String], now_ms: u64) -> Value {
        json!({
            "pubkey": self.id.to_hex(),
            "pubkey_ed25519": self.ed25519(),
            "messages": hashes,
            "timestamp": now_ms,
            "signature": self.sign(&sign::get_expiries(now_ms, hashes)),
        })
    }
}

/// Unsigned `store` params (public inbox) to `to`.
pub fn store_params(to: &AccountId, ns: Namespace, data: &[u8], now_ms: u64, ttl_ms: u64) -> Value {
    let p = StoreParams {
        pubkey: *to,
        timestamp: now_ms,
        ttl: Some(ttl_ms),
        expiry: None,
        data: Data(data.to_vec()),
        namespace: ns,
        signature: None,
        pubkey_ed25519: None,
        sig_timestamp: None,
    };
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// Onion build or reply decryption failed.
    #[error("onion: {0}")]
    Onion(#[from] OnionError),
    /// A path hop answered with an error (plain text, not encrypted).
    #[error("path error {status}")]
    Path {
        /// HTTP status of the hop.
        status: u16,
        /// Its plain-text body.
        body: String,
    },
}

/// Storage RPC over HTTP, direct or through onion paths.
#[derive(Debug, Clone)]
pub struct Client {
    /// The HTTP client (trusting the testnet CA when needed).
    pub http: reqwest::Client,
}

impl Client {
    /// A client using `http`.
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// POST `{"method","params"}` to `node`'s `/storage_rpc/v1`: (status, body).
    pub async fn direct(&self, node: &NodeInfo, method: &str, params: Value) -> Result<(u16, String), ClientError> {
        let body = json!({"method": method, "params": params}).to_string();
        let r = self
            .http
            .post(format!("{}/storage_rpc/v1", node.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.text().await?))
    }

    /// Send an RPC to `dest` through `path` (guard first) with onion encryption; returns
    /// the destination's (status, body).
    pub async fn onion(
        &self,
        path: &[NodeInfo],
        dest: &NodeInfo,
        method: &str,
        params: Value,
        enc: EncType,
    ) -> Result<(u16, String), ClientError> {
        let hops: Vec<PathHop> = path.iter().map(|n| PathHop { ed25519: n.ed25519, x25519: n.x25519 }).collect();
        let payload = json!({"method": method, "params": params}).to_string().into_bytes();
        let dst = Destination::Snode { ed25519: dest.ed25519, x25519: dest.x25519, payload };
        let req = build_request(&hops, &dst, enc, &mut UnwrapErr(SysRng))?;
        let guard = path.first().ok_or(OnionError::BadArgument { what: "path length" })?;
        let r = self.http.post(format!("{}/onion_req/v2", guard.url())).body(req.body).send().await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await?;
        if status != 200 {
            return Err(ClientError::Path { status, body: String::from_utf8_lossy(&bytes).into_owned() });
        }
        let reply = decrypt_snode_response(&req.response_key, &bytes)?;
        Ok((reply.status, reply.body))
    }
}
