//! Attachment encryption (session-protocol.md §8, §11.13): the legacy padding rule against
//! session-desktop's JavaScript (`BufferPadding.ts`, its unit tests), a legacy blob made by
//! Node.js's own AES-256-CBC and HMAC (an independent implementation), the deterministic
//! format's sizes from libsession's `tests/test_attachment_encrypt.cpp`, and our
//! secretstream against the `crypto_secretstream` crate. Every accepted blob has tampered
//! twins that must fail with the right typed error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use umbra_protocol::attachment::{
    self, AttachmentError, Domain, MAX_ATTACHMENT_BYTES, decrypt, decrypt_deterministic,
    decrypt_legacy, encrypt_deterministic, encrypt_legacy, encrypt_legacy_with, encrypted_size,
    is_deterministic_url, padded_size, secretstream,
};

#[test]
fn legacy_padding_matches_session_desktop() {
    // (len, padded) computed by desktop's addAttachmentPadding formula in Node.js.
    for (len, padded) in [
        (0, 541),
        (1, 541),
        (10, 541),
        (540, 541),
        (541, 541),
        (542, 568),
        (1000, 1020),
        (4096, 4201),
        (65536, 67789),
        (100_000, 100_155),
        (999_999, 1_041_743),
        (1_234_567, 1_266_246),
        (5_000_000, 5_212_040),
        (10_000_001, 10_319_484),
        (12_345_678, 12_543_397),
    ] {
        assert_eq!(padded_size(len), padded, "len {len}");
    }
    // Desktop's tests: capped at the maximum for attachments within it.
    assert_eq!(padded_size(MAX_ATTACHMENT_BYTES), MAX_ATTACHMENT_BYTES);
    assert_eq!(padded_size(MAX_ATTACHMENT_BYTES - 1), MAX_ATTACHMENT_BYTES);
}

const KEY: [u8; 64] = {
    let mut k = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
const IV: [u8; 16] = [
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
];
const BODY: &[u8] = b"Umbra attachment vector: a short file body.";
/// SHA-256 of the blob Node.js made: `createCipheriv("aes-256-cbc", KEY[..32], IV)` over BODY
/// zero-padded to 541 bytes, then `createHmac("sha256", KEY[32..])` over `IV ‖ ct`.
const NODE_DIGEST: &str = "c911af7ea960d0578e4494615bb4c3216315f509249d262f7d207d91de8438d8";
const NODE_PREFIX: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffa04ae0686da48db3806d51e46e566fd5";

#[test]
fn legacy_blob_matches_an_independent_implementation_byte_for_byte() {
    let enc = encrypt_legacy_with(BODY, &KEY, &IV).unwrap();
    assert_eq!(enc.blob.len(), 592);
    assert_eq!(hex::encode(enc.digest), NODE_DIGEST);
    assert_eq!(hex::encode(&enc.blob[..32]), NODE_PREFIX);
    assert_eq!(enc.size, BODY.len());
    assert_eq!(&enc.key[..], &KEY[..]);
    let plain = decrypt_legacy(&enc.blob, &KEY, Some(&enc.digest), Some(enc.size)).unwrap();
    assert_eq!(&plain[..], BODY);
    // Without the size, the padding's zeros stay (as desktop shows them).
    let padded = decrypt_legacy(&enc.blob, &KEY, None, None).unwrap();
    assert_eq!(padded.len(), 541);
}

#[test]
fn tampered_legacy_blobs_fail_with_typed_errors() {
    let enc = encrypt_legacy_with(BODY, &KEY, &IV).unwrap();
    let ok = |b: &[u8]| decrypt_legacy(b, &KEY, Some(&enc.digest), Some(enc.size));
    let mut flipped = enc.blob.clone();
    flipped[40] ^= 1;
    assert_eq!(ok(&flipped).unwrap_err(), AttachmentError::DigestMismatch);
    // Without a digest the MAC catches it.
    assert_eq!(
        decrypt_legacy(&flipped, &KEY, None, None).unwrap_err(),
        AttachmentError::BadMac
    );
    let mut wrong_key = KEY;
    wrong_key[40] ^= 1;
    assert_eq!(
        decrypt_legacy(&enc.blob, &wrong_key, None, None).unwrap_err(),
        AttachmentError::BadMac
    );
    assert_eq!(
        decrypt_legacy(&enc.blob, &KEY[..32], None, None).unwrap_err(),
        AttachmentError::WrongKeyLength
    );
    for cut in [0, 10, 63, enc.blob.len() - 1] {
        assert_eq!(
            decrypt_legacy(&enc.blob[..cut], &KEY, None, None).unwrap_err(),
            AttachmentError::Malformed,
            "cut {cut}"
        );
    }
    // A valid MAC over a bad PKCS#7 padding (made with the mac key) is still refused.
    let mut bad = enc.blob[..enc.blob.len() - 32].to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(&KEY[32..]).unwrap();
    mac.update(&bad);
    bad.extend_from_slice(&mac.finalize().into_bytes());
    assert_eq!(
        decrypt_legacy(&bad, &KEY, None, None).unwrap_err(),
        AttachmentError::Malformed
    );
    assert_eq!(
        encrypt_legacy(
            &vec![0; MAX_ATTACHMENT_BYTES + 1],
            &mut ChaCha20Rng::seed_from_u64(1)
        )
        .err(),
        Some(AttachmentError::TooLarge)
    );
}

#[test]
fn legacy_round_trips_with_fresh_keys() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for len in [0usize, 1, 15, 16, 541, 5000, 100_000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
        let a = encrypt_legacy(&data, &mut rng).unwrap();
        let b = encrypt_legacy(&data, &mut rng).unwrap();
        assert_ne!(a.blob, b.blob, "fresh key and IV each time");
        let url = "http://filev2.getsession.org/file/123";
        let plain = decrypt(url, &a.blob, &a.key, Some(&a.digest), Some(a.size)).unwrap();
        assert_eq!(&plain[..], &data[..]);
    }
}

const SEED: [u8; 32] = [
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
];

fn vector_data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn deterministic_sizes_match_libsession() {
    // session-protocol.md §11.13 (libsession tests/test_attachment_encrypt.cpp).
    for (len, size) in [
        (0, 4096),
        (4053, 4096),
        (4054, 8192),
        (8149, 8192),
        (8150, 12288),
        (9999, 12288),
        (33_333, 36_864),
        (60_000, 61_440),
        (261_982, 262_144),
        (261_983, 270_336),
        (523_990, 524_288),
        (523_991, 540_672),
        (6_543_210, 6_553_600),
        (10_000_000, 10_223_616),
        (10_218_286, 10_223_616),
        (25_000_000, 25_165_824),
    ] {
        assert_eq!(encrypted_size(len), size, "len {len}");
    }
    // Real blobs have those sizes and decrypt back.
    for len in [0, 4053, 4054, 33_333, 261_983, 523_991, 10_218_286] {
        let data = vector_data(len);
        let enc = encrypt_deterministic(&data, &SEED, Domain::Attachment).unwrap();
        assert_eq!(enc.blob.len(), encrypted_size(len), "len {len}");
        assert_eq!(enc.blob[0], b'S');
        assert_eq!(enc.key.len(), 32);
        let plain = decrypt_deterministic(&enc.blob, &enc.key).unwrap();
        assert_eq!(plain.len(), len);
        assert!(plain[..] == data[..], "len {len}");
    }
    assert_eq!(
        encrypt_deterministic(&vector_data(10_218_287), &SEED, Domain::Attachment).err(),
        Some(AttachmentError::TooLarge)
    );
}

#[test]
fn deterministic_encryption_is_deterministic_and_domain_separated() {
    let data = vector_data(5000);
    let a = encrypt_deterministic(&data, &SEED, Domain::Attachment).unwrap();
    let b = encrypt_deterministic(&data, &SEED, Domain::Attachment).unwrap();
    assert_eq!(a.blob, b.blob);
    assert_eq!(a.key, b.key);
    let p = encrypt_deterministic(&data, &SEED, Domain::ProfilePicture).unwrap();
    assert_ne!(p.key, a.key);
    let mut other = SEED;
    other[0] ^= 1;
    let o = encrypt_deterministic(&data, &other, Domain::Attachment).unwrap();
    assert_ne!(o.blob, a.blob);
}

#[test]
fn tampered_deterministic_blobs_fail_with_typed_errors() {
    let data = vector_data(70_000); // three chunks
    let enc = encrypt_deterministic(&data, &SEED, Domain::Attachment).unwrap();
    let url = "http://filev2.getsession.org/file/abc#d";
    assert!(is_deterministic_url(url));
    let plain = decrypt(url, &enc.blob, &enc.key, Some(&enc.digest), Some(enc.size)).unwrap();
    assert!(plain[..] == data[..]);
    for at in [0usize, 1, 30, 40_000, enc.blob.len() - 1] {
        let mut t = enc.blob.clone();
        t[at] ^= 0x01;
        let err = decrypt_deterministic(&t, &enc.key).unwrap_err();
        let want = if at == 0 {
            AttachmentError::Malformed
        } else {
            AttachmentError::BadMac
        };
        assert_eq!(err, want, "byte {at}");
        assert_eq!(
            decrypt(url, &t, &enc.key, Some(&enc.digest), None).unwrap_err(),
            AttachmentError::DigestMismatch
        );
    }
    // Dropping the final chunk: every chunk authenticates, but the stream never ends.
    let chunk = attachment::CHUNK_BYTES + secretstream::ABYTES;
    let cut = 1 + secretstream::HEADER_BYTES + 2 * chunk;
    assert_eq!(
        decrypt_deterministic(&enc.blob[..cut], &enc.key).unwrap_err(),
        AttachmentError::Malformed
    );
    let mut key = enc.key.to_vec();
    key[0] ^= 1;
    assert_eq!(
        decrypt_deterministic(&enc.blob, &key).unwrap_err(),
        AttachmentError::BadMac
    );
    assert_eq!(
        decrypt_deterministic(&enc.blob, &key[..31]).unwrap_err(),
        AttachmentError::WrongKeyLength
    );
    assert_eq!(
        decrypt_deterministic(b"S", &enc.key).unwrap_err(),
        AttachmentError::Malformed
    );
    // A legacy URL is read as legacy: the deterministic key is the wrong length for it.
    assert_eq!(
        decrypt("http://x/file/abc", &enc.blob, &enc.key, None, None).unwrap_err(),
        AttachmentError::WrongKeyLength
    );
}

#[test]
fn deterministic_urls_are_recognised_by_their_fragment() {
    for (url, d) in [
        ("http://filev2.getsession.org/file/abc#d", true),
        ("http://filev2.getsession.org/file/abc#d=", true),
        ("http://fs.example/file/abc#p=00ff&d", true),
        ("http://filev2.getsession.org/file/abc", false),
        ("http://filev2.getsession.org/file/abc#p=00ff", false),
        ("http://filev2.getsession.org/file/d", false),
        ("http://filev2.getsession.org/file/abc#dx", false),
    ] {
        assert_eq!(is_deterministic_url(url), d, "{url}");
    }
}

#[test]
fn secretstream_agrees_with_an_independent_implementation() {
    use crypto_secretstream::{Header, Key, PullStream, PushStream, Stream, Tag};
    let key = [0x42u8; 32];
    let header = [0x24u8; 24];
    let messages: Vec<Vec<u8>> = [0usize, 1, 15, 16, 17, 63, 64, 100, 32_768]
        .iter()
        .map(|&n| (0..n).map(|i| (i * 31 + n) as u8).collect())
        .collect();
    // Ours → theirs.
    let mut ours = secretstream::State::new(&key, &header);
    let mut pull = PullStream::init(Header::from(header), &Key::from(key));
    for (i, m) in messages.iter().enumerate() {
        let tag = if i == 4 {
            2
        } else if i + 1 == messages.len() {
            3
        } else {
            0
        };
        let mut out = Vec::new();
        ours.push(m, tag, &mut out);
        assert_eq!(out.len(), m.len() + Stream::ABYTES);
        let got = pull.pull(&mut out, &[]).expect("theirs opens ours");
        assert_eq!(&out, m, "message {i}");
        let want = match tag {
            2 => Tag::Rekey,
            3 => Tag::Final,
            _ => Tag::Message,
        };
        assert_eq!(got, want);
    }
    // Theirs → ours (their header comes from an RNG: read it as a receiver does).
    let (their_header, mut push) = PushStream::init(Fixed, &Key::from(key));
    let mut h = [0u8; 24];
    h.copy_from_slice(their_header.as_ref());
    let mut ours = secretstream::State::new(&key, &h);
    for (i, m) in messages.iter().enumerate() {
        let tag = if i == 2 { Tag::Rekey } else { Tag::Message };
        let mut buf = m.clone();
        push.push(&mut buf, &[], tag).unwrap();
        // Twins with one bit flipped (tag byte, body, MAC) fail and move nothing.
        for at in [0, buf.len() / 2, buf.len() - 1] {
            let mut twin = buf.clone();
            twin[at] ^= 0x80;
            let mut out = Vec::new();
            assert_eq!(ours.pull(&twin, &mut out), None, "message {i} byte {at}");
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        let got = ours.pull(&buf, &mut out).expect("ours opens theirs");
        assert_eq!(&out, m, "message {i}");
        assert_eq!(got, tag as u8);
    }
}

/// A fixed "random" source for the other implementation's header.
struct Fixed;

impl rand_core_06::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        0x2424_2424
    }
    fn next_u64(&mut self) -> u64 {
        0x2424_2424_2424_2424
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0x5a);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        dest.fill(0x5a);
        Ok(())
    }
}

impl rand_core_06::CryptoRng for Fixed {}

/// Profile pictures (session-desktop `profileEncrypter.ts`: `iv(12) ‖ AES-256-GCM`): a
/// known answer computed with Node's own crypto (`createCipheriv('aes-256-gcm')`, key
/// 0011…eeff ×2, IV 0102…0c, plaintext "Umbra avatar bytes é"), and tampered twins.
#[test]
fn profile_picture_known_answer_and_tampered_twins() {
    use umbra_protocol::attachment::profile::{
        decrypt_profile_picture, encrypt_profile_picture, encrypt_profile_picture_with,
    };
    let key: [u8; 32] =
        hex::decode("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
            .unwrap()
            .try_into()
            .unwrap();
    let iv: [u8; 12] = hex::decode("0102030405060708090a0b0c")
        .unwrap()
        .try_into()
        .unwrap();
    let plain = "Umbra avatar bytes é".as_bytes();
    let want = hex::decode(
        "0102030405060708090a0b0c2f1f67d28937c4378b8cdab34c8d666616ed83349edd89146e52cd436b70f3e0c393b10de2",
    )
    .unwrap();
    let blob = encrypt_profile_picture_with(plain, &key, iv).unwrap();
    assert_eq!(blob, want);
    assert_eq!(&decrypt_profile_picture(&want, &key).unwrap()[..], plain);
    for i in [0, 12, want.len() - 1] {
        let mut bad = want.clone();
        bad[i] ^= 1;
        assert_eq!(
            decrypt_profile_picture(&bad, &key).map(|_| ()),
            Err(AttachmentError::BadMac),
            "byte {i}"
        );
    }
    let mut other = key;
    other[0] ^= 1;
    assert_eq!(
        decrypt_profile_picture(&want, &other).map(|_| ()),
        Err(AttachmentError::BadMac)
    );
    assert_eq!(
        decrypt_profile_picture(&want, &key[..31]).map(|_| ()),
        Err(AttachmentError::WrongKeyLength)
    );
    assert_eq!(
        decrypt_profile_picture(&want[..27], &key).map(|_| ()),
        Err(AttachmentError::Malformed)
    );
    // Random IVs: two encryptions differ, both open.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let a = encrypt_profile_picture(plain, &key, &mut rng).unwrap();
    let b = encrypt_profile_picture(plain, &key, &mut rng).unwrap();
    assert_ne!(a, b);
    assert_eq!(&decrypt_profile_picture(&b, &key).unwrap()[..], plain);
}
