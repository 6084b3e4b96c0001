//! Message layer, crypto part: Session's 1:1 encryption (`encrypt_for_recipient`,
//! `encrypt_for_recipient_deterministic`, `decrypt_incoming` in libsession).
//!
//! ```text
//! A   = sender Ed25519 public key (32)          Y = recipient X25519 public key (32)
//! SIG = Ed25519_sign(sender, M ‖ A ‖ Y)          (64; binds the recipient, so a recipient
//!                                                 cannot re-seal the payload to someone else)
//! P   = M ‖ A ‖ SIG                              (Y is not carried)
//! C   = crypto_box_seal(P, Y) = epk ‖ tag ‖ box  (overhead 48; total overhead 144)
//! ```
//!
//! The sender of a decrypted message is derived **only** from the authenticated inner key `A`
//! (`05 ‖ ed25519→x25519(A)`), never from any outer field.
//!
//! Spec: session-protocol.md §5.1; vector §11.1.

use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::{
    MAX_MESSAGE_DATA_LEN, MessageError,
    sealed_box::{self, SEAL_OVERHEAD},
};
use crate::identity::{AccountId, Identity, ed25519_to_x25519_public};

/// Bytes `encrypt_for_recipient` adds to the plaintext: sealed box (48) + `A` (32) + `SIG` (64).
pub const ENCRYPTION_OVERHEAD: usize = SEAL_OVERHEAD + 32 + 64;

/// A successfully decrypted and signature-checked 1:1 payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decrypted {
    /// The plaintext `M` (still padded, if the sender padded it).
    pub plaintext: Vec<u8>,
    /// The sender's Ed25519 public key `A`, which signed `M ‖ A ‖ Y`.
    pub sender_ed25519: [u8; 32],
    /// The sender's Account ID, derived from `A` alone.
    pub sender: AccountId,
}

/// `M ‖ A ‖ SIG` with `SIG = sign(M ‖ A ‖ Y)`.
fn sign_for_recipient(sender: &Identity, recipient: &[u8; 32], message: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(message.len() + 32 + 64);
    buf.extend_from_slice(message);
    buf.extend_from_slice(&sender.ed25519_public());
    buf.extend_from_slice(recipient);
    let sig = sender.sign(&buf);
    buf.truncate(message.len() + 32);
    buf.extend_from_slice(&sig);
    buf
}

/// Encrypts `plaintext` (already padded, see [`super::pad_message`]) from `sender` to the
/// account whose X25519 public key is `recipient_x25519`, with a fresh ephemeral key from
/// `rng`. Output length is `plaintext.len() + ENCRYPTION_OVERHEAD`.
///
/// # Errors
///
/// [`MessageError::InvalidRecipientKey`] if the recipient key is a low-order point.
pub fn encrypt_for_recipient<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient_x25519: &[u8; 32],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, MessageError> {
    let signed = sign_for_recipient(sender, recipient_x25519, plaintext);
    let mut esk = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(esk.as_mut());
    let ephemeral_secret = StaticSecret::from(*esk);
    let ephemeral_public = PublicKey::from(&ephemeral_secret);
    sealed_box::seal_with_ephemeral(
        &signed,
        recipient_x25519,
        &ephemeral_secret,
        &ephemeral_public,
    )
}

/// Like [`encrypt_for_recipient`], but the ephemeral key is derived from the sender's seed, the
/// recipient and the plaintext (`BLAKE2b-256(seed ‖ Y ‖ M, key = "SessionBoxEphemeralHashKey")`
/// → `crypto_box_seed_keypair`), so equal inputs give equal output. libsession uses it only for
/// config messages; it reveals when the same plaintext is sent twice to the same recipient.
///
/// # Errors
///
/// [`MessageError::InvalidRecipientKey`] if the recipient key is a low-order point.
pub fn encrypt_for_recipient_deterministic(
    sender: &Identity,
    recipient_x25519: &[u8; 32],
    plaintext: &[u8],
) -> Result<Vec<u8>, MessageError> {
    let signed = sign_for_recipient(sender, recipient_x25519, plaintext);
    let seed = Zeroizing::new(sender.ed25519_signing_key().to_bytes());
    let ephemeral_seed =
        sealed_box::deterministic_ephemeral_seed(&seed, recipient_x25519, plaintext);
    let (ephemeral_secret, ephemeral_public) = sealed_box::box_seed_keypair(&ephemeral_seed);
    sealed_box::seal_with_ephemeral(
        &signed,
        recipient_x25519,
        &ephemeral_secret,
        &ephemeral_public,
    )
}

/// Opens a 1:1 ciphertext addressed to `own`, checks the sender's signature over
/// `M ‖ A ‖ Y` (with `Y` = own X25519 public key) and derives the sender from `A`.
///
/// # Errors
///
/// - [`MessageError::TooShort`] / [`MessageError::IncomingTooLarge`]: length out of range;
/// - [`MessageError::DecryptFailed`]: not a sealed box for this account (deliberately vague);
/// - [`MessageError::InvalidSenderKey`]: `A` is not a usable Ed25519 public key;
/// - [`MessageError::BadSignature`]: the signature does not verify (e.g. the payload was signed
///   for a different recipient and re-sealed).
pub fn decrypt_incoming(own: &Identity, ciphertext: &[u8]) -> Result<Decrypted, MessageError> {
    if ciphertext.len() < ENCRYPTION_OVERHEAD {
        return Err(MessageError::TooShort);
    }
    if ciphertext.len() > MAX_MESSAGE_DATA_LEN {
        return Err(MessageError::IncomingTooLarge);
    }
    let own_public = own.x25519_public();
    let mut buf = sealed_box::open(ciphertext, own.x25519_secret(), &own_public)?;
    let msg_len = buf
        .len()
        .checked_sub(96)
        .ok_or(MessageError::TooShort)?;
    let (_, rest) = buf.split_at(msg_len);
    let (a, sig) = rest.split_first_chunk::<32>().ok_or(MessageError::TooShort)?;
    let sender_ed25519 = *a;
    let sig: [u8; 64] = sig.try_into().map_err(|_| MessageError::TooShort)?;

    let verifying =
        VerifyingKey::from_bytes(&sender_ed25519).map_err(|_| MessageError::InvalidSenderKey)?;
    let sender_x25519 =
        ed25519_to_x25519_public(&sender_ed25519).map_err(|_| MessageError::InvalidSenderKey)?;

    // Turn M ‖ A ‖ SIG into M ‖ A ‖ Y for verification.
    buf.truncate(msg_len + 32);
    buf.extend_from_slice(&own_public);
    verifying
        .verify_strict(&buf, &Signature::from_bytes(&sig))
        .map_err(|_| MessageError::BadSignature)?;

    buf.truncate(msg_len);
    Ok(Decrypted {
        plaintext: buf,
        sender_ed25519,
        sender: AccountId::from_x25519_public(sender_x25519),
    })
}
