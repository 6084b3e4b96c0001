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
//! older than [`PRUNE_HIGH_MS`] that are not marked unread. Community URLs are taken as given
//! (the caller passes the canonical base URL); room names are lower-cased.
//!
//! Spec: docs/protocol.md §10; upstream `libsession-util:
//! include/session/config/convo_info_volatile.hpp`, `src/config/convo_info_volatile.cpp`.

use super::{ConfigError, ConfigState, Dict, DictValue};
use crate::identity::AccountId;

/// Entries read longer ago than this are not added (libsession `PRUNE_LOW`, 30 days).
pub const PRUNE_LOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// Entries read longer ago than this are pruned unless unread (`PRUNE_HIGH`, 45 days).
pub const PRUNE_HIGH_MS: i64 = 45 * 24 * 3600 * 1000;

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

fn path_of(c: &Convo) -> Vec<Vec<u8>> {
    match c {
        Convo::OneToOne(id) => vec![b"1".to_vec(), id.as_bytes().to_vec()],
        Convo::Community { base_url, room, .. } => vec![
            b"o".to_vec(),
            base_url.as_bytes().to_vec(),
            b"R".to_vec(),
            room.to_lowercase().into_bytes(),
        ],
        Convo::Group(id) => vec![b"g".to_vec(), id.to_vec()],
        Convo::LegacyGroup(id) => vec![b"C".to_vec(), id.to_vec()],
    }
}

fn refs(p: &[Vec<u8>]) -> Vec<&[u8]> {
    p.iter().map(Vec::as_slice).collect()
}

/// The read state of a conversation, if recorded.
pub fn get(state: &ConfigState, c: &Convo) -> Option<ReadState> {
    let p = path_of(c);
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
/// Never in practice.
pub fn set(
    state: &mut ConfigState,
    c: &Convo,
    read: ReadState,
    now_ms: i64,
) -> Result<(), ConfigError> {
    let p = path_of(c);
    if let Convo::Community {
        base_url, pubkey, ..
    } = c
    {
        state.set(
            &[b"o", base_url.as_bytes(), b"#"],
            DictValue::from(pubkey.as_slice()),
        )?;
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
    let p = path_of(c);
    let existed = state.get(&refs(&p)).is_some();
    state.erase(&refs(&p));
    if let Convo::Community { base_url, .. } = c
        && existed
        && state
            .get_dict(&[b"o", base_url.as_bytes(), b"R"])
            .is_none_or(Dict::is_empty)
    {
        state.erase(&[b"o", base_url.as_bytes()]);
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
