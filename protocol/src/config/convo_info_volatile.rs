//! Config layer, ConvoInfoVolatile view (namespace 4): read position and unread flag per
//! conversation.
//!
//! ```text
//! 1  dict: 33-byte Account ID → { r last read (unix ms), u unread (1) }
//! o  dict: community base URL → { # server pubkey (32), R { lower-case room → { r, u } } }
//! g  dict: 33-byte 03 group id → { r, u }
//! C  dict: 33-byte legacy group id → { r, u }
//! ```
//!
//! Conversations read more than [`PRUNE_LOW_MS`] ago are not added; call [`prune_stale`]
//! before [`ConfigState::push`] (libsession's `ConvoInfoVolatile::push` does) to drop entries
//! older than [`PRUNE_HIGH_MS`] that are not marked unread. Community base URLs and rooms are
//! canonicalised as libsession does ([`canonical_url`], [`canonical_room`]).
//!
//! Spec: docs/protocol.md §10; upstream `libsession-util:
//! include/session/config/convo_info_volatile.hpp`, `src/config/convo_info_volatile.cpp`.

use super::{ConfigError, ConfigState, Dict, DictValue};
use crate::identity::AccountId;

/// Entries read longer ago than this are not added (libsession `PRUNE_LOW`, 30 days).
pub const PRUNE_LOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// Entries read longer ago than this are pruned unless unread (`PRUNE_HIGH`, 45 days).
pub const PRUNE_HIGH_MS: i64 = 45 * 24 * 3600 * 1000;

/// Longest canonical community base URL (libsession `community::BASE_URL_MAX_LENGTH`).
pub const BASE_URL_MAX_LEN: usize = 267;

/// Longest community room token (`community::ROOM_MAX_LENGTH`).
pub const ROOM_MAX_LEN: usize = 64;

fn bad_url() -> ConfigError {
    ConfigError::InvalidValue {
        what: "community URL",
    }
}

/// A community base URL in canonical form (libsession `community::canonical_url`):
/// `http://` or `https://`, the host lower-cased, the port omitted when it is the default,
/// no path (a single trailing `/` is dropped).
///
/// # Errors
///
/// [`ConfigError::InvalidValue`] for anything else.
pub fn canonical_url(url: &str) -> Result<String, ConfigError> {
    let (proto, rest) = url.split_once("://").ok_or_else(bad_url)?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "http" => "http://",
        "https" => "https://",
        _ => return Err(bad_url()),
    };
    let bytes = rest.as_bytes();
    let mut host = String::new();
    let (mut allow_dot, mut has_dot, mut i) = (false, false, 0);
    while let Some(&c) = bytes.get(i) {
        if c.is_ascii_digit() || c.is_ascii_lowercase() || c == b'-' {
            host.push(char::from(c));
            allow_dot = true;
        } else if c.is_ascii_uppercase() {
            host.push(char::from(c.to_ascii_lowercase()));
            allow_dot = true;
        } else if allow_dot && c == b'.' {
            host.push('.');
            has_dot = true;
            allow_dot = false;
        } else {
            break;
        }
        i += 1;
    }
    if host.len() < 4 || !has_dot || host.ends_with('.') {
        return Err(bad_url());
    }
    let mut rest = &rest[i..];
    let mut port = 0u16;
    if let Some(after) = rest.strip_prefix(':') {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        port = after[..digits].parse().map_err(|_| bad_url())?;
        rest = &after[digits..];
        if (port == 80 && proto == "http://") || (port == 443 && proto == "https://") {
            port = 0;
        }
    }
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if !rest.is_empty() {
        return Err(bad_url());
    }
    let mut out = format!("{proto}{host}");
    if port != 0 {
        out.push_str(&format!(":{port}"));
    }
    if out.len() > BASE_URL_MAX_LEN {
        return Err(bad_url());
    }
    Ok(out)
}

/// A room token in canonical form: lower-cased, 1..=64 of `-0-9_a-z`.
///
/// # Errors
///
/// [`ConfigError::InvalidValue`] otherwise.
pub fn canonical_room(room: &str) -> Result<String, ConfigError> {
    let room = room.to_ascii_lowercase();
    if room.is_empty()
        || room.len() > ROOM_MAX_LEN
        || !room
            .bytes()
            .all(|c| c == b'-' || c == b'_' || c.is_ascii_digit() || c.is_ascii_lowercase())
    {
        return Err(ConfigError::InvalidValue {
            what: "community room",
        });
    }
    Ok(room)
}

/// Read state of one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReadState {
    /// Unix ms of the last read message (0 = none).
    pub last_read_ms: i64,
    /// Marked unread by the user.
    pub unread: bool,
}

/// Which conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Convo {
    /// A 1:1 conversation (and Note to Self).
    OneToOne(AccountId),
    /// A community room: canonical base URL, room (lower-cased on write), server pubkey.
    Community {
        /// Canonical base URL.
        base_url: String,
        /// Room token.
        room: String,
        /// The server's X25519 pubkey (written with the room).
        pubkey: [u8; 32],
    },
    /// A 03 group: the 33-byte id.
    Group([u8; 33]),
    /// A legacy group: the 33-byte (05) id.
    LegacyGroup([u8; 33]),
}

fn load(d: &Dict) -> ReadState {
    let int = |k: &[u8]| d.get(k).and_then(DictValue::as_int).unwrap_or(0);
    ReadState {
        last_read_ms: int(b"r"),
        unread: int(b"u") != 0,
    }
}

fn path_of(c: &Convo) -> Result<Vec<Vec<u8>>, ConfigError> {
    Ok(match c {
        Convo::OneToOne(id) => vec![b"1".to_vec(), id.as_bytes().to_vec()],
        Convo::Community { base_url, room, .. } => vec![
            b"o".to_vec(),
            canonical_url(base_url)?.into_bytes(),
            b"R".to_vec(),
            canonical_room(room)?.into_bytes(),
        ],
        Convo::Group(id) => vec![b"g".to_vec(), id.to_vec()],
        Convo::LegacyGroup(id) => vec![b"C".to_vec(), id.to_vec()],
    })
}

fn refs(p: &[Vec<u8>]) -> Vec<&[u8]> {
    p.iter().map(Vec::as_slice).collect()
}

/// The read state of a conversation, if recorded (`None` also for an invalid community URL).
pub fn get(state: &ConfigState, c: &Convo) -> Option<ReadState> {
    let p = path_of(c).ok()?;
    Some(load(state.get(&refs(&p))?.as_dict()?))
}

/// Every recorded 1:1 conversation.
pub fn all_one_to_one(state: &ConfigState) -> Vec<(AccountId, ReadState)> {
    state
        .get_dict(&[b"1"])
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((AccountId::from_bytes(k).ok()?, load(v.as_dict()?))))
        .collect()
}

/// Every recorded community room: (base URL, room, server pubkey, state).
pub fn all_communities(state: &ConfigState) -> Vec<(String, String, Vec<u8>, ReadState)> {
    let mut out = Vec::new();
    for (url, server) in state.get_dict(&[b"o"]).into_iter().flatten() {
        let Some(server) = server.as_dict() else {
            continue;
        };
        let pubkey = server
            .get(b"#".as_slice())
            .and_then(DictValue::as_str)
            .unwrap_or_default()
            .to_vec();
        let rooms = server.get(b"R".as_slice()).and_then(DictValue::as_dict);
        for (room, v) in rooms.into_iter().flatten() {
            if let Some(d) = v.as_dict() {
                out.push((
                    String::from_utf8_lossy(url).into_owned(),
                    String::from_utf8_lossy(room).into_owned(),
                    pubkey.clone(),
                    load(d),
                ));
            }
        }
    }
    out
}

/// Every recorded 03 group or legacy group (`legacy`).
pub fn all_groups(state: &ConfigState, legacy: bool) -> Vec<(Vec<u8>, ReadState)> {
    let key: &[u8] = if legacy { b"C" } else { b"g" };
    state
        .get_dict(&[key])
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), load(v.as_dict()?))))
        .collect()
}

/// Records a conversation's read state (libsession `set` / `set_base`): an older last-read
/// than the recorded one is always written (a reset); a newer one only if within
/// [`PRUNE_LOW_MS`] of `now_ms`.
///
/// # Errors
///
/// [`ConfigError::InvalidValue`] for a community URL or room that does not canonicalise.
pub fn set(
    state: &mut ConfigState,
    c: &Convo,
    read: ReadState,
    now_ms: i64,
) -> Result<(), ConfigError> {
    let p = path_of(c)?;
    if let Convo::Community { pubkey, .. } = c {
        state.set(&[b"o", &p[1], b"#"], DictValue::from(pubkey.as_slice()))?;
    }
    let mut r = refs(&p);
    r.push(b"r");
    let current = state.get(&r).and_then(DictValue::as_int);
    if current.is_some_and(|cur| read.last_read_ms < cur)
        || read.last_read_ms > now_ms.saturating_sub(PRUNE_LOW_MS)
    {
        state.set(&r, DictValue::from(read.last_read_ms))?;
    }
    r.pop();
    r.push(b"u");
    if read.unread {
        state.set(&r, DictValue::from(1))
    } else {
        state.erase(&r);
        Ok(())
    }
}

/// Removes a conversation; returns whether it was there. Removing a community's last room
/// removes the server entry.
pub fn erase(state: &mut ConfigState, c: &Convo) -> bool {
    let Ok(p) = path_of(c) else {
        return false;
    };
    let existed = state.get(&refs(&p)).is_some();
    state.erase(&refs(&p));
    if matches!(c, Convo::Community { .. })
        && existed
        && state
            .get_dict(&[b"o", &p[1], b"R"])
            .is_none_or(Dict::is_empty)
    {
        state.erase(&[b"o", &p[1]]);
    }
    existed
}

/// Drops conversations last read more than [`PRUNE_HIGH_MS`] before `now_ms` that are not
/// marked unread (libsession `prune_stale`); call before pushing.
pub fn prune_stale(state: &mut ConfigState, now_ms: i64) {
    let cutoff = now_ms.saturating_sub(PRUNE_HIGH_MS);
    let stale = |r: &ReadState| !r.unread && r.last_read_ms < cutoff;
    let mut drop: Vec<Convo> = Vec::new();
    for (id, r) in all_one_to_one(state) {
        if stale(&r) {
            drop.push(Convo::OneToOne(id));
        }
    }
    for (id, r) in all_groups(state, true) {
        if let (true, Ok(id)) = (stale(&r), <[u8; 33]>::try_from(id.as_slice())) {
            drop.push(Convo::LegacyGroup(id));
        }
    }
    for (url, room, _, r) in all_communities(state) {
        if stale(&r) {
            drop.push(Convo::Community {
                base_url: url,
                room,
                pubkey: [0; 32],
            });
        }
    }
    for c in drop {
        erase(state, &c);
    }
}
