//! Profile pictures as Session clients encrypt them (session-protocol.md §5.4;
//! session-desktop `ts/util/crypto/profileEncrypter.ts`): the account's 32-byte profile key
//! (sent as `DataMessage.profileKey` next to `LokiProfile.profilePicture`, the URL) encrypts
//! the picture with AES-256-GCM under a random 12-byte IV: `blob = iv ‖ ciphertext ‖ tag(16)`.
//! Nothing is returned before the tag authenticates.

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, KeyInit},
};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{AttachmentError, MAX_ATTACHMENT_BYTES};

/// Length of a profile key.
pub const PROFILE_KEY_BYTES: usize = 32;
const IV_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// A new random profile key.
pub fn new_profile_key<R: CryptoRng + ?Sized>(rng: &mut R) -> Zeroizing<[u8; PROFILE_KEY_BYTES]> {
    let mut key = Zeroizing::new([0u8; PROFILE_KEY_BYTES]);
    rng.fill_bytes(&mut key[..]);
    key
}

/// Encrypts a profile picture under `key` with the given IV (deterministic; for tests and
/// vectors).
///
/// # Errors
///
/// [`AttachmentError::TooLarge`] past [`MAX_ATTACHMENT_BYTES`].
pub fn encrypt_profile_picture_with(
    picture: &[u8],
    key: &[u8; PROFILE_KEY_BYTES],
    iv: [u8; IV_BYTES],
) -> Result<Vec<u8>, AttachmentError> {
    if picture.len() > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let ct = Aes256Gcm::new(key.into())
        .encrypt(&Nonce::from(iv), picture)
        .map_err(|_| AttachmentError::Malformed)?;
    let mut blob = Vec::with_capacity(IV_BYTES + ct.len());
    blob.extend_from_slice(&iv);
    blob.extend_from_slice(&ct);
    Ok(blob)
}

/// Encrypts a profile picture under `key` with a random IV.
///
/// # Errors
///
/// As [`encrypt_profile_picture_with`].
pub fn encrypt_profile_picture<R: CryptoRng + ?Sized>(
    picture: &[u8],
    key: &[u8; PROFILE_KEY_BYTES],
    rng: &mut R,
) -> Result<Vec<u8>, AttachmentError> {
    let mut iv = [0u8; IV_BYTES];
    rng.fill_bytes(&mut iv);
    encrypt_profile_picture_with(picture, key, iv)
}

/// Decrypts a downloaded profile picture with the sender's profile key.
///
/// # Errors
///
/// [`AttachmentError::WrongKeyLength`] for a key that is not 32 bytes,
/// [`AttachmentError::Malformed`] for a blob shorter than IV and tag,
/// [`AttachmentError::TooLarge`] past the size limit, [`AttachmentError::BadMac`] if it does
/// not authenticate.
pub fn decrypt_profile_picture(
    blob: &[u8],
    key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AttachmentError> {
    let key: &[u8; PROFILE_KEY_BYTES] = key
        .try_into()
        .map_err(|_| AttachmentError::WrongKeyLength)?;
    if blob.len() < IV_BYTES + TAG_BYTES {
        return Err(AttachmentError::Malformed);
    }
    if blob.len() > MAX_ATTACHMENT_BYTES + IV_BYTES + TAG_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let (iv, ct) = blob.split_at(IV_BYTES);
    let iv: [u8; IV_BYTES] = iv.try_into().map_err(|_| AttachmentError::Malformed)?;
    Aes256Gcm::new(key.into())
        .decrypt(&Nonce::from(iv), ct)
        .map(Zeroizing::new)
        .map_err(|_| AttachmentError::BadMac)
}
