//! Config layer, message part: libsession's config message (data model, diffs, lagged diffs,
//! merge), sans crypto.
//!
//! ```text
//! d
//!   1:#  i<seqno>e
//!   [unknown keys between "#" and "&", kept byte for byte]
//!   1:&  d<data>e                          application data (see `Dict`)
//!   [unknown keys]
//!   1:<  l( l i<seqno>e 32:<hash> d<diff>e e )*e   lagged diffs, sorted by (seqno, hash)
//!   [unknown keys]
//!   1:=  d<diff>e                          this message's diff
//!   [unknown keys]
//!   1:~  64:<Ed25519 signature>            optional; only group configs; must be last
//! e
//! hash = BLAKE2b-256(serialisation)       (unkeyed)
//!
//! data values: i<int64>e | <string> | l<set: sorted unique ints then strings, non-empty>e
//!            | d<dict: non-empty, except the top level>e
//! diff values: 0: (assigned) | 1:- (removed) | l l<added>e l<removed>e e (set) | d<diff>e
//! ```
//!
//! Merge follows libsession exactly (`src/config.cpp`, `ConfigMessage(vector)`): messages
//! contained in another's lagged diffs, duplicates and those `lag` or more seqnos behind the
//! highest are dropped; if one remains it wins as is; otherwise the result has seqno `max + 1`,
//! starts from the highest (seqno, hash) message's data and replays every known diff in
//! ascending (seqno, hash) order, each diff taking its values from the message that carried
//! it (the highest such message if several did).
//!
//! Spec: docs/protocol.md §10; upstream `libsession-util: src/config.cpp`,
//! `include/session/config.hpp`, `docs/config-merge-logic.md`.

use std::collections::{BTreeMap, BTreeSet};

use blake2::{Blake2b, Digest, digest::consts::U32};

use super::{
    ConfigError,
    bencode::{self, Value, encode_bytes, encode_int},
};

/// How many seqnos of lagged diffs a message carries (libsession `DEFAULT_DIFF_LAGS` and the
/// user configs' `config_lags()`).
pub const DEFAULT_LAG: i64 = 5;

/// A config message hash: BLAKE2b-256 of its serialisation.
pub type Hash = [u8; 32];

/// A scalar: an `int64` or a byte string. Ordered as libsession's `std::variant<int64_t,
/// std::string>`: every integer before every string, integers by value, strings by bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalar {
    /// An integer.
    Int(i64),
    /// A byte string.
    Str(Vec<u8>),
}

/// A set of scalars (never empty once pruned).
pub type Set = BTreeSet<Scalar>;

/// A dict of byte-string keys (never empty once pruned, except the top level).
pub type Dict = BTreeMap<Vec<u8>, DictValue>;

/// One value of the application data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DictValue {
    /// An integer or string.
    Scalar(Scalar),
    /// A set.
    Set(Set),
    /// A nested dict.
    Dict(Dict),
}

impl DictValue {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            DictValue::Scalar(Scalar::Int(i)) => Some(*i),
            _ => None,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            DictValue::Scalar(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }
    /// The dict, if this is one.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            DictValue::Dict(d) => Some(d),
            _ => None,
        }
    }
    /// The set, if this is one.
    pub fn as_set(&self) -> Option<&Set> {
        match self {
            DictValue::Set(s) => Some(s),
            _ => None,
        }
    }
    /// Which of the three kinds (libsession compares `variant::index()`).
    fn kind(&self) -> u8 {
        match self {
            DictValue::Dict(_) => 0,
            DictValue::Set(_) => 1,
            DictValue::Scalar(_) => 2,
        }
    }
}

impl From<i64> for DictValue {
    fn from(i: i64) -> Self {
        DictValue::Scalar(Scalar::Int(i))
    }
}

impl From<&[u8]> for DictValue {
    fn from(s: &[u8]) -> Self {
        DictValue::Scalar(Scalar::Str(s.to_vec()))
    }
}

impl From<&str> for DictValue {
    fn from(s: &str) -> Self {
        DictValue::Scalar(Scalar::Str(s.as_bytes().to_vec()))
    }
}

/// One entry of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffEntry {
    /// `""`: a scalar was assigned (added or changed).
    Assigned,
    /// `"-"`: a scalar was removed.
    Removed,
    /// `[[added…], [removed…]]`: changes to a set.
    Set {
        /// Added values, ascending.
        added: Vec<Scalar>,
        /// Removed values, ascending.
        removed: Vec<Scalar>,
    },
    /// Changes inside a sub-dict.
    Dict(Diff),
}

/// A diff: which keys of the data changed (`docs/config-merge-logic.md` "Config diff updates").
pub type Diff = BTreeMap<Vec<u8>, DiffEntry>;

/// A signature check for signed (group) configs: `(signed bytes, 64-byte signature) -> ok?`.
pub type Verifier<'a> = &'a dyn Fn(&[u8], &[u8]) -> bool;

/// A parsed (or built, or merged) config message.
///
/// A message is *mutable* after [`ConfigMessage::increment`] (or a merge that produced a new
/// message): its diff is then computed from the data it started with, and its hash from its
/// current serialisation. Otherwise it is a received message that serialises as it was received
/// (less lagged diffs older than the lag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigMessage {
    seqno: i64,
    hash: Hash,
    data: Dict,
    diff: Diff,
    lagged: BTreeMap<(i64, Hash), Diff>,
    unknown: BTreeMap<Vec<u8>, Value>,
    signature: Option<[u8; 64]>,
    lag: i64,
    /// `Some(data at increment time)` for a mutable message.
    orig_data: Option<Dict>,
    /// After a merge: the index of the input that won without merging, `None` if merged.
    unmerged: Option<usize>,
}

impl Default for ConfigMessage {
    /// The empty seqno-0 message every config starts from (`d1:#i0e1:&de1:<le1:=dee`).
    fn default() -> Self {
        let mut m = ConfigMessage {
            seqno: 0,
            hash: [0; 32],
            data: Dict::new(),
            diff: Diff::new(),
            lagged: BTreeMap::new(),
            unknown: BTreeMap::new(),
            signature: None,
            lag: DEFAULT_LAG,
            orig_data: None,
            unmerged: None,
        };
        m.hash = hash_bytes(&m.serialize_with(&Diff::new()));
        m
    }
}

/// BLAKE2b-256 (unkeyed) of `bytes`.
pub fn hash_bytes(bytes: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Blake2b::<U32>::digest(bytes));
    out
}

fn parse_err(what: &'static str) -> ConfigError {
    ConfigError::Parse { what }
}

impl ConfigMessage {
    /// A new, empty, mutable message with the given seqno (libsession
    /// `MutableConfigMessage(seqno)`).
    pub fn new_mutable(seqno: i64) -> Self {
        ConfigMessage {
            seqno,
            orig_data: Some(Dict::new()),
            ..ConfigMessage::default()
        }
    }

    /// Parses one serialised message. `lag` drops lagged diffs that are too old; with a
    /// `verifier` a valid `~` signature is required, without one a signature is kept only when
    /// `trust_signature` (restoring a dump).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Bencode`] for non-canonical bencoding, [`ConfigError::Parse`] for a
    /// structure libsession rejects, [`ConfigError::Signature`] for a missing or bad signature.
    pub fn parse(
        serialized: &[u8],
        lag: i64,
        verifier: Option<Verifier<'_>>,
        trust_signature: bool,
    ) -> Result<Self, ConfigError> {
        let Value::Dict(outer) = bencode::decode(serialized).map_err(ConfigError::Bencode)? else {
            return Err(parse_err("config message is not a dict"));
        };
        let hash = hash_bytes(serialized);
        let mut iter = outer.iter().peekable();

        let seqno = match iter.next() {
            Some((k, Value::Int(i))) if k.as_slice() == b"#" => {
                i64::try_from(*i).map_err(|_| parse_err("seqno out of range"))?
            }
            _ => return Err(parse_err("first key must be \"#\" with an integer")),
        };
        let mut unknown = BTreeMap::new();
        type Entries<'a> =
            std::iter::Peekable<std::collections::btree_map::Iter<'a, Vec<u8>, Value>>;
        fn take_unknown(
            unknown: &mut BTreeMap<Vec<u8>, Value>,
            iter: &mut Entries<'_>,
            until: &[u8],
        ) {
            while let Some((k, v)) = iter.next_if(|(k, _)| k.as_slice() < until) {
                unknown.insert(k.clone(), v.clone());
            }
        }
        take_unknown(&mut unknown, &mut iter, b"&");
        let data = match iter.next() {
            Some((k, Value::Dict(d))) if k.as_slice() == b"&" => parse_data(d, true)?,
            _ => return Err(parse_err("\"&\" data dict not found")),
        };
        take_unknown(&mut unknown, &mut iter, b"<");
        // libsession peeks the next key here (and after "<"), which fails at the end of the
        // dict: a message must have at least one key after "&" (in practice "=").
        if iter.peek().is_none() {
            return Err(parse_err("config message ends after \"&\""));
        }
        let mut lagged = BTreeMap::new();
        if let Some((_, v)) = iter.next_if(|(k, _)| k.as_slice() == b"<") {
            parse_lagged(&mut lagged, v, seqno, lag)?;
            if iter.peek().is_none() {
                return Err(parse_err("config message ends after \"<\""));
            }
        }
        take_unknown(&mut unknown, &mut iter, b"=");
        let mut diff = Diff::new();
        if let Some((_, v)) = iter.next_if(|(k, _)| k.as_slice() == b"=") {
            diff = parse_diff(v)?;
        }
        take_unknown(&mut unknown, &mut iter, b"~");
        let mut signature = None;
        match iter.next() {
            None => {
                if verifier.is_some() {
                    return Err(ConfigError::Signature);
                }
            }
            Some((k, v)) if k.as_slice() == b"~" => {
                let sig = v
                    .as_bytes()
                    .and_then(|b| <[u8; 64]>::try_from(b).ok())
                    .ok_or(ConfigError::Signature)?;
                if iter.next().is_some() {
                    return Err(parse_err("keys after \"~\""));
                }
                // Signed: everything before `1:~64:<sig>` and the closing `e`.
                let signed_len = serialized.len() - (3 + 3 + 64 + 1);
                if let Some(verify) = verifier {
                    if !verify(&serialized[..signed_len], &sig) {
                        return Err(ConfigError::Signature);
                    }
                    signature = Some(sig);
                } else if trust_signature {
                    signature = Some(sig);
                }
            }
            Some(_) => return Err(parse_err("keys after \"~\"")),
        }
        Ok(ConfigMessage {
            seqno,
            hash,
            data,
            diff,
            lagged,
            unknown,
            signature,
            lag,
            orig_data: None,
            unmerged: Some(0),
        })
    }

    /// The seqno.
    pub fn seqno(&self) -> i64 {
        self.seqno
    }

    /// The application data.
    pub fn data(&self) -> &Dict {
        &self.data
    }

    /// The application data, for changing. Changes show in the diff only on a mutable message
    /// ([`ConfigMessage::increment`], [`ConfigMessage::new_mutable`]); the typed views change
    /// data through [`super::ConfigState`] instead.
    pub fn data_mut(&mut self) -> &mut Dict {
        &mut self.data
    }

    /// Makes the message mutable with `orig` as the data its diff is computed against.
    pub(crate) fn make_mutable_from(&mut self, orig: Dict) {
        self.orig_data = Some(orig);
    }

    /// Whether changes are recorded (after [`ConfigMessage::increment`] or a merge).
    pub fn is_mutable(&self) -> bool {
        self.orig_data.is_some()
    }

    /// The lagged diffs kept (before the serialisation's lag filter).
    pub fn lagged_diffs(&self) -> &BTreeMap<(i64, Hash), Diff> {
        &self.lagged
    }

    /// Unknown top-level keys (kept as received).
    pub fn unknown_keys(&self) -> &BTreeMap<Vec<u8>, Value> {
        &self.unknown
    }

    /// The verified (or trusted) signature, if any.
    pub fn signature(&self) -> Option<&[u8; 64]> {
        self.signature.as_ref()
    }

    /// After [`ConfigMessage::merge`]: `false` if one input won as is.
    pub fn merged(&self) -> bool {
        self.unmerged.is_none()
    }

    /// After [`ConfigMessage::merge`]: the index of the input that won as is.
    pub fn unmerged_index(&self) -> Option<usize> {
        self.unmerged
    }

    /// The current diff: for a mutable message computed from the data it started with (and the
    /// data pruned), for a received one as received.
    pub fn diff(&mut self) -> &Diff {
        if let Some(orig) = &self.orig_data {
            self.signature = None;
            prune_dict(&mut self.data);
            self.diff = diff_dicts(orig, &self.data).unwrap_or_default();
        }
        &self.diff
    }

    /// The hash: of the received bytes, or (mutable) of the current serialisation.
    pub fn hash(&mut self) -> Hash {
        if self.is_mutable() {
            let bytes = self.serialize();
            self.hash = hash_bytes(&bytes);
        }
        self.hash
    }

    /// Serialises the message (libsession `ConfigMessage::serialize`; signing is not
    /// supported here, a verified signature is kept while the message is unchanged).
    pub fn serialize(&mut self) -> Vec<u8> {
        let diff = self.diff().clone();
        self.serialize_with(&diff)
    }

    fn serialize_with(&self, diff: &Diff) -> Vec<u8> {
        enum Part<'a> {
            Unknown(&'a Value),
            Seqno,
            Data,
            Lagged,
            Diff,
            Signature(&'a [u8; 64]),
        }
        let mut parts: Vec<(&[u8], Part<'_>)> = self
            .unknown
            .iter()
            .map(|(k, v)| (k.as_slice(), Part::Unknown(v)))
            .collect();
        parts.push((b"#", Part::Seqno));
        parts.push((b"&", Part::Data));
        parts.push((b"<", Part::Lagged));
        parts.push((b"=", Part::Diff));
        if let Some(sig) = &self.signature {
            parts.push((b"~", Part::Signature(sig)));
        }
        parts.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = vec![b'd'];
        for (key, part) in parts {
            encode_bytes(key, &mut out);
            match part {
                Part::Unknown(v) => v.encode_into(&mut out),
                Part::Seqno => encode_int(i128::from(self.seqno), &mut out),
                Part::Data => encode_dict(&self.data, &mut out),
                Part::Lagged => {
                    out.push(b'l');
                    for ((seqno, hash), diff) in &self.lagged {
                        if *seqno <= self.seqno.saturating_sub(self.lag) || *seqno >= self.seqno {
                            continue;
                        }
                        out.push(b'l');
                        encode_int(i128::from(*seqno), &mut out);
                        encode_bytes(hash, &mut out);
                        encode_diff(diff, &mut out);
                        out.push(b'e');
                    }
                    out.push(b'e');
                }
                Part::Diff => encode_diff(diff, &mut out),
                Part::Signature(sig) => encode_bytes(sig, &mut out),
            }
        }
        out.push(b'e');
        out
    }

    /// A new mutable message one seqno up whose lagged diffs include this message's diff
    /// (libsession `increment()`).
    pub fn increment(&self) -> ConfigMessage {
        let mut m = self.clone();
        if m.is_mutable() {
            m.hash();
        }
        m.increment_in_place();
        m
    }

    fn increment_in_place(&mut self) {
        self.orig_data = Some(self.data.clone());
        let cutoff = self.seqno.saturating_sub(self.lag);
        let seqno = self.seqno;
        self.lagged.retain(|(s, _), _| *s > cutoff && *s < seqno);
        let diff = std::mem::take(&mut self.diff);
        self.lagged.insert((self.seqno, self.hash), diff);
        self.seqno = self.seqno.saturating_add(1);
        self.hash = [0; 32];
    }

    /// Loads and merges several serialised messages (libsession `ConfigMessage(vector)`).
    /// `mutable` gives libsession's `MutableConfigMessage(vector)`: the result is mutable, and
    /// if no merge was needed it is the winner incremented by one. `can_sign` is false only for
    /// signed configs without the signing key (the highest message then wins as is).
    ///
    /// Returns the message and the indexes of inputs that did not parse.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoValidConfig`] if no input parses.
    pub fn merge(
        configs: &[&[u8]],
        lag: i64,
        verifier: Option<Verifier<'_>>,
        can_sign: bool,
        mutable: bool,
    ) -> Result<(ConfigMessage, Vec<usize>), ConfigError> {
        let mut bad = Vec::new();
        let mut parsed: Vec<(usize, ConfigMessage, bool)> = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            match ConfigMessage::parse(c, lag, verifier, false) {
                Ok(m) => parsed.push((i, m, false)),
                Err(_) => bad.push(i),
            }
        }
        if parsed.is_empty() {
            return Err(ConfigError::NoValidConfig);
        }
        let max_seqno = parsed.iter().map(|p| p.1.seqno).max().unwrap_or(0);
        for i in 0..parsed.len() {
            let key = (parsed[i].1.seqno, parsed[i].1.hash);
            let redundant = (0..parsed.len()).any(|j| {
                j != i
                    && (parsed[j].1.lagged.contains_key(&key)
                        || (j < i && (parsed[j].1.seqno, parsed[j].1.hash) == key))
            });
            parsed[i].2 = redundant || parsed[i].1.seqno.saturating_add(lag) <= max_seqno;
        }
        let live: Vec<usize> = (0..parsed.len()).filter(|&i| !parsed[i].2).collect();
        let finish = |mut m: ConfigMessage, index: usize, bad: Vec<usize>| {
            m.unmerged = Some(index);
            if mutable {
                m.increment_in_place();
            }
            (m, bad)
        };
        if let [only] = live[..] {
            let (index, m, _) = parsed.swap_remove(only);
            return Ok(finish(m, index, bad));
        }
        if verifier.is_some() && !can_sign {
            let best = live
                .iter()
                .copied()
                .max_by(|&a, &b| {
                    (parsed[a].1.seqno, parsed[a].1.hash)
                        .cmp(&(parsed[b].1.seqno, parsed[b].1.hash))
                })
                .unwrap_or(0);
            let (index, m, _) = parsed.swap_remove(best);
            return Ok(finish(m, index, bad));
        }

        let mut confs: Vec<ConfigMessage> =
            parsed.into_iter().filter(|p| !p.2).map(|p| p.1).collect();
        confs.sort_by_key(|c| std::cmp::Reverse((c.seqno, c.hash)));
        let mut data = confs[0].data.clone();
        let mut replay: BTreeMap<(i64, Hash), (&Dict, &Diff)> = BTreeMap::new();
        for conf in &confs {
            replay
                .entry((conf.seqno, conf.hash))
                .or_insert((&conf.data, &conf.diff));
            for (key, diff) in &conf.lagged {
                replay.entry(*key).or_insert((&conf.data, diff));
            }
        }
        let mut lagged = BTreeMap::new();
        for (key, (source, diff)) in &replay {
            apply_diff(&mut data, diff, source);
            lagged.insert(*key, (*diff).clone());
        }
        prune_dict(&mut data);
        let mut m = ConfigMessage {
            seqno: max_seqno.saturating_add(1),
            hash: [0; 32],
            orig_data: mutable.then(|| data.clone()),
            data,
            diff: Diff::new(),
            lagged,
            unknown: BTreeMap::new(),
            signature: None,
            lag,
            unmerged: None,
        };
        m.hash = hash_bytes(&m.serialize_with(&Diff::new()));
        Ok((m, bad))
    }
}

fn encode_scalar(s: &Scalar, out: &mut Vec<u8>) {
    match s {
        Scalar::Int(i) => encode_int(i128::from(*i), out),
        Scalar::Str(b) => encode_bytes(b, out),
    }
}

/// Encodes application data.
pub fn encode_dict(d: &Dict, out: &mut Vec<u8>) {
    out.push(b'd');
    for (k, v) in d {
        encode_bytes(k, out);
        match v {
            DictValue::Scalar(s) => encode_scalar(s, out),
            DictValue::Set(set) => {
                out.push(b'l');
                for s in set {
                    encode_scalar(s, out);
                }
                out.push(b'e');
            }
            DictValue::Dict(sub) => encode_dict(sub, out),
        }
    }
    out.push(b'e');
}

/// Encodes a diff.
pub fn encode_diff(d: &Diff, out: &mut Vec<u8>) {
    out.push(b'd');
    for (k, v) in d {
        encode_bytes(k, out);
        match v {
            DiffEntry::Assigned => encode_bytes(b"", out),
            DiffEntry::Removed => encode_bytes(b"-", out),
            DiffEntry::Set { added, removed } => {
                out.push(b'l');
                for list in [added, removed] {
                    out.push(b'l');
                    for s in list {
                        encode_scalar(s, out);
                    }
                    out.push(b'e');
                }
                out.push(b'e');
            }
            DiffEntry::Dict(sub) => encode_diff(sub, out),
        }
    }
    out.push(b'e');
}

fn parse_scalar(v: &Value) -> Result<Scalar, ConfigError> {
    match v {
        Value::Int(i) => Ok(Scalar::Int(
            i64::try_from(*i).map_err(|_| parse_err("integer out of int64 range"))?,
        )),
        Value::Bytes(b) => Ok(Scalar::Str(b.clone())),
        _ => Err(parse_err("set contains a non-scalar value")),
    }
}

fn parse_data(d: &BTreeMap<Vec<u8>, Value>, top_level: bool) -> Result<Dict, ConfigError> {
    if !top_level && d.is_empty() {
        return Err(parse_err("data contains an unpruned, empty dict"));
    }
    let mut out = Dict::new();
    for (k, v) in d {
        let value = match v {
            Value::Int(_) | Value::Bytes(_) => DictValue::Scalar(parse_scalar(v)?),
            Value::Dict(sub) => DictValue::Dict(parse_data(sub, false)?),
            Value::List(items) => {
                if items.is_empty() {
                    return Err(parse_err("data contains an unpruned, empty set"));
                }
                let mut set = Set::new();
                for item in items {
                    let s = parse_scalar(item)?;
                    if set.last().is_some_and(|last| *last >= s) {
                        return Err(parse_err("data contains an unsorted or duplicate set"));
                    }
                    set.insert(s);
                }
                DictValue::Set(set)
            }
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

fn parse_sorted_scalars(v: &Value) -> Result<Vec<Scalar>, ConfigError> {
    let Value::List(items) = v else {
        return Err(parse_err("set diff: expected 2 sub-lists"));
    };
    let mut out: Vec<Scalar> = Vec::with_capacity(items.len());
    for item in items {
        let s = parse_scalar(item)?;
        if out.last().is_some_and(|last| *last >= s) {
            return Err(parse_err("set diff elements unsorted"));
        }
        out.push(s);
    }
    Ok(out)
}

fn parse_diff(v: &Value) -> Result<Diff, ConfigError> {
    let Value::Dict(d) = v else {
        return Err(parse_err("diff is not a dict"));
    };
    let mut out = Diff::new();
    for (k, v) in d {
        let entry = match v {
            Value::Bytes(b) if b.is_empty() => DiffEntry::Assigned,
            Value::Bytes(b) if b.as_slice() == b"-" => DiffEntry::Removed,
            Value::List(pair) => {
                let [added, removed] = pair.as_slice() else {
                    return Err(parse_err("set diff: expected 2 elements"));
                };
                DiffEntry::Set {
                    added: parse_sorted_scalars(added)?,
                    removed: parse_sorted_scalars(removed)?,
                }
            }
            Value::Dict(_) => DiffEntry::Dict(parse_diff(v)?),
            // libsession's load_diff would not consume an integer here (and loop); we reject.
            _ => return Err(parse_err("invalid diff value")),
        };
        out.insert(k.clone(), entry);
    }
    Ok(out)
}

fn parse_lagged(
    into: &mut BTreeMap<(i64, Hash), Diff>,
    v: &Value,
    seqno: i64,
    lag: i64,
) -> Result<(), ConfigError> {
    let Value::List(rows) = v else {
        return Err(parse_err("lagged diffs are not a list"));
    };
    for row in rows {
        let Value::List(tuple) = row else {
            return Err(parse_err("lagged diff is not a list"));
        };
        let s = match tuple.first() {
            Some(Value::Int(i)) => {
                i64::try_from(*i).map_err(|_| parse_err("lagged seqno out of range"))?
            }
            _ => return Err(parse_err("lagged diff seqno missing")),
        };
        if s >= seqno {
            return Err(parse_err("lagged seqno >= current seqno"));
        }
        if s <= seqno.saturating_sub(lag) {
            continue;
        }
        let hash: Hash = tuple
            .get(1)
            .and_then(Value::as_bytes)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(parse_err("lagged diff hash must be 32 bytes"))?;
        if into.last_key_value().is_some_and(|(k, _)| *k >= (s, hash)) {
            return Err(parse_err("unsorted or duplicate lagged diffs"));
        }
        let diff = parse_diff(tuple.get(2).ok_or(parse_err("lagged diff missing"))?)?;
        if tuple.len() != 3 {
            return Err(parse_err("lagged diff tuple: expected 3 elements"));
        }
        into.insert((s, hash), diff);
    }
    Ok(())
}

/// Removes empty sets and dicts (recursively; the dict itself stays).
pub fn prune_dict(d: &mut Dict) {
    d.retain(|_, v| match v {
        DictValue::Scalar(_) => true,
        DictValue::Set(s) => !s.is_empty(),
        DictValue::Dict(sub) => {
            prune_dict(sub);
            !sub.is_empty()
        }
    });
}

fn diff_sets(old: &Set, new: &Set) -> Option<DiffEntry> {
    let added: Vec<Scalar> = new.difference(old).cloned().collect();
    let removed: Vec<Scalar> = old.difference(new).cloned().collect();
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    Some(DiffEntry::Set { added, removed })
}

fn added_entry(v: &DictValue) -> DiffEntry {
    match v {
        DictValue::Scalar(_) => DiffEntry::Assigned,
        DictValue::Set(s) => diff_sets(&Set::new(), s).unwrap_or(DiffEntry::Set {
            added: Vec::new(),
            removed: Vec::new(),
        }),
        DictValue::Dict(d) => DiffEntry::Dict(diff_dicts(&Dict::new(), d).unwrap_or_default()),
    }
}

fn removed_entry(v: &DictValue) -> DiffEntry {
    match v {
        DictValue::Scalar(_) => DiffEntry::Removed,
        DictValue::Set(s) => diff_sets(s, &Set::new()).unwrap_or(DiffEntry::Set {
            added: Vec::new(),
            removed: Vec::new(),
        }),
        DictValue::Dict(d) => DiffEntry::Dict(diff_dicts(d, &Dict::new()).unwrap_or_default()),
    }
}

/// The diff from `old` to `new` (libsession `diff_impl`); `None` if nothing changed.
pub fn diff_dicts(old: &Dict, new: &Dict) -> Option<Diff> {
    let mut df = Diff::new();
    let keys: BTreeSet<&Vec<u8>> = old.keys().chain(new.keys()).collect();
    for key in keys {
        match (old.get(key), new.get(key)) {
            (Some(o), None) => {
                df.insert(key.clone(), removed_entry(o));
            }
            (None, Some(n)) => {
                df.insert(key.clone(), added_entry(n));
            }
            (Some(o), Some(n)) if o.kind() != n.kind() => {
                // A changed type is a new value (merging then drops the old one).
                df.insert(key.clone(), added_entry(n));
            }
            (Some(DictValue::Scalar(o)), Some(DictValue::Scalar(n))) if o != n => {
                df.insert(key.clone(), DiffEntry::Assigned);
            }
            (Some(DictValue::Dict(o)), Some(DictValue::Dict(n))) => {
                if let Some(sub) = diff_dicts(o, n) {
                    df.insert(key.clone(), DiffEntry::Dict(sub));
                }
            }
            (Some(DictValue::Set(o)), Some(DictValue::Set(n))) => {
                if let Some(entry) = diff_sets(o, n) {
                    df.insert(key.clone(), entry);
                }
            }
            _ => {}
        }
    }
    (!df.is_empty()).then_some(df)
}

/// Applies `diff` to `data`, taking values from `source` (libsession `apply_diff`). Leaves
/// empty sets and dicts for the caller to prune.
pub fn apply_diff(data: &mut Dict, diff: &Diff, source: &Dict) {
    for (k, entry) in diff {
        let src = source.get(k);
        let matches = matches!(
            (entry, src),
            (
                DiffEntry::Assigned | DiffEntry::Removed,
                Some(DictValue::Scalar(_))
            ) | (DiffEntry::Set { .. }, Some(DictValue::Set(_)))
                | (DiffEntry::Dict(_), Some(DictValue::Dict(_)))
        );
        if !matches {
            // Gone from, or of another type in, the source: a later diff removes or retypes
            // it, so drop it now (so that dict → 42 → dict does not mix the two dicts).
            data.remove(k);
            continue;
        }
        match (entry, src) {
            (DiffEntry::Removed, _) => {
                data.remove(k);
            }
            (DiffEntry::Assigned, Some(v)) => {
                data.insert(k.clone(), v.clone());
            }
            (DiffEntry::Dict(sub), Some(DictValue::Dict(src_sub))) => {
                let slot = data
                    .entry(k.clone())
                    .or_insert_with(|| DictValue::Dict(Dict::new()));
                if !matches!(slot, DictValue::Dict(_)) {
                    *slot = DictValue::Dict(Dict::new());
                }
                if let DictValue::Dict(d) = slot {
                    apply_diff(d, sub, src_sub);
                }
            }
            (DiffEntry::Set { added, removed }, Some(DictValue::Set(_))) => {
                let slot = data
                    .entry(k.clone())
                    .or_insert_with(|| DictValue::Set(Set::new()));
                if !matches!(slot, DictValue::Set(_)) {
                    *slot = DictValue::Set(Set::new());
                }
                if let DictValue::Set(s) = slot {
                    s.extend(added.iter().cloned());
                    for r in removed {
                        s.remove(r);
                    }
                }
            }
            _ => {}
        }
    }
}
