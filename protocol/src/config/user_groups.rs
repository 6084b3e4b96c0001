//! Config layer, UserGroups view (namespace 5): the account's groups and communities. Umbra
//! reads and keeps them (round-trips them untouched) until groups and communities land.
//!
//! ```text
//! common in every entry: @ notify, ! muted until (s), + priority, i invited (1), j joined (s)
//! g  dict: 32-byte group pubkey (no 03) → { K seed (32, or empty), s auth data (100),
//!                                           n name, r removed status, common }
//! o  dict: base URL → { # server pubkey (32), R { lower-case room → { n room name, common } } }
//! C  dict: 33-byte legacy group id → { n name, k / K encryption keypair (32 each),
//!                                      m members (set), a admins (set), E timer (s), common }
//! ```
//!
//! Spec: docs/protocol.md §10; upstream `libsession-util:
//! include/session/config/user_groups.hpp`, `src/config/user_groups.cpp`.

use super::{ConfigState, Dict, DictValue, Scalar, contacts::NotifyMode};

/// Settings every group entry has.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Common {
    /// Priority: 0 normal, -1 hidden, > 0 pinned.
    pub priority: i64,
    /// Joined at (unix s).
    pub joined_at: i64,
    /// Notification setting.
    pub notifications: NotifyMode,
    /// Muted until (unix s).
    pub mute_until: i64,
    /// A pending invite.
    pub invited: bool,
}

/// A 03 group.
#[derive(Clone, PartialEq, Eq)]
pub struct Group {
    /// The 33-byte group id (`03` + pubkey).
    pub id: [u8; 33],
    /// The name from the invitation.
    pub name: String,
    /// The group's Ed25519 seed, if the user is an admin.
    pub secret_seed: Option<[u8; 32]>,
    /// Member authentication data (100 bytes), if not an admin.
    pub auth_data: Option<Vec<u8>>,
    /// Why the user was removed (0 = not removed).
    pub removed_status: i64,
    /// Common settings.
    pub common: Common,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("id", &hex::encode(self.id))
            .field("admin", &self.secret_seed.is_some())
            .finish_non_exhaustive()
    }
}

/// A community room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Community {
    /// Canonical base URL.
    pub base_url: String,
    /// The server's pubkey.
    pub pubkey: Vec<u8>,
    /// The room as displayed (`n`), else the lower-case key.
    pub room: String,
    /// Common settings.
    pub common: Common,
}

/// A legacy group.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyGroup {
    /// The 33-byte (05) id.
    pub id: [u8; 33],
    /// Name.
    pub name: String,
    /// Encryption keypair (public, secret), if both are 32 bytes.
    pub enc_keypair: Option<([u8; 32], [u8; 32])>,
    /// Members and whether each is an admin.
    pub members: Vec<(Vec<u8>, bool)>,
    /// Disappearing timer (s), 0 = off.
    pub disappearing_secs: i64,
    /// Common settings.
    pub common: Common,
}

impl std::fmt::Debug for LegacyGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyGroup")
            .field("id", &hex::encode(self.id))
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

fn int(d: &Dict, k: &[u8]) -> i64 {
    d.get(k).and_then(DictValue::as_int).unwrap_or(0)
}

fn text(d: &Dict, k: &[u8]) -> Option<String> {
    d.get(k)
        .and_then(DictValue::as_str)
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

fn common(d: &Dict) -> Common {
    let notifications = NotifyMode::from_int(int(d, b"@"));
    Common {
        priority: int(d, b"+"),
        joined_at: int(d, b"j").max(0),
        notifications,
        mute_until: int(d, b"!"),
        invited: int(d, b"i") != 0,
    }
}

/// Every 03 group.
pub fn groups(state: &ConfigState) -> Vec<Group> {
    state
        .get_dict(&[b"g"])
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let pk = <[u8; 32]>::try_from(k.as_slice()).ok()?;
            let d = v.as_dict()?;
            let mut id = [0u8; 33];
            id[0] = 0x03;
            id[1..].copy_from_slice(&pk);
            let bytes = |key: &[u8]| d.get(key).and_then(DictValue::as_str);
            Some(Group {
                id,
                name: text(d, b"n").unwrap_or_default(),
                secret_seed: bytes(b"K").and_then(|b| <[u8; 32]>::try_from(b).ok()),
                auth_data: bytes(b"s").filter(|b| b.len() == 100).map(<[u8]>::to_vec),
                removed_status: int(d, b"r"),
                common: common(d),
            })
        })
        .collect()
}

/// Every community room.
pub fn communities(state: &ConfigState) -> Vec<Community> {
    let mut out = Vec::new();
    for (url, server) in state.get_dict(&[b"o"]).into_iter().flatten() {
        let Some(server) = server.as_dict() else {
            continue;
        };
        let Some(pubkey) = server.get(b"#".as_slice()).and_then(DictValue::as_str) else {
            continue;
        };
        let rooms = server.get(b"R".as_slice()).and_then(DictValue::as_dict);
        for (room, v) in rooms.into_iter().flatten() {
            let Some(d) = v.as_dict() else { continue };
            out.push(Community {
                base_url: String::from_utf8_lossy(url).into_owned(),
                pubkey: pubkey.to_vec(),
                room: text(d, b"n").unwrap_or_else(|| String::from_utf8_lossy(room).into_owned()),
                common: common(d),
            });
        }
    }
    out
}

/// Every legacy group.
pub fn legacy_groups(state: &ConfigState) -> Vec<LegacyGroup> {
    state
        .get_dict(&[b"C"])
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let id = <[u8; 33]>::try_from(k.as_slice()).ok()?;
            let d = v.as_dict()?;
            let key = |kk: &[u8]| {
                d.get(kk)
                    .and_then(DictValue::as_str)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
            };
            let set_of = |kk: &[u8]| -> Vec<Vec<u8>> {
                d.get(kk)
                    .and_then(DictValue::as_set)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| match s {
                        Scalar::Str(b) => Some(b.clone()),
                        Scalar::Int(_) => None,
                    })
                    .collect()
            };
            let admins = set_of(b"a");
            let mut members: Vec<(Vec<u8>, bool)> =
                set_of(b"m").into_iter().map(|m| (m, false)).collect();
            for a in admins {
                match members.iter_mut().find(|(m, _)| *m == a) {
                    Some(entry) => entry.1 = true,
                    None => members.push((a, true)),
                }
            }
            members.sort();
            Some(LegacyGroup {
                id,
                name: text(d, b"n").unwrap_or_default(),
                enc_keypair: key(b"k").zip(key(b"K")),
                members,
                disappearing_secs: int(d, b"E").max(0),
                common: common(d),
            })
        })
        .collect()
}
