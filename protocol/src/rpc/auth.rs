//! Node-side request authentication (docs/protocol.md §4.4): which key verifies a request
//! signature.
//!
//! `05` accounts must send `pubkey_ed25519` whose X25519 conversion equals the account
//! key; `03` accounts (groups) verify with the account key itself. Subaccount tokens are
//! not supported (a request carrying only a subaccount signature fails with 401).

use ed25519_dalek::{Signature, VerifyingKey};
use subtle::ConstantTimeEq;

use super::{
    RpcError,
    params::{AccountId, EdPubkey, Signature64},
};

/// Verify `sig` over `message` with the Ed25519 key `pubkey` (strict verification).
pub fn verify_ed25519(pubkey: &[u8; 32], message: &[u8], sig: &[u8; 64]) -> Result<(), RpcError> {
    let vk = VerifyingKey::from_bytes(pubkey).map_err(|_| RpcError::BadSignature)?;
    vk.verify_strict(message, &Signature::from_bytes(sig))
        .map_err(|_| RpcError::BadSignature)
}

/// Verify a client's request signature for `account`.
pub fn verify_request(
    account: &AccountId,
    pubkey_ed25519: Option<&EdPubkey>,
    message: &[u8],
    signature: Option<&Signature64>,
) -> Result<(), RpcError> {
    let sig = signature.ok_or(RpcError::SignatureRequired)?;
    let ed = if account.prefix == 0x03 {
        account.key
    } else {
        let ed = pubkey_ed25519.ok_or(RpcError::SignatureRequired)?;
        let vk = VerifyingKey::from_bytes(&ed.0).map_err(|_| RpcError::BadSignature)?;
        let x = vk.to_montgomery().to_bytes();
        if !bool::from(x.ct_eq(&account.key)) {
            return Err(RpcError::BadSignature);
        }
        ed.0
    };
    verify_ed25519(&ed, message, &sig.0)
}
