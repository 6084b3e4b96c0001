//! Config layer, state part: [`ConfigState`], the sans-IO counterpart of libsession's
//! `ConfigBase` for one user config namespace.
//!
//! ```text
//! pull:  retrieve(ns) → merge(own, [(hash, data)]) → MergeOutcome{changed, accepted}
//! edit:  a typed view (user_profile, contacts, …) changes the data → needs_push()
//! push:  push(own) → Push{seqno, data, obsolete}
//!        caller: sequence[ store(ns, data, ttl 30 d, signed), delete(obsolete) ]
//!        → confirm_pushed(seqno, stored hash)
//! save:  dump() → bytes (to be sealed by the store); load(kind, bytes)
//! ```
//!
//! States as libsession's `ConfigState`: Clean (stored and unchanged), Dirty (changed, not yet
//! serialised for a push), Waiting (pushed, not yet confirmed). Pushed data is
//! `serialise → 'z'+zstd if smaller → prefix-pad → encrypt(seed, domain) → protobuf-wrap`;
//! pulled data may be raw, wrapped or double-wrapped.
//!
//! Spec: docs/protocol.md §10; upstream `libsession-util: src/config/base.cpp`,
//! `src/config/protos.cpp`.

use std::collections::BTreeSet;

use zeroize::Zeroizing;

use super::{
    ConfigError, ConfigKind, MAX_CONFIG_MESSAGE_LEN, MAX_STRING_LEN,
    bencode::{self, Value, encode_bytes, encode_int},
    crypto,
    message::{ConfigMessage, DEFAULT_LAG, Dict, DictValue, Scalar},
};
use crate::{
    identity::Identity,
    message::{unwrap_shared_config, wrap_shared_config},
};

/// Push state (libsession `ConfigState`; the numbers are its dump encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushState {
    /// Stored on the swarm and unchanged since.
    Clean = 0,
    /// Changed locally; the next [`ConfigState::push`] serialises the change.
    Dirty = 1,
    /// Serialised by [`ConfigState::push`], not yet confirmed.
    Waiting = 2,
}

/// What [`ConfigState::merge`] did.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// The config now holds different data (or a merge that must be pushed).
    pub changed: bool,
    /// Hashes of the given messages that decrypted and parsed.
    pub accepted: Vec<String>,
}

/// What to store: the result of [`ConfigState::push`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// The seqno to pass back to [`ConfigState::confirm_pushed`].
    pub seqno: i64,
    /// The storage `data` (before base64), at most [`MAX_CONFIG_MESSAGE_LEN`] bytes.
    pub data: Vec<u8>,
    /// Hashes of messages this push supersedes: delete them in the same `sequence`.
    pub obsolete: Vec<String>,
}

/// One user config: its current message, push state and known message hashes.
#[derive(Clone, Debug)]
pub struct ConfigState {
    kind: ConfigKind,
    state: PushState,
    config: ConfigMessage,
    curr_hash: String,
    old_hashes: BTreeSet<String>,
    needs_dump: bool,
}

/// The config key of an account: its Ed25519 seed (docs/protocol.md §10).
fn config_key(own: &Identity) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(own.ed25519_signing_key().to_bytes())
}

/// Turns pulled storage `data` into a config message plaintext: protobuf-unwraps (once or
/// twice) if it is wrapped, decrypts, strips the padding and decompresses.
///
/// # Errors
///
/// [`ConfigError::DecryptFailed`], [`ConfigError::Decompress`], [`ConfigError::TooLarge`],
/// [`ConfigError::Parse`] (empty or multi-part message).
pub fn open_message(kind: ConfigKind, own: &Identity, data: &[u8]) -> Result<Vec<u8>, ConfigError> {
    if data.len() > MAX_CONFIG_MESSAGE_LEN {
        return Err(ConfigError::TooLarge);
    }
    let unwrap = |bytes: &[u8]| {
        unwrap_shared_config(own, bytes)
            .ok()
            .filter(|m| m.kind == kind.shared_config_kind() as i32)
            .map(|m| m.data)
    };
    let raw = match unwrap(data) {
        // Some client releases wrapped twice (libsession `ConfigBase::merge`).
        Some(once) => unwrap(&once).unwrap_or(once),
        None => data.to_vec(),
    };
    let key = config_key(own);
    let plain = crypto::decrypt(&raw, &key, kind.domain())?;
    let start = plain
        .iter()
        .position(|&b| b != 0)
        .ok_or(ConfigError::Parse {
            what: "config message contains no data",
        })?;
    let plain = &plain[start..];
    match plain.first() {
        Some(b'z') => crypto::decompress(&plain[1..]),
        Some(b'm') => Err(ConfigError::Parse {
            what: "multi-part config messages are not supported",
        }),
        _ => Ok(plain.to_vec()),
    }
}

/// Builds the storage `data` of a config message: compress if smaller, prefix-pad, encrypt,
/// protobuf-wrap (libsession `ConfigBase::push`).
///
/// # Errors
///
/// [`ConfigError::TooLarge`] over [`MAX_CONFIG_MESSAGE_LEN`].
pub fn seal_message(
    kind: ConfigKind,
    own: &Identity,
    seqno: i64,
    serialized: Vec<u8>,
) -> Result<Vec<u8>, ConfigError> {
    let mut msg = crypto::compress_if_smaller(serialized);
    crypto::pad_message(&mut msg);
    if msg.len() > MAX_CONFIG_MESSAGE_LEN {
        return Err(ConfigError::TooLarge);
    }
    let key = config_key(own);
    let enc = crypto::encrypt(&msg, &key, kind.domain())?;
    let out = wrap_shared_config(own, kind.shared_config_kind(), seqno, &enc)
        .map_err(|_| ConfigError::TooLarge)?;
    if out.len() > MAX_CONFIG_MESSAGE_LEN {
        return Err(ConfigError::TooLarge);
    }
    Ok(out)
}

impl ConfigState {
    /// A new, empty config (seqno 0, clean).
    pub fn new(kind: ConfigKind) -> Self {
        ConfigState {
            kind,
            state: PushState::Clean,
            config: ConfigMessage::default(),
            curr_hash: String::new(),
            old_hashes: BTreeSet::new(),
            needs_dump: false,
        }
    }

    /// Which config.
    pub fn kind(&self) -> ConfigKind {
        self.kind
    }

    /// The current seqno.
    pub fn seqno(&self) -> i64 {
        self.config.seqno()
    }

    /// The push state.
    pub fn push_state(&self) -> PushState {
        self.state
    }

    /// The current data.
    pub fn data(&self) -> &Dict {
        self.config.data()
    }

    /// The current message (for inspection and tests).
    pub fn message(&self) -> &ConfigMessage {
        &self.config
    }

    /// Whether there is something to push (dirty, or pushed but unconfirmed).
    pub fn needs_push(&self) -> bool {
        self.state != PushState::Clean
    }

    /// Whether the state changed since the last [`ConfigState::dump`].
    pub fn needs_dump(&self) -> bool {
        self.needs_dump
    }

    /// The hash of the stored message the config currently is, if known.
    pub fn current_hashes(&self) -> Vec<String> {
        if self.curr_hash.is_empty() {
            Vec::new()
        } else {
            vec![self.curr_hash.clone()]
        }
    }

    fn set_state(&mut self, s: PushState) {
        if self.state == PushState::Clean && !self.curr_hash.is_empty() {
            self.old_hashes.insert(std::mem::take(&mut self.curr_hash));
        }
        self.state = s;
        self.needs_dump = true;
    }

    /// Makes the config dirty (incrementing the seqno the first time) and returns its data.
    fn dirty(&mut self) -> &mut Dict {
        if self.state != PushState::Dirty {
            self.set_state(PushState::Dirty);
            self.config = self.config.increment();
        } else {
            self.needs_dump = true;
        }
        if !self.config.is_mutable() {
            self.config = self.config.increment();
        }
        self.config.data_mut()
    }

    /// Merges messages pulled from the config's namespace (`(hash, data)`, data after base64)
    /// into the config, as libsession's `ConfigBase::merge`. Messages that do not decrypt or
    /// parse are skipped. Afterwards check [`ConfigState::needs_push`] (a conflict merge must
    /// be pushed) and [`ConfigState::needs_dump`].
    pub fn merge(&mut self, own: &Identity, messages: &[(String, Vec<u8>)]) -> MergeOutcome {
        let old_seqno = self.config.seqno();
        let mut hashes: Vec<String> = Vec::new();
        let mut confs: Vec<Vec<u8>> = Vec::new();
        let has_mine = old_seqno != 0 || self.state == PushState::Dirty;
        if has_mine {
            hashes.push(self.curr_hash.clone());
            confs.push(self.config.serialize());
        }
        for (hash, data) in messages {
            if let Ok(plain) = open_message(self.kind, own, data) {
                hashes.push(hash.clone());
                confs.push(plain);
            }
        }
        if confs.is_empty() {
            return MergeOutcome::default();
        }
        let views: Vec<&[u8]> = confs.iter().map(Vec::as_slice).collect();
        let dirty = self.state == PushState::Dirty;
        let Ok((mut new_conf, bad)) = ConfigMessage::merge(&views, DEFAULT_LAG, None, true, dirty)
        else {
            return MergeOutcome::default();
        };
        let superconf = new_conf.unmerged_index();
        for (i, h) in hashes.iter().enumerate() {
            if Some(i) != superconf && !bad.contains(&i) && !h.is_empty() {
                self.old_hashes.insert(h.clone());
            }
        }
        let mut changed = false;
        if new_conf.seqno() != old_seqno {
            if new_conf.merged() {
                if !dirty {
                    // libsession moves the merged message into a `MutableConfigMessage` with
                    // `retain_seqno`, whose original data is then empty: the pushed diff lists
                    // every value. Kept so racing merges give identical bytes.
                    new_conf.make_mutable_from(Dict::new());
                }
                self.config = new_conf;
                self.set_state(PushState::Dirty);
                changed = true;
            } else if dirty && superconf == Some(0) && new_conf.seqno() == old_seqno + 1 {
                // Everything else was ignored and nothing changed, unless another device
                // stored exactly this config (the same edit made on both from the same
                // base): then it is stored already, under that message's hash.
                if let Some(i) = (1..confs.len()).find(|&i| has_mine && confs[i] == confs[0]) {
                    self.old_hashes.remove(&hashes[i]);
                    self.config = new_conf;
                    self.state = PushState::Clean;
                    self.needs_dump = true;
                    self.curr_hash = hashes[i].clone();
                }
            } else if let Some(winner) = superconf.and_then(|i| hashes.get(i)) {
                let winner = winner.clone();
                self.config = new_conf;
                self.set_state(PushState::Clean);
                self.curr_hash = winner;
                changed = true;
            }
        }
        let first = usize::from(has_mine);
        let accepted = hashes
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(i, _)| !bad.contains(i))
            .map(|(_, h)| h.clone())
            .collect();
        MergeOutcome { changed, accepted }
    }

    /// Builds the message to store (libsession `ConfigBase::push`): call when
    /// [`ConfigState::needs_push`], store `data` with a signed `store` (TTL
    /// [`super::CONFIG_TTL_MS`]) and delete `obsolete` in the same `sequence`, then call
    /// [`ConfigState::confirm_pushed`] with the stored hash.
    ///
    /// # Errors
    ///
    /// [`ConfigError::TooLarge`] if the config does not fit in one message.
    pub fn push(&mut self, own: &Identity) -> Result<Push, ConfigError> {
        let seqno = self.config.seqno();
        let serialized = self.config.serialize();
        let data = seal_message(self.kind, own, seqno, serialized)?;
        if self.state == PushState::Dirty {
            self.set_state(PushState::Waiting);
        }
        let obsolete = std::mem::take(&mut self.old_hashes).into_iter().collect();
        Ok(Push {
            seqno,
            data,
            obsolete,
        })
    }

    /// Records that the push of `seqno` was stored under `hash`. Ignored if the config changed
    /// since (then it needs another push).
    pub fn confirm_pushed(&mut self, seqno: i64, hash: String) {
        if self.state == PushState::Waiting && seqno == self.config.seqno() {
            self.set_state(PushState::Clean);
            self.curr_hash = hash;
        }
    }

    /// Serialises the whole state for persistence (libsession's dump format:
    /// `d 1:! i<state>e 1:$ <message> 1:( <hash> 1:) l<old hashes>e 1:+ de e`). Holds no key;
    /// the caller seals it.
    pub fn dump(&mut self) -> Vec<u8> {
        let mut out = vec![b'd'];
        encode_bytes(b"!", &mut out);
        encode_int(self.state as i128, &mut out);
        encode_bytes(b"$", &mut out);
        encode_bytes(&self.config.serialize(), &mut out);
        encode_bytes(b"(", &mut out);
        encode_bytes(self.curr_hash.as_bytes(), &mut out);
        encode_bytes(b")", &mut out);
        out.push(b'l');
        for h in &self.old_hashes {
            encode_bytes(h.as_bytes(), &mut out);
        }
        out.push(b'e');
        encode_bytes(b"+", &mut out);
        out.extend_from_slice(b"de");
        out.push(b'e');
        self.needs_dump = false;
        out
    }

    /// Restores a [`ConfigState::dump`]. A dirty dump is reloaded one seqno up (libsession
    /// "wastes" a seqno rather than risk reusing one that was pushed before the dump).
    ///
    /// # Errors
    ///
    /// [`ConfigError::BadDump`].
    pub fn load(kind: ConfigKind, dump: &[u8]) -> Result<Self, ConfigError> {
        let Value::Dict(d) = bencode::decode(dump).map_err(|_| ConfigError::BadDump)? else {
            return Err(ConfigError::BadDump);
        };
        let state = match d.get(b"!".as_slice()) {
            Some(Value::Int(0)) => PushState::Clean,
            Some(Value::Int(1)) => PushState::Dirty,
            Some(Value::Int(2)) => PushState::Waiting,
            _ => return Err(ConfigError::BadDump),
        };
        let data = d
            .get(b"$".as_slice())
            .and_then(Value::as_bytes)
            .ok_or(ConfigError::BadDump)?;
        let config = if state == PushState::Dirty {
            ConfigMessage::merge(&[data], DEFAULT_LAG, None, true, true)
                .map_err(|_| ConfigError::BadDump)?
                .0
        } else {
            ConfigMessage::parse(data, DEFAULT_LAG, None, true).map_err(|_| ConfigError::BadDump)?
        };
        let text = |v: &Value| {
            v.as_bytes()
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::to_owned)
        };
        let curr_hash = match d.get(b"(".as_slice()) {
            Some(v) => text(v).ok_or(ConfigError::BadDump)?,
            None => String::new(),
        };
        let mut old_hashes = BTreeSet::new();
        if let Some(Value::List(list)) = d.get(b")".as_slice()) {
            for v in list {
                old_hashes.insert(text(v).ok_or(ConfigError::BadDump)?);
            }
        }
        Ok(ConfigState {
            kind,
            state,
            config,
            curr_hash,
            old_hashes,
            needs_dump: false,
        })
    }

    /// The value at `path` (every step but the last through dicts).
    pub fn get(&self, path: &[&[u8]]) -> Option<&DictValue> {
        let (last, inner) = path.split_last()?;
        let mut d = self.config.data();
        for k in inner {
            d = d.get(*k)?.as_dict()?;
        }
        d.get(*last)
    }

    /// The dict at `path`.
    pub fn get_dict(&self, path: &[&[u8]]) -> Option<&Dict> {
        if path.is_empty() {
            return Some(self.config.data());
        }
        self.get(path)?.as_dict()
    }

    /// The dict at `inner`, created (or replacing a non-dict) as needed.
    fn vivify<'a>(data: &'a mut Dict, inner: &[&[u8]]) -> Option<&'a mut Dict> {
        let mut d = data;
        for k in inner {
            let slot = d
                .entry(k.to_vec())
                .or_insert_with(|| DictValue::Dict(Dict::new()));
            if !matches!(slot, DictValue::Dict(_)) {
                *slot = DictValue::Dict(Dict::new());
            }
            let DictValue::Dict(sub) = slot else {
                return None;
            };
            d = sub;
        }
        Some(d)
    }

    /// Sets `path` to `value`, creating (or replacing non-dict) intermediate dicts; does not
    /// dirty the config if the value is already there (libsession `assign_if_changed`). An
    /// empty set or dict erases.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a string over [`MAX_STRING_LEN`] or an empty path.
    pub fn set(&mut self, path: &[&[u8]], value: DictValue) -> Result<(), ConfigError> {
        let Some((last, inner)) = path.split_last() else {
            return Err(ConfigError::InvalidValue { what: "empty path" });
        };
        match &value {
            DictValue::Scalar(Scalar::Str(s)) if s.len() > MAX_STRING_LEN => {
                return Err(ConfigError::InvalidValue {
                    what: "string too long",
                });
            }
            DictValue::Set(s) if s.is_empty() => {
                self.erase(path);
                return Ok(());
            }
            DictValue::Dict(d) if d.is_empty() => {
                self.erase(path);
                return Ok(());
            }
            _ => {}
        }
        if self.state != PushState::Dirty && self.get(path) == Some(&value) {
            return Ok(());
        }
        if let Some(d) = Self::vivify(self.dirty(), inner) {
            d.insert(last.to_vec(), value);
        }
        Ok(())
    }

    /// Removes `path` (no-op, and not dirtying, if absent).
    pub fn erase(&mut self, path: &[&[u8]]) {
        let Some((last, inner)) = path.split_last() else {
            return;
        };
        if self.state != PushState::Dirty && self.get(path).is_none() {
            return;
        }
        let mut d = self.dirty();
        for k in inner {
            match d.get_mut(*k) {
                Some(DictValue::Dict(sub)) => d = sub,
                _ => return,
            }
        }
        d.remove(*last);
    }

    /// Adds `value` to the set at `path` (creating it).
    pub fn set_insert(&mut self, path: &[&[u8]], value: Scalar) {
        let Some((last, inner)) = path.split_last() else {
            return;
        };
        if self.state != PushState::Dirty
            && self
                .get(path)
                .and_then(DictValue::as_set)
                .is_some_and(|s| s.contains(&value))
        {
            return;
        }
        let Some(d) = Self::vivify(self.dirty(), inner) else {
            return;
        };
        let slot = d
            .entry(last.to_vec())
            .or_insert_with(|| DictValue::Set(Default::default()));
        if !matches!(slot, DictValue::Set(_)) {
            *slot = DictValue::Set(Default::default());
        }
        if let DictValue::Set(s) = slot {
            s.insert(value);
        }
    }

    /// Removes `value` from the set at `path`.
    pub fn set_remove(&mut self, path: &[&[u8]], value: &Scalar) {
        let Some((last, inner)) = path.split_last() else {
            return;
        };
        if self.state != PushState::Dirty
            && !self
                .get(path)
                .and_then(DictValue::as_set)
                .is_some_and(|s| s.contains(value))
        {
            return;
        }
        let mut d = self.dirty();
        for k in inner {
            match d.get_mut(*k) {
                Some(DictValue::Dict(sub)) => d = sub,
                _ => return,
            }
        }
        if let Some(DictValue::Set(s)) = d.get_mut(*last) {
            s.remove(value);
        }
    }
}
