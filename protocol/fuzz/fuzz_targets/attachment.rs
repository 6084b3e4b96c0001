//! Fuzz target: what arrives for an attachment or a name lookup must never panic: a
//! downloaded blob (legacy and deterministic decryption, with keys chosen so that some inputs
//! pass the MAC checks), a file server's upload answer, an attachment URL, and a node's
//! `ons_resolve` answer.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use umbra_protocol::{
    attachment::{self, fileserver},
    client::ServerReply,
    ons,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 6 {
        0 => {
            let _ = attachment::decrypt_legacy(rest, &[7; 64], None, Some(rest.len() / 2));
        }
        1 => {
            // A real blob of the fuzz input, then one byte of it changed by the input.
            if let Ok(enc) =
                attachment::encrypt_deterministic(rest, &[9; 32], attachment::Domain::Attachment)
            {
                let mut blob = enc.blob.clone();
                let at = rest.first().map_or(0, |&b| usize::from(b)) % blob.len();
                blob[at] ^= rest.get(1).copied().unwrap_or(1) | 1;
                let _ = attachment::decrypt_deterministic(&blob, &enc.key);
            }
            let _ = attachment::decrypt_deterministic(rest, &[3; 32]);
        }
        2 => {
            let reply = ServerReply {
                status: 200,
                headers: BTreeMap::new(),
                body: rest.to_vec(),
            };
            let _ = fileserver::parse_upload(&reply);
        }
        3 => {
            if let Ok(url) = std::str::from_utf8(rest) {
                let _ = fileserver::resolve_url(url, &[fileserver::FileServer::mainnet()]);
                let _ = attachment::is_deterministic_url(url);
                let _ = attachment::decrypt(url, rest, &[1; 32], None, None);
            }
        }
        4 => {
            let _ = ons::parse_answer("test", rest);
        }
        _ => {
            if let Ok(name) = std::str::from_utf8(rest) {
                if let Ok(n) = ons::normalize(name) {
                    let _ = ons::request(&n);
                }
            }
        }
    }
});
