//! Fuzz target: the app ↔ worker messages (`umbra_ipc::decode_command`, `decode_event`) must
//! never panic, and whatever decodes must encode to text that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_ipc::{decode_command, decode_event, encode_command, encode_event};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cmd) = decode_command(text) {
        let again = decode_command(&encode_command(&cmd)).expect("an encoded command decodes");
        assert!(again == cmd, "command changed by a round trip");
    }
    if let Ok(event) = decode_event(text) {
        assert_eq!(decode_event(&encode_event(&event)).as_ref(), Ok(&event));
    }
});
