//! Config layer, crypto part: libsession's deterministic config encryption, the padding it
//! uses, and zstd compression of config messages.
//!
//! ```text
//! key'  = BLAKE2b-256(key32 ‖ uint64_BE(len(msg)) ‖ domain)
//! nonce = BLAKE2b-192(msg, key = "libsessionutil-config-encrypted-" ‖ domain)
//! out   = XChaCha20-Poly1305(msg, nonce, key') ‖ nonce        (overhead 40)
//!
//! pushed plaintext = 0x00… ‖ ('z' ‖ zstd(message) if smaller, else message)
//!                    prefix-padded to padded_size(len, 40)
//! ```
//!
//! The nonce is a hash of the plaintext, so racing devices that merge to the same message
//! push identical bytes (`docs/config-merge-logic.md` "Message Encryption"). Decryption
//! failures are deliberately vague.
//!
//! Spec: docs/protocol.md §10, vectors §11.8; upstream `libsession-util:
//! src/config/encrypt.cpp`, `include/session/config/encrypt.hpp`, `src/config/base.cpp`.

use blake2::{
    Blake2b, Blake2bMac,
    digest::{
        Digest, Mac,
        consts::{U24, U32},
    },
};
use chacha20poly1305::{
    XChaCha20Poly1305,
    aead::{Aead, KeyInit},
};
use zeroize::Zeroizing;

use super::{ConfigError, MAX_DECOMPRESSED_LEN};

/// Bytes [`encrypt`] adds: Poly1305 tag (16) and nonce (24).
pub const ENCRYPT_OVERHEAD: usize = 16 + 24;

/// Longest encryption domain libsession accepts.
const DOMAIN_MAX_LEN: usize = 24;

/// Prefix of the nonce hash key.
const NONCE_KEY_PREFIX: &[u8] = b"libsessionutil-config-encrypted-";

/// The size `s` bytes are padded to so that `s + overhead` is a multiple of 256 below 5120,
/// of 1024 below 20480, of 2048 below 40960 and of 5120 above (libsession `padded_size`).
pub fn padded_size(s: usize, overhead: usize) -> usize {
    let s2 = s + overhead;
    let chunk = if s2 < 5120 {
        256
    } else if s2 < 20480 {
        1024
    } else if s2 < 40960 {
        2048
    } else {
        5120
    };
    s2.div_ceil(chunk) * chunk - overhead
}

/// Prefix-pads `msg` with zeros to `padded_size(len, ENCRYPT_OVERHEAD)`.
pub fn pad_message(msg: &mut Vec<u8>) {
    let target = padded_size(msg.len(), ENCRYPT_OVERHEAD);
    if target > msg.len() {
        let mut padded = vec![0u8; target - msg.len()];
        padded.append(msg);
        *msg = padded;
    }
}

fn message_key(key: &[u8; 32], len: usize, domain: &str) -> Zeroizing<[u8; 32]> {
    let mut h = Blake2b::<U32>::new();
    h.update(key);
    h.update((len as u64).to_be_bytes());
    h.update(domain.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&h.finalize());
    out
}

fn check_domain(domain: &str) -> Result<(), ConfigError> {
    if domain.is_empty() || domain.len() > DOMAIN_MAX_LEN {
        return Err(ConfigError::BadDomain);
    }
    Ok(())
}

/// Encrypts `msg` deterministically under `key` and `domain` (libsession `config::encrypt`).
///
/// # Errors
///
/// [`ConfigError::BadDomain`] for a domain outside 1..=24 bytes.
pub fn encrypt(msg: &[u8], key: &[u8; 32], domain: &str) -> Result<Vec<u8>, ConfigError> {
    check_domain(domain)?;
    let k = message_key(key, msg.len(), domain);
    let nonce_key = [NONCE_KEY_PREFIX, domain.as_bytes()].concat();
    let mut mac =
        <Blake2bMac<U24>>::new_from_slice(&nonce_key).map_err(|_| ConfigError::BadDomain)?;
    mac.update(msg);
    let nonce = mac.finalize().into_bytes();
    let mut out = XChaCha20Poly1305::new(&(*k).into())
        .encrypt(&nonce, msg)
        .map_err(|_| ConfigError::Bug)?;
    out.extend_from_slice(&nonce);
    Ok(out)
}

/// Decrypts the output of [`encrypt`].
///
/// # Errors
///
/// [`ConfigError::DecryptFailed`] for anything that does not decrypt (deliberately vague);
/// [`ConfigError::BadDomain`].
pub fn decrypt(ciphertext: &[u8], key: &[u8; 32], domain: &str) -> Result<Vec<u8>, ConfigError> {
    check_domain(domain)?;
    let msg_len = ciphertext
        .len()
        .checked_sub(ENCRYPT_OVERHEAD)
        .ok_or(ConfigError::DecryptFailed)?;
    let (body, nonce) = ciphertext.split_at(ciphertext.len() - 24);
    let nonce: &[u8; 24] = nonce.try_into().map_err(|_| ConfigError::DecryptFailed)?;
    let k = message_key(key, msg_len, domain);
    XChaCha20Poly1305::new(&(*k).into())
        .decrypt(nonce.into(), body)
        .map_err(|_| ConfigError::DecryptFailed)
}

/// `'z' ‖ zstd(msg)` if that is shorter than `msg`, else `msg` (libsession
/// `compress_message`). ruzstd's fastest level; its bytes differ from libzstd's level 1, which
/// only matters for de-duplication of racing merges between Umbra and libsession devices.
pub fn compress_if_smaller(msg: Vec<u8>) -> Vec<u8> {
    let mut compressed = vec![b'z'];
    compressed.extend(ruzstd::encoding::compress_to_vec(
        msg.as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    ));
    if compressed.len() < msg.len() {
        compressed
    } else {
        msg
    }
}

/// Decompresses a zstd frame (after the `'z'`), refusing more than
/// [`MAX_DECOMPRESSED_LEN`] bytes of output.
///
/// # Errors
///
/// [`ConfigError::Decompress`], [`ConfigError::TooLarge`].
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, ConfigError> {
    use std::io::Read as _;
    // The window limit bounds what a hostile frame header can make the decoder allocate.
    let decoder = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(
        data,
        MAX_DECOMPRESSED_LEN as u64,
    )
    .map_err(|_| ConfigError::Decompress)?;
    let mut out = Vec::new();
    decoder
        .take(MAX_DECOMPRESSED_LEN as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| ConfigError::Decompress)?;
    if out.len() > MAX_DECOMPRESSED_LEN {
        return Err(ConfigError::TooLarge);
    }
    if out.is_empty() {
        return Err(ConfigError::Decompress);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_compression_round_trip() {
        let msg: Vec<u8> = b"d1:#i1e1:&d1:n6:Kalliee".repeat(40);
        let c = compress_if_smaller(msg.clone());
        assert_eq!(c[0], b'z');
        assert_eq!(decompress(&c[1..]).unwrap(), msg);
        let short = b"d1:#i0e1:&de1:<le1:=dee".to_vec();
        assert_eq!(compress_if_smaller(short.clone()), short);
        assert_eq!(decompress(b"garbage"), Err(ConfigError::Decompress));
    }
}
