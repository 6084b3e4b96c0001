//! Fuzz target: the app's link splitting (`split_links` in `app/src/format.rs`) and the other
//! text helpers there must never panic on message text from peers.
//!
//! The app crate is a binary (wasm UI), so its pure `format` module is compiled into this
//! target from its source file. `split_links` must lose and add nothing (the segments joined
//! give the input back), must never make two text segments in a row, and every link must be
//! an `http(s)://` URL with something after the scheme and no whitespace, `<`, `>` or `"`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../app/src/format.rs"]
mod format;

use format::{Segment, parse_account_id, short_id, split_links};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let segments = split_links(text);
    let mut joined = String::new();
    let mut last_was_text = false;
    for s in &segments {
        match s {
            Segment::Text(t) => {
                assert!(!t.is_empty(), "empty text segment");
                assert!(!last_was_text, "two text segments in a row");
                last_was_text = true;
                joined.push_str(t);
            }
            Segment::Link(url) => {
                last_was_text = false;
                let lower = url.to_ascii_lowercase();
                let scheme = if lower.starts_with("https://") {
                    8
                } else {
                    assert!(lower.starts_with("http://"), "not a web link: {url:?}");
                    7
                };
                assert!(url.len() > scheme, "a bare scheme is no link: {url:?}");
                assert!(
                    !url.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"'),
                    "{url:?}"
                );
                joined.push_str(url);
            }
        }
    }
    assert_eq!(joined, text, "split_links changed the text");
    if let Ok(id) = parse_account_id(text) {
        assert_eq!(id.len(), 66);
        assert_eq!(parse_account_id(&id), Ok(id.clone()));
    }
    let _ = short_id(text);
});
