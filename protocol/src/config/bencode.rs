//! Config layer, wire part: canonical bencoding ("bt-encoding", oxenc's `bt_serialize`) as
//! libsession's config messages use it.
//!
//! ```text
//! integer  i<decimal>e        no leading zeros, no "-0"; range [-2^63, 2^64-1] (oxenc)
//! string   <len>:<bytes>      len decimal without leading zeros
//! list     l<values>e
//! dict     d(<string key><value>)*e   keys strictly ascending by bytes (so unique)
//! ```
//!
//! The decoder is bounded (input length, nesting depth) and strict: it accepts only the
//! canonical form, so `decode(bytes)` re-encodes to exactly `bytes` and a message hash
//! computed over the received bytes equals the hash of its re-serialisation. It never panics.
//! This layer knows bytes only; the config data model and its rules (sorted sets, no empty
//! dicts) sit on top in [`super::message`].
//!
//! Spec: docs/protocol.md §10; upstream `libsession-util: docs/config-merge-logic.md`.

use std::collections::BTreeMap;

use crate::error::ErrorKind;

/// Nesting depth the decoder accepts. Config data is at most ~8 levels deep (outer dict →
/// lagged diff list → tuple → diff dict → `o` → URL → `R` → room → field).
pub const MAX_DEPTH: usize = 64;

/// Largest input the decoder reads: the largest decompressed config message accepted
/// ([`super::MAX_DECOMPRESSED_LEN`]).
pub const MAX_INPUT_LEN: usize = super::MAX_DECOMPRESSED_LEN;

/// A bencoded value. Integers keep the full range oxenc reads (`int64` and `uint64`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `i…e`
    Int(i128),
    /// `<len>:…`
    Bytes(Vec<u8>),
    /// `l…e`
    List(Vec<Value>),
    /// `d…e` (a `BTreeMap` keeps keys sorted, so encoding is canonical by construction)
    Dict(BTreeMap<Vec<u8>, Value>),
}

/// Why bytes are not canonical bencoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BencodeError {
    /// The input is longer than [`MAX_INPUT_LEN`].
    #[error("bencoded input too large")]
    TooLarge,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("bencoded input nested too deeply")]
    TooDeep,
    /// The input ended inside a value.
    #[error("bencoded input truncated")]
    Truncated,
    /// A byte that starts no value, or a malformed length or integer.
    #[error("malformed bencoding")]
    Malformed,
    /// An integer with a leading zero, `-0`, or an empty integer.
    #[error("non-canonical bencoded integer")]
    NonCanonicalInteger,
    /// An integer outside `[-2^63, 2^64-1]`.
    #[error("bencoded integer out of range")]
    IntegerOutOfRange,
    /// Dict keys not strictly ascending (unsorted or duplicate).
    #[error("bencoded dict keys not strictly ascending")]
    UnsortedKeys,
    /// Bytes after the value.
    #[error("trailing bytes after bencoded value")]
    TrailingBytes,
}

impl BencodeError {
    /// Bencoding arrives from the network (another device's config).
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::PeerMisbehaved
    }
}

impl Value {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(i) => encode_int(*i, out),
            Value::Bytes(b) => encode_bytes(b, out),
            Value::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            Value::Dict(map) => {
                out.push(b'd');
                for (k, v) in map {
                    encode_bytes(k, out);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }

    /// The bytes of a [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// Appends `i<n>e`.
pub fn encode_int(n: i128, out: &mut Vec<u8>) {
    out.push(b'i');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// Decodes exactly one canonical value spanning all of `input`.
///
/// # Errors
///
/// Any [`BencodeError`].
pub fn decode(input: &[u8]) -> Result<Value, BencodeError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(BencodeError::TooLarge);
    }
    let mut reader = Reader { input, pos: 0 };
    let value = reader.value(0)?;
    if reader.pos != input.len() {
        return Err(BencodeError::TrailingBytes);
    }
    Ok(value)
}

/// A cursor over bencoded input; every read is bounds-checked.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::Truncated)
    }

    fn value(&mut self, depth: usize) -> Result<Value, BencodeError> {
        if depth > MAX_DEPTH {
            return Err(BencodeError::TooDeep);
        }
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                self.int().map(Value::Int)
            }
            b'0'..=b'9' => self.bytes().map(|b| Value::Bytes(b.to_vec())),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut map = BTreeMap::new();
                let mut last: Option<Vec<u8>> = None;
                while self.peek()? != b'e' {
                    if !self.peek()?.is_ascii_digit() {
                        return Err(BencodeError::Malformed);
                    }
                    let key = self.bytes()?.to_vec();
                    if last.as_ref().is_some_and(|l| *l >= key) {
                        return Err(BencodeError::UnsortedKeys);
                    }
                    let v = self.value(depth + 1)?;
                    last = Some(key.clone());
                    map.insert(key, v);
                }
                self.pos += 1;
                Ok(Value::Dict(map))
            }
            _ => Err(BencodeError::Malformed),
        }
    }

    /// Reads the digits of an integer after `i`, through the closing `e`.
    fn int(&mut self) -> Result<i128, BencodeError> {
        let start = self.pos;
        let end = self.input[start..]
            .iter()
            .position(|&c| c == b'e')
            .map(|p| start + p)
            .ok_or(BencodeError::Truncated)?;
        let text = &self.input[start..end];
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(if digits.is_empty() {
                BencodeError::NonCanonicalInteger
            } else {
                BencodeError::Malformed
            });
        }
        if (digits[0] == b'0' && digits.len() > 1) || (negative && digits == b"0") {
            return Err(BencodeError::NonCanonicalInteger);
        }
        if digits.len() > 20 {
            return Err(BencodeError::IntegerOutOfRange);
        }
        let mut magnitude: i128 = 0;
        for &d in digits {
            magnitude = magnitude * 10 + i128::from(d - b'0');
        }
        let n = if negative { -magnitude } else { magnitude };
        if n < i128::from(i64::MIN) || n > i128::from(u64::MAX) {
            return Err(BencodeError::IntegerOutOfRange);
        }
        self.pos = end + 1;
        Ok(n)
    }

    /// Reads `<len>:<bytes>`.
    fn bytes(&mut self) -> Result<&[u8], BencodeError> {
        let start = self.pos;
        let colon = self.input[start..]
            .iter()
            .position(|&c| !c.is_ascii_digit())
            .map(|p| start + p)
            .ok_or(BencodeError::Truncated)?;
        if self.input[colon] != b':' {
            return Err(BencodeError::Malformed);
        }
        let digits = &self.input[start..colon];
        if digits.is_empty() || digits.len() > 10 {
            return Err(BencodeError::Malformed);
        }
        if digits[0] == b'0' && digits.len() > 1 {
            return Err(BencodeError::NonCanonicalInteger);
        }
        let len = digits
            .iter()
            .fold(0usize, |acc, &d| acc * 10 + usize::from(d - b'0'));
        let from = colon + 1;
        let to = from.checked_add(len).ok_or(BencodeError::Truncated)?;
        let out = self.input.get(from..to).ok_or(BencodeError::Truncated)?;
        self.pos = to;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_round_trip_and_rejections() {
        let ok: &[&[u8]] = &[
            b"i0e",
            b"i-5e",
            b"i18446744073709551615e",
            b"0:",
            b"le",
            b"de",
        ];
        for case in ok {
            assert_eq!(decode(case).unwrap().encode(), *case);
        }
        let bad: &[(&[u8], BencodeError)] = &[
            (b"i-0e", BencodeError::NonCanonicalInteger),
            (b"i03e", BencodeError::NonCanonicalInteger),
            (b"ie", BencodeError::NonCanonicalInteger),
            (b"i18446744073709551616e", BencodeError::IntegerOutOfRange),
            (b"i-9223372036854775809e", BencodeError::IntegerOutOfRange),
            (b"01:a", BencodeError::NonCanonicalInteger),
            (b"d1:bi1e1:ai1ee", BencodeError::UnsortedKeys),
            (b"d1:ai1e1:ai1ee", BencodeError::UnsortedKeys),
            (b"di1ei1ee", BencodeError::Malformed),
            (b"i1ei2e", BencodeError::TrailingBytes),
            (b"5:ab", BencodeError::Truncated),
            (b"l", BencodeError::Truncated),
            (b"x", BencodeError::Malformed),
        ];
        for (case, err) in bad {
            assert_eq!(decode(case), Err(*err), "{}", String::from_utf8_lossy(case));
        }
        let deep = [vec![b'l'; MAX_DEPTH + 2], vec![b'e'; MAX_DEPTH + 2]].concat();
        assert_eq!(decode(&deep), Err(BencodeError::TooDeep));
    }
}
