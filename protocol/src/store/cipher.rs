//! The record cipher: XChaCha20-Poly1305 under a random 32-byte store key, one random nonce per
//! record, associated data binding the format version and the record's storage id.

use core::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::StoreError;

/// Format version byte at the start of every sealed record.
pub const RECORD_FORMAT_VERSION: u8 = 1;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const RECORD_KEY_LABEL: &[u8] = b"umbra/store/record-key/v1";
const RECORD_ID_LABEL: &[u8] = b"umbra/store/record-id/v1";

/// The random 256-bit data-encryption key of a store. Secret: zeroized on drop, never
/// printed, cloned or serialized. Two subkeys are derived from it (HMAC-SHA256 with fixed
/// labels): one encrypts records, one hashes record names into storage ids.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct StoreKey {
    master: Box<[u8; KEY_LEN]>,
    record_key: Box<[u8; KEY_LEN]>,
    id_key: Box<[u8; KEY_LEN]>,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

fn hmac_sha256(key: &[u8; KEY_LEN], msg: &[u8]) -> Box<[u8; KEY_LEN]> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC-SHA256 accepts a 32-byte key");
    mac.update(msg);
    let out = mac.finalize().into_bytes();
    let mut boxed = Box::new([0u8; KEY_LEN]);
    boxed.copy_from_slice(&out);
    boxed
}

impl StoreKey {
    /// A fresh random store key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> StoreKey {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(&mut bytes[..]);
        StoreKey::from_bytes(&bytes)
    }

    /// Rebuilds a store key from its 32 bytes (after unwrapping).
    pub(crate) fn from_bytes(bytes: &[u8; KEY_LEN]) -> StoreKey {
        let master = Box::new(*bytes);
        let record_key = hmac_sha256(&master, RECORD_KEY_LABEL);
        let id_key = hmac_sha256(&master, RECORD_ID_LABEL);
        StoreKey {
            master,
            record_key,
            id_key,
        }
    }

    /// The raw key, for wrapping under the passphrase-derived key only.
    pub(crate) fn master_bytes(&self) -> &[u8; KEY_LEN] {
        &self.master
    }

    fn aead(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.record_key).into())
    }

    fn aad(id: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(1 + id.len());
        aad.push(RECORD_FORMAT_VERSION);
        aad.extend_from_slice(id.as_bytes());
        aad
    }

    /// Encrypts `plaintext` for storage under `id`:
    /// `version(1) ‖ nonce(24) ‖ ciphertext ‖ tag(16)`.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        id: &str,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = Self::aad(id);
        let ct = self
            .aead()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::SealFailed)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(RECORD_FORMAT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a record sealed under `id`. Fails if the bytes were changed, sealed for another
    /// id, or sealed under another key.
    pub fn open(&self, id: &str, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let (&version, rest) = bytes.split_first().ok_or(StoreError::Malformed)?;
        if version != RECORD_FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion { found: version });
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(StoreError::Malformed);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let mut nonce_arr = [0u8; NONCE_LEN];
        nonce_arr.copy_from_slice(nonce);
        let aad = Self::aad(id);
        self.aead()
            .decrypt(&XNonce::from(nonce_arr), Payload { msg: ct, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| StoreError::DecryptFailed)
    }

    /// The storage id for a record name: a keyed hash (HMAC-SHA256 under a subkey), hex, so
    /// the name itself is never written to storage. Deterministic for a given store key.
    pub fn hashed_id(&self, name: &str) -> String {
        hex::encode(*hmac_sha256(&self.id_key, name.as_bytes()))
    }
}
