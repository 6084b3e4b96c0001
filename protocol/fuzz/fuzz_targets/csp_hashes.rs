//! Fuzz target: the node's CSP builder (`umbra_node::static_site::inline_script_hashes` and
//! `content_security_policy`) must never panic on an `index.html`, finds at most one hash per
//! `<script`, and emits only well-formed `'sha256-…'` sources.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_node::static_site::{content_security_policy, inline_script_hashes};

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let hashes = inline_script_hashes(html);
    assert!(hashes.len() <= html.matches("<script").count());
    for h in &hashes {
        assert!(
            h.starts_with("'sha256-") && h.ends_with('\'') && h.len() == 8 + 44 + 1,
            "{h}"
        );
    }
    let csp = content_security_policy(html, &["http://127.0.0.1:*".to_owned()]);
    for h in &hashes {
        assert!(csp.contains(h.as_str()));
    }
});
