//! Config layer, Contacts view (namespace 3): the account's contacts and their conversation
//! settings.
//!
//! ```text
//! c  dict: 33-byte Account ID (05…) → dict:
//!    n  name (always written, possibly empty, so the dict is never pruned)
//!    N  nickname            p / q  profile picture URL / 32-byte key (both or neither)
//!    a  approved (1)        A  approved me (1)         b  blocked (1)
//!    @  notify mode (1 all, 2 disabled; 3 mentions-only is read and written as 1)
//!    !  muted until (unix s)                           +  priority (-1 hidden, > 0 pinned)
//!    e  disappearing mode (1 after send, 2 after read)  E  timer (s); both or neither
//!    j  created (unix s)
//! ```
//!
//! [`set`] writes only these keys, so keys other clients add to a contact (or to the config)
//! survive. Spec: docs/protocol.md §10; upstream `libsession-util:
//! include/session/config/contacts.hpp`, `src/config/contacts.cpp`.

use super::{
    ConfigError, ConfigState, Dict, DictValue,
    user_profile::{MAX_NAME_LEN, ProfilePic, read_pic, write_int_if, write_pic},
};
use crate::identity::AccountId;

/// A conversation's notification setting (libsession `notify_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NotifyMode {
    /// The client's default.
    #[default]
    Defaulted,
    /// Every message.
    All,
    /// None.
    Disabled,
    /// Mentions only (groups and communities; contacts store it as [`NotifyMode::All`]).
    MentionsOnly,
}

impl NotifyMode {
    /// The stored integer.
    pub fn to_int(self) -> i64 {
        match self {
            NotifyMode::Defaulted => 0,
            NotifyMode::All => 1,
            NotifyMode::Disabled => 2,
            NotifyMode::MentionsOnly => 3,
        }
    }

    /// From a stored integer; unknown values are the default.
    pub fn from_int(i: i64) -> Self {
        match i {
            1 => NotifyMode::All,
            2 => NotifyMode::Disabled,
            3 => NotifyMode::MentionsOnly,
            _ => NotifyMode::Defaulted,
        }
    }
}

/// A disappearing-messages setting (libsession `expiration_mode` + timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Disappearing {
    /// Off.
    #[default]
    Off,
    /// Deleted this many seconds after sending.
    AfterSend(i64),
    /// Deleted this many seconds after reading.
    AfterRead(i64),
}

/// One contact, as libsession's `contact_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The contact's Account ID.
    pub account_id: AccountId,
    /// The name the contact gave themselves (empty = none).
    pub name: String,
    /// The user's nickname for them (empty = none).
    pub nickname: String,
    /// Their profile picture.
    pub profile_pic: Option<ProfilePic>,
    /// The user accepted them (their requests are conversations).
    pub approved: bool,
    /// They accepted the user.
    pub approved_me: bool,
    /// Blocked.
    pub blocked: bool,
    /// Conversation priority: 0 normal, -1 hidden, > 0 pinned.
    pub priority: i64,
    /// Notification setting.
    pub notifications: NotifyMode,
    /// Notifications muted until this unix time (s); 0 = not muted.
    pub mute_until: i64,
    /// Disappearing messages.
    pub disappearing: Disappearing,
    /// When the contact was created (unix s); 0 = unknown.
    pub created: i64,
}

impl Contact {
    /// A contact with nothing set (libsession `contact_info(sid)`).
    pub fn new(account_id: AccountId) -> Self {
        Contact {
            account_id,
            name: String::new(),
            nickname: String::new(),
            profile_pic: None,
            approved: false,
            approved_me: false,
            blocked: false,
            priority: 0,
            notifications: NotifyMode::Defaulted,
            mute_until: 0,
            disappearing: Disappearing::Off,
            created: 0,
        }
    }

    /// Reads a contact from its dict (libsession `contact_info::load`).
    fn load(account_id: AccountId, d: &Dict) -> Self {
        let int = |k: &[u8]| d.get(k).and_then(DictValue::as_int).unwrap_or(0);
        let text = |k: &[u8]| {
            d.get(k)
                .and_then(DictValue::as_str)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default()
        };
        let mut notifications = NotifyMode::from_int(int(b"@"));
        if notifications == NotifyMode::MentionsOnly {
            notifications = NotifyMode::All;
        }
        let timer = int(b"E");
        let disappearing = match int(b"e") {
            1 if timer > 0 => Disappearing::AfterSend(timer),
            2 if timer > 0 => Disappearing::AfterRead(timer),
            _ => Disappearing::Off,
        };
        Contact {
            account_id,
            name: text(b"n"),
            nickname: text(b"N"),
            profile_pic: read_pic(d),
            approved: int(b"a") != 0,
            approved_me: int(b"A") != 0,
            blocked: int(b"b") != 0,
            priority: int(b"+"),
            notifications,
            mute_until: int(b"!"),
            disappearing,
            created: int(b"j"),
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The contact, if in the config.
pub fn get(state: &ConfigState, id: &AccountId) -> Option<Contact> {
    let d = state.get(&[b"c", id.as_bytes()])?.as_dict()?;
    Some(Contact::load(*id, d))
}

/// The contact, or a new empty one (libsession `get_or_construct`).
pub fn get_or_new(state: &ConfigState, id: &AccountId) -> Contact {
    get(state, id).unwrap_or_else(|| Contact::new(*id))
}

/// Every contact, in Account ID order. Entries that are not a 33-byte `05` key with a dict
/// are skipped (and kept).
pub fn all(state: &ConfigState) -> Vec<Contact> {
    let Some(c) = state.get_dict(&[b"c"]) else {
        return Vec::new();
    };
    c.iter()
        .filter_map(|(k, v)| {
            let id = AccountId::from_bytes(k).ok()?;
            Some(Contact::load(id, v.as_dict()?))
        })
        .collect()
}

/// How many entries the contacts dict has (libsession `size()`).
pub fn len(state: &ConfigState) -> usize {
    state.get_dict(&[b"c"]).map_or(0, Dict::len)
}

/// Writes a contact (libsession `Contacts::set`): every field above is written or erased;
/// other keys of the contact are left alone. Names are cut to [`MAX_NAME_LEN`] bytes.
///
/// # Errors
///
/// [`ConfigError::InvalidValue`] for a profile picture URL that is too long.
pub fn set(state: &mut ConfigState, c: &Contact) -> Result<(), ConfigError> {
    let id = c.account_id;
    let base: [&[u8]; 2] = [b"c", id.as_bytes()];
    let path = |k: &'static [u8]| [base[0], base[1], k];
    state.set(
        &path(b"n"),
        DictValue::from(truncate_utf8(&c.name, MAX_NAME_LEN)),
    )?;
    let nick = truncate_utf8(&c.nickname, MAX_NAME_LEN);
    if nick.is_empty() {
        state.erase(&path(b"N"));
    } else {
        state.set(&path(b"N"), DictValue::from(nick))?;
    }
    write_pic(state, &base, c.profile_pic.as_ref())?;
    write_int_if(state, &path(b"a"), 1, c.approved)?;
    write_int_if(state, &path(b"A"), 1, c.approved_me)?;
    write_int_if(state, &path(b"b"), 1, c.blocked)?;
    write_int_if(state, &path(b"+"), c.priority, c.priority != 0)?;
    let notify = match c.notifications {
        NotifyMode::MentionsOnly => NotifyMode::All,
        n => n,
    }
    .to_int();
    write_int_if(state, &path(b"@"), notify, notify > 0)?;
    write_int_if(state, &path(b"!"), c.mute_until, c.mute_until > 0)?;
    let (mode, timer) = match c.disappearing {
        Disappearing::AfterSend(t) if t > 0 => (1, t),
        Disappearing::AfterRead(t) if t > 0 => (2, t),
        _ => (0, 0),
    };
    write_int_if(state, &path(b"e"), mode, mode != 0)?;
    write_int_if(state, &path(b"E"), timer, mode != 0)?;
    write_int_if(state, &path(b"j"), c.created, c.created > 0)
}

/// Changes one contact with `f` (creating it if absent) and writes it back.
///
/// # Errors
///
/// The errors of [`set`].
pub fn update(
    state: &mut ConfigState,
    id: &AccountId,
    f: impl FnOnce(&mut Contact),
) -> Result<(), ConfigError> {
    let mut c = get_or_new(state, id);
    f(&mut c);
    set(state, &c)
}

/// Removes a contact; returns whether it was there.
pub fn erase(state: &mut ConfigState, id: &AccountId) -> bool {
    let path: [&[u8]; 2] = [b"c", id.as_bytes()];
    let existed = state.get(&path).is_some();
    state.erase(&path);
    existed
}
