//! Fuzz target: config sync must never panic on what arrives in the config namespaces or
//! from storage: the bencode decoder (and its canonical round trip), config message parsing,
//! libsession's merge of several messages, the pull pipeline (protobuf unwrap, decryption,
//! padding, zstd) and `ConfigState::merge` / `load`.
//!
//! The first input byte picks a mode; the merge modes split the rest at `0xff` bytes into
//! several messages, so related inputs (one message and its increments) meet in one merge.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use umbra_protocol::{
    config::{
        ConfigKind, ConfigMessage, ConfigState, bencode, crypto,
        message::DEFAULT_LAG,
        state::{open_message, seal_message},
    },
    identity::{Identity, Seed},
};

fn own() -> &'static Identity {
    static OWN: OnceLock<Identity> = OnceLock::new();
    OWN.get_or_init(|| Identity::from_seed(&Seed::from_entropy(&[0x11; 32]).expect("32 bytes")))
}

fn split(rest: &[u8]) -> Vec<&[u8]> {
    rest.split(|&b| b == 0xff).take(8).collect()
}

fn check_message(m: &mut ConfigMessage) {
    let bytes = m.serialize();
    let mut again = ConfigMessage::parse(&bytes, DEFAULT_LAG, None, true)
        .expect("a serialised message parses again");
    assert_eq!(again.serialize(), bytes, "serialisation is stable");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let kind = ConfigKind::ALL[usize::from(mode >> 4) % 4];
    match mode % 7 {
        0 => {
            if let Ok(v) = bencode::decode(rest) {
                assert_eq!(v.encode(), rest, "only canonical bencoding is accepted");
            }
        }
        1 => {
            if let Ok(mut m) = ConfigMessage::parse(rest, DEFAULT_LAG, None, true) {
                check_message(&mut m);
                let mut next = m.increment();
                check_message(&mut next);
            }
        }
        2 => {
            let parts = split(rest);
            for mutable in [false, true] {
                if let Ok((mut m, bad)) =
                    ConfigMessage::merge(&parts, DEFAULT_LAG, None, true, mutable)
                {
                    assert!(bad.iter().all(|&i| i < parts.len()));
                    check_message(&mut m);
                }
            }
        }
        3 => {
            let _ = open_message(kind, own(), rest);
            // The same bytes sealed properly open to themselves (padding and compression
            // undone), unless they start like padding, a 'z' or an 'm'.
            if let Ok(sealed) = seal_message(kind, own(), 1, rest.to_vec()) {
                let opened = open_message(kind, own(), &sealed);
                if rest.first().is_some_and(|b| ![0, b'z', b'm'].contains(b)) {
                    assert_eq!(opened.as_deref(), Ok(rest));
                }
            }
        }
        4 => {
            // A state fed sealed fuzz messages, then pushed and fed its own push back.
            let mut state = ConfigState::new(kind);
            let msgs: Vec<(String, Vec<u8>)> = split(rest)
                .into_iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let sealed = seal_message(kind, own(), 1, p.to_vec()).ok()?;
                    Some((format!("h{i}"), sealed))
                })
                .collect();
            let out = state.merge(own(), &msgs);
            assert!(out.accepted.len() <= msgs.len());
            if let Ok(push) = state.push(own()) {
                state.confirm_pushed(push.seqno, "mine".into());
                let _ = state.merge(own(), &[("mine".into(), push.data)]);
            }
            let dump = state.dump();
            let loaded = ConfigState::load(kind, &dump).expect("own dump loads");
            assert_eq!(loaded.data(), state.data());
        }
        5 => {
            if let Ok(mut state) = ConfigState::load(kind, rest) {
                let _ = state.dump();
                let _ = state.push(own());
            }
        }
        _ => {
            let _ = crypto::decompress(rest);
            let _ = crypto::decrypt(rest, &[5; 32], "Contacts");
        }
    }
});
