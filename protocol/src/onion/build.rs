//! Client-side onion request builder (docs/protocol.md §3.3), sans-IO: the caller passes
//! the RNG and POSTs the result to the guard node's `/onion_req/v2`.
//!
//! For a path `[G, H1, H2]` and destination `D`:
//!
//! 1. the innermost blob is `Enc(D)` of `[len(P)][P]{"headers":""}` (service node, P = storage
//!    RPC JSON) or of the v4 request bytes (HTTP server);
//! 2. each hop from `H2` back to `G` wraps `[len(blob)][blob]{routing}` and encrypts it to
//!    that hop's X25519 key with a fresh ephemeral key;
//! 3. the body for `G` is `[len(blob)][blob]{"ephemeral_key":"<A_G>","enc_type":"…"}`.
//!
//! The storage RPC JSON `P` is padded with trailing spaces to a size bucket
//! ([`padded_len`]), so the guard cannot tell a poll from a small send by the body size
//! (security review #19). Every layer adds a fixed overhead, so equal `P` sizes give equal
//! body sizes. JSON allows whitespace after the value (RFC 8259 §2) and both node
//! implementations ignore it: `serde_json::from_slice` (node `rpc::handle_raw`) and oxenss,
//! which hands the final destination's body (`process_inner_request` in
//! `oxenss/rpc/onion_processing.cpp`) to `nlohmann::json::parse` in
//! `RequestHandler::process_client_req(std::string_view …)`
//! (`oxenss/rpc/request_handler.cpp`). Requests to HTTP servers (v4) are not padded.

use rand_core::CryptoRng;
use serde_json::{Map, Value};
use x25519_dalek::{PublicKey, StaticSecret};

use super::{
    EncType, MAX_HOPS, OnionError,
    framing::{encode_layer, encode_raw},
    hop::HopSecret,
    is_target_allowed,
    response::ResponseKey,
    v4::V4Request,
};

/// Scheme the last hop uses to reach an HTTP server destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    /// Plain HTTP.
    Http,
    /// HTTPS (the default when `protocol` is absent).
    Https,
}

impl HttpProtocol {
    /// The JSON value: `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpProtocol::Http => "http",
            HttpProtocol::Https => "https",
        }
    }

    /// Parses the `protocol` JSON value.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "http" => Some(HttpProtocol::Http),
            "https" => Some(HttpProtocol::Https),
            _ => None,
        }
    }
}

/// One service node of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathHop {
    /// The node's Ed25519 public key (how the previous hop addresses it).
    pub ed25519: [u8; 32],
    /// The node's X25519 public key (what its layer is encrypted to).
    pub x25519: [u8; 32],
}

/// An HTTP server destination (SOGS, file server) reached through the last hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerDestination {
    /// Host name or IP address.
    pub host: String,
    /// Request path on the host, e.g. `/oxen/v4/lsrpc`; must pass [`super::is_target_allowed`].
    pub target: String,
    /// TCP port (443 for HTTPS by default).
    pub port: u16,
    /// Scheme.
    pub protocol: HttpProtocol,
    /// The server's X25519 public key.
    pub x25519: [u8; 32],
    /// The HTTP request to carry.
    pub request: V4Request,
}

/// Where an onion request ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A service node answering a storage RPC request.
    Snode {
        /// The node's Ed25519 public key.
        ed25519: [u8; 32],
        /// The node's X25519 public key.
        x25519: [u8; 32],
        /// The storage RPC request JSON, `{"method":"…","params":{…}}` (must be JSON: the
        /// builder pads it with trailing whitespace, see the module documentation).
        payload: Vec<u8>,
    },
    /// An HTTP server speaking v4 onion requests.
    Server(ServerDestination),
}

/// A built onion request: what to send and how to read the reply.
#[derive(Debug)]
pub struct OnionRequest {
    /// Body to POST to the guard node's `/onion_req/v2`.
    pub body: Vec<u8>,
    /// Key to decrypt the destination's reply (secret).
    pub response_key: ResponseKey,
}

/// The smallest size bucket of a storage RPC payload: polls (`retrieve`, ~0.4 KB) and
/// short texts (`store`, ~0.7 KB) share it.
pub const PAD_MIN: usize = 1024;

/// The size a storage RPC payload of `len` bytes is padded to: [`PAD_MIN`], then the next
/// power of two. Payloads above half of [`super::MAX_BODY_SIZE`] are left as they are (the
/// padding must never make a request too large).
pub fn padded_len(len: usize) -> usize {
    if len > super::MAX_BODY_SIZE / 2 {
        return len;
    }
    len.max(PAD_MIN).next_power_of_two()
}

/// `payload` (JSON) with trailing spaces up to [`padded_len`].
fn pad_json(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(padded_len(payload.len()));
    out.extend_from_slice(payload);
    out.resize(padded_len(payload.len()), b' ');
    out
}

fn layer_err(_: super::FramingError) -> OnionError {
    OnionError::BadArgument {
        what: "request too large",
    }
}

fn routing(ephemeral: &[u8; 32], enc: EncType) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "ephemeral_key".into(),
        Value::String(hex::encode(ephemeral)),
    );
    m.insert("enc_type".into(), Value::String(enc.as_str().into()));
    m
}

/// Encrypts `plaintext` to `server_pub` with a fresh ephemeral key, returning the blob, the
/// ephemeral public key and the hop secret.
fn seal<R: CryptoRng + ?Sized>(
    plaintext: &[u8],
    server_pub: &[u8; 32],
    enc: EncType,
    rng: &mut R,
) -> Result<(Vec<u8>, [u8; 32], HopSecret), OnionError> {
    let eph = StaticSecret::random_from_rng(rng);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let secret = HopSecret::client(&eph, server_pub)?;
    let blob = secret.key(enc).encrypt(plaintext, rng);
    Ok((blob, eph_pub, secret))
}

/// Builds the layer a destination node itself receives: the storage RPC `payload` encrypted
/// to `x25519` (the node it is POSTed to, at `/onion_req/v2`), with no relay in front. The
/// node answers it as the final destination, exactly as if the last hop of a path had
/// relayed it. Umbra tests guard candidates this way through a bridge, so the bridge never
/// sees a request it could read (the bridge only forwards onion requests).
///
/// Errors: [`OnionError::InvalidKey`] for a low-order key, [`OnionError::BadArgument`] if
/// too large.
pub fn build_final_request<R: CryptoRng + ?Sized>(
    x25519: &[u8; 32],
    payload: &[u8],
    enc: EncType,
    rng: &mut R,
) -> Result<OnionRequest, OnionError> {
    let inner = encode_raw(&pad_json(payload), br#"{"headers":""}"#).map_err(layer_err)?;
    let (blob, eph_pub, dest_secret) = seal(&inner, x25519, enc, rng)?;
    let body = encode_layer(&blob, &routing(&eph_pub, enc)).map_err(layer_err)?;
    Ok(OnionRequest {
        body,
        response_key: ResponseKey::new(dest_secret, enc),
    })
}

/// Builds an onion request through `path` (guard first; usually 3 hops) to `dest`, every
/// layer encrypted with `enc` and a fresh ephemeral key drawn from `rng`.
///
/// Errors are [`OnionError::BadArgument`] (empty or too long path, disallowed target, bad
/// v4 request, too large) or [`OnionError::InvalidKey`] for a low-order node key.
pub fn build_request<R: CryptoRng + ?Sized>(
    path: &[PathHop],
    dest: &Destination,
    enc: EncType,
    rng: &mut R,
) -> Result<OnionRequest, OnionError> {
    if path.is_empty() || path.len() >= MAX_HOPS as usize {
        return Err(OnionError::BadArgument {
            what: "path length",
        });
    }
    let (inner, dest_x25519) = match dest {
        Destination::Snode {
            x25519, payload, ..
        } => (
            encode_raw(&pad_json(payload), br#"{"headers":""}"#).map_err(layer_err)?,
            x25519,
        ),
        Destination::Server(server) => {
            if server.host.is_empty() {
                return Err(OnionError::BadArgument { what: "host" });
            }
            if !is_target_allowed(&server.target) {
                return Err(OnionError::BadArgument { what: "target" });
            }
            (server.request.encode()?, &server.x25519)
        }
    };
    let (mut blob, eph_pub, dest_secret) = seal(&inner, dest_x25519, enc, rng)?;
    let response_key = ResponseKey::new(dest_secret, enc);

    // Routing JSON read by the last path hop.
    let mut route = routing(&eph_pub, enc);
    match dest {
        Destination::Snode { ed25519, .. } => {
            route.insert("destination".into(), Value::String(hex::encode(ed25519)));
        }
        Destination::Server(server) => {
            route.insert("host".into(), Value::String(server.host.clone()));
            route.insert("target".into(), Value::String(server.target.clone()));
            route.insert("method".into(), Value::String("POST".into()));
            route.insert(
                "protocol".into(),
                Value::String(server.protocol.as_str().into()),
            );
            route.insert("port".into(), Value::from(server.port));
        }
    }

    for (i, hop) in path.iter().enumerate().rev() {
        let data = encode_layer(&blob, &route).map_err(layer_err)?;
        let (sealed, hop_eph, _) = seal(&data, &hop.x25519, enc, rng)?;
        blob = sealed;
        route = routing(&hop_eph, enc);
        if i > 0 {
            route.insert(
                "destination".into(),
                Value::String(hex::encode(hop.ed25519)),
            );
        }
    }
    let body = encode_layer(&blob, &route).map_err(layer_err)?;
    Ok(OnionRequest { body, response_key })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

    use super::*;

    #[test]
    fn buckets_grow_by_powers_of_two_and_never_pass_the_body_limit() {
        assert_eq!(padded_len(0), PAD_MIN);
        assert_eq!(padded_len(PAD_MIN), PAD_MIN);
        assert_eq!(padded_len(PAD_MIN + 1), 2 * PAD_MIN);
        assert_eq!(padded_len(102_500), 131_072);
        let big = super::super::MAX_BODY_SIZE / 2 + 1;
        assert_eq!(padded_len(big), big);
        assert_eq!(pad_json(b"{}").len(), PAD_MIN);
        assert!(pad_json(b"{}")[2..].iter().all(|&b| b == b' '));
    }

    #[test]
    fn small_payloads_of_different_sizes_give_equal_bodies() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let path: Vec<PathHop> = (1..4u8)
            .map(|i| PathHop {
                ed25519: [i; 32],
                x25519: x25519_dalek::PublicKey::from(&StaticSecret::from([i; 32])).to_bytes(),
            })
            .collect();
        let x25519 = x25519_dalek::PublicKey::from(&StaticSecret::from([9; 32])).to_bytes();
        let size = |payload: String, rng: &mut ChaCha20Rng| {
            let dest = Destination::Snode {
                ed25519: [9; 32],
                x25519,
                payload: payload.into_bytes(),
            };
            build_request(&path, &dest, EncType::XChaCha20, rng)
                .unwrap()
                .body
                .len()
        };
        let info = size(r#"{"method":"info","params":{}}"#.into(), &mut rng);
        let poll = size(
            format!(
                r#"{{"method":"retrieve","params":{{"x":"{}"}}}}"#,
                "a".repeat(380)
            ),
            &mut rng,
        );
        let send = size(
            format!(
                r#"{{"method":"store","params":{{"data":"{}"}}}}"#,
                "b".repeat(900)
            ),
            &mut rng,
        );
        assert_eq!(info, poll);
        assert_eq!(poll, send);
        let long = size(
            format!(
                r#"{{"method":"store","params":{{"data":"{}"}}}}"#,
                "b".repeat(1500)
            ),
            &mut rng,
        );
        assert!(long > send);
    }
}
