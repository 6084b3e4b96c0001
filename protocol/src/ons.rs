//! Session's names (ONS, the Oxen Name Service), client side: what a user may type, the
//! `oxend_request` `ons_resolve` a node forwards to oxend, and opening its answer
//! (session-desktop `ts/session/apis/snode_api/onsResolve.ts`; libsession
//! `decrypt_ons_response`; session-protocol.md §3.6, §11.1).
//!
//! - Names are case-insensitive: the lower-case name is what is hashed. Valid: 1–64 ASCII
//!   letters, digits, `_` or `-`, not starting or ending with `-` (desktop `onsNameRegex`).
//! - Request: `{"method":"oxend_request","params":{"endpoint":"ons_resolve",
//!   "params":{"type":0,"name_hash":base64(BLAKE2b-256(name))}}}`.
//! - Answer (wrapped by the storage server as `{"result": …}`):
//!   `{"encrypted_value": hex, "nonce": hex}`, the 33-byte Account ID sealed with
//!   XChaCha20-Poly1305 under `BLAKE2b-256(name, key = BLAKE2b-256(name))`; no
//!   `encrypted_value`: the name is not registered.
//!
//! A name is resolved by several nodes that must all agree (the client's `ons` part), so one
//! node cannot send a user to an account of its choosing.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use blake2::{Blake2b, Blake2bMac, digest::Digest as _, digest::Mac as _, digest::consts::U32};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce, aead::Aead as _};
use serde_json::{Value, json};

use crate::identity::AccountId;

/// Longest name.
pub const MAX_NAME: usize = 64;

/// Why a name did not resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OnsError {
    /// Not a name Session allows.
    #[error("not a valid ONS name")]
    InvalidName,
    /// No account has this name.
    #[error("no account has this name")]
    NotFound,
    /// The nodes asked gave different answers.
    #[error("the nodes disagree about this name")]
    Disagreement,
    /// A node's answer is not of the documented shape or does not open.
    #[error("malformed ONS answer")]
    Malformed,
    /// Not enough nodes answered.
    #[error("the network did not answer")]
    Network,
}

/// The name as it is hashed: trimmed and lower-case, if Session allows it.
///
/// # Errors
///
/// [`OnsError::InvalidName`].
pub fn normalize(name: &str) -> Result<String, OnsError> {
    let name = name.trim().to_ascii_lowercase();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = name.as_bytes();
    let ok = match (bytes.first(), bytes.last()) {
        (Some(&f), Some(&l)) => {
            bytes.len() <= MAX_NAME
                && word(f)
                && word(l)
                && bytes.iter().all(|&b| word(b) || b == b'-')
        }
        _ => false,
    };
    if ok {
        Ok(name)
    } else {
        Err(OnsError::InvalidName)
    }
}

fn name_hash(name: &str) -> [u8; 32] {
    Blake2b::<U32>::digest(name.as_bytes()).into()
}

/// The storage RPC body that asks a node to resolve `name` (already [`normalize`]d).
pub fn request(name: &str) -> Vec<u8> {
    json!({
        "method": "oxend_request",
        "params": {
            "endpoint": "ons_resolve",
            "params": {"type": 0, "name_hash": STANDARD.encode(name_hash(name))},
        },
    })
    .to_string()
    .into_bytes()
}

/// Opens `encrypted_value` (with its `nonce`) for `name` (already [`normalize`]d).
///
/// # Errors
///
/// [`OnsError::Malformed`] if it does not open to an Account ID.
pub fn decrypt_value(
    name: &str,
    encrypted: &[u8],
    nonce: &[u8; 24],
) -> Result<AccountId, OnsError> {
    let mut mac = <Blake2bMac<U32> as blake2::digest::KeyInit>::new_from_slice(&name_hash(name))
        .map_err(|_| OnsError::Malformed)?;
    mac.update(name.as_bytes());
    let key: [u8; 32] = mac.finalize().into_bytes().into();
    let plain = XChaCha20Poly1305::new(&key.into())
        .decrypt(&XNonce::from(*nonce), encrypted)
        .map_err(|_| OnsError::Malformed)?;
    AccountId::from_bytes(&plain).map_err(|_| OnsError::Malformed)
}

/// Reads a node's answer to [`request`] for `name`: the account, or
/// [`OnsError::NotFound`].
///
/// # Errors
///
/// [`OnsError::NotFound`], or [`OnsError::Malformed`] for any other shape.
pub fn parse_answer(name: &str, body: &[u8]) -> Result<AccountId, OnsError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| OnsError::Malformed)?;
    let result = v.get("result").ok_or(OnsError::Malformed)?;
    if !result.is_object() {
        return Err(OnsError::Malformed);
    }
    let Some(value) = result.get("encrypted_value") else {
        return Err(OnsError::NotFound);
    };
    let encrypted = value
        .as_str()
        .and_then(|h| hex::decode(h).ok())
        .ok_or(OnsError::Malformed)?;
    let nonce: [u8; 24] = result["nonce"]
        .as_str()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|n| n.try_into().ok())
        .ok_or(OnsError::Malformed)?;
    decrypt_value(name, &encrypted, &nonce)
}

/// Combines the answers of several nodes: they must all be the same account (or all say
/// not found).
///
/// # Errors
///
/// [`OnsError::Disagreement`] when they differ, [`OnsError::Network`] for no answers, or the
/// answers' common error.
pub fn agree(answers: &[Result<AccountId, OnsError>]) -> Result<AccountId, OnsError> {
    let first = answers.first().ok_or(OnsError::Network)?;
    if answers.iter().any(|a| a != first) {
        return Err(OnsError::Disagreement);
    }
    *first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_libsession_vector_opens_byte_for_byte_and_its_twins_do_not() {
        // session-protocol.md §11.1 (libsession tests/test_session_encrypt.cpp).
        let ct = hex::decode(
            "3575802dd9bfea72672a208840f37ca289ceade5d3ffacabe2d231f109d204329fc33e28c331580d9a8c9b8a64cacfec97",
        )
        .unwrap();
        let nonce: [u8; 24] = hex::decode("00112233445566778899aabbccddeeff00ffeeddccbbaa99")
            .unwrap()
            .try_into()
            .unwrap();
        let id = decrypt_value("test", &ct, &nonce).unwrap();
        assert_eq!(
            id.to_string(),
            "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
        );
        let mut twin = ct.clone();
        twin[5] ^= 1;
        assert_eq!(
            decrypt_value("test", &twin, &nonce),
            Err(OnsError::Malformed)
        );
        assert_eq!(decrypt_value("tesT", &ct, &nonce), Err(OnsError::Malformed));
        let mut n2 = nonce;
        n2[0] ^= 1;
        assert_eq!(decrypt_value("test", &ct, &n2), Err(OnsError::Malformed));
        // The same through a node's answer, and a name typed in capitals.
        let name = normalize(" TeSt ").unwrap();
        let body = format!(
            r#"{{"result":{{"encrypted_value":"{}","nonce":"00112233445566778899aabbccddeeff00ffeeddccbbaa99"}},"t":1}}"#,
            hex::encode(&ct)
        );
        assert_eq!(parse_answer(&name, body.as_bytes()), Ok(id));
    }

    #[test]
    fn names_are_normalised_and_validated_as_session_does() {
        for (typed, want) in [
            ("alice", Some("alice")),
            ("Alice", Some("alice")),
            ("  bob_99 ", Some("bob_99")),
            ("a-b", Some("a-b")),
            ("_x_", Some("_x_")),
            ("a", Some("a")),
            ("-a", None),
            ("a-", None),
            ("", None),
            ("a b", None),
            ("a.b", None),
            ("ällo", None),
            ("05d2ad", Some("05d2ad")),
        ] {
            assert_eq!(normalize(typed).ok().as_deref(), want, "{typed:?}");
        }
        assert!(normalize(&"a".repeat(64)).is_ok());
        assert_eq!(normalize(&"a".repeat(65)), Err(OnsError::InvalidName));
    }

    #[test]
    fn answers_are_read_strictly_and_must_agree() {
        assert_eq!(
            parse_answer("x", br#"{"result":{}}"#),
            Err(OnsError::NotFound)
        );
        for bad in [
            &b"x"[..],
            br#"{}"#,
            br#"{"result":[]}"#,
            br#"{"result":{"encrypted_value":"zz","nonce":"00"}}"#,
            br#"{"result":{"encrypted_value":"00","nonce":"00"}}"#,
        ] {
            assert_eq!(parse_answer("x", bad), Err(OnsError::Malformed));
        }
        let req: Value = serde_json::from_slice(&request("test")).unwrap();
        assert_eq!(req["params"]["endpoint"], "ons_resolve");
        assert_eq!(req["params"]["params"]["type"], 0);
        assert_eq!(
            STANDARD
                .decode(req["params"]["params"]["name_hash"].as_str().unwrap())
                .unwrap(),
            name_hash("test")
        );
        let a: AccountId = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
            .parse()
            .unwrap();
        let b: AccountId = "05aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74"
            .parse()
            .unwrap();
        assert_eq!(agree(&[Ok(a), Ok(a), Ok(a)]), Ok(a));
        assert_eq!(agree(&[Ok(a), Ok(b), Ok(a)]), Err(OnsError::Disagreement));
        assert_eq!(
            agree(&[Ok(a), Err(OnsError::NotFound)]),
            Err(OnsError::Disagreement)
        );
        assert_eq!(
            agree(&[Err(OnsError::NotFound); 3]),
            Err(OnsError::NotFound)
        );
        assert_eq!(agree(&[]), Err(OnsError::Network));
    }
}
