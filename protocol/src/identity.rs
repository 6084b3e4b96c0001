//! Account identity: the secret seed, the Ed25519 and X25519 key pairs derived from it, and the
//! 33-byte Account ID (`05` + X25519 public key) that other users address messages to.
//!
//! A new account is 16 random bytes; the Ed25519 seed is those bytes followed by 16 zero bytes
//! (Session desktop `generateKeypair`). A 32-byte seed (from a 25-word phrase) is used as is.
//! The X25519 key pair is the libsodium conversion of the Ed25519 one
//! (`crypto_sign_ed25519_sk_to_curve25519` / `crypto_sign_ed25519_pk_to_curve25519`).

mod account_id;

use core::fmt;

use ed25519_dalek::{Signer, SigningKey};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::ErrorKind;
use crate::mnemonic::{self, RecoveryPhrase};

pub use account_id::{ACCOUNT_ID_PREFIX, AccountId, AccountIdError};

/// Length of a short (13-word) account secret: the first half of the seed.
pub const SHORT_SEED_LEN: usize = 16;
/// Length of a full Ed25519 seed.
pub const SEED_LEN: usize = 32;

/// Why a key could not be built or converted. Carries no key bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Seed material must be 16 or 32 bytes long.
    #[error("seed must be 16 or 32 bytes, got {found}")]
    WrongSeedLength {
        /// The length that was supplied.
        found: usize,
    },
    /// The bytes are not a usable Ed25519 public key (not on the curve, small order, or outside
    /// the prime-order subgroup), so they have no X25519 counterpart.
    #[error("invalid Ed25519 public key")]
    InvalidEd25519Public,
}

impl KeyError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            KeyError::WrongSeedLength { .. } => ErrorKind::BadApiUsage,
            KeyError::InvalidEd25519Public => ErrorKind::PeerMisbehaved,
        }
    }
}

/// The 32-byte Ed25519 seed every key of an account derives from. Secret: zeroized on drop,
/// never printed, cloned or serialized.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Seed(Box<[u8; SEED_LEN]>);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// A new account seed: 16 random bytes followed by 16 zero bytes (13-word phrase).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Seed {
        let mut bytes = Box::new([0u8; SEED_LEN]);
        rng.fill_bytes(&mut bytes[..SHORT_SEED_LEN]);
        Seed(bytes)
    }

    /// Builds a seed from 16 bytes (padded with 16 zero bytes) or 32 bytes (used as is).
    pub fn from_entropy(entropy: &[u8]) -> Result<Seed, KeyError> {
        match entropy.len() {
            SHORT_SEED_LEN | SEED_LEN => {
                let mut bytes = Box::new([0u8; SEED_LEN]);
                bytes[..entropy.len()].copy_from_slice(entropy);
                Ok(Seed(bytes))
            }
            found => Err(KeyError::WrongSeedLength { found }),
        }
    }

    /// True when the last 16 bytes are zero, i.e. the seed is a 16-byte (13-word) secret.
    pub fn is_short(&self) -> bool {
        self.0[SHORT_SEED_LEN..].iter().all(|b| *b == 0)
    }

    /// The recovery phrase for this seed: 13 words for a short seed, 25 words otherwise.
    pub fn recovery_phrase(&self) -> RecoveryPhrase {
        let entropy = if self.is_short() {
            &self.0[..SHORT_SEED_LEN]
        } else {
            &self.0[..]
        };
        mnemonic::encode_seed_bytes(entropy)
    }

    /// The raw 32 seed bytes. Named so that every export is visible in review: only for
    /// sealing the seed under the store key or for key derivations that need the seed itself.
    pub fn dangerously_export_bytes(&self) -> &[u8; SEED_LEN] {
        &self.0
    }
}

/// An account's secret keys: the Ed25519 signing key and the X25519 static secret derived from
/// it, plus the public halves. Zeroized on drop; never printed, cloned or serialized.
pub struct Identity {
    signing: SigningKey,
    x25519: x25519_dalek::StaticSecret,
    ed25519_public: [u8; 32],
    x25519_public: [u8; 32],
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity(<redacted>)")
    }
}

impl Identity {
    /// Derives the full identity from a seed.
    pub fn from_seed(seed: &Seed) -> Identity {
        let signing = SigningKey::from_bytes(&seed.0);
        let ed25519_public = signing.verifying_key().to_bytes();
        // libsodium crypto_sign_ed25519_sk_to_curve25519: first half of SHA-512(seed), clamped.
        let mut scalar = Zeroizing::new(signing.to_scalar_bytes());
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        let x25519 = x25519_dalek::StaticSecret::from(*scalar);
        let x25519_public = x25519_dalek::PublicKey::from(&x25519).to_bytes();
        Identity {
            signing,
            x25519,
            ed25519_public,
            x25519_public,
        }
    }

    /// The Account ID (`05` + X25519 public key).
    pub fn account_id(&self) -> AccountId {
        AccountId::from_x25519_public(self.x25519_public)
    }

    /// The Ed25519 public key.
    pub fn ed25519_public(&self) -> [u8; 32] {
        self.ed25519_public
    }

    /// The X25519 public key (the Account ID without its `05` prefix).
    pub fn x25519_public(&self) -> [u8; 32] {
        self.x25519_public
    }

    /// A detached Ed25519 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }

    /// The X25519 static secret, for Diffie-Hellman in other layers.
    pub fn x25519_secret(&self) -> &x25519_dalek::StaticSecret {
        &self.x25519
    }

    /// The Ed25519 signing key, for layers that sign or blind with it (e.g. community blinding).
    pub fn ed25519_signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

/// Converts an Ed25519 public key to its X25519 (Montgomery) form, `u = (1 + y) / (1 − y)`.
///
/// Rejects, like libsodium, encodings that are not a curve point, small-order points and points
/// outside the prime-order subgroup.
pub fn ed25519_to_x25519_public(ed_pk: &[u8; 32]) -> Result<[u8; 32], KeyError> {
    let point = curve25519_dalek::edwards::CompressedEdwardsY(*ed_pk)
        .decompress()
        .ok_or(KeyError::InvalidEd25519Public)?;
    if point.is_small_order() || !point.is_torsion_free() {
        return Err(KeyError::InvalidEd25519Public);
    }
    Ok(point.to_montgomery().to_bytes())
}
