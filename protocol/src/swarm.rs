//! Swarm assignment: which group of service nodes stores an account's messages.
//!
//! A 32-byte account key (the 33-byte Session id without its prefix byte) maps to a
//! 64-bit "swarm space" position; the swarm whose id is nearest on the 2^64 ring stores
//! it (docs/protocol.md §3.6). Pure arithmetic, shared by the client (to pick the
//! nodes to talk to) and the node (to answer 421 when asked at the wrong swarm).

use thiserror::Error;

use crate::error::ErrorKind;

/// Identifier of a swarm: its position on the 2^64 ring.
pub type SwarmId = u64;

/// The reserved "no swarm" id; never assigned to a real swarm.
pub const INVALID_SWARM_ID: SwarmId = u64::MAX;

/// Errors of the swarm layer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SwarmError {
    /// The account key was neither 32 bytes nor 33 bytes (prefix + 32).
    #[error("account key has the wrong length")]
    BadKeyLength,
    /// The account key was not valid hex.
    #[error("account key is not valid hex")]
    BadHex,
}

impl SwarmError {
    /// Coarse classification of the error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadApiUsage
    }
}

/// The swarm-space position of an account key: XOR of its four big-endian u64 words.
///
/// Accepts the 33-byte form (prefix byte first, ignored) or the bare 32-byte key.
pub fn swarm_space(pubkey: &[u8]) -> Result<u64, SwarmError> {
    let key: &[u8] = match pubkey.len() {
        32 => pubkey,
        33 => &pubkey[1..],
        _ => return Err(SwarmError::BadKeyLength),
    };
    let mut space = 0u64;
    for chunk in key.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        space ^= u64::from_be_bytes(word);
    }
    Ok(space)
}

/// [`swarm_space`] of a hex account id (66 hex chars with prefix, or 64 without).
pub fn swarm_space_hex(pubkey_hex: &str) -> Result<u64, SwarmError> {
    let bytes = hex::decode(pubkey_hex).map_err(|_| SwarmError::BadHex)?;
    swarm_space(&bytes)
}

/// The swarm responsible for `space`: the id nearest on the 2^64 ring.
///
/// A position exactly halfway between two swarms goes to the left neighbour (the lower
/// id, which is the highest id when wrapping around). `swarm_ids` need not be sorted.
/// Returns `None` only for an empty list.
pub fn swarm_for(space: u64, swarm_ids: &[SwarmId]) -> Option<SwarmId> {
    let min = *swarm_ids.iter().min()?;
    let max = *swarm_ids.iter().max()?;
    // Right neighbour: the smallest id >= space, wrapping to the smallest id.
    let right = swarm_ids
        .iter()
        .copied()
        .filter(|&id| id >= space)
        .min()
        .unwrap_or(min);
    // Left neighbour: the largest id < space, wrapping to the largest id.
    let left = swarm_ids
        .iter()
        .copied()
        .filter(|&id| id < space)
        .max()
        .unwrap_or(max);
    let right_dist = right.wrapping_sub(space);
    let left_dist = space.wrapping_sub(left);
    if right_dist < left_dist {
        Some(right)
    } else {
        Some(left)
    }
}

/// `n` swarm ids spread evenly over the ring (for a test network), never [`INVALID_SWARM_ID`].
pub fn spread_swarm_ids(n: usize) -> Vec<SwarmId> {
    if n == 0 {
        return Vec::new();
    }
    let step = u64::MAX / n as u64;
    (0..n as u64).map(|i| i * step + step / 2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_rejects_bad_lengths() {
        assert_eq!(swarm_space(&[0u8; 31]), Err(SwarmError::BadKeyLength));
        assert_eq!(swarm_space(&[]), Err(SwarmError::BadKeyLength));
        assert_eq!(swarm_space_hex("zz"), Err(SwarmError::BadHex));
    }

    #[test]
    fn empty_swarm_list() {
        assert_eq!(swarm_for(5, &[]), None);
        assert_eq!(swarm_for(5, &[9]), Some(9));
    }

    #[test]
    fn spread_ids_are_distinct_and_valid() {
        let ids = spread_swarm_ids(3);
        assert_eq!(ids.len(), 3);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(!ids.contains(&INVALID_SWARM_ID));
        // Each id owns its own position.
        for &id in &ids {
            assert_eq!(swarm_for(id, &ids), Some(id));
        }
    }
}
