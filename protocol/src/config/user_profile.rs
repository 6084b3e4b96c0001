//! Config layer, UserProfile view (namespace 2): the account's own profile and Note to Self
//! settings.
//!
//! ```text
//! n  display name (≤ 100 bytes; omitted if empty)
//! p  profile picture URL   q  profile picture key (32 bytes); both or neither
//! +  Note to Self priority (omitted if 0; -1 hidden, > 0 pinned)
//! e  Note to Self disappearing timer, seconds (omitted if ≤ 0)
//! M  blinded message requests allowed (0/1; omitted = client default)
//! ```
//!
//! Other keys are left alone. Spec: docs/protocol.md §10; upstream `libsession-util:
//! include/session/config/user_profile.hpp`, `src/config/user_profile.cpp`.

use super::{ConfigError, ConfigState, DictValue};

/// Longest display name or nickname (libsession `contact_info::MAX_NAME_LENGTH`).
pub const MAX_NAME_LEN: usize = 100;

/// Longest profile picture URL (libsession `profile_pic::MAX_URL_LENGTH`).
pub const MAX_URL_LEN: usize = 223;

/// A profile picture: download URL and decryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct ProfilePic {
    /// The file server URL.
    pub url: String,
    /// The 32-byte key the picture is encrypted with.
    pub key: [u8; 32],
}

impl std::fmt::Debug for ProfilePic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilePic").finish_non_exhaustive()
    }
}

/// Reads `p`/`q` from a dict: a picture only if the URL is non-empty and the key 32 bytes.
pub(crate) fn read_pic(d: &super::Dict) -> Option<ProfilePic> {
    let url = d.get(b"p".as_slice())?.as_str()?;
    let key = <[u8; 32]>::try_from(d.get(b"q".as_slice())?.as_str()?).ok()?;
    if url.is_empty() {
        return None;
    }
    Some(ProfilePic {
        url: String::from_utf8_lossy(url).into_owned(),
        key,
    })
}

/// Writes `p`/`q` under `prefix` (both, or erases both).
pub(crate) fn write_pic(
    state: &mut ConfigState,
    prefix: &[&[u8]],
    pic: Option<&ProfilePic>,
) -> Result<(), ConfigError> {
    let path = |k: &'static [u8]| [prefix, &[k]].concat();
    match pic {
        Some(pic) if !pic.url.is_empty() => {
            if pic.url.len() > MAX_URL_LEN {
                return Err(ConfigError::InvalidValue {
                    what: "profile picture URL too long",
                });
            }
            state.set(&path(b"p"), DictValue::from(pic.url.as_str()))?;
            state.set(&path(b"q"), DictValue::from(pic.key.as_slice()))
        }
        _ => {
            state.erase(&path(b"p"));
            state.erase(&path(b"q"));
            Ok(())
        }
    }
}

/// Writes an integer, erasing it when `keep` is false.
pub(crate) fn write_int_if(
    state: &mut ConfigState,
    path: &[&[u8]],
    value: i64,
    keep: bool,
) -> Result<(), ConfigError> {
    if keep {
        state.set(path, DictValue::from(value))
    } else {
        state.erase(path);
        Ok(())
    }
}

fn int(state: &ConfigState, key: &[u8]) -> Option<i64> {
    state.get(&[key])?.as_int()
}

/// The display name, if set and non-empty.
pub fn name(state: &ConfigState) -> Option<String> {
    let n = state.get(&[b"n"])?.as_str()?;
    (!n.is_empty()).then(|| String::from_utf8_lossy(n).into_owned())
}

/// Sets (or, if empty, removes) the display name.
///
/// # Errors
///
/// [`ConfigError::InvalidValue`] over [`MAX_NAME_LEN`] bytes.
pub fn set_name(state: &mut ConfigState, name: &str) -> Result<(), ConfigError> {
    if name.len() > MAX_NAME_LEN {
        return Err(ConfigError::InvalidValue {
            what: "profile name too long",
        });
    }
    if name.is_empty() {
        state.erase(&[b"n"]);
        Ok(())
    } else {
        state.set(&[b"n"], DictValue::from(name))
    }
}

/// The profile picture.
pub fn profile_pic(state: &ConfigState) -> Option<ProfilePic> {
    read_pic(state.data())
}

/// Sets or removes the profile picture.
///
/// # Errors
///
/// [`ConfigError::InvalidValue`] for a URL over [`MAX_URL_LEN`].
pub fn set_profile_pic(
    state: &mut ConfigState,
    pic: Option<&ProfilePic>,
) -> Result<(), ConfigError> {
    write_pic(state, &[], pic)
}

/// Note to Self priority: 0 normal, -1 hidden, > 0 pinned.
pub fn nts_priority(state: &ConfigState) -> i64 {
    int(state, b"+").unwrap_or(0)
}

/// Sets the Note to Self priority.
///
/// # Errors
///
/// Never in practice (the value is an integer).
pub fn set_nts_priority(state: &mut ConfigState, priority: i64) -> Result<(), ConfigError> {
    write_int_if(state, &[b"+"], priority, priority != 0)
}

/// Note to Self disappearing timer in seconds, if set.
pub fn nts_expiry_secs(state: &ConfigState) -> Option<i64> {
    int(state, b"e").filter(|&e| e > 0)
}

/// Sets the Note to Self disappearing timer (0 or less turns it off).
///
/// # Errors
///
/// Never in practice.
pub fn set_nts_expiry_secs(state: &mut ConfigState, secs: i64) -> Result<(), ConfigError> {
    write_int_if(state, &[b"e"], secs, secs > 0)
}

/// Whether blinded (community) message requests are allowed; `None` = client default.
pub fn blinded_msgreqs(state: &ConfigState) -> Option<bool> {
    int(state, b"M").map(|m| m != 0)
}

/// Sets or clears the blinded message request setting.
///
/// # Errors
///
/// Never in practice.
pub fn set_blinded_msgreqs(
    state: &mut ConfigState,
    value: Option<bool>,
) -> Result<(), ConfigError> {
    match value {
        Some(v) => state.set(&[b"M"], DictValue::from(i64::from(v))),
        None => {
            state.erase(&[b"M"]);
            Ok(())
        }
    }
}
