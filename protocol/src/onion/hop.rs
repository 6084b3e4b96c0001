//! Per-hop encryption of onion request layers (docs/protocol.md §3.2).
//!
//! The client makes a fresh X25519 keypair `(a, A)` per layer; the node has a static
//! `(b, B)`. Both sides compute `ss = X25519(a, B) = X25519(b, A)` and derive a symmetric key:
//!
//! | `enc_type` | key | output |
//! | --- | --- | --- |
//! | `"aes-gcm"` / `"gcm"` (default) | `HMAC-SHA256(key = "LOKI", msg = ss)` | `iv(12) ‖ ct ‖ tag(16)` |
//! | `"xchacha20"` / `"xchacha20-poly1305"` | `BLAKE2b-256(ss ‖ A ‖ B)` | `nonce(24) ‖ ct ‖ tag(16)` |
//!
//! No associated data. Replies use the same key with a fresh nonce. An all-zero shared secret
//! (a low-order public key) is rejected.

use aes_gcm::{
    Aes256Gcm,
    aead::{Aead, KeyInit},
};
use blake2::{Blake2b256, Digest};
use chacha20poly1305::XChaCha20Poly1305;
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use serde_json::{Map, Value};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::OnionError;

/// Length of an AES-GCM IV.
const GCM_IV_LEN: usize = 12;
/// Length of an XChaCha20 nonce.
const XCHACHA_NONCE_LEN: usize = 24;
/// Length of the Poly1305 / GHASH tag.
const TAG_LEN: usize = 16;

/// Which AEAD a layer is encrypted with (the `enc_type` JSON field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncType {
    /// AES-256-GCM with an HMAC-SHA256("LOKI") key; the default when `enc_type` is absent.
    AesGcm,
    /// XChaCha20-Poly1305 with a BLAKE2b-256 key.
    XChaCha20,
}

impl EncType {
    /// Parses the `enc_type` JSON value, accepting the aliases the storage server accepts.
    ///
    /// `"aes-cbc"` (legacy, storage server only) is not supported.
    pub fn from_wire(s: &str) -> Result<Self, OnionError> {
        match s {
            "aes-gcm" | "gcm" => Ok(EncType::AesGcm),
            "xchacha20" | "xchacha20-poly1305" => Ok(EncType::XChaCha20),
            _ => Err(OnionError::UnsupportedEncType),
        }
    }

    /// Reads `enc_type` from a layer's control JSON; absent means [`EncType::AesGcm`].
    pub fn from_control(control: &Map<String, Value>) -> Result<Self, OnionError> {
        match control.get("enc_type") {
            None => Ok(EncType::AesGcm),
            Some(Value::String(s)) => EncType::from_wire(s),
            Some(_) => Err(OnionError::InvalidRouting { field: "enc_type" }),
        }
    }

    /// The canonical JSON value: `"aes-gcm"` or `"xchacha20"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EncType::AesGcm => "aes-gcm",
            EncType::XChaCha20 => "xchacha20",
        }
    }

    /// Bytes added by encryption (nonce + tag): 28 for AES-GCM, 40 for XChaCha20.
    pub fn overhead(self) -> usize {
        match self {
            EncType::AesGcm => GCM_IV_LEN + TAG_LEN,
            EncType::XChaCha20 => XCHACHA_NONCE_LEN + TAG_LEN,
        }
    }

    /// The other enc_type (used when a reply does not decrypt with the expected one).
    pub fn other(self) -> Self {
        match self {
            EncType::AesGcm => EncType::XChaCha20,
            EncType::XChaCha20 => EncType::AesGcm,
        }
    }
}

/// The X25519 shared secret of one hop together with both public keys, from which either
/// enc_type's key can be derived. Zeroized on drop; never printed or cloned.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct HopSecret {
    shared: [u8; 32],
    client_pub: [u8; 32],
    server_pub: [u8; 32],
}

impl core::fmt::Debug for HopSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HopSecret(<redacted>)")
    }
}

impl HopSecret {
    /// Client side: `client_secret` is the layer's ephemeral `a`, `server_pub` the node's `B`.
    pub fn client(client_secret: &StaticSecret, server_pub: &[u8; 32]) -> Result<Self, OnionError> {
        let client_pub = PublicKey::from(client_secret).to_bytes();
        Self::new(
            client_secret,
            server_pub,
            client_pub,
            *server_pub,
            "destination",
        )
    }

    /// Node side: `server_secret` is the node's `b`, `server_pub` its `B`, `client_pub` the
    /// layer's `ephemeral_key` `A`.
    pub fn server(
        server_secret: &StaticSecret,
        server_pub: &[u8; 32],
        client_pub: &[u8; 32],
    ) -> Result<Self, OnionError> {
        Self::new(
            server_secret,
            client_pub,
            *client_pub,
            *server_pub,
            "ephemeral",
        )
    }

    fn new(
        own: &StaticSecret,
        theirs: &[u8; 32],
        client_pub: [u8; 32],
        server_pub: [u8; 32],
        what: &'static str,
    ) -> Result<Self, OnionError> {
        let ss = own.diffie_hellman(&PublicKey::from(*theirs));
        if !ss.was_contributory() {
            return Err(OnionError::InvalidKey { what });
        }
        Ok(HopSecret {
            shared: ss.to_bytes(),
            client_pub,
            server_pub,
        })
    }

    /// The symmetric key for `enc`.
    pub fn key(&self, enc: EncType) -> HopKey {
        let key: [u8; 32] = match enc {
            EncType::AesGcm => {
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"LOKI")
                    .expect("HMAC accepts keys of any length");
                mac.update(&self.shared);
                mac.finalize().into_bytes().into()
            }
            EncType::XChaCha20 => Blake2b256::new()
                .chain_update(self.shared)
                .chain_update(self.client_pub)
                .chain_update(self.server_pub)
                .finalize()
                .into(),
        };
        HopKey { key, enc }
    }
}

/// A derived symmetric hop key and its enc_type. Zeroized on drop; never printed or cloned.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct HopKey {
    key: [u8; 32],
    #[zeroize(skip)]
    enc: EncType,
}

impl core::fmt::Debug for HopKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HopKey")
            .field("enc", &self.enc)
            .finish_non_exhaustive()
    }
}

impl HopKey {
    /// The enc_type this key is for.
    pub fn enc_type(&self) -> EncType {
        self.enc
    }

    /// Encrypts `plaintext` with a fresh random nonce: `nonce ‖ ciphertext ‖ tag`.
    pub fn encrypt<R: CryptoRng + ?Sized>(&self, plaintext: &[u8], rng: &mut R) -> Vec<u8> {
        match self.enc {
            EncType::AesGcm => {
                let mut iv = [0u8; GCM_IV_LEN];
                rng.fill_bytes(&mut iv);
                let cipher = Aes256Gcm::new(&self.key.into());
                let ct = cipher
                    .encrypt(&iv.into(), plaintext)
                    .expect("AES-GCM encryption only fails above 2^36 bytes");
                [iv.as_slice(), ct.as_slice()].concat()
            }
            EncType::XChaCha20 => {
                let mut nonce = [0u8; XCHACHA_NONCE_LEN];
                rng.fill_bytes(&mut nonce);
                let cipher = XChaCha20Poly1305::new(&self.key.into());
                let ct = cipher
                    .encrypt(&nonce.into(), plaintext)
                    .expect("XChaCha20-Poly1305 encryption does not fail for in-memory sizes");
                [nonce.as_slice(), ct.as_slice()].concat()
            }
        }
    }

    /// Decrypts `nonce ‖ ciphertext ‖ tag`. Any failure is [`OnionError::DecryptFailed`].
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, OnionError> {
        if data.len() < self.enc.overhead() {
            return Err(OnionError::DecryptFailed);
        }
        match self.enc {
            EncType::AesGcm => {
                let (iv, ct) = data
                    .split_first_chunk::<GCM_IV_LEN>()
                    .ok_or(OnionError::DecryptFailed)?;
                Aes256Gcm::new(&self.key.into())
                    .decrypt(&(*iv).into(), ct)
                    .map_err(|_| OnionError::DecryptFailed)
            }
            EncType::XChaCha20 => {
                let (nonce, ct) = data
                    .split_first_chunk::<XCHACHA_NONCE_LEN>()
                    .ok_or(OnionError::DecryptFailed)?;
                XChaCha20Poly1305::new(&self.key.into())
                    .decrypt(&(*nonce).into(), ct)
                    .map_err(|_| OnionError::DecryptFailed)
            }
        }
    }
}

/// Parses a 64-hex-digit 32-byte key (e.g. `ephemeral_key`, `destination`).
#[cfg(feature = "node")]
pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

    use super::*;

    #[test]
    fn test_enc_type_parse() {
        assert_eq!(EncType::from_wire("aes-gcm"), Ok(EncType::AesGcm));
        assert_eq!(EncType::from_wire("gcm"), Ok(EncType::AesGcm));
        assert_eq!(EncType::from_wire("xchacha20"), Ok(EncType::XChaCha20));
        assert_eq!(
            EncType::from_wire("xchacha20-poly1305"),
            Ok(EncType::XChaCha20)
        );
        assert_eq!(
            EncType::from_wire("aes-cbc"),
            Err(OnionError::UnsupportedEncType)
        );
        assert_eq!(EncType::from_control(&Map::new()), Ok(EncType::AesGcm));
    }

    #[test]
    fn test_round_trip_and_role_swap() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let a = StaticSecret::random_from_rng(&mut rng);
        let b = StaticSecret::random_from_rng(&mut rng);
        let pa = PublicKey::from(&a).to_bytes();
        let pb = PublicKey::from(&b).to_bytes();
        for enc in [EncType::AesGcm, EncType::XChaCha20] {
            let ck = HopSecret::client(&a, &pb).unwrap().key(enc);
            let sk = HopSecret::server(&b, &pb, &pa).unwrap().key(enc);
            let ct = ck.encrypt(b"hi there", &mut rng);
            assert_eq!(ct.len(), 8 + enc.overhead());
            assert_eq!(sk.decrypt(&ct).unwrap(), b"hi there");
            assert_eq!(ck.decrypt(&sk.encrypt(b"back", &mut rng)).unwrap(), b"back");
            assert_eq!(
                sk.decrypt(&ct[..enc.overhead() - 1]),
                Err(OnionError::DecryptFailed)
            );
        }
        // XChaCha20's KDF is ordered: swapping the roles gives a different key.
        let swapped = HopSecret::server(&a, &pa, &pb)
            .unwrap()
            .key(EncType::XChaCha20);
        let ct = HopSecret::client(&a, &pb)
            .unwrap()
            .key(EncType::XChaCha20)
            .encrypt(b"x", &mut rng);
        assert_eq!(swapped.decrypt(&ct), Err(OnionError::DecryptFailed));
    }

    #[test]
    fn test_low_order_point_rejected() {
        let b = StaticSecret::from([9u8; 32]);
        let pb = PublicKey::from(&b).to_bytes();
        for bad in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert_eq!(
                HopSecret::server(&b, &pb, &bad).map(|_| ()),
                Err(OnionError::InvalidKey { what: "ephemeral" })
            );
            assert_eq!(
                HopSecret::client(&b, &bad).map(|_| ()),
                Err(OnionError::InvalidKey {
                    what: "destination"
                })
            );
        }
    }

    #[test]
    fn test_debug_redacts() {
        let b = StaticSecret::from([9u8; 32]);
        let pb = PublicKey::from(&b).to_bytes();
        let s = HopSecret::client(&b, &pb).unwrap();
        assert_eq!(format!("{s:?}"), "HopSecret(<redacted>)");
        assert!(!format!("{:?}", s.key(EncType::AesGcm)).contains("key"));
    }
}
