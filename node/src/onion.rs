//! `POST /onion_req/v2`: peel one layer with `umbra_protocol::onion::node::peel_layer`, then
//! answer as final destination, relay to the next node, or proxy to an HTTP server.
//!
//! Errors as oxenss gives them (`rpc/request_handler.cpp` `process_onion_req`,
//! `rpc/onion_processing.cpp`): a layer this node cannot decrypt or frame is a plain-text 400
//! (413 too large); once it has decrypted the layer, a bad inner layer is an encrypted
//! `{"status":400,"body":"Invalid json"}` and a refused proxy target an encrypted
//! `{"status":400,"body":"Invalid url"}`, both in an HTTP 200, for the sender to read; a relay
//! is 502 `Next node not found: <hex>` or 504 on time-out, in plain text. A negative outer
//! `hop_no` counts as 0 (`server/https.cpp`: `std::max(0, hop_no)`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::Value;
use umbra_protocol::onion::node::{
    Peeled, ReplyKey, open_layer, peel_layer, wrap_final_response, wrap_final_response_value,
};
use umbra_protocol::onion::{OnionError, decode_layer, encode_layer};

use crate::rpc;
use crate::server::NodeState;

fn text(status: u16, body: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, body).into_response()
}

/// The only path an onion request may be proxied to (the v4 server endpoint that Session
/// clients use: session-desktop `onionv4`, libsession `network.cpp`).
pub const PROXY_TARGET: &str = "/oxen/v4/lsrpc";

/// Whether `host:port` is on the proxy list. An entry is `host:port`, or a bare host (any
/// port; only the loopback testnet uses that, for its ephemeral test servers).
pub fn proxy_allowed(list: &[String], host: &str, port: u16) -> bool {
    list.iter().any(|entry| {
        match entry
            .rsplit_once(':')
            .filter(|(h, _)| !h.is_empty() && !h.contains(':') || h.starts_with('['))
        {
            Some((h, p)) => {
                let h = h.trim_start_matches('[').trim_end_matches(']');
                h.eq_ignore_ascii_case(host) && p.parse::<u16>().ok() == Some(port)
            }
            None => entry.eq_ignore_ascii_case(host),
        }
    })
}

/// The plain-text body a node answers a failed peel with.
pub fn peel_error_text(e: &OnionError) -> String {
    match e {
        OnionError::DecryptFailed => "Invalid ciphertext".into(),
        other => format!("Invalid onion request: {other}"),
    }
}

/// The body with a negative outer `hop_no` set to 0, as oxenss clamps it; `None` when
/// nothing needs changing (or the layer does not decode, which peeling then reports).
fn clamp_hop_no(body: &[u8]) -> Option<Vec<u8>> {
    let layer = decode_layer(body).ok()?;
    if layer.control.get("hop_no")?.as_i64()? >= 0 {
        return None;
    }
    let mut control = layer.control.clone();
    control.insert("hop_no".into(), Value::from(0));
    encode_layer(layer.payload, &control).ok()
}

/// An error for the sender, encrypted with its layer's key as oxenss' `wrap_proxy_response`
/// does by default (string body, base64), in an HTTP 200.
fn encrypted_error(reply: &ReplyKey, status: u16, body: &str) -> Response {
    let out = wrap_final_response(reply, status, body, true, &mut UnwrapErr(SysRng));
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The sender's reply key, when this node can decrypt the layer.
fn reply_key(state: &NodeState, body: &[u8]) -> Option<ReplyKey> {
    open_layer(body, state.keys.x25519_secret(), &state.info.x25519)
        .ok()
        .map(|o| o.reply)
}

/// The answer to a failed peel: plain text before the layer is decrypted (and for a path
/// that is too long or a bad outer `hop_no`), encrypted once it is.
fn peel_failure(state: &NodeState, body: &[u8], e: &OnionError) -> Response {
    let outer = matches!(
        e,
        OnionError::TooManyHops | OnionError::InvalidRouting { field: "hop_no" }
    );
    match (outer, reply_key(state, body)) {
        (false, Some(reply)) => {
            let url = matches!(
                e,
                OnionError::TargetNotAllowed | OnionError::InvalidRouting { field: "protocol" }
            );
            encrypted_error(
                &reply,
                400,
                if url { "Invalid url" } else { "Invalid json" },
            )
        }
        _ => text(e.http_status(), peel_error_text(e)),
    }
}

/// Handler of `POST /onion_req/v2`.
pub async fn onion_req(State(state): State<Arc<NodeState>>, body: Bytes) -> Response {
    let body = clamp_hop_no(&body).map_or(body, Bytes::from);
    let peeled = match peel_layer(&body, state.keys.x25519_secret(), &state.info.x25519) {
        Ok(p) => p,
        Err(e) => return peel_failure(&state, &body, &e),
    };
    // Kept only for a proxy refusal, which is answered encrypted to the sender.
    let outer = matches!(peeled, Peeled::ProxyToServer { .. }).then_some(body);
    match peeled {
        Peeled::FinalDestination {
            payload,
            reply,
            json_body,
            base64,
        } => {
            let r = rpc::handle_raw(&state, &payload).await;
            let mut rng = UnwrapErr(SysRng);
            let out = if json_body {
                let v = match r.body {
                    rpc::Body::Json(v) => v,
                    rpc::Body::Text(t) => Value::String(t),
                };
                wrap_final_response_value(&reply, r.status, v, base64, &mut rng)
            } else {
                wrap_final_response(&reply, r.status, &r.body_string(), base64, &mut rng)
            };
            let mut resp = (StatusCode::OK, out).into_response();
            let ctype = if base64 {
                "text/plain; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            resp
        }
        Peeled::Relay { next_ed25519, body } => {
            let Some(next) = state.directory.by_ed25519(&next_ed25519) else {
                return text(
                    502,
                    format!("Next node not found: {}", hex::encode(next_ed25519)),
                );
            };
            send_hop(&state, format!("{}/onion_req/v2", next.url()), body).await
        }
        Peeled::ProxyToServer {
            host,
            target,
            port,
            protocol,
            method,
            body,
        } => {
            // Only listed hosts, exactly the v4 endpoint (no `..`, percent-encoded dots,
            // fragments or queries that a URL parser would turn into another path; security
            // review #7), and POST. A refusal is oxenss' encrypted "Invalid url".
            if !proxy_allowed(&state.options.proxy_allowed_hosts, &host, port)
                || target != PROXY_TARGET
                || method != "POST"
            {
                return match outer.as_deref().and_then(|b| reply_key(&state, b)) {
                    Some(reply) => encrypted_error(&reply, 400, "Invalid url"),
                    None => text(400, "Invalid url".into()),
                };
            }
            drop(outer);
            let host_part = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            let url = format!("{}://{}:{}{}", protocol.as_str(), host_part, port, target);
            send_hop(&state, url, body).await
        }
    }
}

/// Sends a layer on to the next hop or server within the relay time-out and passes its reply
/// back ([`pass_through`]); 504 on a time-out, 502 if it cannot be reached. A kept-alive
/// connection that the other side closed meanwhile (it restarted, or dropped idle
/// connections) fails at once with no reply; that is tried once more on a new connection, so
/// a neighbour that is up is never reported unreachable. Both tries share the one time-out.
async fn send_hop(state: &NodeState, url: String, body: Vec<u8>) -> Response {
    let budget = state.options.relay_timeout;
    let tries = async {
        let first = state
            .http
            .post(&url)
            .timeout(budget)
            .body(body.clone())
            .send()
            .await;
        match first {
            Err(e) if !e.is_timeout() && (e.is_request() || e.is_connect()) => {
                state
                    .http
                    .post(&url)
                    .timeout(budget)
                    .body(body)
                    .send()
                    .await
            }
            other => other,
        }
    };
    match tokio::time::timeout(budget, tries).await {
        Ok(Ok(resp)) => pass_through(resp, state.options.limits.max_reply_bytes).await,
        Ok(Err(e)) if e.is_timeout() => text(504, "Request time out".into()),
        Ok(Err(_)) => text(502, "Next node is unreachable".into()),
        Err(_) => text(504, "Request time out".into()),
    }
}

/// The next hop's or server's reply, streamed back with its status and content type. A
/// reply that announces more than `cap` bytes is 502; one that grows past `cap` without
/// announcing its length is cut off (the stream ends with an error), so the node never
/// holds or forwards more than `cap` bytes of it.
async fn pass_through(resp: reqwest::Response, cap: usize) -> Response {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return text(502, "Bad response from next hop".into());
    }
    let ctype = resp.headers().get(header::CONTENT_TYPE).cloned();
    let stream = futures_util::stream::unfold(Some((resp, 0usize)), move |st| async move {
        let (mut resp, seen) = st?;
        match resp.chunk().await {
            Ok(Some(c)) if seen + c.len() <= cap => {
                let seen = seen + c.len();
                Some((Ok(c), Some((resp, seen))))
            }
            Ok(Some(_)) => Some((Err(std::io::Error::other("reply over the size cap")), None)),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    let mut out = Response::new(axum::body::Body::from_stream(stream));
    *out.status_mut() = status;
    if let Some(c) = ctype {
        out.headers_mut().insert(header::CONTENT_TYPE, c);
    }
    out
}
