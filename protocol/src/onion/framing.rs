//! Wire framing of one onion request layer (docs/protocol.md §3.3): bytes only, no crypto.
//!
//! Layout (storage server `parse_combined_payload`):
//!
//! ```text
//! [ N : u32 little-endian ][ N bytes: ciphertext or payload ][ UTF-8 JSON object: rest ]
//! ```
//!
//! Decoding never panics; inputs above [`MAX_BODY_SIZE`] are refused.

use serde_json::{Map, Value};

use crate::error::ErrorKind;

/// Largest onion request body accepted (storage server `MAX_REQUEST_BODY_SIZE`, 10 MiB).
pub const MAX_BODY_SIZE: usize = 10 * 1024 * 1024;

/// Why a layer's framing could not be decoded or encoded. Carries no input bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The buffer ends before the declared payload (or before the 4-byte length).
    #[error("truncated layer: {deficit} more bytes needed")]
    Truncated {
        /// How many more bytes the declared lengths need.
        deficit: usize,
    },
    /// The buffer (or payload to encode) exceeds [`MAX_BODY_SIZE`].
    #[error("layer too large")]
    TooLarge,
    /// The bytes after the payload are not a UTF-8 JSON object.
    #[error("control data is not a JSON object")]
    BadJson,
}

impl FramingError {
    /// Coarse classification of this error: a decode failure is always the peer's fault.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::PeerMisbehaved
    }
}

/// One decoded layer: the length-prefixed payload and the JSON object that follows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer<'a> {
    /// The `N` bytes after the length prefix (ciphertext, or an inner payload).
    pub payload: &'a [u8],
    /// The JSON object making up the rest of the buffer.
    pub control: Map<String, Value>,
}

/// Encodes `[len(payload) u32 LE][payload][json]` where `json` is `control` serialized.
///
/// Fails with [`FramingError::TooLarge`] when the result would exceed [`MAX_BODY_SIZE`].
pub fn encode_layer(payload: &[u8], control: &Map<String, Value>) -> Result<Vec<u8>, FramingError> {
    let json = serde_json::to_vec(control).map_err(|_| FramingError::BadJson)?;
    encode_raw(payload, &json)
}

/// Encodes `[len(payload) u32 LE][payload][json]` with `json` given as raw bytes (used where
/// the exact JSON text matters, e.g. `{"headers":""}`).
pub fn encode_raw(payload: &[u8], json: &[u8]) -> Result<Vec<u8>, FramingError> {
    let total = 4usize
        .checked_add(payload.len())
        .and_then(|n| n.checked_add(json.len()))
        .ok_or(FramingError::TooLarge)?;
    if total > MAX_BODY_SIZE {
        return Err(FramingError::TooLarge);
    }
    let n = u32::try_from(payload.len()).map_err(|_| FramingError::TooLarge)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(json);
    Ok(out)
}

/// Splits a buffer into its length-prefixed payload and the raw bytes that follow.
pub fn split_layer(buf: &[u8]) -> Result<(&[u8], &[u8]), FramingError> {
    if buf.len() > MAX_BODY_SIZE {
        return Err(FramingError::TooLarge);
    }
    let (len_bytes, rest) = buf
        .split_first_chunk::<4>()
        .ok_or(FramingError::Truncated {
            deficit: 4usize.saturating_sub(buf.len()),
        })?;
    let n = usize::try_from(u32::from_le_bytes(*len_bytes)).map_err(|_| FramingError::TooLarge)?;
    if n > rest.len() {
        return Err(FramingError::Truncated {
            deficit: n - rest.len(),
        });
    }
    Ok(rest.split_at(n))
}

/// Decodes one layer: the payload and the JSON object after it. Never panics.
pub fn decode_layer(buf: &[u8]) -> Result<Layer<'_>, FramingError> {
    let (payload, json) = split_layer(buf)?;
    let control = match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(map)) => map,
        _ => return Err(FramingError::BadJson),
    };
    Ok(Layer { payload, control })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn test_round_trip() {
        let control = obj(serde_json::json!({"headers": ""}));
        let enc = encode_layer(b"ciphertext", &control).unwrap();
        assert_eq!(&enc[..4], &[10, 0, 0, 0]);
        assert_eq!(&enc[4..14], b"ciphertext");
        assert_eq!(&enc[14..], br#"{"headers":""}"#);
        let dec = decode_layer(&enc).unwrap();
        assert_eq!(dec.payload, b"ciphertext");
        assert_eq!(dec.control, control);
    }

    #[test]
    fn test_truncated_and_bad() {
        assert_eq!(
            decode_layer(b""),
            Err(FramingError::Truncated { deficit: 4 })
        );
        assert_eq!(
            decode_layer(b"\x01\0"),
            Err(FramingError::Truncated { deficit: 2 })
        );
        assert_eq!(
            decode_layer(b"\x05\0\0\0abc"),
            Err(FramingError::Truncated { deficit: 2 })
        );
        assert_eq!(
            decode_layer(b"\xff\xff\xff\xff"),
            Err(FramingError::Truncated {
                deficit: 0xffff_ffff
            })
        );
        assert_eq!(decode_layer(b"\x01\0\0\0a"), Err(FramingError::BadJson));
        assert_eq!(decode_layer(b"\x01\0\0\0a[1]"), Err(FramingError::BadJson));
        assert_eq!(
            decode_layer(b"\x01\0\0\0a{\"x\":1} junk"),
            Err(FramingError::BadJson)
        );
        assert_eq!(
            decode_layer(b"\x01\0\0\0a\xff{}"),
            Err(FramingError::BadJson)
        );
        assert!(decode_layer(b"\x00\0\0\0{}").is_ok());
    }

    #[test]
    fn test_size_cap() {
        let big = vec![0u8; MAX_BODY_SIZE + 1];
        assert_eq!(decode_layer(&big), Err(FramingError::TooLarge));
        assert_eq!(encode_raw(&big, b"{}"), Err(FramingError::TooLarge));
    }
}
