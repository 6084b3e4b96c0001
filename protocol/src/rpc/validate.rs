//! Time, TTL and size checks of the storage RPC; the clock is always a parameter.

use super::{
    MAX_DATA_BYTES, MIN_TIMESTAMP_MS, RETRIEVE_DEFAULT_MAX_SIZE, RETRIEVE_MAX_SIZE, RpcError,
    SIGNATURE_TOLERANCE_FORWARDED_MS, SIGNATURE_TOLERANCE_MS, STORE_TOLERANCE_MS,
    TTL_MAX_PRIVATE_MS, TTL_MIN_MS, params::StoreParams,
};

/// Reject timestamps that are evidently not milliseconds.
pub fn check_millis(ts: u64) -> Result<(), RpcError> {
    if ts < MIN_TIMESTAMP_MS {
        Err(RpcError::Malformed("timestamp must be in milliseconds"))
    } else {
        Ok(())
    }
}

/// Validate a store's size, clock and TTL; returns the message's absolute expiry (ms).
pub fn store_expiry(p: &StoreParams, now_ms: u64) -> Result<u64, RpcError> {
    if p.data.0.len() > MAX_DATA_BYTES {
        return Err(RpcError::DataTooLarge);
    }
    check_millis(p.timestamp)?;
    let expiry = match (p.ttl, p.expiry) {
        (Some(ttl), None) => p.timestamp.checked_add(ttl).ok_or(RpcError::InvalidTtl)?,
        (None, Some(e)) => e,
        _ => return Err(RpcError::Malformed("exactly one of ttl and expiry")),
    };
    if p.timestamp > now_ms.saturating_add(STORE_TOLERANCE_MS)
        || expiry < now_ms.saturating_sub(STORE_TOLERANCE_MS)
    {
        return Err(RpcError::ClockOutOfSync);
    }
    let ttl = expiry
        .checked_sub(p.timestamp)
        .ok_or(RpcError::InvalidTtl)?;
    if !(TTL_MIN_MS..=p.namespace.max_ttl_ms()).contains(&ttl) {
        return Err(RpcError::InvalidTtl);
    }
    Ok(expiry)
}

/// Check a signed request's timestamp against the ±60 s window (±70 s if `forwarded`).
pub fn check_sig_timestamp(ts: u64, now_ms: u64, forwarded: bool) -> Result<(), RpcError> {
    check_millis(ts)?;
    let tol = if forwarded {
        SIGNATURE_TOLERANCE_FORWARDED_MS
    } else {
        SIGNATURE_TOLERANCE_MS
    };
    if ts.abs_diff(now_ms) > tol {
        Err(RpcError::ClockOutOfSync)
    } else {
        Ok(())
    }
}

/// Validate a requested new expiry (expire, expire_all): not more than 60 s in the past;
/// clamped to at most 30 days from now.
pub fn clamp_new_expiry(expiry: u64, now_ms: u64) -> Result<u64, RpcError> {
    check_millis(expiry)?;
    if expiry < now_ms.saturating_sub(SIGNATURE_TOLERANCE_MS) {
        return Err(RpcError::InvalidTtl);
    }
    Ok(expiry.min(now_ms.saturating_add(TTL_MAX_PRIVATE_MS)))
}

/// The byte budget of a retrieve for its `max_size` (absent: −5; −k: max/k; 0: default).
pub fn retrieve_max_size(max_size: Option<i64>) -> usize {
    let v = match max_size {
        None | Some(0) => RETRIEVE_DEFAULT_MAX_SIZE,
        Some(v) => v,
    };
    if v < 0 {
        let k = usize::try_from(v.unsigned_abs()).unwrap_or(usize::MAX);
        RETRIEVE_MAX_SIZE / k
    } else {
        usize::try_from(v)
            .unwrap_or(usize::MAX)
            .min(RETRIEVE_MAX_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Namespace, TTL_MAX_PUBLIC_MS, params::Data};
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn store(ts: u64, ttl: Option<u64>, expiry: Option<u64>, ns: i16, len: usize) -> StoreParams {
        StoreParams {
            pubkey: super::super::AccountId {
                prefix: 5,
                key: [1; 32],
            },
            timestamp: ts,
            ttl,
            expiry,
            data: Data(vec![0; len]),
            namespace: Namespace(ns),
            signature: None,
            pubkey_ed25519: None,
            sig_timestamp: None,
        }
    }

    #[test]
    fn store_windows() {
        assert_eq!(
            store_expiry(&store(NOW, Some(60_000), None, 0, 10), NOW),
            Ok(NOW + 60_000)
        );
        assert_eq!(
            store_expiry(&store(NOW, None, Some(NOW + 20_000), 0, 10), NOW),
            Ok(NOW + 20_000)
        );
        // Clock: 10 s into the future is fine, 10.001 s is not.
        assert!(store_expiry(&store(NOW + 10_000, Some(60_000), None, 0, 1), NOW).is_ok());
        assert_eq!(
            store_expiry(&store(NOW + 10_001, Some(60_000), None, 0, 1), NOW),
            Err(RpcError::ClockOutOfSync)
        );
        // Already expired.
        assert_eq!(
            store_expiry(&store(NOW - 100_000, Some(20_000), None, 0, 1), NOW),
            Err(RpcError::ClockOutOfSync)
        );
        // TTL bounds.
        assert_eq!(
            store_expiry(&store(NOW, Some(9_999), None, 0, 1), NOW),
            Err(RpcError::InvalidTtl)
        );
        assert!(store_expiry(&store(NOW, Some(TTL_MAX_PUBLIC_MS), None, 0, 1), NOW).is_ok());
        assert_eq!(
            store_expiry(&store(NOW, Some(TTL_MAX_PUBLIC_MS + 1), None, 0, 1), NOW),
            Err(RpcError::InvalidTtl)
        );
        assert!(store_expiry(&store(NOW, Some(TTL_MAX_PUBLIC_MS + 1), None, 2, 1), NOW).is_ok());
        assert_eq!(
            store_expiry(&store(NOW, Some(TTL_MAX_PRIVATE_MS + 1), None, 2, 1), NOW),
            Err(RpcError::InvalidTtl)
        );
        // Size.
        assert!(store_expiry(&store(NOW, Some(60_000), None, 0, MAX_DATA_BYTES), NOW).is_ok());
        assert_eq!(
            store_expiry(&store(NOW, Some(60_000), None, 0, MAX_DATA_BYTES + 1), NOW),
            Err(RpcError::DataTooLarge)
        );
        // ttl xor expiry; seconds instead of ms; overflow.
        assert!(matches!(
            store_expiry(&store(NOW, None, None, 0, 1), NOW),
            Err(RpcError::Malformed(_))
        ));
        assert!(matches!(
            store_expiry(&store(NOW, Some(1), Some(1), 0, 1), NOW),
            Err(RpcError::Malformed(_))
        ));
        assert!(matches!(
            store_expiry(&store(NOW / 1000, Some(60_000), None, 0, 1), NOW / 1000),
            Err(RpcError::Malformed(_))
        ));
        assert_eq!(
            store_expiry(&store(NOW, Some(u64::MAX), None, 0, 1), NOW),
            Err(RpcError::InvalidTtl)
        );
        assert_eq!(RpcError::ClockOutOfSync.status(), 406);
        assert_eq!(
            RpcError::ClockOutOfSync.to_string(),
            "Timestamp error: check your clock"
        );
    }

    #[test]
    fn sig_window() {
        assert!(check_sig_timestamp(NOW - 60_000, NOW, false).is_ok());
        assert_eq!(
            check_sig_timestamp(NOW - 60_001, NOW, false),
            Err(RpcError::ClockOutOfSync)
        );
        assert_eq!(
            check_sig_timestamp(NOW + 60_001, NOW, false),
            Err(RpcError::ClockOutOfSync)
        );
        assert!(check_sig_timestamp(NOW + 65_000, NOW, true).is_ok());
    }

    #[test]
    fn expiry_clamp_and_sizes() {
        assert_eq!(clamp_new_expiry(NOW + 1, NOW), Ok(NOW + 1));
        assert_eq!(
            clamp_new_expiry(NOW + 2 * TTL_MAX_PRIVATE_MS, NOW),
            Ok(NOW + TTL_MAX_PRIVATE_MS)
        );
        assert_eq!(
            clamp_new_expiry(NOW - 60_001, NOW),
            Err(RpcError::InvalidTtl)
        );
        assert_eq!(retrieve_max_size(None), RETRIEVE_MAX_SIZE / 5);
        assert_eq!(retrieve_max_size(Some(-2)), RETRIEVE_MAX_SIZE / 2);
        assert_eq!(retrieve_max_size(Some(100)), 100);
        assert_eq!(retrieve_max_size(Some(i64::MAX)), RETRIEVE_MAX_SIZE);
        assert_eq!(retrieve_max_size(Some(i64::MIN)), 0);
    }
}
