//! The Session recovery phrase: a seed written as words from the 1626-word Electrum/Monero
//! English list, plus one checksum word.
//!
//! Every 4 bytes (a little-endian `u32` `x`) become three word indices
//! `w1 = x mod n`, `w2 = (x / n + w1) mod n`, `w3 = (x / n² + w2) mod n`. A 16-byte secret gives
//! 12 words and a 32-byte seed 24; the checksum word repeats the word at index
//! `crc32(first three letters of each word) mod word_count`. Words match by their first three
//! letters, case-insensitively, so `ABBOT` reads as `abbey`.

mod english;

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::error::ErrorKind;
use crate::identity::Seed;

/// Number of words in the list.
pub const WORD_COUNT: usize = 1626;
/// Letters of a word that identify it.
pub const PREFIX_LEN: usize = 3;
/// Words in a phrase for a 16-byte secret (12 data words + checksum).
pub const SHORT_PHRASE_WORDS: usize = 13;
/// Words in a phrase for a 32-byte seed (24 data words + checksum).
pub const LONG_PHRASE_WORDS: usize = 25;

const N: u64 = WORD_COUNT as u64;

/// Why a phrase could not be read or bytes could not be written as one. Carries no words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MnemonicError {
    /// A phrase has 13 or 25 words.
    #[error("recovery phrase must have 13 or 25 words, got {found}")]
    WrongWordCount {
        /// Number of words supplied.
        found: usize,
    },
    /// A word is not in the list (no list word shares its first three letters).
    #[error("word {position} is not a recovery phrase word")]
    UnknownWord {
        /// 1-based position of the word in the phrase.
        position: usize,
    },
    /// The checksum word does not match the other words (a word is wrong or misplaced).
    #[error("recovery phrase checksum does not match")]
    ChecksumMismatch,
    /// A group of three words encodes no 32-bit value.
    #[error("words starting at position {position} do not form a valid group")]
    InvalidEncoding {
        /// 1-based position of the first word of the invalid group.
        position: usize,
    },
    /// Only 16 or 32 bytes can be written as a phrase (or a multiple of 4 for raw words).
    #[error("cannot encode {found} bytes as a recovery phrase")]
    WrongEntropyLength {
        /// Number of bytes supplied.
        found: usize,
    },
}

impl MnemonicError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadApiUsage
    }
}

/// A recovery phrase: words separated by single spaces. Secret: zeroized on drop, never
/// printed or cloned.
pub struct RecoveryPhrase(Zeroizing<String>);

impl fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryPhrase(<redacted>)")
    }
}

impl RecoveryPhrase {
    /// The phrase as lowercase words separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The words of the phrase, in order.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ')
    }

    /// Number of words (13 or 25).
    pub fn word_count(&self) -> usize {
        self.words().count()
    }
}

/// The word at `index` in the list, if the index is below 1626.
pub fn word(index: usize) -> Option<&'static str> {
    english::WORDS.get(index).copied()
}

/// The list index of the word sharing `word`'s first three letters (case-insensitive).
pub fn word_index(word: &str) -> Option<usize> {
    let prefix = word.get(..PREFIX_LEN)?;
    if !prefix.is_ascii() {
        return None;
    }
    let mut key = [0u8; PREFIX_LEN];
    key.copy_from_slice(prefix.as_bytes());
    key.make_ascii_lowercase();
    // The list is sorted, so its three-letter prefixes are sorted (and unique) too.
    english::WORDS
        .binary_search_by(|w| w.as_bytes()[..PREFIX_LEN].cmp(&key[..]))
        .ok()
}

/// The three word indices of one 4-byte chunk (read as a little-endian `u32`).
pub fn chunk_indices(chunk: [u8; 4]) -> [usize; 3] {
    let x = u64::from(u32::from_le_bytes(chunk));
    let w1 = x % N;
    let w2 = (x / N + w1) % N;
    let w3 = (x / N / N + w2) % N;
    // Each value is below N = 1626, so the casts cannot truncate.
    [w1 as usize, w2 as usize, w3 as usize]
}

/// Inverse of [`chunk_indices`]; `None` when the indices encode no 32-bit value.
pub fn indices_chunk(indices: [usize; 3]) -> Option<[u8; 4]> {
    let [w1, w2, w3] = indices.map(|i| i as u64);
    if w1 >= N || w2 >= N || w3 >= N {
        return None;
    }
    let x = w1 + N * ((N - w1 + w2) % N) + N * N * ((N - w2 + w3) % N);
    if x % N != w1 {
        return None;
    }
    u32::try_from(x).ok().map(u32::to_le_bytes)
}

/// The words for `bytes` (length a multiple of 4), three per 4-byte chunk, without a checksum.
pub fn encode_words(bytes: &[u8]) -> Result<Vec<&'static str>, MnemonicError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(MnemonicError::WrongEntropyLength { found: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(4)
        .flat_map(|c| chunk_indices([c[0], c[1], c[2], c[3]]))
        .map(|i| english::WORDS[i])
        .collect())
}

/// The checksum word for `words`: the word at `crc32(prefixes) mod words.len()`.
/// `None` for an empty slice.
pub fn checksum_word<'a>(words: &[&'a str]) -> Option<&'a str> {
    checksum_index(words.iter().copied()).map(|i| words[i])
}

fn checksum_index<'a>(words: impl ExactSizeIterator<Item = &'a str>) -> Option<usize> {
    let count = words.len();
    if count == 0 {
        return None;
    }
    let mut hasher = crc32fast::Hasher::new();
    for w in words {
        let prefix = w.get(..PREFIX_LEN).unwrap_or(w);
        hasher.update(prefix.as_bytes());
    }
    Some(hasher.finalize() as usize % count)
}

/// Writes 16 bytes (13 words) or 32 bytes (25 words) as a recovery phrase.
pub fn encode(entropy: &[u8]) -> Result<RecoveryPhrase, MnemonicError> {
    match entropy.len() {
        16 | 32 => Ok(encode_seed_bytes(entropy)),
        found => Err(MnemonicError::WrongEntropyLength { found }),
    }
}

/// Encodes bytes whose length is a multiple of 4 (callers pass 16 or 32), with checksum.
pub(crate) fn encode_seed_bytes(entropy: &[u8]) -> RecoveryPhrase {
    let mut phrase = Zeroizing::new(String::with_capacity(entropy.len() * 3 * 10));
    let mut indices: Zeroizing<Vec<usize>> = Zeroizing::new(Vec::with_capacity(25));
    for c in entropy.chunks_exact(4) {
        indices.extend_from_slice(&chunk_indices([c[0], c[1], c[2], c[3]]));
    }
    let checksum = checksum_index(indices.iter().map(|&i| english::WORDS[i]));
    if let Some(ci) = checksum {
        let cw = indices[ci];
        indices.push(cw);
    }
    for (n, &i) in indices.iter().enumerate() {
        if n > 0 {
            phrase.push(' ');
        }
        phrase.push_str(english::WORDS[i]);
    }
    RecoveryPhrase(phrase)
}

/// Reads a 13- or 25-word phrase back into a seed. Whitespace-tolerant and case-insensitive;
/// each word is matched by its first three letters.
///
/// Errors are reported in this order: word count, first unknown word, invalid group,
/// checksum.
pub fn decode(phrase: &str) -> Result<Seed, MnemonicError> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let found = words.len();
    if found != SHORT_PHRASE_WORDS && found != LONG_PHRASE_WORDS {
        return Err(MnemonicError::WrongWordCount { found });
    }
    let mut indices: Zeroizing<Vec<usize>> = Zeroizing::new(Vec::with_capacity(found));
    for (n, w) in words.iter().enumerate() {
        let i = word_index(w).ok_or(MnemonicError::UnknownWord { position: n + 1 })?;
        indices.push(i);
    }
    let data = &indices[..found - 1];
    let mut bytes = Zeroizing::new(Vec::with_capacity(data.len() / 3 * 4));
    for (g, group) in data.chunks_exact(3).enumerate() {
        let mut chunk = indices_chunk([group[0], group[1], group[2]]).ok_or(
            MnemonicError::InvalidEncoding {
                position: g * 3 + 1,
            },
        )?;
        bytes.extend_from_slice(&chunk);
        chunk.zeroize();
    }
    let expected = checksum_index(data.iter().map(|&i| english::WORDS[i]))
        .map(|ci| data[ci])
        .ok_or(MnemonicError::ChecksumMismatch)?;
    // Unique prefixes: equal indices <=> equal prefixes.
    if indices[found - 1] != expected {
        return Err(MnemonicError::ChecksumMismatch);
    }
    // 12 or 24 data words always give 16 or 32 bytes.
    Seed::from_entropy(&bytes).map_err(|_| MnemonicError::WrongEntropyLength { found: bytes.len() })
}
