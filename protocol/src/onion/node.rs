//! Node-side onion request handling (feature `node`): peel one layer, decide what to do
//! with it, and encrypt the final destination's reply (docs/protocol.md §3.3, §3.4).
//!
//! A node receives `[N][ciphertext]{"ephemeral_key":"<hex>","enc_type":"…","hop_no":n}` on
//! `/onion_req/v2`, decrypts the ciphertext with its X25519 key, and inspects the inner
//! `[M][payload]{json}` (storage server `process_inner_request`):
//!
//! * `"headers"` present → this node is the final destination; `payload` is the storage RPC;
//! * `"host"` present → proxy the whole decrypted plaintext to an HTTP server;
//! * otherwise `"destination"` (Ed25519 hex) → relay `payload` to that node.
//!
//! [`open_server_request`] is the matching step for an HTTP server destination (what SOGS
//! and the file server do with the proxied body).

use rand_core::CryptoRng;
use serde_json::{Map, Value};
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{
    EncType, HttpProtocol, MAX_HOPS, OnionError,
    framing::{Layer, decode_layer, encode_layer},
    hop::{HopKey, HopSecret, parse_hex32},
    is_target_allowed,
    v4::V4Request,
};

/// Key a final destination uses to encrypt its reply (the same key the client used for the
/// layer, fresh nonce). Zeroized on drop; never printed, cloned or serialized.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ReplyKey {
    key: HopKey,
}

impl core::fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ReplyKey(<redacted>)")
    }
}

impl ReplyKey {
    /// The enc_type of the layer this key answers.
    pub fn enc_type(&self) -> EncType {
        self.key.enc_type()
    }

    /// Encrypts `plaintext` for the client: `nonce ‖ ciphertext ‖ tag` (not base64).
    pub fn encrypt_reply<R: CryptoRng + ?Sized>(&self, plaintext: &[u8], rng: &mut R) -> Vec<u8> {
        self.key.encrypt(plaintext, rng)
    }
}

/// What a node must do with a request after peeling its layer.
#[derive(Debug)]
pub enum Peeled {
    /// `"headers"` present: this node is the final destination.
    FinalDestination {
        /// The storage RPC request JSON bytes.
        payload: Vec<u8>,
        /// Key to encrypt the reply with (see [`wrap_final_response`]).
        reply: ReplyKey,
        /// `"json": true`: embed the RPC response body as a JSON value, not a string.
        json_body: bool,
        /// `"base64"` (default true): base64-encode the encrypted reply.
        base64: bool,
    },
    /// Relay to the node with this Ed25519 key.
    Relay {
        /// The next node's Ed25519 public key.
        next_ed25519: [u8; 32],
        /// Body to POST to the next node's `/onion_req/v2`.
        body: Vec<u8>,
    },
    /// `"host"` present: proxy to an HTTP server.
    ProxyToServer {
        /// Host name or IP.
        host: String,
        /// Request path; already checked with [`is_target_allowed`].
        target: String,
        /// TCP port (default 443).
        port: u16,
        /// Scheme (default HTTPS).
        protocol: HttpProtocol,
        /// HTTP method from the routing JSON (default `POST`).
        method: String,
        /// The entire decrypted plaintext of this layer (the relay quirk of §3.3).
        body: Vec<u8>,
    },
}

fn opt_bool(
    control: &Map<String, Value>,
    field: &'static str,
    default: bool,
) -> Result<bool, OnionError> {
    match control.get(field) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(OnionError::InvalidRouting { field }),
    }
}

fn req_str<'a>(
    control: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, OnionError> {
    control
        .get(field)
        .and_then(Value::as_str)
        .ok_or(OnionError::InvalidRouting { field })
}

fn key_field(control: &Map<String, Value>, field: &'static str) -> Result<[u8; 32], OnionError> {
    parse_hex32(req_str(control, field)?).ok_or(OnionError::InvalidRouting { field })
}

/// Decrypts the ciphertext of a decoded `[N][ciphertext]{"ephemeral_key","enc_type",…}` layer
/// with the node's key. Returns the plaintext and the hop key.
fn decrypt_layer(
    layer: &Layer<'_>,
    node_secret: &StaticSecret,
    node_x25519_pub: &[u8; 32],
) -> Result<(Vec<u8>, HopKey), OnionError> {
    let ephemeral = key_field(&layer.control, "ephemeral_key")?;
    let enc = EncType::from_control(&layer.control)?;
    let key = HopSecret::server(node_secret, node_x25519_pub, &ephemeral)?.key(enc);
    let plaintext = key.decrypt(layer.payload)?;
    Ok((plaintext, key))
}

/// Peels one layer of an onion request received on `/onion_req/v2`.
///
/// `hop_no` in the outer JSON (default 0) counts hops from the guard; a layer with
/// `hop_no >= MAX_HOPS` is refused with [`OnionError::TooManyHops`], and a relayed body carries
/// `hop_no + 1`. Every error maps to an HTTP status with [`OnionError::http_status`].
pub fn peel_layer(
    body: &[u8],
    node_secret: &StaticSecret,
    node_x25519_pub: &[u8; 32],
) -> Result<Peeled, OnionError> {
    let outer = decode_layer(body)?;
    let hop_no = match outer.control.get("hop_no") {
        None => 0,
        Some(v) => v
            .as_u64()
            .ok_or(OnionError::InvalidRouting { field: "hop_no" })?,
    };
    if hop_no >= u64::from(MAX_HOPS) {
        return Err(OnionError::TooManyHops);
    }
    let (plaintext, key) = decrypt_layer(&outer, node_secret, node_x25519_pub)?;
    let inner = decode_layer(&plaintext)?;
    let control = &inner.control;

    if control.contains_key("headers") {
        return Ok(Peeled::FinalDestination {
            payload: inner.payload.to_vec(),
            json_body: opt_bool(control, "json", false)?,
            base64: opt_bool(control, "base64", true)?,
            reply: ReplyKey { key },
        });
    }
    if let Some(host) = control.get("host") {
        let host = host.as_str().filter(|h| !h.is_empty());
        let host = host
            .ok_or(OnionError::InvalidRouting { field: "host" })?
            .to_owned();
        let target = req_str(control, "target")?;
        if !is_target_allowed(target) {
            return Err(OnionError::TargetNotAllowed);
        }
        let port = match control.get("port") {
            None => 443,
            Some(v) => v
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or(OnionError::InvalidRouting { field: "port" })?,
        };
        let protocol = match control.get("protocol") {
            None => HttpProtocol::Https,
            Some(v) => v
                .as_str()
                .and_then(HttpProtocol::from_wire)
                .ok_or(OnionError::InvalidRouting { field: "protocol" })?,
        };
        let method = match control.get("method") {
            None => "POST",
            Some(v) => v
                .as_str()
                .ok_or(OnionError::InvalidRouting { field: "method" })?,
        };
        let target = target.to_owned();
        let method = method.to_owned();
        drop(inner);
        return Ok(Peeled::ProxyToServer {
            host,
            target,
            port,
            protocol,
            method,
            body: plaintext,
        });
    }
    if control.contains_key("destination") {
        let next_ed25519 = key_field(control, "destination")?;
        let ephemeral = key_field(control, "ephemeral_key")?;
        let enc = EncType::from_control(control)?;
        let mut next = Map::new();
        next.insert(
            "ephemeral_key".into(),
            Value::String(hex::encode(ephemeral)),
        );
        next.insert("enc_type".into(), Value::String(enc.as_str().into()));
        next.insert("hop_no".into(), Value::from(hop_no + 1));
        let body = encode_layer(inner.payload, &next)?;
        return Ok(Peeled::Relay { next_ed25519, body });
    }
    Err(OnionError::NoDestination)
}

/// Builds the HTTP body a final-destination node returns (§3.4): the JSON
/// `{"status": status, "body": body}` encrypted with `reply`, base64-encoded when `base64`.
pub fn wrap_final_response<R: CryptoRng + ?Sized>(
    reply: &ReplyKey,
    status: u16,
    body: &str,
    base64: bool,
    rng: &mut R,
) -> Vec<u8> {
    wrap_final_response_value(reply, status, Value::String(body.to_owned()), base64, rng)
}

/// Like [`wrap_final_response`] but embeds `body` as a JSON value (requests with
/// `"json": true`).
pub fn wrap_final_response_value<R: CryptoRng + ?Sized>(
    reply: &ReplyKey,
    status: u16,
    body: Value,
    base64: bool,
    rng: &mut R,
) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("status".into(), Value::from(status));
    map.insert("body".into(), body);
    let plaintext = Value::Object(map).to_string();
    let ct = reply.encrypt_reply(plaintext.as_bytes(), rng);
    if base64 {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(ct)
            .into_bytes()
    } else {
        ct
    }
}

/// Server side of an HTTP destination: decodes the proxied body
/// `[N][ciphertext]{"ephemeral_key","enc_type",…}` (the last hop's whole plaintext), decrypts
/// it with the server's X25519 key and parses the v4 request inside. Reply with
/// [`ReplyKey::encrypt_reply`] of [`super::V4Response::encode`] (raw, not base64).
pub fn open_server_request(
    body: &[u8],
    server_secret: &StaticSecret,
    server_x25519_pub: &[u8; 32],
) -> Result<(V4Request, ReplyKey), OnionError> {
    let opened = open_layer(body, server_secret, server_x25519_pub)?;
    let request = V4Request::decode(&opened.plaintext)?;
    Ok((request, opened.reply))
}

/// One layer decoded and decrypted, without interpreting the plaintext (libsession
/// `OnionReqParser`): useful for custom destinations and for tests.
#[derive(Debug)]
pub struct OpenedLayer {
    /// The decrypted payload.
    pub plaintext: Vec<u8>,
    /// Key to encrypt a reply to the sender of this layer.
    pub reply: ReplyKey,
    /// The layer's outer control JSON (`ephemeral_key`, `enc_type`, …).
    pub control: Map<String, Value>,
}

/// Decodes `[N][ciphertext]{"ephemeral_key","enc_type",…}` and decrypts the ciphertext with
/// the node's (or server's) X25519 key, without interpreting the plaintext.
pub fn open_layer(
    body: &[u8],
    node_secret: &StaticSecret,
    node_x25519_pub: &[u8; 32],
) -> Result<OpenedLayer, OnionError> {
    let layer = decode_layer(body)?;
    let (plaintext, key) = decrypt_layer(&layer, node_secret, node_x25519_pub)?;
    Ok(OpenedLayer {
        plaintext,
        reply: ReplyKey { key },
        control: layer.control,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &[u8] = b"\x0a\0\0\0ciphertext";

    fn peel_plain(inner: &[u8]) -> Result<Peeled, OnionError> {
        // Wrap `inner` as one encrypted layer to a fixed node key, then peel it.
        use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
        use x25519_dalek::PublicKey;
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let node = StaticSecret::from([3u8; 32]);
        let node_pub = PublicKey::from(&node).to_bytes();
        let eph = StaticSecret::from([5u8; 32]);
        let eph_pub = PublicKey::from(&eph).to_bytes();
        let ct = HopSecret::client(&eph, &node_pub)
            .unwrap()
            .key(EncType::AesGcm)
            .encrypt(inner, &mut rng);
        let json = format!(r#"{{"ephemeral_key":"{}"}}"#, hex::encode(eph_pub));
        let body = super::super::framing::encode_raw(&ct, json.as_bytes()).unwrap();
        peel_layer(&body, &node, &node_pub)
    }

    #[test]
    fn test_final_destination() {
        let data = [PREFIX, br#"{"headers":"something"}"#].concat();
        match peel_plain(&data).unwrap() {
            Peeled::FinalDestination {
                payload,
                json_body,
                base64,
                ..
            } => {
                assert_eq!(payload, b"ciphertext");
                assert!(!json_body);
                assert!(base64);
            }
            other => panic!("unexpected {other:?}"),
        }
        let data = [PREFIX, br#"{"headers":{},"json":true,"base64":false}"#].concat();
        assert!(matches!(
            peel_plain(&data).unwrap(),
            Peeled::FinalDestination {
                json_body: true,
                base64: false,
                ..
            }
        ));
        let data = [PREFIX, br#"{"headers":{},"json":"yes"}"#].concat();
        assert_eq!(
            peel_plain(&data).unwrap_err(),
            OnionError::InvalidRouting { field: "json" }
        );
    }

    #[test]
    fn test_relay_to_server_defaults() {
        let data = [PREFIX, br#"{"host":"host","target":"/oxen/v4/lsrpc"}"#].concat();
        match peel_plain(&data).unwrap() {
            Peeled::ProxyToServer {
                host,
                target,
                port,
                protocol,
                method,
                body,
            } => {
                assert_eq!(host, "host");
                assert_eq!(target, "/oxen/v4/lsrpc");
                assert_eq!(port, 443);
                assert_eq!(protocol, HttpProtocol::Https);
                assert_eq!(method, "POST");
                assert_eq!(body, data);
            }
            other => panic!("unexpected {other:?}"),
        }
        let data = [
            PREFIX,
            br#"{"host":"h","target":"/loki/v3/lsrpc","port":80,"protocol":"http"}"#,
        ]
        .concat();
        assert!(matches!(
            peel_plain(&data).unwrap(),
            Peeled::ProxyToServer {
                port: 80,
                protocol: HttpProtocol::Http,
                ..
            }
        ));
        for (json, err) in [
            (
                &br#"{"host":"h","target":"/loki/v3/lsrpc?foo=bar"}"#[..],
                OnionError::TargetNotAllowed,
            ),
            (
                br#"{"host":"h","target":"/loki/v3"}"#,
                OnionError::TargetNotAllowed,
            ),
            (
                br#"{"host":"h","target":"/not_loki/v3/lsrpc"}"#,
                OnionError::TargetNotAllowed,
            ),
            (
                br#"{"host":"h"}"#,
                OnionError::InvalidRouting { field: "target" },
            ),
            (
                br#"{"host":"h","target":"/oxen/v4/lsrpc","port":70000}"#,
                OnionError::InvalidRouting { field: "port" },
            ),
            (
                br#"{"host":"h","target":"/oxen/v4/lsrpc","protocol":"ftp"}"#,
                OnionError::InvalidRouting { field: "protocol" },
            ),
            (
                br#"{"host":5,"target":"/oxen/v4/lsrpc"}"#,
                OnionError::InvalidRouting { field: "host" },
            ),
        ] {
            assert_eq!(peel_plain(&[PREFIX, json].concat()).unwrap_err(), err);
        }
    }

    #[test]
    fn test_relay_to_snode() {
        let data = [
            PREFIX,
            br#"{"destination":"ffffeeeeddddccccbbbbaaaa9999888877776666555544443333222211110000","ephemeral_key":"0000111122223333444455556666777788889999000011112222333344445555"}"#,
        ]
        .concat();
        match peel_plain(&data).unwrap() {
            Peeled::Relay { next_ed25519, body } => {
                assert_eq!(
                    hex::encode(next_ed25519),
                    "ffffeeeeddddccccbbbbaaaa9999888877776666555544443333222211110000"
                );
                let layer = decode_layer(&body).unwrap();
                assert_eq!(layer.payload, b"ciphertext");
                assert_eq!(layer.control["enc_type"], "aes-gcm");
                assert_eq!(
                    layer.control["ephemeral_key"],
                    "0000111122223333444455556666777788889999000011112222333344445555"
                );
                assert_eq!(layer.control["hop_no"], 1);
            }
            other => panic!("unexpected {other:?}"),
        }
        let data = [PREFIX, br#"{"destination":"ffff"}"#].concat();
        assert_eq!(
            peel_plain(&data).unwrap_err(),
            OnionError::InvalidRouting {
                field: "destination"
            }
        );
        let data = [PREFIX, br#"{"something":"else"}"#].concat();
        assert_eq!(peel_plain(&data).unwrap_err(), OnionError::NoDestination);
    }

    #[test]
    fn test_hop_no_cap() {
        let node = StaticSecret::from([3u8; 32]);
        let node_pub = x25519_dalek::PublicKey::from(&node).to_bytes();
        let body = br#"    {"ephemeral_key":"00","hop_no":15}"#;
        let mut body = body.to_vec();
        body[..4].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            peel_layer(&body, &node, &node_pub).unwrap_err(),
            OnionError::TooManyHops
        );
        let body = [
            &[0u8, 0, 0, 0][..],
            br#"{"ephemeral_key":"00","hop_no":-1}"#,
        ]
        .concat();
        assert_eq!(
            peel_layer(&body, &node, &node_pub).unwrap_err(),
            OnionError::InvalidRouting { field: "hop_no" }
        );
    }
}
