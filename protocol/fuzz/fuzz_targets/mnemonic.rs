//! Fuzz target: recovery phrase decoding (`mnemonic::decode`) must never panic, and every
//! phrase it accepts must encode back to a phrase that decodes to the same seed.
//!
//! The first input byte picks a mode: the bytes as typed text (UTF-8, lossy); or 13/25 list
//! words picked by the input (with mixed case, extra whitespace and cut-off words), so fuzzing
//! gets past the word-count and unknown-word checks to the group and checksum checks; or
//! entropy that must round-trip through `encode` and `decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_protocol::{
    identity::Seed,
    mnemonic::{decode, encode, word, word_index},
};

fn check_accepted(seed: &Seed) {
    let phrase = seed.recovery_phrase();
    let again = decode(phrase.as_str()).expect("an encoded phrase decodes");
    assert_eq!(
        again.dangerously_export_bytes(),
        seed.dangerously_export_bytes()
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(seed) = decode(&text) {
                check_accepted(&seed);
            }
            for w in text.split_whitespace().take(30) {
                if let Some(i) = word_index(w) {
                    assert!(word(i).is_some());
                }
            }
        }
        1 => {
            let count = if mode & 0x80 == 0 { 13 } else { 25 };
            let mut phrase = String::new();
            for (n, pair) in rest.chunks(2).take(count).enumerate() {
                let raw = u16::from_le_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                let Some(w) = word(usize::from(raw % 1626)) else {
                    return;
                };
                let w = match raw >> 14 {
                    0 => w.to_owned(),
                    1 => w.to_uppercase(),
                    2 => w.chars().take(3).collect(),
                    _ => format!("{w}x"),
                };
                if n > 0 {
                    phrase.push_str(if raw & 0x2000 == 0 { " " } else { " \t\n " });
                }
                phrase.push_str(&w);
            }
            if let Ok(seed) = decode(&phrase) {
                check_accepted(&seed);
            }
        }
        _ => {
            let len = if mode & 0x80 == 0 { 16 } else { 32 };
            let Some(entropy) = rest.get(..len) else {
                return;
            };
            let phrase = encode(entropy).expect("16 or 32 bytes encode");
            let seed = decode(phrase.as_str()).expect("an encoded phrase decodes");
            assert_eq!(&seed.dangerously_export_bytes()[..len], entropy);
            check_accepted(&seed);
        }
    }
});
