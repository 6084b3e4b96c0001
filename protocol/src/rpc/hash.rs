//! Message hashes (docs/protocol.md §4.5):
//! `base64_nopad(BLAKE2b-256(prefix ‖ pubkey32 ‖ ns_str ‖ data))`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use blake2::{Blake2b, Digest, digest::consts::U32};

use super::{HASH_LEN, Namespace, params::AccountId};

/// The storage server's hash of a message, as its 43-character string.
pub fn message_hash(account: &AccountId, namespace: Namespace, data: &[u8]) -> String {
    let mut h = Blake2b::<U32>::new();
    h.update([account.prefix]);
    h.update(account.key);
    h.update(namespace.sig_str().as_bytes());
    h.update(data);
    STANDARD_NO_PAD.encode(h.finalize())
}

/// Whether `s` has the shape of a message hash (43 chars of standard base64 alphabet).
pub fn is_valid_hash(s: &str) -> bool {
    s.len() == HASH_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}
