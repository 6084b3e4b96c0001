//! Passphrase wrapping of the store key: Argon2id(passphrase, 16-byte salt) gives a
//! key-encryption key (KEK) that seals the store key with XChaCha20-Poly1305. The parameters,
//! salt and nonce travel in a plaintext header that is also the associated data.

use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::StoreKey;

/// Format version of the wrapped-key header.
pub const WRAP_FORMAT_VERSION: u8 = 1;

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
const WRAPPED_LEN: usize = KEY_LEN + 16;
const CHECK_LEN: usize = 16;
const AAD_LABEL: &[u8] = b"umbra/vault/wrapped-store-key";
const ALGORITHM: &str = "argon2id";

/// Argon2id cost parameters, stored in the header so they can change over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl KdfParams {
    /// The default for new stores: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The floor for real stores (OWASP minimum for Argon2id): 19 MiB, 2 passes.
    pub const FLOOR: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Tiny parameters that make tests fast. Below the floor: only accepted by functions whose
    /// name ends in `_insecure_for_tests`.
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    /// Largest parameters accepted from a header (guards against a header that would make
    /// unlock allocate unbounded memory or run for hours).
    pub const MAX: KdfParams = KdfParams {
        memory_kib: 1024 * 1024,
        iterations: 64,
        parallelism: 16,
    };

    /// True if these parameters are at least [`KdfParams::FLOOR`] (and within
    /// [`KdfParams::MAX`]).
    pub fn meets_floor(&self) -> bool {
        self.memory_kib >= Self::FLOOR.memory_kib
            && self.iterations >= Self::FLOOR.iterations
            && self.parallelism >= Self::FLOOR.parallelism
            && self.within_max()
    }

    /// True if these parameters are weaker than [`KdfParams::DEFAULT`] in memory or passes,
    /// i.e. a store using them should be re-wrapped with the default.
    pub fn weaker_than_default(&self) -> bool {
        self.memory_kib < Self::DEFAULT.memory_kib || self.iterations < Self::DEFAULT.iterations
    }

    fn within_max(&self) -> bool {
        self.memory_kib <= Self::MAX.memory_kib
            && self.iterations <= Self::MAX.iterations
            && self.parallelism <= Self::MAX.parallelism
    }

    fn argon2(&self) -> Option<argon2::Argon2<'static>> {
        if !self.within_max() {
            return None;
        }
        let params = argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .ok()?;
        Some(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

/// Why wrapping or unwrapping failed (mapped to the vault's public errors).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum WrapError {
    /// Header fields are unusable (lengths, parameters, integrity check).
    Corrupted,
    /// Header is a version we do not know.
    UnsupportedVersion(u8),
    /// The parameters are not accepted by Argon2.
    InvalidParams,
    /// The KEK did not open the wrapped key: wrong passphrase.
    WrongPassphrase,
    /// Encryption failed (cannot happen for 32 bytes).
    Seal,
}

/// The store key wrapped under a passphrase, with the plaintext header needed to unwrap it.
/// Serialized as JSON with base64 byte fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedStoreKey {
    format: u8,
    algorithm: String,
    kdf: KdfParams,
    #[serde(with = "b64")]
    salt: Vec<u8>,
    #[serde(with = "b64")]
    nonce: Vec<u8>,
    #[serde(with = "b64")]
    ciphertext: Vec<u8>,
    /// SHA-256 of all other fields, truncated: tells accidental corruption apart from a wrong
    /// passphrase. Not a security mechanism (the AEAD is).
    #[serde(with = "b64")]
    check: Vec<u8>,
}

mod b64 {
    use super::B64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        B64.decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

fn derive_kek(
    argon: &argon2::Argon2<'_>,
    passphrase: &str,
    salt: &[u8],
) -> Result<Zeroizing<[u8; KEY_LEN]>, WrapError> {
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut kek[..])
        .map_err(|_| WrapError::InvalidParams)?;
    Ok(kek)
}

impl WrappedStoreKey {
    /// Associated data: every header field except the ciphertext and the check.
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_LABEL.len() + 1 + 12 + SALT_LEN + NONCE_LEN + 9);
        aad.extend_from_slice(AAD_LABEL);
        aad.push(self.format);
        aad.extend_from_slice(&(self.algorithm.len() as u32).to_le_bytes());
        aad.extend_from_slice(self.algorithm.as_bytes());
        aad.extend_from_slice(&self.kdf.memory_kib.to_le_bytes());
        aad.extend_from_slice(&self.kdf.iterations.to_le_bytes());
        aad.extend_from_slice(&self.kdf.parallelism.to_le_bytes());
        aad.extend_from_slice(&self.salt);
        aad.extend_from_slice(&self.nonce);
        aad
    }

    fn compute_check(&self) -> [u8; CHECK_LEN] {
        let mut h = Sha256::new();
        h.update(self.aad());
        h.update(&self.ciphertext);
        let digest = h.finalize();
        let mut out = [0u8; CHECK_LEN];
        out.copy_from_slice(&digest[..CHECK_LEN]);
        out
    }

    /// The KDF parameters recorded in the header.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf
    }

    /// Serializes the header to JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain strings, integers and byte vectors to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Wraps `key` under `passphrase` with fresh salt and nonce. No floor check here; the
    /// vault enforces policy.
    pub(super) fn wrap<R: CryptoRng + ?Sized>(
        key: &StoreKey,
        passphrase: &str,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<WrappedStoreKey, WrapError> {
        let argon = params.argon2().ok_or(WrapError::InvalidParams)?;
        let mut salt = vec![0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut wrapped = WrappedStoreKey {
            format: WRAP_FORMAT_VERSION,
            algorithm: ALGORITHM.to_owned(),
            kdf: params,
            salt,
            nonce: nonce.to_vec(),
            ciphertext: Vec::new(),
            check: Vec::new(),
        };
        let kek = derive_kek(&argon, passphrase, &wrapped.salt)?;
        let aad = wrapped.aad();
        wrapped.ciphertext = XChaCha20Poly1305::new(&(*kek).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: key.master_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| WrapError::Seal)?;
        wrapped.check = wrapped.compute_check().to_vec();
        Ok(wrapped)
    }

    /// Parses and validates a header (no KDF run). Wrong structure, lengths, parameters or
    /// integrity check give `Corrupted`.
    pub(super) fn parse(bytes: &[u8]) -> Result<WrappedStoreKey, WrapError> {
        #[derive(Deserialize)]
        struct Version {
            format: u8,
        }
        let version: Version = serde_json::from_slice(bytes).map_err(|_| WrapError::Corrupted)?;
        if version.format != WRAP_FORMAT_VERSION {
            return Err(WrapError::UnsupportedVersion(version.format));
        }
        let w: WrappedStoreKey = serde_json::from_slice(bytes).map_err(|_| WrapError::Corrupted)?;
        if w.algorithm != ALGORITHM
            || w.salt.len() != SALT_LEN
            || w.nonce.len() != NONCE_LEN
            || w.ciphertext.len() != WRAPPED_LEN
            || w.check.len() != CHECK_LEN
            || !bool::from(w.compute_check().ct_eq(&w.check[..]))
            || w.kdf.argon2().is_none()
        {
            return Err(WrapError::Corrupted);
        }
        Ok(w)
    }

    /// Runs the KDF once and unwraps the store key.
    pub(super) fn unwrap_key(&self, passphrase: &str) -> Result<StoreKey, WrapError> {
        let argon = self.kdf.argon2().ok_or(WrapError::Corrupted)?;
        let kek = derive_kek(&argon, passphrase, &self.salt)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.nonce);
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&(*kek).into())
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &self.ciphertext,
                        aad: &self.aad(),
                    },
                )
                .map_err(|_| WrapError::WrongPassphrase)?,
        );
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if plain.len() != KEY_LEN {
            return Err(WrapError::Corrupted);
        }
        bytes.copy_from_slice(&plain);
        Ok(StoreKey::from_bytes(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn wrap_unwrap_round_trip_and_wrong_passphrase() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = StoreKey::generate(&mut rng);
        let w = WrappedStoreKey::wrap(&key, "pass", KdfParams::INSECURE_FOR_TESTS, &mut rng)
            .expect("wrap");
        let parsed = WrappedStoreKey::parse(&w.to_bytes()).expect("parse");
        assert_eq!(parsed, w);
        let back = parsed.unwrap_key("pass").expect("unwrap");
        assert_eq!(back.master_bytes(), key.master_bytes());
        assert_eq!(
            parsed.unwrap_key("pasS").map(|_| ()),
            Err(WrapError::WrongPassphrase)
        );
    }

    #[test]
    fn header_fields_are_bound() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = StoreKey::generate(&mut rng);
        let w = WrappedStoreKey::wrap(&key, "pass", KdfParams::INSECURE_FOR_TESTS, &mut rng)
            .expect("wrap");
        // A header edited consistently (check recomputed) still fails the AEAD.
        let mut edited = w.clone();
        edited.kdf.iterations += 1;
        edited.check = edited.compute_check().to_vec();
        let reparsed = WrappedStoreKey::parse(&edited.to_bytes()).expect("consistent header");
        assert_eq!(
            reparsed.unwrap_key("pass").map(|_| ()),
            Err(WrapError::WrongPassphrase)
        );
        // Edited without the check: corrupted.
        let mut edited = w.clone();
        edited.salt[0] ^= 1;
        assert_eq!(
            WrappedStoreKey::parse(&edited.to_bytes()).map(|_| ()),
            Err(WrapError::Corrupted)
        );
        // Out-of-range parameters are refused before any KDF work.
        let mut huge = w.clone();
        huge.kdf.memory_kib = u32::MAX;
        huge.check = huge.compute_check().to_vec();
        assert_eq!(
            WrappedStoreKey::parse(&huge.to_bytes()).map(|_| ()),
            Err(WrapError::Corrupted)
        );
        let mut future = w;
        future.format = 2;
        assert_eq!(
            WrappedStoreKey::parse(&future.to_bytes()).map(|_| ()),
            Err(WrapError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn params_policy() {
        assert!(KdfParams::DEFAULT.meets_floor());
        assert!(KdfParams::FLOOR.meets_floor());
        assert!(!KdfParams::INSECURE_FOR_TESTS.meets_floor());
        assert!(!KdfParams::MAX.weaker_than_default());
        assert!(KdfParams::FLOOR.weaker_than_default());
        assert!(!KdfParams::DEFAULT.weaker_than_default());
        let below = KdfParams {
            memory_kib: 19 * 1024 - 1,
            ..KdfParams::DEFAULT
        };
        assert!(!below.meets_floor());
        let one_pass = KdfParams {
            iterations: 1,
            ..KdfParams::DEFAULT
        };
        assert!(!one_pass.meets_floor());
        let too_much = KdfParams {
            memory_kib: KdfParams::MAX.memory_kib + 1,
            ..KdfParams::DEFAULT
        };
        assert!(!too_much.meets_floor());
    }
}
