//! The byte strings that requests and node answers sign (docs/protocol.md §4.4, §4.5).
//!
//! Clients sign the request strings with their Ed25519 key; nodes verify them, and sign
//! the answer strings so that clients can check per-node results.

use super::{Namespace, NamespaceSel};

/// `"store" ‖ ns ‖ sig_timestamp` (private namespaces only).
pub fn store(ns: Namespace, sig_timestamp_ms: u64) -> Vec<u8> {
    format!("store{}{}", ns.sig_str(), sig_timestamp_ms).into_bytes()
}

/// `"retrieve" ‖ ns ‖ timestamp`.
pub fn retrieve(ns: Namespace, timestamp_ms: u64) -> Vec<u8> {
    format!("retrieve{}{}", ns.sig_str(), timestamp_ms).into_bytes()
}

/// `"delete" ‖ hash0 ‖ hash1 …` (no timestamp).
pub fn delete<S: AsRef<str>>(hashes: &[S]) -> Vec<u8> {
    let mut s = String::from("delete");
    hashes.iter().for_each(|h| s.push_str(h.as_ref()));
    s.into_bytes()
}

/// `"delete_all" ‖ ns ‖ timestamp` (ns may be "all").
pub fn delete_all(ns: NamespaceSel, timestamp_ms: u64) -> Vec<u8> {
    format!("delete_all{}{}", ns.sig_str(), timestamp_ms).into_bytes()
}

/// `"delete_before" ‖ ns ‖ before`.
pub fn delete_before(ns: NamespaceSel, before_ms: u64) -> Vec<u8> {
    format!("delete_before{}{}", ns.sig_str(), before_ms).into_bytes()
}

/// Which way an `expire` may move expiries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpireMode {
    /// Set the expiry whatever it is.
    #[default]
    Set,
    /// Only shorten.
    Shorten,
    /// Only extend.
    Extend,
}

impl ExpireMode {
    /// The word signed for this mode: "shorten", "extend" or "".
    pub fn sig_str(self) -> &'static str {
        match self {
            Self::Set => "",
            Self::Shorten => "shorten",
            Self::Extend => "extend",
        }
    }
}

/// `"expire" ‖ ("shorten"|"extend"|"") ‖ expiry ‖ hash0 ‖ …`.
pub fn expire<S: AsRef<str>>(mode: ExpireMode, expiry_ms: u64, hashes: &[S]) -> Vec<u8> {
    let mut s = format!("expire{}{}", mode.sig_str(), expiry_ms);
    hashes.iter().for_each(|h| s.push_str(h.as_ref()));
    s.into_bytes()
}

/// `"expire_all" ‖ ns ‖ expiry`.
pub fn expire_all(ns: NamespaceSel, expiry_ms: u64) -> Vec<u8> {
    format!("expire_all{}{}", ns.sig_str(), expiry_ms).into_bytes()
}

/// `"get_expiries" ‖ timestamp ‖ hash0 ‖ …`.
pub fn get_expiries<S: AsRef<str>>(timestamp_ms: u64, hashes: &[S]) -> Vec<u8> {
    let mut s = format!("get_expiries{timestamp_ms}");
    hashes.iter().for_each(|h| s.push_str(h.as_ref()));
    s.into_bytes()
}

/// Node answer to `delete`: `PUBKEY_HEX ‖ requested… ‖ deleted…`.
pub fn delete_response<S: AsRef<str>, T: AsRef<str>>(
    pubkey_hex: &str,
    requested: &[S],
    deleted: &[T],
) -> Vec<u8> {
    let mut s = String::from(pubkey_hex);
    requested.iter().for_each(|h| s.push_str(h.as_ref()));
    deleted.iter().for_each(|h| s.push_str(h.as_ref()));
    s.into_bytes()
}

/// Node answer to `delete_all`/`delete_before`/`expire_all`: `PUBKEY_HEX ‖ VALUE ‖ hashes…`
/// where VALUE is the timestamp, `before` or expiry of the request.
pub fn bulk_response<S: AsRef<str>>(pubkey_hex: &str, value_ms: u64, hashes: &[S]) -> Vec<u8> {
    let mut s = format!("{pubkey_hex}{value_ms}");
    hashes.iter().for_each(|h| s.push_str(h.as_ref()));
    s.into_bytes()
}

/// Node answer to `expire`:
/// `PUBKEY_HEX ‖ EXPIRY ‖ requested… ‖ updated… ‖ (hash ‖ expiry for unchanged, sorted)…`.
pub fn expire_response<S: AsRef<str>, T: AsRef<str>>(
    pubkey_hex: &str,
    expiry_ms: u64,
    requested: &[S],
    updated: &[T],
    unchanged: &[(String, u64)],
) -> Vec<u8> {
    let mut s = format!("{pubkey_hex}{expiry_ms}");
    requested.iter().for_each(|h| s.push_str(h.as_ref()));
    updated.iter().for_each(|h| s.push_str(h.as_ref()));
    let mut unchanged = unchanged.to_vec();
    unchanged.sort();
    for (h, e) in unchanged {
        s.push_str(&h);
        s.push_str(&e.to_string());
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(store(Namespace(13), 1234), b"store131234");
        assert_eq!(retrieve(Namespace(12), 1234), b"retrieve121234");
        assert_eq!(retrieve(Namespace(0), 1234), b"retrieve1234");
        assert_eq!(delete(&["hash4321", "hash4221"]), b"deletehash4321hash4221");
        assert_eq!(delete_all(NamespaceSel::All, 5), b"delete_allall5");
        assert_eq!(
            delete_all(NamespaceSel::One(Namespace(-10)), 5),
            b"delete_all-105"
        );
        assert_eq!(delete_before(NamespaceSel::default(), 7), b"delete_before7");
        assert_eq!(
            expire(ExpireMode::Shorten, 9, &["a", "b"]),
            b"expireshorten9ab"
        );
        assert_eq!(expire(ExpireMode::Set, 9, &["a"]), b"expire9a");
        assert_eq!(
            expire_all(NamespaceSel::One(Namespace(2)), 9),
            b"expire_all29"
        );
        assert_eq!(get_expiries(9, &["x", "y"]), b"get_expiries9xy");
        assert_eq!(delete_response("05ab", &["a", "b"], &["a"]), b"05ababa");
        assert_eq!(bulk_response("05ab", 3, &["z"]), b"05ab3z");
        assert_eq!(
            expire_response(
                "05",
                4,
                &["b", "a"],
                &["a"],
                &[("c".into(), 2), ("b".into(), 1)]
            ),
            b"054baab1c2"
        );
    }
}
