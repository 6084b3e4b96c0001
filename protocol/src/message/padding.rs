//! Message layer, wire part: the padding applied to serialized `Content` before 1:1 encryption.
//!
//! Sending uses current libsession's rule (`pad_message`, `COMMUNITY_OR_1O1_MSG_PADDING`):
//! append `0x80`, then zeros until the total length is a multiple of 160 (if `len + 1` already
//! is, a whole extra block of 160 is added). Receiving uses the tolerant unpad every client
//! implements, which also undoes the old desktop rule (`0x80` then zeros to `k·160 − 1`) and
//! accepts unpadded input.
//!
//! Spec: docs/protocol.md §5.2.

/// Block size of 1:1 and community message padding.
pub const PADDING_BLOCK: usize = 160;

/// The byte that terminates the content and starts the padding.
const PADDING_START: u8 = 0x80;

/// Pads `content`: `content ‖ 0x80 ‖ 0x00…`, total length a multiple of [`PADDING_BLOCK`] and
/// strictly greater than `content.len()`.
pub fn pad_message(content: &[u8]) -> Vec<u8> {
    let with_marker = content.len() + 1;
    let padded_len = with_marker + (PADDING_BLOCK - with_marker % PADDING_BLOCK);
    let mut out = Vec::with_capacity(padded_len);
    out.extend_from_slice(content);
    out.push(PADDING_START);
    out.resize(padded_len, 0);
    out
}

/// Removes padding tolerantly: strips trailing `0x00` bytes, then one `0x80` if it is the last
/// remaining byte. If a byte other than `0x00`/`0x80` is reached first, the input is taken to be
/// unpadded and what remains is returned (like every Session client; never fails).
pub fn unpad_message(padded: &[u8]) -> &[u8] {
    let mut end = padded.len();
    while let Some(&last) = end.checked_sub(1).and_then(|i| padded.get(i)) {
        match last {
            0 => end -= 1,
            PADDING_START => {
                end -= 1;
                break;
            }
            _ => break,
        }
    }
    &padded[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pad_lengths() {
        for (len, padded) in [
            (0, 160),
            (158, 160),
            (159, 320),
            (160, 320),
            (161, 320),
            (319, 480),
        ] {
            let content = vec![0x41u8; len];
            let out = pad_message(&content);
            assert_eq!(out.len(), padded, "len {len}");
            assert_eq!(&out[..len], &content[..]);
            assert_eq!(out[len], 0x80);
            assert!(out[len + 1..].iter().all(|b| *b == 0));
            assert_eq!(unpad_message(&out), &content[..]);
        }
    }

    #[test]
    fn test_unpad_tolerant() {
        assert_eq!(unpad_message(b""), b"");
        assert_eq!(unpad_message(b"abc"), b"abc");
        assert_eq!(unpad_message(b"abc\x80"), b"abc");
        assert_eq!(unpad_message(b"abc\x00\x00"), b"abc");
        // Only one 0x80 is removed.
        assert_eq!(unpad_message(b"abc\x80\x80\x00"), b"abc\x80");
        assert_eq!(unpad_message(b"\x80\x00\x00"), b"");
        assert_eq!(unpad_message(b"\x00\x00"), b"");
    }
}
