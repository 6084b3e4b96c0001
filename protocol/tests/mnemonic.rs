//! Recovery phrase tests: docs/protocol.md §2 / §11.11 vectors both ways, error positions, word
//! list checks and seeded round-trip properties.

use umbra_protocol::identity::Seed;
use umbra_protocol::mnemonic::{
    self, MnemonicError, WORD_COUNT, checksum_word, chunk_indices, decode, encode, encode_words,
    indices_chunk, word, word_index,
};

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha512};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/vectors/mnemonic.json")).expect("valid json")
}

fn padded(entropy: &[u8]) -> Vec<u8> {
    let mut v = entropy.to_vec();
    v.resize(32, 0);
    v
}

#[test]
fn word_list_is_the_session_list() {
    assert_eq!(WORD_COUNT, 1626);
    assert_eq!(word(0), Some("abbey"));
    assert_eq!(word(1), Some("abducts"));
    assert_eq!(word(1625), Some("zoom"));
    assert_eq!(word(1626), None);
    let mut prefixes = std::collections::HashSet::new();
    for i in 0..WORD_COUNT {
        let w = word(i).expect("in range");
        assert!(
            w.len() >= 4 && w.bytes().all(|b| b.is_ascii_lowercase()),
            "{w}"
        );
        assert!(prefixes.insert(&w[..3]), "duplicate prefix {w}");
        assert_eq!(word_index(w), Some(i));
        assert_eq!(word_index(&w.to_uppercase()), Some(i));
        assert_eq!(word_index(&w[..3]), Some(i));
    }
    assert_eq!(word_index("ab"), None);
    assert_eq!(word_index("xyzzy"), None);
    assert_eq!(word_index("é"), None);
    assert_eq!(word_index("aéb"), None);
}

#[test]
fn phrase_vectors_encode() {
    let v = vectors();
    for p in v["phrases"].as_array().expect("phrases") {
        let entropy = hex::decode(p["entropy"].as_str().expect("hex")).expect("hex");
        let phrase = encode(&entropy).expect("16 bytes");
        assert_eq!(phrase.as_str(), p["phrase"].as_str().expect("phrase"));
        assert_eq!(phrase.word_count(), 13);
        // Via the seed as well.
        let seed = Seed::from_entropy(&entropy).expect("seed");
        assert_eq!(seed.recovery_phrase().as_str(), phrase.as_str());
        // A one-bit change in the entropy changes the phrase.
        let mut tampered = entropy.clone();
        tampered[15] ^= 1;
        assert_ne!(encode(&tampered).expect("16").as_str(), phrase.as_str());
    }
}

#[test]
fn phrase_vectors_decode() {
    let v = vectors();
    for p in v["phrases"].as_array().expect("phrases") {
        let entropy = hex::decode(p["entropy"].as_str().expect("hex")).expect("hex");
        let text = p["phrase"].as_str().expect("phrase");
        let seed = decode(text).expect("valid phrase");
        assert_eq!(seed.dangerously_export_bytes().to_vec(), padded(&entropy));
        // Case-insensitive, whitespace-tolerant, prefix matching.
        let messy = format!("  {}\n", text.to_uppercase().replace(' ', " \t "));
        assert_eq!(
            decode(&messy).expect("messy").dangerously_export_bytes(),
            seed.dangerously_export_bytes()
        );
        let prefixes: Vec<&str> = text.split(' ').map(|w| &w[..3]).collect();
        assert_eq!(
            decode(&prefixes.join(" "))
                .expect("prefixes")
                .dangerously_export_bytes(),
            seed.dangerously_export_bytes()
        );
    }
}

#[test]
fn bad_checksum_vector_is_rejected() {
    let v = vectors();
    for p in v["bad_checksum"].as_array().expect("bad") {
        assert_eq!(
            decode(p.as_str().expect("phrase")).map(|_| ()),
            Err(MnemonicError::ChecksumMismatch)
        );
    }
    // Replacing the checksum word of a good vector with another data word fails too.
    let good = v["phrases"][0]["phrase"].as_str().expect("phrase");
    let mut words: Vec<&str> = good.split(' ').collect();
    words[12] = words[0];
    assert_eq!(
        decode(&words.join(" ")).map(|_| ()),
        Err(MnemonicError::ChecksumMismatch)
    );
    // Swapping two data words is detected.
    let mut words: Vec<&str> = good.split(' ').collect();
    words.swap(0, 1);
    assert_eq!(
        decode(&words.join(" ")).map(|_| ()),
        Err(MnemonicError::ChecksumMismatch)
    );
}

#[test]
fn unknown_word_reports_its_position() {
    let v = vectors();
    let good = v["phrases"][1]["phrase"].as_str().expect("phrase");
    for pos in [1usize, 5, 12, 13] {
        let mut words: Vec<&str> = good.split(' ').collect();
        words[pos - 1] = "qqqq";
        assert_eq!(
            decode(&words.join(" ")).map(|_| ()),
            Err(MnemonicError::UnknownWord { position: pos })
        );
    }
    // Too short to have a prefix, non-ASCII: unknown, never a panic.
    for bad in ["ab", "éé", "a€b", "ü"] {
        let mut words: Vec<&str> = good.split(' ').collect();
        words[3] = bad;
        assert_eq!(
            decode(&words.join(" ")).map(|_| ()),
            Err(MnemonicError::UnknownWord { position: 4 })
        );
    }
    // The first unknown word is the one reported.
    let mut words: Vec<&str> = good.split(' ').collect();
    words[2] = "qqqq";
    words[7] = "qqqq";
    assert_eq!(
        decode(&words.join(" ")).map(|_| ()),
        Err(MnemonicError::UnknownWord { position: 3 })
    );
    // The message names the position only.
    let msg = MnemonicError::UnknownWord { position: 3 }.to_string();
    assert!(msg.contains('3') && !msg.contains("qqqq"));
}

#[test]
fn wrong_word_counts_are_rejected() {
    let v = vectors();
    let good = v["phrases"][0]["phrase"].as_str().expect("phrase");
    let words: Vec<&str> = good.split(' ').collect();
    assert_eq!(
        decode(&words[..12].join(" ")).map(|_| ()),
        Err(MnemonicError::WrongWordCount { found: 12 })
    );
    let mut fourteen = words.clone();
    fourteen.push("abbey");
    assert_eq!(
        decode(&fourteen.join(" ")).map(|_| ()),
        Err(MnemonicError::WrongWordCount { found: 14 })
    );
    for n in [0usize, 1, 24, 26] {
        let text = vec!["abbey"; n].join(" ");
        assert_eq!(
            decode(&text).map(|_| ()),
            Err(MnemonicError::WrongWordCount { found: n })
        );
    }
}

#[test]
fn entropy_lengths_are_checked() {
    for len in [0usize, 4, 15, 17, 31, 33, 64] {
        assert_eq!(
            encode(&vec![1u8; len]).map(|_| ()),
            Err(MnemonicError::WrongEntropyLength { found: len })
        );
    }
    assert_eq!(
        encode_words(&[1, 2, 3]).map(|_| ()),
        Err(MnemonicError::WrongEntropyLength { found: 3 })
    );
}

#[test]
fn chunk_vector_11_11() {
    let v = vectors();
    let c = &v["chunk"];
    let bytes: [u8; 4] = hex::decode(c["bytes"].as_str().expect("hex"))
        .expect("hex")
        .try_into()
        .expect("4 bytes");
    let expected: Vec<usize> = c["indices"]
        .as_array()
        .expect("indices")
        .iter()
        .map(|i| i.as_u64().expect("u64") as usize)
        .collect();
    assert_eq!(chunk_indices(bytes).to_vec(), expected);
    assert_eq!(indices_chunk(chunk_indices(bytes)), Some(bytes));
    let words = encode_words(&bytes).expect("4 bytes");
    assert_eq!(words.join(" "), c["words"].as_str().expect("words"));
    let mut with_checksum = words.clone();
    with_checksum.push(checksum_word(&words).expect("non-empty"));
    assert_eq!(
        with_checksum.join(" "),
        c["with_checksum"].as_str().expect("words")
    );
    // Tampered chunk and the upstream comment's wrong indices.
    assert_ne!(chunk_indices([1, 2, 3, 5]).to_vec(), expected);
    assert_ne!(chunk_indices(bytes), [1443, 180, 205]);
    assert_ne!(indices_chunk([1443, 180, 205]), Some(bytes));
}

#[test]
fn raw_words_vector_11_11() {
    let v = vectors();
    let r = &v["raw_words"];
    let bytes = hex::decode(r["bytes"].as_str().expect("hex")).expect("hex");
    let digest = Sha512::digest(r["seed_sha512_of_utf8"].as_str().expect("s").as_bytes());
    assert_eq!(digest.as_slice(), bytes.as_slice());
    let words = encode_words(&bytes).expect("64 bytes");
    assert_eq!(words.len(), 48);
    assert_eq!(words.join(" "), r["words"].as_str().expect("words"));
    let mut tampered = bytes.clone();
    tampered[0] ^= 1;
    assert_ne!(
        encode_words(&tampered).expect("64").join(" "),
        r["words"].as_str().expect("w")
    );
}

#[test]
fn overflowing_group_is_invalid_encoding() {
    // abbey zoom zones -> 0 + n*1625 + n^2*1625 > u32::MAX.
    assert_eq!(indices_chunk([0, 1625, 1624]), None);
    let mut words = vec!["abbey", "zoom", "zones"];
    words.extend(encode_words(&[9u8; 12]).expect("12 bytes"));
    let cw = checksum_word(&words).expect("non-empty");
    words.push(cw);
    assert_eq!(
        decode(&words.join(" ")).map(|_| ()),
        Err(MnemonicError::InvalidEncoding { position: 1 })
    );
    let mut words: Vec<&str> = encode_words(&[9u8; 12]).expect("12 bytes");
    words.extend(["abbey", "zoom", "zones"]);
    let cw = checksum_word(&words).expect("non-empty");
    words.push(cw);
    assert_eq!(
        decode(&words.join(" ")).map(|_| ()),
        Err(MnemonicError::InvalidEncoding { position: 10 })
    );
}

#[test]
fn chunk_round_trip_edges() {
    for x in [0u32, 1, 1625, 1626, 1626 * 1626, u32::MAX - 1, u32::MAX] {
        let b = x.to_le_bytes();
        assert_eq!(indices_chunk(chunk_indices(b)), Some(b), "{x}");
    }
    assert_eq!(indices_chunk([1626, 0, 0]), None);
}

#[test]
fn round_trip_100k_short_seeds() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5e55_1011);
    for _ in 0..100_000 {
        let mut entropy = [0u8; 16];
        rng.fill_bytes(&mut entropy);
        let phrase = encode(&entropy).expect("16");
        assert_eq!(phrase.word_count(), 13);
        let seed = decode(phrase.as_str()).expect("round trip");
        assert_eq!(&seed.dangerously_export_bytes()[..16], &entropy);
        assert!(seed.is_short());
    }
}

#[test]
fn round_trip_long_seeds() {
    let mut rng = ChaCha20Rng::seed_from_u64(25);
    for _ in 0..10_000 {
        let mut entropy = [0u8; 32];
        rng.fill_bytes(&mut entropy);
        entropy[31] |= 1; // never short
        let seed = Seed::from_entropy(&entropy).expect("32");
        let phrase = seed.recovery_phrase();
        assert_eq!(phrase.word_count(), 25);
        let words: Vec<&str> = phrase.words().collect();
        assert_eq!(Some(words[24]), checksum_word(&words[..24]));
        let back = decode(phrase.as_str()).expect("round trip");
        assert_eq!(back.dangerously_export_bytes(), &entropy);
    }
}

#[test]
fn single_word_substitution_is_mostly_detected() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let trials = 20_000u32;
    let mut caught = 0u32;
    for _ in 0..trials {
        let mut entropy = [0u8; 16];
        rng.fill_bytes(&mut entropy);
        let phrase = encode(&entropy).expect("16");
        let mut words: Vec<&str> = phrase.words().collect();
        let pos = (rng.next_u32() % 12) as usize;
        let original = word_index(words[pos]).expect("list word");
        let mut replacement = (rng.next_u32() as usize) % WORD_COUNT;
        if replacement == original {
            replacement = (replacement + 1) % WORD_COUNT;
        }
        words[pos] = mnemonic::word(replacement).expect("in range");
        match decode(&words.join(" ")) {
            Err(_) => caught += 1,
            Ok(seed) => assert_ne!(&seed.dangerously_export_bytes()[..16], &entropy),
        }
    }
    let rate = f64::from(caught) / f64::from(trials);
    assert!(rate > 0.85, "substitution detection rate {rate}");
}
