//! Community (SOGS) blinding and request authentication (docs/protocol.md §1.2, §7).
//!
//! A community member appears under a blinded id that depends on the server's X25519 key, so
//! two communities (or a community and the swarm) cannot link the member's ids:
//!
//! - **blind15**: `k = reduce(BLAKE2b-512(S))`, secret `ka = k·a`, public `kA = ka·B`,
//!   id `15 ‖ kA` (session-foundation/libsession-util `src/blinding.cpp` `blind15_key_pair`);
//! - **blind25**: `k = reduce(BLAKE2b-512(05 ‖ X ‖ S))`, negated when the Ed25519 key is
//!   "negative" so the id follows from the Account ID alone, id `25 ‖ k·|A|`
//!   (`blind25_key_pair`).
//!
//! `a` is libsodium's clamped Ed25519 scalar, `A` the Ed25519 key, `X` the X25519 key, `S` the
//! server's X25519 key (the `public_key` of the community URL). Signatures made with blinded
//! keys are plain Ed25519 signatures under the blinded public key; only the nonce differs
//! ([`Blind15Nonce`], `blind25_sign`).
//!
//! The request signature of `X-SOGS-*` headers (oxen-io/session-pysogs `sogs/routes/auth.py`,
//! session-desktop `sogsBlinding.ts` `getOpenGroupHeaders`) signs
//! `S ‖ nonce(16) ‖ timestamp ‖ METHOD ‖ path ‖ [BLAKE2b-512(body)]` ([`request_message`]).
//! [`verify_request`] (feature `node`) is the server's check.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use blake2::digest::consts::{U32, U64};
use blake2::digest::{Digest as _, KeyInit as _, Mac as _};
use blake2::{Blake2b, Blake2bMac};
use curve25519_dalek::constants::ED25519_BASEPOINT_TABLE;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use sha2::Sha512;
use zeroize::{Zeroize as _, Zeroizing};

/// The id prefix of a blind15 key.
pub const PREFIX_BLIND15: u8 = 0x15;
/// The id prefix of a blind25 key.
pub const PREFIX_BLIND25: u8 = 0x25;
/// The `X-SOGS-Pubkey` prefix of an unblinded Ed25519 key.
pub const PREFIX_UNBLINDED: u8 = 0x00;

/// Why a blinded key, signature or request was refused. Carries no key or request bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlindingError {
    /// Not a curve point, or a small-order one.
    #[error("invalid public key")]
    InvalidKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A header is missing or malformed (HTTP 400).
    #[error("malformed authentication header")]
    Malformed,
    /// The server requires blinded ids and got an unblinded one (HTTP 400).
    #[error("blinded ids required")]
    BlindingRequired,
    /// The timestamp is outside the accepted window (HTTP 425).
    #[error("timestamp out of range")]
    Timestamp,
}

fn blake2b512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Blake2b::<U64>::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn keyed32(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // Keys up to 64 bytes are valid for BLAKE2b; these are 19-20 byte constants.
    if let Ok(mut m) = <Blake2bMac<U32>>::new_from_slice(key) {
        for p in parts {
            m.update(p);
        }
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

fn keyed64(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 64]> {
    let mut out = Zeroizing::new([0u8; 64]);
    if let Ok(mut m) = <Blake2bMac<U64>>::new_from_slice(key) {
        for p in parts {
            m.update(p);
        }
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

/// `k = reduce(BLAKE2b-512(S))`, the blind15 factor of server key `server` (blinding.cpp
/// `blind15_factor`).
pub fn blind15_factor(server: &[u8; 32]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&blake2b512(&[server]))
}

/// `k = reduce(BLAKE2b-512(05 ‖ X ‖ S))`, the blind25 factor of the account with X25519 key
/// `x25519` on server `server` (blinding.cpp `blind25_factor`).
pub fn blind25_factor(x25519: &[u8; 32], server: &[u8; 32]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&blake2b512(&[&[0x05], x25519, server]))
}

/// libsodium's `crypto_sign_ed25519_sk_to_curve25519` scalar (clamped), reduced.
fn account_scalar(signing: &SigningKey) -> Scalar {
    let mut s = Zeroizing::new(signing.to_scalar_bytes());
    s[0] &= 248;
    s[31] &= 127;
    s[31] |= 64;
    Scalar::from_bytes_mod_order(*s)
}

/// The positive Ed25519 point of an X25519 key (XEd25519: `y = (u−1)/(u+1)`, sign bit 0).
fn positive_ed(x25519: &[u8; 32]) -> Result<curve25519_dalek::EdwardsPoint, BlindingError> {
    MontgomeryPoint(*x25519)
        .to_edwards(0)
        .filter(|p| !p.is_small_order())
        .ok_or(BlindingError::InvalidKey)
}

/// How a blind15 signature derives its nonce prefix. Both verify; they give different bytes
/// (docs/protocol.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blind15Nonce {
    /// libsession `blind15_sign`: `SHA-512(seed ‖ A)[32..]`.
    Libsession,
    /// session-desktop `sogsBlinding.ts` `blindedED25519Signature`: `SHA-512(seed)[32..]`.
    Desktop,
}

/// A blinded key pair (blind15 or blind25) for one community server. Zeroized on drop, never
/// printed or cloned.
pub struct BlindedKeyPair {
    prefix: u8,
    secret: Scalar,
    public: [u8; 32],
    /// The nonce key: blind15 keeps both prefixes, blind25 its `BLAKE2b(seed)` hash.
    nonce_libsession: Zeroizing<[u8; 32]>,
    nonce_desktop: Zeroizing<[u8; 32]>,
}

impl Drop for BlindedKeyPair {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl std::fmt::Debug for BlindedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlindedKeyPair({:02x}, <redacted>)", self.prefix)
    }
}

impl BlindedKeyPair {
    /// The blind15 key pair of `signing` on the server with X25519 key `server`.
    pub fn blind15(signing: &SigningKey, server: &[u8; 32]) -> Self {
        let secret = blind15_factor(server) * account_scalar(signing);
        let public = (&secret * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        let seed = signing.to_bytes();
        let pk = signing.verifying_key().to_bytes();
        let mut h = Sha512::new();
        h.update(seed);
        h.update(pk);
        let full: [u8; 64] = h.finalize().into();
        let mut nonce_libsession = Zeroizing::new([0u8; 32]);
        nonce_libsession.copy_from_slice(&full[32..]);
        let seed_hash: [u8; 64] = Sha512::digest(seed).into();
        let mut nonce_desktop = Zeroizing::new([0u8; 32]);
        nonce_desktop.copy_from_slice(&seed_hash[32..]);
        let mut full = full;
        full.zeroize();
        let mut seed_hash = seed_hash;
        seed_hash.zeroize();
        Self {
            prefix: PREFIX_BLIND15,
            secret,
            public,
            nonce_libsession,
            nonce_desktop,
        }
    }

    /// The blind25 key pair of `signing` on the server with X25519 key `server`.
    pub fn blind25(signing: &SigningKey, server: &[u8; 32]) -> Self {
        let ed_pk = signing.verifying_key().to_bytes();
        let x25519 = signing.verifying_key().to_montgomery().to_bytes();
        let mut k = blind25_factor(&x25519, server);
        if ed_pk[31] & 0x80 != 0 {
            k = -k;
        }
        let secret = k * account_scalar(signing);
        let public = (&secret * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        let seed_hash = keyed32(b"SessCommBlind25_seed", &[&signing.to_bytes()]);
        Self {
            prefix: PREFIX_BLIND25,
            secret,
            public,
            nonce_libsession: seed_hash.clone(),
            nonce_desktop: seed_hash,
        }
    }

    /// The blinded public key.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The id prefix (0x15 or 0x25).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The 33-byte blinded id (`15 ‖ kA` or `25 ‖ A'`).
    pub fn id(&self) -> [u8; 33] {
        let mut id = [0u8; 33];
        id[0] = self.prefix;
        id[1..].copy_from_slice(&self.public);
        id
    }

    /// The blinded id as 66 hex characters.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id())
    }

    /// Sign `msg` (blind15 with the libsession nonce; blind25 as `blind25_sign`).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.sign_with(msg, Blind15Nonce::Libsession)
    }

    /// Sign `msg`, choosing the blind15 nonce convention (ignored for blind25).
    pub fn sign_with(&self, msg: &[u8], nonce: Blind15Nonce) -> [u8; 64] {
        let wide: Zeroizing<[u8; 64]> = if self.prefix == PREFIX_BLIND25 {
            // blinding.cpp `blind25_sign`: r = BLAKE2b-512(seedhash ‖ A' ‖ M, key).
            keyed64(
                b"SessCommBlind25_sig",
                &[&self.nonce_libsession[..], &self.public, msg],
            )
        } else {
            let prefix = match nonce {
                Blind15Nonce::Libsession => &self.nonce_libsession,
                Blind15Nonce::Desktop => &self.nonce_desktop,
            };
            let mut h = Sha512::new();
            h.update(&prefix[..]);
            h.update(self.public);
            h.update(msg);
            Zeroizing::new(h.finalize().into())
        };
        let mut r = Scalar::from_bytes_mod_order_wide(&wide);
        let big_r = (&r * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        let mut h = Sha512::new();
        h.update(big_r);
        h.update(self.public);
        h.update(msg);
        let c = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r + c * self.secret;
        r.zeroize();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }
}

/// The two blind15 ids an Account ID's X25519 key may have on `server` (blinding.cpp
/// `blind15_id`): from the positive Ed25519 point, and the same with the sign bit flipped (the
/// owner's real key is one of them).
pub fn blind15_ids(x25519: &[u8; 32], server: &[u8; 32]) -> Result<[[u8; 33]; 2], BlindingError> {
    let point = positive_ed(x25519)?;
    let ka = (blind15_factor(server) * point).compress().to_bytes();
    let mut a = [0u8; 33];
    a[0] = PREFIX_BLIND15;
    a[1..].copy_from_slice(&ka);
    let mut b = a;
    b[32] ^= 0x80;
    Ok([a, b])
}

/// The blind25 id of an Account ID's X25519 key on `server` (blinding.cpp `blind25_id`).
pub fn blind25_id(x25519: &[u8; 32], server: &[u8; 32]) -> Result<[u8; 33], BlindingError> {
    let point = positive_ed(x25519)?;
    let id = (blind25_factor(x25519, server) * point)
        .compress()
        .to_bytes();
    let mut out = [0u8; 33];
    out[0] = PREFIX_BLIND25;
    out[1..].copy_from_slice(&id);
    Ok(out)
}

/// Whether the Ed25519 key `ed25519` blinds to `id` (15 or 25) on `server`; for 15 either
/// candidate sign is accepted (docs/protocol.md §5.6).
pub fn blinds_to(ed25519: &[u8; 32], id: &[u8; 33], server: &[u8; 32]) -> bool {
    let Some(point) = CompressedEdwardsY(*ed25519).decompress() else {
        return false;
    };
    let x = point.to_montgomery().to_bytes();
    match id[0] {
        PREFIX_BLIND15 => blind15_ids(&x, server).is_ok_and(|c| c.contains(id)),
        PREFIX_BLIND25 => blind25_id(&x, server).is_ok_and(|c| &c == id),
        _ => false,
    }
}

/// Verify an Ed25519 signature under `public` (a blinded or an unblinded key), as libsodium's
/// `crypto_sign_verify_detached` (small-order keys refused).
pub fn verify(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<(), BlindingError> {
    let vk =
        ed25519_dalek::VerifyingKey::from_bytes(public).map_err(|_| BlindingError::InvalidKey)?;
    if vk.is_weak() {
        return Err(BlindingError::InvalidKey);
    }
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .map_err(|_| BlindingError::BadSignature)
}

/// The bytes a SOGS request signature covers: `S ‖ nonce ‖ timestamp ‖ METHOD ‖ path ‖
/// [BLAKE2b-512(body)]` (pysogs `sogs/routes/auth.py`; no hash for an empty body).
pub fn request_message(
    server: &[u8; 32],
    nonce: &[u8; 16],
    timestamp: u64,
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<u8> {
    let ts = timestamp.to_string();
    let mut m = Vec::with_capacity(32 + 16 + ts.len() + method.len() + path.len() + 64);
    m.extend_from_slice(server);
    m.extend_from_slice(nonce);
    m.extend_from_slice(ts.as_bytes());
    m.extend_from_slice(method.as_bytes());
    m.extend_from_slice(path.as_bytes());
    if !body.is_empty() {
        m.extend_from_slice(&blake2b512(&[body]));
    }
    m
}

/// Who signs a SOGS request.
#[derive(Debug, Clone, Copy)]
pub enum RequestSigner<'a> {
    /// A blinded key pair (`15`/`25` in `X-SOGS-Pubkey`) and the blind15 nonce convention.
    Blinded(&'a BlindedKeyPair, Blind15Nonce),
    /// The account's own Ed25519 key (`00` in `X-SOGS-Pubkey`).
    Unblinded(&'a SigningKey),
}

/// The four `X-SOGS-*` headers of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SogsHeaders {
    /// `X-SOGS-Pubkey`: 66 hex.
    pub pubkey: String,
    /// `X-SOGS-Timestamp`: unix seconds.
    pub timestamp: String,
    /// `X-SOGS-Nonce`: base64 of 16 bytes.
    pub nonce: String,
    /// `X-SOGS-Signature`: base64 of 64 bytes.
    pub signature: String,
}

impl SogsHeaders {
    /// As `(name, value)` pairs.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            ("X-SOGS-Pubkey", self.pubkey.clone()),
            ("X-SOGS-Timestamp", self.timestamp.clone()),
            ("X-SOGS-Nonce", self.nonce.clone()),
            ("X-SOGS-Signature", self.signature.clone()),
        ]
    }
}

/// Build the `X-SOGS-*` headers for `method path` with `body` (empty: none), `timestamp` in
/// unix seconds and a fresh random `nonce`.
pub fn sign_request(
    signer: RequestSigner<'_>,
    server: &[u8; 32],
    nonce: &[u8; 16],
    timestamp: u64,
    method: &str,
    path: &str,
    body: &[u8],
) -> SogsHeaders {
    let msg = request_message(server, nonce, timestamp, method, path, body);
    let (pubkey, sig) = match signer {
        RequestSigner::Blinded(kp, conv) => (kp.id_hex(), kp.sign_with(&msg, conv)),
        RequestSigner::Unblinded(sk) => {
            use ed25519_dalek::Signer as _;
            let mut id = [0u8; 33];
            id[1..].copy_from_slice(&sk.verifying_key().to_bytes());
            (hex::encode(id), sk.sign(&msg).to_bytes())
        }
    };
    SogsHeaders {
        pubkey,
        timestamp: timestamp.to_string(),
        nonce: STANDARD.encode(nonce),
        signature: STANDARD.encode(sig),
    }
}

/// A request's verified signer.
#[cfg(feature = "node")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedSigner {
    /// The 33-byte id (`00`, `15` or `25` prefix) as sent in `X-SOGS-Pubkey`.
    pub id: [u8; 33],
    /// The nonce, for the caller's reuse check.
    pub nonce: [u8; 16],
    /// The timestamp (unix seconds).
    pub timestamp: u64,
}

#[cfg(feature = "node")]
fn decode_nonce(s: &str) -> Option<[u8; 16]> {
    let s = s.trim();
    let bytes = if s.len() == 32 {
        hex::decode(s).ok()?
    } else {
        STANDARD
            .decode(s)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
            .ok()?
    };
    bytes.try_into().ok()
}

/// The server's check of the `X-SOGS-*` headers (pysogs `sogs/routes/auth.py`
/// `handle_http_auth`): shapes (400), blinding when `require_blind` (400), the timestamp
/// within `window_secs` of `now_secs` (425), the signature over `paths` — any of them, e.g. the
/// URL-decoded and the raw path (401). The nonce is returned for the caller's reuse check.
#[cfg(feature = "node")]
#[allow(clippy::too_many_arguments)]
pub fn verify_request(
    pubkey: &str,
    timestamp: &str,
    nonce: &str,
    signature: &str,
    server: &[u8; 32],
    method: &str,
    paths: &[&str],
    body: &[u8],
    now_secs: u64,
    window_secs: u64,
    require_blind: bool,
) -> Result<VerifiedSigner, BlindingError> {
    let id: [u8; 33] = hex::decode(pubkey.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(BlindingError::Malformed)?;
    match id[0] {
        PREFIX_BLIND15 | PREFIX_BLIND25 => {}
        PREFIX_UNBLINDED if require_blind => return Err(BlindingError::BlindingRequired),
        PREFIX_UNBLINDED => {}
        _ => return Err(BlindingError::Malformed),
    }
    let nonce = decode_nonce(nonce).ok_or(BlindingError::Malformed)?;
    let ts: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| BlindingError::Malformed)?;
    let sig: [u8; 64] = STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(BlindingError::Malformed)?;
    if ts.abs_diff(now_secs) > window_secs {
        return Err(BlindingError::Timestamp);
    }
    let mut public = [0u8; 32];
    public.copy_from_slice(&id[1..]);
    let mut last = BlindingError::BadSignature;
    for path in paths {
        let msg = request_message(server, &nonce, ts, method, path, body);
        match verify(&public, &msg, &sig) {
            Ok(()) => {
                return Ok(VerifiedSigner {
                    id,
                    nonce,
                    timestamp: ts,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
