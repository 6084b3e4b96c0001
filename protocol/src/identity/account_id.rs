//! The 33-byte Account ID (Session ID): the `0x05` prefix followed by an X25519 public key,
//! written as 66 lowercase hex characters.

use core::fmt;
use core::str::FromStr;

use crate::error::ErrorKind;

/// Prefix byte of a Session Account ID.
pub const ACCOUNT_ID_PREFIX: u8 = 0x05;

/// A Session Account ID: `05` followed by the account's X25519 public key. Public data.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 33]);

/// Why a string is not an Account ID. Carries none of the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountIdError {
    /// An Account ID is exactly 66 hex characters.
    #[error("account id must be 66 hex characters, got {found}")]
    WrongLength {
        /// Number of characters (not bytes) supplied, after trimming surrounding whitespace.
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("account id is not hex")]
    NotHex,
    /// The first byte is not `05`.
    #[error("account id does not start with 05")]
    WrongPrefix,
}

impl AccountIdError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadApiUsage
    }
}

impl AccountId {
    /// The Account ID of an X25519 public key.
    pub fn from_x25519_public(x25519_public: [u8; 32]) -> AccountId {
        let mut bytes = [0u8; 33];
        bytes[0] = ACCOUNT_ID_PREFIX;
        bytes[1..].copy_from_slice(&x25519_public);
        AccountId(bytes)
    }

    /// Parses 33 raw bytes (`0x05` ‖ X25519 public key).
    pub fn from_bytes(bytes: &[u8]) -> Result<AccountId, AccountIdError> {
        let array: [u8; 33] = bytes.try_into().map_err(|_| AccountIdError::WrongLength {
            found: bytes.len() * 2,
        })?;
        if array[0] != ACCOUNT_ID_PREFIX {
            return Err(AccountIdError::WrongPrefix);
        }
        Ok(AccountId(array))
    }

    /// The 33 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// The X25519 public key (the Account ID without its prefix byte).
    pub fn x25519_public(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0[1..]);
        out
    }
}

impl FromStr for AccountId {
    type Err = AccountIdError;

    /// Accepts 66 hex characters (either case), ignoring surrounding whitespace.
    fn from_str(s: &str) -> Result<AccountId, AccountIdError> {
        let s = s.trim();
        let found = s.chars().count();
        if found != 66 {
            return Err(AccountIdError::WrongLength { found });
        }
        let mut bytes = [0u8; 33];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| AccountIdError::NotHex)?;
        if bytes[0] != ACCOUNT_ID_PREFIX {
            return Err(AccountIdError::WrongPrefix);
        }
        Ok(AccountId(bytes))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 66];
        // 33 bytes always fit 66 hex characters.
        hex::encode_to_slice(self.0, &mut buf).map_err(|_| fmt::Error)?;
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

impl serde::Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
