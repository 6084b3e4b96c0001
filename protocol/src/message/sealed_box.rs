//! Message layer, crypto part: libsodium's anonymous sealed box (`crypto_box_seal`) and the
//! NaCl `crypto_box` it is built from, composed from X25519 ([`x25519_dalek`]), HSalsa20 and
//! XSalsa20-Poly1305 ([`crypto_secretbox`]).
//!
//! Byte layout of a sealed box: `epk (32) ‖ tag (16) ‖ ciphertext (len(P))`, where `epk` is a
//! fresh ephemeral X25519 public key, the box key is `HSalsa20(X25519(esk, Y), 0¹⁶)` and the
//! nonce is `BLAKE2b-192(epk ‖ Y)` (unkeyed). Overhead: 48 bytes.
//!
//! Spec: docs/protocol.md §5.1.

use blake2::{
    Blake2b, Blake2bMac,
    digest::{
        Digest, Mac,
        consts::{U24, U32},
    },
};
use crypto_secretbox::{
    Kdf, KeyInit, XSalsa20Poly1305,
    aead::{Aead, generic_array::GenericArray},
};
use sha2::Sha512;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::MessageError;

/// Sealed-box overhead: ephemeral public key (32) plus Poly1305 tag (16).
pub(crate) const SEAL_OVERHEAD: usize = 32 + 16;

/// Key for the keyed BLAKE2b that derives the deterministic ephemeral seed.
const BOX_HASH_KEY: &[u8] = b"SessionBoxEphemeralHashKey";

/// libsodium `crypto_box_seed_keypair`: the X25519 secret is the first half of SHA-512(seed)
/// (clamped when used), the public key is its base-point multiple.
pub(crate) fn box_seed_keypair(seed: &[u8; 32]) -> (StaticSecret, PublicKey) {
    let digest: Zeroizing<[u8; 64]> = Zeroizing::new(Sha512::digest(seed).into());
    let mut sk = Zeroizing::new([0u8; 32]);
    sk.copy_from_slice(&digest[..32]);
    let secret = StaticSecret::from(*sk);
    let public = PublicKey::from(&secret);
    (secret, public)
}

/// The deterministic ephemeral seed of `encrypt_for_recipient_deterministic`:
/// `BLAKE2b-256(sender_seed ‖ Y ‖ M, key = "SessionBoxEphemeralHashKey")`.
pub(crate) fn deterministic_ephemeral_seed(
    sender_seed: &[u8; 32],
    recipient: &[u8; 32],
    message: &[u8],
) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    let mut mac = <Blake2bMac<U32> as blake2::digest::KeyInit>::new_from_slice(BOX_HASH_KEY)
        .expect("a 26-byte key is within BLAKE2b's 1..=64-byte key range");
    mac.update(sender_seed);
    mac.update(recipient);
    mac.update(message);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// libsodium's sealed-box nonce: unkeyed `BLAKE2b-192(epk ‖ Y)`.
fn seal_nonce(epk: &[u8; 32], recipient: &[u8; 32]) -> [u8; 24] {
    let mut hasher = Blake2b::<U24>::new();
    hasher.update(epk);
    hasher.update(recipient);
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&hasher.finalize());
    nonce
}

/// `crypto_box_beforenm`: HSalsa20 over the X25519 shared secret. Rejects an all-zero shared
/// secret (low-order peer key), as libsodium does.
fn box_cipher(secret: &StaticSecret, peer: &[u8; 32]) -> Option<XSalsa20Poly1305> {
    let shared = secret.diffie_hellman(&PublicKey::from(*peer));
    if !shared.was_contributory() {
        return None;
    }
    let shared_key = Zeroizing::new(GenericArray::clone_from_slice(shared.as_bytes()));
    let zero = GenericArray::default();
    let key = Zeroizing::new(<XSalsa20Poly1305 as Kdf>::kdf(&shared_key, &zero));
    Some(XSalsa20Poly1305::new(&key))
}

/// Seals `plaintext` to `recipient` with the given ephemeral key pair:
/// `epk ‖ crypto_box_easy(plaintext, BLAKE2b-192(epk ‖ Y), Y, esk)`.
pub(crate) fn seal_with_ephemeral(
    plaintext: &[u8],
    recipient: &[u8; 32],
    ephemeral_secret: &StaticSecret,
    ephemeral_public: &PublicKey,
) -> Result<Vec<u8>, MessageError> {
    let epk = ephemeral_public.to_bytes();
    let cipher =
        box_cipher(ephemeral_secret, recipient).ok_or(MessageError::InvalidRecipientKey)?;
    let nonce = seal_nonce(&epk, recipient);
    let boxed = cipher
        .encrypt(GenericArray::from_slice(&nonce), plaintext)
        .map_err(|_| MessageError::Bug("XSalsa20-Poly1305 encryption failed"))?;
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
    out.extend_from_slice(&epk);
    out.extend_from_slice(&boxed);
    Ok(out)
}

/// `crypto_box_seal_open`: opens a sealed box addressed to `own_public`. Every failure is the
/// same vague [`MessageError::DecryptFailed`] (or [`MessageError::TooShort`] for a box shorter
/// than its overhead).
pub(crate) fn open(
    sealed: &[u8],
    own_secret: &StaticSecret,
    own_public: &[u8; 32],
) -> Result<Vec<u8>, MessageError> {
    let (epk, boxed) = sealed
        .split_first_chunk::<32>()
        .ok_or(MessageError::TooShort)?;
    if boxed.len() < SEAL_OVERHEAD - 32 {
        return Err(MessageError::TooShort);
    }
    let cipher = box_cipher(own_secret, epk).ok_or(MessageError::DecryptFailed)?;
    let nonce = seal_nonce(epk, own_public);
    cipher
        .decrypt(GenericArray::from_slice(&nonce), boxed)
        .map_err(|_| MessageError::DecryptFailed)
}
