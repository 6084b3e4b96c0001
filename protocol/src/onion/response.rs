//! Client-side decryption of onion request replies (docs/protocol.md §3.4).
//!
//! * Service-node destination: the HTTP body is `base64(Enc({"status":…,"body":…}))`,
//!   optionally wrapped as `{"result":"<base64>"}`; `status_code` is an alias of `status`.
//! * HTTP-server destination (v4): the HTTP body is the raw ciphertext of a bencoded
//!   `l<meta-json><body>e` (see [`super::v4`]).
//!
//! Like libsession, a reply that fails to decrypt with the request's enc_type is retried with
//! the other one. Path errors (non-200 statuses with plain-text bodies) are not encrypted and
//! are the caller's to interpret before calling these functions.

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD},
};
use serde_json::Value;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{EncType, OnionError, hop::HopSecret, v4::V4Response};

/// Secret needed to decrypt the reply of one onion request: the destination layer's shared
/// secret. Zeroized on drop; never printed, cloned or serialized.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ResponseKey {
    secret: HopSecret,
    #[zeroize(skip)]
    enc: EncType,
}

impl core::fmt::Debug for ResponseKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ResponseKey(<redacted>)")
    }
}

impl ResponseKey {
    pub(crate) fn new(secret: HopSecret, enc: EncType) -> Self {
        ResponseKey { secret, enc }
    }

    /// The enc_type the request was built with.
    pub fn enc_type(&self) -> EncType {
        self.enc
    }

    /// Decrypts `data` with the request's enc_type, then with the other one.
    fn decrypt_any(&self, data: &[u8]) -> Result<Vec<u8>, OnionError> {
        self.secret
            .key(self.enc)
            .decrypt(data)
            .or_else(|_| self.secret.key(self.enc.other()).decrypt(data))
    }
}

/// The decrypted reply of a service-node destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnodeReply {
    /// HTTP-like status of the storage RPC (e.g. 200, 421, 406).
    pub status: u16,
    /// The RPC response body: usually JSON serialized as a string, or a plain-text error.
    pub body: String,
}

fn b64_decode(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()
}

/// Largest HTTP reply body accepted (a 10 MiB file-server download plus base64 and framing
/// overhead fits comfortably).
pub const MAX_RESPONSE_SIZE: usize = 32 * 1024 * 1024;

/// Decrypts a reply body: first as a `{"result": "<base64>"}` wrapper, then as base64, then as
/// raw ciphertext, each with both enc_types.
fn decrypt_candidates(key: &ResponseKey, http_body: &[u8]) -> Result<Vec<u8>, OnionError> {
    if http_body.len() > MAX_RESPONSE_SIZE {
        return Err(OnionError::InvalidResponse {
            what: "reply too large",
        });
    }
    let trimmed = http_body.trim_ascii();
    if trimmed.first() == Some(&b'{')
        && let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(trimmed)
        && let Some(Value::String(result)) = map.get("result")
        && let Some(ct) = b64_decode(result.trim().as_bytes())
        && let Ok(pt) = key.decrypt_any(&ct)
    {
        return Ok(pt);
    }
    if let Some(ct) = b64_decode(trimmed)
        && let Ok(pt) = key.decrypt_any(&ct)
    {
        return Ok(pt);
    }
    key.decrypt_any(http_body)
}

/// Decrypts the HTTP body returned for a request built to a [`super::Destination::Snode`].
///
/// Accepts a base64 body, a `{"result":"<base64>"}` wrapper and a raw ciphertext (requests
/// sent with `"base64": false`); the plaintext must be a JSON object with `status` (or
/// `status_code`) and an optional `body` (a string, or any JSON value, which is re-serialized).
pub fn decrypt_snode_response(
    key: &ResponseKey,
    http_body: &[u8],
) -> Result<SnodeReply, OnionError> {
    let plaintext = decrypt_candidates(key, http_body)?;
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&plaintext) else {
        return Err(OnionError::InvalidResponse {
            what: "reply is not a JSON object",
        });
    };
    let status = map
        .get("status")
        .or_else(|| map.get("status_code"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or(OnionError::InvalidResponse { what: "status" })?;
    let body = match map.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    Ok(SnodeReply { status, body })
}

/// Decrypts the HTTP body returned for a request built to a [`super::Destination::Server`]
/// (v4): raw ciphertext (base64 is also accepted) of `l<meta-json><body>e`.
pub fn decrypt_v4_response(key: &ResponseKey, http_body: &[u8]) -> Result<V4Response, OnionError> {
    let plaintext = decrypt_candidates(key, http_body)?;
    V4Response::decode(&plaintext)
}

#[cfg(test)]
mod tests {
    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
    use x25519_dalek::{PublicKey, StaticSecret};

    use super::*;

    /// A response key for a fixed destination, and the destination-side hop secret.
    fn keys(enc: EncType) -> (ResponseKey, HopSecret) {
        let eph = StaticSecret::from([0x31; 32]);
        let dest = StaticSecret::from([0x32; 32]);
        let dest_pub = PublicKey::from(&dest).to_bytes();
        let eph_pub = PublicKey::from(&eph).to_bytes();
        let client = HopSecret::client(&eph, &dest_pub).unwrap();
        let server = HopSecret::server(&dest, &dest_pub, &eph_pub).unwrap();
        (ResponseKey::new(client, enc), server)
    }

    #[test]
    fn test_snode_reply_forms() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (key, server) = keys(EncType::XChaCha20);
        let ct = server
            .key(EncType::XChaCha20)
            .encrypt(br#"{"status":200,"body":"ok"}"#, &mut rng);
        let b64 = STANDARD.encode(&ct);
        let expect = SnodeReply {
            status: 200,
            body: "ok".into(),
        };
        assert_eq!(decrypt_snode_response(&key, &ct).unwrap(), expect);
        assert_eq!(
            decrypt_snode_response(&key, b64.as_bytes()).unwrap(),
            expect
        );
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(
            decrypt_snode_response(&key, unpadded.as_bytes()).unwrap(),
            expect
        );
        let wrapped = format!(r#"{{"result":"{b64}"}}"#);
        assert_eq!(
            decrypt_snode_response(&key, wrapped.as_bytes()).unwrap(),
            expect
        );
        // AES-GCM fallback for a request built with XChaCha20.
        let ct = server
            .key(EncType::AesGcm)
            .encrypt(br#"{"status_code":500}"#, &mut rng);
        let r = decrypt_snode_response(&key, &ct).unwrap();
        assert_eq!((r.status, r.body.as_str()), (500, ""));
        assert_eq!(format!("{key:?}"), "ResponseKey(<redacted>)");
    }

    #[test]
    fn test_reply_size_cap() {
        let (key, _) = keys(EncType::AesGcm);
        let big = vec![b'A'; MAX_RESPONSE_SIZE + 1];
        assert_eq!(
            decrypt_snode_response(&key, &big),
            Err(OnionError::InvalidResponse {
                what: "reply too large"
            })
        );
        assert_eq!(
            decrypt_v4_response(&key, &big),
            Err(OnionError::InvalidResponse {
                what: "reply too large"
            })
        );
    }
}
