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
//! Spec: docs/protocol.md §5.1; vector §11.1.

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
    let msg_len = buf.len().checked_sub(96).ok_or(MessageError::TooShort)?;
    let (_, rest) = buf.split_at(msg_len);
    let (a, sig) = rest
        .split_first_chunk::<32>()
        .ok_or(MessageError::TooShort)?;
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

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::identity::Seed;

    fn identity(rng: &mut ChaCha20Rng) -> Identity {
        Identity::from_seed(&Seed::generate(rng))
    }

    /// Seals arbitrary inner bytes `P` to `recipient` (what a malicious sender or a forwarding
    /// recipient can do without anyone's secret key).
    fn seal_raw(inner: &[u8], recipient: &[u8; 32], rng: &mut ChaCha20Rng) -> Vec<u8> {
        let secret = StaticSecret::random_from_rng(rng);
        let public = PublicKey::from(&secret);
        sealed_box::seal_with_ephemeral(inner, recipient, &secret, &public).expect("seal")
    }

    /// `docs/security.md` C7 (surreptitious forwarding): Bob opens Alice's message and
    /// re-seals the signed inner payload `M ‖ A ‖ SIG` to Carol. Carol must reject it: the
    /// signature covers Bob's key.
    #[test]
    fn test_c7_resealed_payload_is_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(0xC7);
        let alice = identity(&mut rng);
        let bob = identity(&mut rng);
        let carol = identity(&mut rng);
        for i in 0..200u32 {
            let msg = format!("message {i} for bob only");
            let to_bob =
                encrypt_for_recipient(&alice, &bob.x25519_public(), msg.as_bytes(), &mut rng)
                    .expect("encrypt");
            let inner = sealed_box::open(&to_bob, bob.x25519_secret(), &bob.x25519_public())
                .expect("bob opens");
            assert_eq!(&inner[..msg.len()], msg.as_bytes());
            let to_carol = seal_raw(&inner, &carol.x25519_public(), &mut rng);
            assert_eq!(
                decrypt_incoming(&carol, &to_carol),
                Err(MessageError::BadSignature)
            );
            // The untouched original still verifies for Bob.
            assert_eq!(
                decrypt_incoming(&bob, &to_bob).map(|d| d.sender),
                Ok(alice.account_id())
            );
        }
    }

    #[test]
    fn test_forged_or_invalid_inner_key_is_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let alice = identity(&mut rng);
        let bob = identity(&mut rng);
        let mallory = identity(&mut rng);

        // Mallory claims to be Alice: A = Alice's key, signature by Mallory.
        let mut forged = b"hi".to_vec();
        forged.extend_from_slice(&alice.ed25519_public());
        let mut signed = forged.clone();
        signed.extend_from_slice(&bob.x25519_public());
        forged.extend_from_slice(&mallory.sign(&signed));
        let c = seal_raw(&forged, &bob.x25519_public(), &mut rng);
        assert_eq!(decrypt_incoming(&bob, &c), Err(MessageError::BadSignature));

        // A = a small-order point (the identity element): no valid sender.
        let mut small = b"hi".to_vec();
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        small.extend_from_slice(&identity_point);
        small.extend_from_slice(&[0u8; 64]);
        let c = seal_raw(&small, &bob.x25519_public(), &mut rng);
        assert_eq!(
            decrypt_incoming(&bob, &c),
            Err(MessageError::InvalidSenderKey)
        );

        // A not on the curve.
        let mut off_curve = b"hi".to_vec();
        off_curve.extend_from_slice(&[0xffu8; 32]);
        off_curve.extend_from_slice(&[0u8; 64]);
        let c = seal_raw(&off_curve, &bob.x25519_public(), &mut rng);
        assert!(matches!(
            decrypt_incoming(&bob, &c),
            Err(MessageError::InvalidSenderKey | MessageError::BadSignature)
        ));

        // Inner payload shorter than A ‖ SIG after a valid seal.
        let c = seal_raw(&[0u8; 95], &bob.x25519_public(), &mut rng);
        assert_eq!(c.len(), ENCRYPTION_OVERHEAD - 1);
        assert_eq!(decrypt_incoming(&bob, &c), Err(MessageError::TooShort));
    }

    #[test]
    fn test_box_seed_keypair_matches_x25519_base_point() {
        // crypto_box_seed_keypair: pk = X25519(clamp(SHA-512(seed)[..32]), 9).
        let (secret, public) = sealed_box::box_seed_keypair(&[7u8; 32]);
        let digest = <sha2::Sha512 as sha2::Digest>::digest([7u8; 32]);
        let mut sk = [0u8; 32];
        sk.copy_from_slice(&digest[..32]);
        assert_eq!(
            x25519_dalek::x25519(sk, x25519_dalek::X25519_BASEPOINT_BYTES),
            public.to_bytes()
        );
        assert_eq!(PublicKey::from(&secret), public);
    }
}
