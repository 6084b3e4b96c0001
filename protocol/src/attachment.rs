//! Attachment encryption as Session clients do it (session-protocol.md §8; session-2026.md
//! §A4): the legacy format every current client sends and reads, and the deterministic
//! ("stream") format that clients must read (told apart by `#d` in the URL fragment).
//!
//! - **Legacy** (session-desktop `ts/util/crypto/attachmentsEncrypter.ts`,
//!   `ts/session/crypto/BufferPadding.ts`): the plaintext is padded with zeros to
//!   [`padded_size`]; a random 64-byte key `aes(32) ‖ mac(32)` and 16-byte IV;
//!   `blob = iv ‖ AES-256-CBC-PKCS#7(padded) ‖ HMAC-SHA256(mac, iv ‖ ct)`; the pointer carries
//!   the key, `digest = SHA-256(blob)` and the unpadded size.
//! - **Deterministic** (libsession `src/attachments.cpp`): `h = BLAKE2b-448(data, key = the
//!   uploader's seed, personal = "SessionAttachmnt" | "Session_Prof_Pic")`, header `h[0..24]`,
//!   key `h[24..56]`; `blob = 'S' ‖ header ‖ secretstream(32 KiB chunks, the last FINAL)` over
//!   `0^(p−1) ‖ 0x01 ‖ data`, padded so the blob has one of a few sizes ([`encrypted_size`]).
//!
//! Nothing is returned before it authenticates: the digest and MAC (legacy) or every chunk's
//! MAC (deterministic) are checked first; every failure is a typed [`AttachmentError`].

pub mod fileserver;
pub mod profile;
pub mod secretstream;

use aes::Aes256;
use blake2::{Blake2bMac, digest::Mac as _, digest::consts::U56};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use hmac::{Hmac, KeyInit as _};
use rand_core::CryptoRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Largest attachment plaintext Session clients send (`MAX_ATTACHMENT_FILESIZE_BYTES`).
pub const MAX_ATTACHMENT_BYTES: usize = 10_000_000;
/// Largest encrypted attachment accepted (the deterministic format's maximum, which is also
/// above any legacy blob of [`MAX_ATTACHMENT_BYTES`]).
pub const MAX_ENCRYPTED_BYTES: usize = 10_223_616;
/// Plaintext bytes per secretstream chunk of the deterministic format.
pub const CHUNK_BYTES: usize = 32 * 1024;
/// First byte of a deterministic blob.
const DETERMINISTIC_MAGIC: u8 = b'S';

/// Why an attachment could not be encrypted or decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// Over the size limit.
    #[error("attachment too large")]
    TooLarge,
    /// The key has the wrong length for the format.
    #[error("attachment key has the wrong length")]
    WrongKeyLength,
    /// The blob's SHA-256 is not the pointer's digest.
    #[error("attachment digest mismatch")]
    DigestMismatch,
    /// The blob does not authenticate under the key.
    #[error("attachment does not authenticate")]
    BadMac,
    /// The blob is not of the format's shape.
    #[error("malformed attachment")]
    Malformed,
}

/// An encrypted attachment and what its `AttachmentPointer` carries.
pub struct Encrypted {
    /// What is uploaded.
    pub blob: Vec<u8>,
    /// `AttachmentPointer.key` (64 bytes legacy, 32 deterministic).
    pub key: Zeroizing<Vec<u8>>,
    /// `AttachmentPointer.digest`: SHA-256 of the blob.
    pub digest: [u8; 32],
    /// `AttachmentPointer.size`: the plaintext size.
    pub size: usize,
}

/// The legacy padded size of a plaintext of `len` bytes: `max(541, ⌊1.05^⌈log₁.₀₅ len⌉⌋)`,
/// capped at [`MAX_ATTACHMENT_BYTES`] for plaintexts within it (desktop
/// `addAttachmentPadding`; computed in `f64` as JavaScript does).
pub fn padded_size(len: usize) -> usize {
    let l = len as f64;
    let exp = (l.ln() / 1.05f64.ln()).ceil();
    let grown = 1.05f64.powf(exp).floor();
    let mut size = if grown.is_finite() && grown > 541.0 {
        grown as usize
    } else {
        541
    };
    if size > MAX_ATTACHMENT_BYTES && len <= MAX_ATTACHMENT_BYTES {
        size = MAX_ATTACHMENT_BYTES;
    }
    size.max(len)
}

/// Encrypts `data` in the legacy format with a fresh key and IV.
///
/// # Errors
///
/// [`AttachmentError::TooLarge`] past [`MAX_ATTACHMENT_BYTES`].
pub fn encrypt_legacy<R: CryptoRng + ?Sized>(
    data: &[u8],
    rng: &mut R,
) -> Result<Encrypted, AttachmentError> {
    let mut key = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut key[..]);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    encrypt_legacy_with(data, &key, &iv)
}

/// [`encrypt_legacy`] with a given key and IV (known-answer tests).
///
/// # Errors
///
/// [`AttachmentError::TooLarge`] past [`MAX_ATTACHMENT_BYTES`].
pub fn encrypt_legacy_with(
    data: &[u8],
    key: &[u8; 64],
    iv: &[u8; 16],
) -> Result<Encrypted, AttachmentError> {
    if data.len() > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let mut padded = Zeroizing::new(vec![0u8; padded_size(data.len())]);
    padded[..data.len()].copy_from_slice(data);
    let aes_key: &[u8; 32] = key[..32]
        .try_into()
        .map_err(|_| AttachmentError::WrongKeyLength)?;
    let ct = cbc::Encryptor::<Aes256>::new(aes_key.into(), iv.into())
        .encrypt_padded_vec::<Pkcs7>(&padded);
    let mut blob = Vec::with_capacity(16 + ct.len() + 32);
    blob.extend_from_slice(iv);
    blob.extend_from_slice(&ct);
    let mac = legacy_mac(&key[32..], &blob);
    blob.extend_from_slice(&mac);
    Ok(Encrypted {
        digest: Sha256::digest(&blob).into(),
        blob,
        key: Zeroizing::new(key.to_vec()),
        size: data.len(),
    })
}

fn legacy_mac(mac_key: &[u8], iv_and_ct: &[u8]) -> [u8; 32] {
    // (An HMAC key of any length is valid.)
    let mut mac = <Hmac<Sha256>>::new_from_slice(mac_key).unwrap_or_else(|_| unreachable!());
    mac.update(iv_and_ct);
    mac.finalize().into_bytes().into()
}

/// Checks `digest` (when the pointer has one) against the blob's SHA-256.
fn check_digest(blob: &[u8], digest: Option<&[u8]>) -> Result<(), AttachmentError> {
    match digest {
        Some(d) if !bool::from(Sha256::digest(blob).as_slice().ct_eq(d)) => {
            Err(AttachmentError::DigestMismatch)
        }
        _ => Ok(()),
    }
}

/// Decrypts a legacy blob with the pointer's 64-byte `key`, checking its `digest` (when
/// given) and MAC first, and cuts it to `size` (the padding's zeros go).
///
/// # Errors
///
/// Typed: [`AttachmentError::WrongKeyLength`], [`AttachmentError::TooLarge`],
/// [`AttachmentError::DigestMismatch`], [`AttachmentError::BadMac`],
/// [`AttachmentError::Malformed`].
pub fn decrypt_legacy(
    blob: &[u8],
    key: &[u8],
    digest: Option<&[u8]>,
    size: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>, AttachmentError> {
    if key.len() != 64 {
        return Err(AttachmentError::WrongKeyLength);
    }
    if blob.len() > MAX_ENCRYPTED_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    check_digest(blob, digest)?;
    if blob.len() < 16 + 16 + 32 || !(blob.len() - 48).is_multiple_of(16) {
        return Err(AttachmentError::Malformed);
    }
    let (body, mac) = blob.split_at(blob.len() - 32);
    if !bool::from(legacy_mac(&key[32..], body).ct_eq(mac)) {
        return Err(AttachmentError::BadMac);
    }
    let (iv, ct) = body.split_at(16);
    let iv: &[u8; 16] = iv.try_into().map_err(|_| AttachmentError::Malformed)?;
    let aes_key: &[u8; 32] = key[..32]
        .try_into()
        .map_err(|_| AttachmentError::WrongKeyLength)?;
    let mut plain = Zeroizing::new(
        cbc::Decryptor::<Aes256>::new(aes_key.into(), iv.into())
            .decrypt_padded_vec::<Pkcs7>(ct)
            .map_err(|_| AttachmentError::Malformed)?,
    );
    if let Some(size) = size
        && size < plain.len()
    {
        plain.truncate(size);
    }
    Ok(plain)
}

/// What a deterministic key is derived for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// An attachment.
    Attachment,
    /// A profile picture.
    ProfilePicture,
}

impl Domain {
    fn personal(self) -> &'static [u8; 16] {
        match self {
            Domain::Attachment => b"SessionAttachmnt",
            Domain::ProfilePicture => b"Session_Prof_Pic",
        }
    }
}

/// Blob size of a plaintext of `stream` bytes (padding included) in the deterministic format.
fn blob_len(stream: usize) -> usize {
    1 + secretstream::HEADER_BYTES
        + stream
        + secretstream::ABYTES * stream.div_ceil(CHUNK_BYTES).max(1)
}

/// The deterministic format's blob size for a plaintext of `len` bytes: the smallest blob
/// (one padding byte) rounded up to a multiple of `max(4096, 2^⌈log₂ smallest⌉ / 64)`. This
/// reproduces every size of libsession's `tests/test_attachment_encrypt.cpp`
/// (session-protocol.md §11.13).
pub fn encrypted_size(len: usize) -> usize {
    let smallest = blob_len(len + 1);
    let step = (smallest.next_power_of_two() / 64).max(4096);
    smallest.div_ceil(step) * step
}

/// The plaintext stream length (padding included) whose blob is at most `target` bytes.
fn stream_len_for(target: usize) -> usize {
    let chunks =
        (target - 1 - secretstream::HEADER_BYTES).div_ceil(CHUNK_BYTES + secretstream::ABYTES);
    let mut s = target - 1 - secretstream::HEADER_BYTES - secretstream::ABYTES * chunks.max(1);
    while blob_len(s) > target {
        s -= 1;
    }
    s
}

/// Encrypts `data` deterministically for the uploader's `seed` (same seed and data, same
/// bytes: re-uploads deduplicate). Returns the blob and its 32-byte key.
///
/// # Errors
///
/// [`AttachmentError::TooLarge`] when the blob would pass [`MAX_ENCRYPTED_BYTES`].
pub fn encrypt_deterministic(
    data: &[u8],
    seed: &[u8; 32],
    domain: Domain,
) -> Result<Encrypted, AttachmentError> {
    let target = encrypted_size(data.len());
    if target > MAX_ENCRYPTED_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let mut h = <Blake2bMac<U56>>::new_with_salt_and_personal(Some(seed), &[], domain.personal())
        .map_err(|_| AttachmentError::WrongKeyLength)?;
    h.update(data);
    let mut hash = Zeroizing::new([0u8; 56]);
    hash.copy_from_slice(&h.finalize().into_bytes());
    let h = hash;
    let mut header = [0u8; secretstream::HEADER_BYTES];
    header.copy_from_slice(&h[..24]);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&h[24..56]);
    let stream = stream_len_for(target);
    let mut plain = Zeroizing::new(vec![0u8; stream]);
    let pad = stream - data.len();
    plain[pad - 1] = 0x01;
    plain[pad..].copy_from_slice(data);
    let mut blob = Vec::with_capacity(target);
    blob.push(DETERMINISTIC_MAGIC);
    blob.extend_from_slice(&header);
    let mut state = secretstream::State::new(&key, &header);
    let chunks: Vec<&[u8]> = plain.chunks(CHUNK_BYTES).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let tag = if i + 1 == chunks.len() {
            secretstream::TAG_FINAL
        } else {
            secretstream::TAG_MESSAGE
        };
        state.push(chunk, tag, &mut blob);
    }
    Ok(Encrypted {
        digest: Sha256::digest(&blob).into(),
        blob,
        key: Zeroizing::new(key.to_vec()),
        size: data.len(),
    })
}

/// Decrypts a deterministic blob with its 32-byte `key`: every chunk must authenticate, the
/// last (only the last) must be FINAL, and the padding must be `0…0 01`.
///
/// # Errors
///
/// Typed: [`AttachmentError::WrongKeyLength`], [`AttachmentError::TooLarge`],
/// [`AttachmentError::BadMac`], [`AttachmentError::Malformed`].
pub fn decrypt_deterministic(
    blob: &[u8],
    key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AttachmentError> {
    let key: &[u8; 32] = key
        .try_into()
        .map_err(|_| AttachmentError::WrongKeyLength)?;
    if blob.len() > MAX_ENCRYPTED_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let Some((&DETERMINISTIC_MAGIC, rest)) = blob.split_first() else {
        return Err(AttachmentError::Malformed);
    };
    if rest.len() < secretstream::HEADER_BYTES + secretstream::ABYTES {
        return Err(AttachmentError::Malformed);
    }
    let (header, body) = rest.split_at(secretstream::HEADER_BYTES);
    let header: &[u8; secretstream::HEADER_BYTES] =
        header.try_into().map_err(|_| AttachmentError::Malformed)?;
    let mut state = secretstream::State::new(key, header);
    let mut plain = Zeroizing::new(Vec::with_capacity(body.len()));
    let chunks: Vec<&[u8]> = body.chunks(CHUNK_BYTES + secretstream::ABYTES).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let tag = state
            .pull(chunk, &mut plain)
            .ok_or(AttachmentError::BadMac)?;
        let last = i + 1 == chunks.len();
        if (tag == secretstream::TAG_FINAL) != last {
            return Err(AttachmentError::Malformed);
        }
    }
    let start = plain
        .iter()
        .position(|&b| b != 0)
        .ok_or(AttachmentError::Malformed)?;
    if plain[start] != 0x01 {
        return Err(AttachmentError::Malformed);
    }
    Ok(Zeroizing::new(plain[start + 1..].to_vec()))
}

/// Which format an `AttachmentPointer.url` names: deterministic when its fragment has a `d`
/// (`#d`, `#d=…`, `…&d…`), else legacy.
pub fn is_deterministic_url(url: &str) -> bool {
    url.split_once('#').is_some_and(|(_, frag)| {
        frag.split('&')
            .any(|part| part == "d" || part.starts_with("d="))
    })
}

/// Decrypts what was downloaded for a pointer (`url`, `key`, `digest`, `size`), in the
/// format its URL names.
///
/// # Errors
///
/// As [`decrypt_legacy`] and [`decrypt_deterministic`]; a deterministic blob must also match
/// its digest when the pointer has one.
pub fn decrypt(
    url: &str,
    blob: &[u8],
    key: &[u8],
    digest: Option<&[u8]>,
    size: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>, AttachmentError> {
    if is_deterministic_url(url) {
        check_digest(blob, digest)?;
        let mut plain = decrypt_deterministic(blob, key)?;
        if let Some(size) = size
            && size < plain.len()
        {
            plain.truncate(size);
        }
        Ok(plain)
    } else {
        decrypt_legacy(blob, key, digest, size)
    }
}
