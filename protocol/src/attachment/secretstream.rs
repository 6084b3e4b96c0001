//! libsodium's `crypto_secretstream_xchacha20poly1305`, which Session's deterministic
//! attachment format uses (session-protocol.md §8), built from the ChaCha20 and Poly1305
//! primitives already in the tree. Layout of libsodium `secretstream_xchacha20poly1305.c`:
//!
//! - header: 24 bytes; `k = HChaCha20(key, header[0..16])`, nonce = counter 1 (4 bytes LE) ‖
//!   `header[16..24]`.
//! - each message: `c_tag(1) ‖ c(mlen) ‖ mac(16)`, where the Poly1305 key is the ChaCha20
//!   (IETF) keystream block 0, the tag byte sits in a 64-byte block encrypted with counter 1
//!   (all 64 bytes are authenticated), the message is encrypted from counter 2, and the MAC
//!   covers `block ‖ c ‖ 0^(mlen mod 16) ‖ le64(adlen) ‖ le64(64 + mlen)` (libsodium's padding
//!   expression `(0x10 - 64 + mlen) & 0xf` is `mlen mod 16`; kept bit for bit). Then the
//!   inner nonce is XORed with the MAC's first 8 bytes and the counter incremented; a REKEY
//!   tag or a wrapped counter rekeys.
//!
//! Associated data is never used by Session's attachments and is not supported.

use chacha20::{
    ChaCha20, R20,
    cipher::{KeyIvInit, StreamCipher, StreamCipherSeek},
    hchacha,
};
use poly1305::{Poly1305, universal_hash::KeyInit};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Header length.
pub const HEADER_BYTES: usize = 24;
/// Bytes added to each message (tag byte + MAC).
pub const ABYTES: usize = 17;
/// An ordinary message.
pub const TAG_MESSAGE: u8 = 0;
/// The last message of the stream.
pub const TAG_FINAL: u8 = 3;
const TAG_REKEY: u8 = 2;

/// One direction of a stream (push and pull keep the same state).
pub struct State {
    k: Zeroizing<[u8; 32]>,
    /// counter (4 bytes LE) ‖ inner nonce (8 bytes).
    nonce: [u8; 12],
}

impl Drop for State {
    fn drop(&mut self) {
        self.nonce.zeroize();
    }
}

impl State {
    /// The state for `key` and `header` (push with a header of your choosing, or pull with
    /// the header read from the stream).
    pub fn new(key: &[u8; 32], header: &[u8; HEADER_BYTES]) -> State {
        let mut input = [0u8; 16];
        input.copy_from_slice(&header[..16]);
        let k = hchacha::<R20>(key.into(), &input.into());
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&1u32.to_le_bytes());
        nonce[4..].copy_from_slice(&header[16..]);
        let mut kk = Zeroizing::new([0u8; 32]);
        kk.copy_from_slice(&k);
        State { k: kk, nonce }
    }

    fn cipher(&self, counter: u32) -> ChaCha20 {
        let mut c = ChaCha20::new((&*self.k).into(), (&self.nonce).into());
        c.seek(u64::from(counter) * 64);
        c
    }

    /// The MAC of one message, and the encrypted tag block.
    fn mac(&self, block: &[u8; 64], c: &[u8]) -> [u8; 16] {
        let mut poly_key = Zeroizing::new([0u8; 32]);
        self.cipher(0).apply_keystream(&mut poly_key[..]);
        let mut data = Vec::with_capacity(64 + c.len() + 16 + 16);
        data.extend_from_slice(block);
        data.extend_from_slice(c);
        data.resize(data.len() + (c.len() & 0xf), 0);
        data.extend_from_slice(&0u64.to_le_bytes());
        data.extend_from_slice(&(64 + c.len() as u64).to_le_bytes());
        let tag = Poly1305::new((&*poly_key).into()).compute_unpadded(&data);
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag);
        out
    }

    fn advance(&mut self, mac: &[u8; 16], tag: u8) {
        for (n, m) in self.nonce[4..].iter_mut().zip(mac) {
            *n ^= m;
        }
        let counter =
            u32::from_le_bytes([self.nonce[0], self.nonce[1], self.nonce[2], self.nonce[3]])
                .wrapping_add(1);
        self.nonce[..4].copy_from_slice(&counter.to_le_bytes());
        if tag & TAG_REKEY != 0 || counter == 0 {
            self.rekey();
        }
    }

    fn rekey(&mut self) {
        let mut buf = Zeroizing::new([0u8; 40]);
        buf[..32].copy_from_slice(&*self.k);
        buf[32..].copy_from_slice(&self.nonce[4..]);
        self.cipher(0).apply_keystream(&mut buf[..]);
        self.k.copy_from_slice(&buf[..32]);
        self.nonce[4..].copy_from_slice(&buf[32..]);
        self.nonce[..4].copy_from_slice(&1u32.to_le_bytes());
    }

    /// Encrypts `m` with `tag`, appending `c_tag ‖ c ‖ mac` to `out`.
    pub fn push(&mut self, m: &[u8], tag: u8, out: &mut Vec<u8>) {
        let mut block = [0u8; 64];
        block[0] = tag;
        self.cipher(1).apply_keystream(&mut block);
        let start = out.len();
        out.push(block[0]);
        out.extend_from_slice(m);
        self.cipher(2).apply_keystream(&mut out[start + 1..]);
        let mac = self.mac(&block, &out[start + 1..]);
        out.extend_from_slice(&mac);
        self.advance(&mac, tag);
    }

    /// Decrypts one message (`c_tag ‖ c ‖ mac`), appending the plaintext to `out`; returns
    /// its tag. `None` if it does not authenticate (nothing is appended then).
    pub fn pull(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<u8> {
        if input.len() < ABYTES {
            return None;
        }
        let (c_tag, rest) = input.split_at(1);
        let (c, mac) = rest.split_at(rest.len() - 16);
        let mut block = [0u8; 64];
        block[0] = c_tag[0];
        self.cipher(1).apply_keystream(&mut block);
        let tag = block[0];
        block[0] = c_tag[0];
        let expected = self.mac(&block, c);
        if !bool::from(expected.ct_eq(mac)) {
            return None;
        }
        let start = out.len();
        out.extend_from_slice(c);
        self.cipher(2).apply_keystream(&mut out[start..]);
        self.advance(&expected, tag);
        Some(tag)
    }
}
