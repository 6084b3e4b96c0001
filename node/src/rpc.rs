//! Storage RPC method handlers (docs/protocol.md §4): decode with the protocol's
//! typed params, check swarm, clock and signature, run against the database, encode.
//!
//! Swarm-wide methods (store, delete, delete_all, delete_before, expire, expire_all) run
//! locally and are forwarded to every other member of the swarm; the answer lists each
//! member's result under `"swarm"`.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use umbra_protocol::rpc::{
    HARDFORK, MAX_SUBREQUESTS, Namespace, NamespaceSel, RpcError,
    auth::verify_request,
    is_valid_hash, message_hash,
    params::{
        AccountId, BatchParams, BulkParams, DeleteParams, ExpireParams, GetExpiriesParams,
        GetSwarmParams, OxendParams, RetrieveParams, RpcRequest, StoreParams,
    },
    sign,
    validate::{
        check_millis, check_sig_timestamp, clamp_new_expiry, retrieve_max_size, store_expiry,
    },
};

use crate::db::StoreOutcome;
use crate::directory::VERSION;
use crate::server::NodeState;

/// An RPC answer: HTTP status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body: JSON, or a plain-text error.
    pub body: Body,
}

/// An answer body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON object.
    Json(Value),
    /// Plain text.
    Text(String),
}

impl Reply {
    fn json(status: u16, v: Value) -> Self {
        Self {
            status,
            body: Body::Json(v),
        }
    }

    /// The body as a string.
    pub fn body_string(&self) -> String {
        match &self.body {
            Body::Json(v) => v.to_string(),
            Body::Text(t) => t.clone(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request failed locally.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A protocol-level error with its status.
    Rpc(RpcError),
    /// Not this node's swarm: 421 with the right swarm.
    WrongSwarm(Value),
    /// Storage failure.
    Internal,
    /// A status and text of upstream's own (where no [`RpcError`] has that status).
    Status(u16, String),
}

impl From<RpcError> for Failure {
    fn from(e: RpcError) -> Self {
        Self::Rpc(e)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(_: rusqlite::Error) -> Self {
        Self::Internal
    }
}

impl Failure {
    /// The reply for this failure.
    pub fn reply(self) -> Reply {
        match self {
            Self::Rpc(e) => Reply {
                status: e.status(),
                body: Body::Text(e.to_string()),
            },
            Self::WrongSwarm(v) => Reply::json(421, v),
            Self::Internal => Reply {
                status: 500,
                body: Body::Text("internal error".into()),
            },
            Self::Status(status, text) => Reply {
                status,
                body: Body::Text(text),
            },
        }
    }
}

type Local = Result<Value, Failure>;

fn parse<T: DeserializeOwned>(params: &Value) -> Result<T, Failure> {
    serde_json::from_value(params.clone()).map_err(|_| Failure::Rpc(RpcError::Malformed("params")))
}

fn with_t_hf(mut v: Value, now: u64) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("t".into(), json!(now));
        o.insert("hf".into(), json!(HARDFORK));
    }
    v
}

/// Methods that are replicated to the whole swarm.
pub fn is_recursive(method: &str) -> bool {
    matches!(
        method,
        "store" | "delete" | "delete_all" | "delete_before" | "expire" | "expire_all"
    )
}

/// Handle a raw `/storage_rpc/v1` body (also the final destination of an onion request).
pub async fn handle_raw(state: &Arc<NodeState>, body: &[u8]) -> Reply {
    match serde_json::from_slice::<RpcRequest>(body) {
        Ok(req) => dispatch(state, &req.method, &req.params).await,
        Err(_) => Failure::Rpc(RpcError::Malformed("body is not a JSON request")).reply(),
    }
}

/// Dispatch one request, including `batch` and `sequence`.
pub async fn dispatch(state: &Arc<NodeState>, method: &str, params: &Value) -> Reply {
    match method {
        "batch" | "sequence" => batch(state, method == "sequence", params).await,
        _ => dispatch_single(state, method, params).await,
    }
}

async fn batch(state: &Arc<NodeState>, sequence: bool, params: &Value) -> Reply {
    let p: BatchParams = match parse(params) {
        Ok(p) => p,
        Err(f) => return f.reply(),
    };
    if p.requests.is_empty()
        || p.requests.len() > MAX_SUBREQUESTS
        || p.requests
            .iter()
            .any(|r| matches!(r.method.as_str(), "batch" | "sequence"))
    {
        return Failure::Rpc(RpcError::BadBatch).reply();
    }
    // Upstream parses every subrequest before running any: an unknown method or
    // unparsable params fail the whole batch with 400 (`client_rpc_endpoints.cpp`
    // `batch::load_from`).
    if let Some(f) = p
        .requests
        .iter()
        .find_map(|r| preparse(&r.method, &r.params).err())
    {
        return f.reply();
    }
    let mut results = Vec::with_capacity(p.requests.len());
    for r in &p.requests {
        let reply = dispatch_single(state, &r.method, &r.params).await;
        let ok = reply.is_success();
        let body = match reply.body {
            Body::Json(v) => v,
            Body::Text(t) => Value::String(t),
        };
        results.push(json!({"code": reply.status, "body": body}));
        if sequence && !ok {
            break;
        }
    }
    Reply::json(
        200,
        with_t_hf(json!({"results": results}), state.clock.now_ms()),
    )
}

async fn dispatch_single(state: &Arc<NodeState>, method: &str, params: &Value) -> Reply {
    let now = state.clock.now_ms();
    if is_recursive(method) {
        return recursive(state, method, params).await;
    }
    let local = match method {
        "retrieve" => retrieve(state, params, now),
        "get_expiries" => get_expiries(state, params, now),
        "get_swarm" | "get_snodes_for_pubkey" => {
            parse::<GetSwarmParams>(params).map(|p| state.directory.swarm_json(&p.pubkey, now))
        }
        "info" => Ok(json!({"version": VERSION, "timestamp": now})),
        "oxend_request" => oxend(state, params),
        "batch" | "sequence" => Err(Failure::Rpc(RpcError::BadBatch)),
        _ => Err(unknown_method(method)),
    };
    match local {
        Ok(v) => Reply::json(200, with_t_hf(v, now)),
        Err(f) => f.reply(),
    }
}

async fn recursive(state: &Arc<NodeState>, method: &str, params: &Value) -> Reply {
    let local = match run_local(state, method, params, false) {
        Ok(v) => v,
        Err(f) => return f.reply(),
    };
    let peers = state.swarm_peers();
    let forwards = peers
        .iter()
        .map(|peer| crate::server::forward(state, peer, method, params));
    let results = futures_util::future::join_all(forwards).await;
    let mut swarm = Map::new();
    swarm.insert(state.info.ed_hex(), local.clone());
    let mut all_failed = local.get("failed").is_some();
    for (peer, r) in peers.iter().zip(results) {
        if r.get("failed").is_none() {
            all_failed = false;
        }
        swarm.insert(peer.ed_hex(), r);
    }
    let mut out = Map::new();
    out.insert("swarm".into(), Value::Object(swarm));
    if method == "store"
        && let Some(h) = local.get("hash")
    {
        out.insert("hash".into(), h.clone());
    }
    let status = if all_failed { 500 } else { 200 };
    Reply::json(status, with_t_hf(Value::Object(out), state.clock.now_ms()))
}

/// Run a swarm-wide method on this node only (`forwarded`: a copy from a swarm peer).
pub fn run_local(state: &Arc<NodeState>, method: &str, params: &Value, forwarded: bool) -> Local {
    let now = state.clock.now_ms();
    match method {
        "store" => store(state, params, now, forwarded),
        "delete" => delete(state, params),
        "delete_all" => bulk_delete(state, params, now, forwarded, false),
        "delete_before" => bulk_delete(state, params, now, forwarded, true),
        "expire" => expire(state, params, now),
        "expire_all" => expire_all(state, params, now, forwarded),
        _ => Err(unknown_method(method)),
    }
}

/// upstream's answer to an unknown method (`request_handler.cpp` `process_client_req`).
fn unknown_method(method: &str) -> Failure {
    // The method name is echoed as upstream does, but bounded and printable only.
    let name: String = method
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    Failure::Status(400, format!("no method {name}"))
}

/// The parse stage of a subrequest, as upstream's `load_req`: the method must be known and
/// its params must decode (including the checks upstream makes while parsing: data size,
/// `last_hash` form).
fn preparse(method: &str, params: &Value) -> Result<(), Failure> {
    match method {
        "store" => {
            let p: StoreParams = parse(params)?;
            if p.data.0.len() > umbra_protocol::rpc::MAX_DATA_BYTES {
                return Err(RpcError::DataTooLarge.into());
            }
        }
        "retrieve" => check_last_hash(parse::<RetrieveParams>(params)?.last_hash.as_deref())?,
        "get_expiries" => {
            parse::<GetExpiriesParams>(params)?;
        }
        "get_swarm" | "get_snodes_for_pubkey" => {
            parse::<GetSwarmParams>(params)?;
        }
        "info" => {}
        "oxend_request" => {
            parse::<OxendParams>(params)?;
        }
        "delete" => {
            parse::<DeleteParams>(params)?;
        }
        "delete_all" | "delete_before" | "expire_all" => {
            parse::<BulkParams>(params)?;
        }
        "expire" => {
            // `expiry` may be a list; the rest parses as a single-expiry request.
            let mut single = params.clone();
            if let Some(o) = single.as_object_mut() {
                o.insert("expiry".into(), json!(0));
            }
            drop(parse::<ExpireParams>(&single)?);
        }
        "batch" | "sequence" => return Err(RpcError::BadBatch.into()),
        _ => return Err(unknown_method(method)),
    }
    Ok(())
}

/// `last_hash` is empty (= absent) or 43 base64 characters (`client_rpc_endpoints.cpp`
/// `retrieve::load_from`).
fn check_last_hash(last_hash: Option<&str>) -> Result<(), Failure> {
    match last_hash {
        None | Some("") => Ok(()),
        Some(h) if is_valid_hash(h) => Ok(()),
        Some(_) => Err(RpcError::Malformed("last_hash").into()),
    }
}

fn check_swarm(state: &NodeState, account: &AccountId, now: u64) -> Result<(), Failure> {
    if state.directory.swarm_of(account) == Some(state.info.swarm_id) {
        Ok(())
    } else {
        Err(Failure::WrongSwarm(
            state.directory.swarm_json(account, now),
        ))
    }
}

fn node_sig(state: &NodeState, msg: &[u8]) -> String {
    STANDARD.encode(state.keys.sign(msg))
}

fn check_hashes(hashes: &[String]) -> Result<(), Failure> {
    if hashes.is_empty() || hashes.len() > 1000 || !hashes.iter().all(|h| is_valid_hash(h)) {
        return Err(Failure::Rpc(RpcError::Malformed("messages")));
    }
    Ok(())
}

fn store(state: &NodeState, params: &Value, now: u64, forwarded: bool) -> Local {
    let p: StoreParams = parse(params)?;
    check_swarm(state, &p.pubkey, now)?;
    if p.namespace == Namespace::RESERVED_TESTING {
        return Err(RpcError::NamespaceNotAllowed.into());
    }
    let expiry = store_expiry(&p, now)?;
    if p.namespace.store_needs_auth() {
        let sig_ts = p.sig_timestamp.unwrap_or(p.timestamp);
        if p.signature.is_none() {
            return Err(RpcError::SignatureRequired.into());
        }
        check_sig_timestamp(sig_ts, now, forwarded)?;
        verify_request(
            &p.pubkey,
            p.pubkey_ed25519.as_ref(),
            &sign::store(p.namespace, sig_ts),
            p.signature.as_ref(),
        )?;
    }
    let hash = message_hash(&p.pubkey, p.namespace, &p.data.0);
    let outcome = state.db()?.store(
        &p.pubkey,
        p.namespace,
        &hash,
        p.timestamp,
        expiry,
        &p.data.0,
    )?;
    if matches!(outcome, StoreOutcome::Full | StoreOutcome::OverQuota) {
        // A store the database refuses is this member's failure, as oxenss answers it
        // (`rpc/request_handler.cpp` `process_client_req(store)`: `"failed": true,
        // "query_failure": true`; 500 when no member stored, `reply_or_fail`).
        return Ok(json!({"failed": true, "query_failure": true}));
    }
    let mut out = json!({"hash": hash, "signature": node_sig(state, hash.as_bytes())});
    match outcome {
        StoreOutcome::Full | StoreOutcome::OverQuota => {}
        StoreOutcome::New => out["expiry"] = json!(expiry),
        StoreOutcome::Already(e) => {
            out["expiry"] = json!(e);
            out["already"] = json!(true);
        }
    }
    Ok(out)
}

fn retrieve(state: &NodeState, params: &Value, now: u64) -> Local {
    let p: RetrieveParams = parse(params)?;
    check_last_hash(p.last_hash.as_deref())?;
    check_swarm(state, &p.pubkey, now)?;
    if p.namespace.retrieve_needs_auth() {
        if p.signature.is_none() {
            return Err(RpcError::SignatureRequired.into());
        }
        let ts = p.timestamp.ok_or(RpcError::Malformed("timestamp"))?;
        check_sig_timestamp(ts, now, false)?;
        verify_request(
            &p.pubkey,
            p.pubkey_ed25519.as_ref(),
            &sign::retrieve(p.namespace, ts),
            p.signature.as_ref(),
        )?;
    }
    if p.namespace == Namespace::RESERVED_TESTING {
        return Ok(json!({"messages": [], "more": false}));
    }
    // As upstream (`request_handler.cpp` `process_client_req(retrieve)`): 0 means unset;
    // a count alone gets the whole size budget, neither gets a fifth of it.
    let max_count = p.max_count.filter(|&c| c != 0);
    let max_size = p.max_size.filter(|&s| s != 0);
    let budget = match (max_count, max_size) {
        (Some(_), None) => umbra_protocol::rpc::RETRIEVE_MAX_SIZE,
        _ => retrieve_max_size(max_size),
    };
    let max_count = max_count.map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(usize::MAX));
    let last_hash = p.last_hash.as_deref().filter(|h| !h.is_empty());
    let (msgs, more) =
        state
            .db()?
            .retrieve(&p.pubkey, p.namespace, last_hash, now, max_count, budget)?;
    let messages: Vec<Value> = msgs
        .iter()
        .map(|m| json!({"hash": m.hash, "timestamp": m.timestamp, "expiration": m.expiry, "data": STANDARD.encode(&m.data)}))
        .collect();
    Ok(json!({"messages": messages, "more": more}))
}

fn delete(state: &NodeState, params: &Value) -> Local {
    let p: DeleteParams = parse(params)?;
    check_swarm(state, &p.pubkey, state.clock.now_ms())?;
    check_hashes(&p.messages)?;
    verify_request(
        &p.pubkey,
        p.pubkey_ed25519.as_ref(),
        &sign::delete(&p.messages),
        p.signature.as_ref(),
    )?;
    let deleted = state.db()?.delete(&p.pubkey, &p.messages)?;
    if p.required && deleted.is_empty() {
        return Err(RpcError::NotFound.into());
    }
    let sig = node_sig(
        state,
        &sign::delete_response(&p.pubkey.to_hex(), &p.messages, &deleted),
    );
    Ok(json!({"deleted": deleted, "signature": sig}))
}

fn bulk_delete(
    state: &NodeState,
    params: &Value,
    now: u64,
    forwarded: bool,
    before_mode: bool,
) -> Local {
    let p: BulkParams = parse(params)?;
    check_swarm(state, &p.pubkey, now)?;
    let (value, msg) = if before_mode {
        let before = p.before.ok_or(RpcError::Malformed("before"))?;
        check_millis(before)?;
        // `request_handler.cpp` `process_client_req(delete_before)`: 401 beyond now + 1 min.
        if before > now.saturating_add(60_000) {
            return Err(Failure::Status(
                401,
                "delete_before timestamp too far in the future".into(),
            ));
        }
        (before, sign::delete_before(p.namespace, before))
    } else {
        let ts = p.timestamp.ok_or(RpcError::Malformed("timestamp"))?;
        if p.signature.is_none() {
            return Err(RpcError::SignatureRequired.into());
        }
        check_sig_timestamp(ts, now, forwarded)?;
        (ts, sign::delete_all(p.namespace, ts))
    };
    verify_request(
        &p.pubkey,
        p.pubkey_ed25519.as_ref(),
        &msg,
        p.signature.as_ref(),
    )?;
    let deleted =
        state
            .db()?
            .delete_matching(&p.pubkey, p.namespace, before_mode.then_some(value))?;
    let all_hashes: Vec<&str> = deleted.iter().map(|(_, h)| h.as_str()).collect();
    let sig = node_sig(
        state,
        &sign::bulk_response(&p.pubkey.to_hex(), value, &all_hashes),
    );
    let deleted_json = match p.namespace {
        NamespaceSel::All => {
            let mut by_ns: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for (ns, h) in &deleted {
                by_ns.entry(ns.to_string()).or_default().push(h);
            }
            json!(by_ns)
        }
        NamespaceSel::One(_) => json!(all_hashes),
    };
    Ok(json!({"deleted": deleted_json, "signature": sig}))
}

fn expire(state: &NodeState, params: &Value, now: u64) -> Local {
    if let Some(list) = params.get("expiry").and_then(Value::as_array) {
        return expire_each(state, params, list, now);
    }
    let p: ExpireParams = parse(params)?;
    check_swarm(state, &p.pubkey, now)?;
    check_hashes(&p.messages)?;
    let mode = p.mode().ok_or(RpcError::Malformed("shorten and extend"))?;
    verify_request(
        &p.pubkey,
        p.pubkey_ed25519.as_ref(),
        &sign::expire(mode, p.expiry, &p.messages),
        p.signature.as_ref(),
    )?;
    let expiry = expire_clamp(p.expiry, now)?;
    let (updated, unchanged) = state.db()?.expire(&p.pubkey, &p.messages, expiry, mode)?;
    let sig = node_sig(
        state,
        &sign::expire_response(
            &p.pubkey.to_hex(),
            expiry,
            &p.messages,
            &updated,
            &unchanged,
        ),
    );
    let mut out = json!({"updated": updated, "expiry": expiry, "signature": sig});
    if mode != sign::ExpireMode::Set {
        let map: BTreeMap<String, u64> = unchanged.into_iter().collect();
        out["unchanged"] = json!(map);
    }
    Ok(out)
}

/// A millisecond value given as an integer or a decimal string.
fn millis_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// `expire` with a list of expiries: `expiry[i]` applies to `messages[i]`. The request is
/// signed over `"expire" ‖ mode ‖ expiry[0] ‖ expiry[1] ‖ … ‖ hashes…`; the answer's
/// `expiry` lists the applied expiries of the (sorted) `updated` hashes, and the node signs
/// `PUBKEY_HEX ‖ those expiries concatenated ‖ requested… ‖ updated… ‖ (hash ‖ expiry)…` of
/// the unchanged ones.
fn expire_each(state: &NodeState, params: &Value, list: &[Value], now: u64) -> Local {
    // Everything but `expiry` parses as a single-expiry request.
    let mut single = params.clone();
    if let Some(o) = single.as_object_mut() {
        o.insert("expiry".into(), json!(0));
    }
    let p: ExpireParams = parse(&single)?;
    check_swarm(state, &p.pubkey, now)?;
    check_hashes(&p.messages)?;
    let mode = p.mode().ok_or(RpcError::Malformed("shorten and extend"))?;
    let requested: Vec<u64> = list
        .iter()
        .map(millis_value)
        .collect::<Option<_>>()
        .filter(|r: &Vec<u64>| r.len() == p.messages.len())
        .ok_or(RpcError::Malformed("expiry"))?;
    let mut signed = format!("expire{}", mode.sig_str());
    requested
        .iter()
        .for_each(|e| signed.push_str(&e.to_string()));
    p.messages.iter().for_each(|h| signed.push_str(h));
    verify_request(
        &p.pubkey,
        p.pubkey_ed25519.as_ref(),
        signed.as_bytes(),
        p.signature.as_ref(),
    )?;
    let items = p
        .messages
        .iter()
        .zip(&requested)
        .map(|(h, e)| Ok((h.clone(), expire_clamp(*e, now)?)))
        .collect::<Result<Vec<_>, Failure>>()?;
    let (updated, unchanged) = state.db()?.expire_each(&p.pubkey, &items, mode)?;
    let hashes: Vec<&str> = updated.iter().map(|(h, _)| h.as_str()).collect();
    let expiries: Vec<u64> = updated.iter().map(|(_, e)| *e).collect();
    let mut answer = p.pubkey.to_hex();
    expiries
        .iter()
        .for_each(|e| answer.push_str(&e.to_string()));
    p.messages.iter().for_each(|h| answer.push_str(h));
    hashes.iter().for_each(|h| answer.push_str(h));
    for (h, e) in &unchanged {
        answer.push_str(h);
        answer.push_str(&e.to_string());
    }
    let sig = node_sig(state, answer.as_bytes());
    let mut out = json!({"updated": hashes, "expiry": expiries, "signature": sig});
    if mode != sign::ExpireMode::Set {
        let map: BTreeMap<String, u64> = unchanged.into_iter().collect();
        out["unchanged"] = json!(map);
    }
    Ok(out)
}

/// `expire`'s expiry check: more than a minute in the past is 401 (`request_handler.cpp`
/// `process_client_req(expire_msgs)`); clamped to 30 days ahead.
fn expire_clamp(expiry: u64, now: u64) -> Result<u64, Failure> {
    clamp_new_expiry(expiry, now).map_err(|e| match e {
        RpcError::InvalidTtl => {
            Failure::Status(401, "expire: timestamp should be >= current time".into())
        }
        other => other.into(),
    })
}

/// `expire_all`, as upstream (`request_handler.cpp` `process_client_req(expire_all)`): an
/// expiry older than the signature tolerance is 406; no clamp, and the node signs the
/// requested expiry; `"all"` answers a dict by namespace.
fn expire_all(state: &NodeState, params: &Value, now: u64, forwarded: bool) -> Local {
    let p: BulkParams = parse(params)?;
    check_swarm(state, &p.pubkey, now)?;
    let requested = p.expiry.ok_or(RpcError::Malformed("expiry"))?;
    check_millis(requested)?;
    let tolerance = if forwarded {
        umbra_protocol::rpc::SIGNATURE_TOLERANCE_FORWARDED_MS
    } else {
        umbra_protocol::rpc::SIGNATURE_TOLERANCE_MS
    };
    if requested < now.saturating_sub(tolerance) {
        return Err(Failure::Status(
            406,
            "expire_all timestamp should be >= current time".into(),
        ));
    }
    verify_request(
        &p.pubkey,
        p.pubkey_ed25519.as_ref(),
        &sign::expire_all(p.namespace, requested),
        p.signature.as_ref(),
    )?;
    let updated = state.db()?.expire_all(&p.pubkey, p.namespace, requested)?;
    let hashes: Vec<&str> = updated.iter().map(|(_, h)| h.as_str()).collect();
    let sig = node_sig(
        state,
        &sign::bulk_response(&p.pubkey.to_hex(), requested, &hashes),
    );
    let updated_json = match p.namespace {
        NamespaceSel::All => {
            let mut by_ns: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for (ns, h) in &updated {
                by_ns.entry(ns.to_string()).or_default().push(h);
            }
            json!(by_ns)
        }
        NamespaceSel::One(_) => json!(hashes),
    };
    Ok(json!({"updated": updated_json, "signature": sig}))
}

fn get_expiries(state: &NodeState, params: &Value, now: u64) -> Local {
    let p: GetExpiriesParams = parse(params)?;
    check_swarm(state, &p.pubkey, now)?;
    check_hashes(&p.messages)?;
    if p.signature.is_none() {
        return Err(RpcError::SignatureRequired.into());
    }
    check_sig_timestamp(p.timestamp, now, false)?;
    verify_request(
        &p.pubkey,
        p.pubkey_ed25519.as_ref(),
        &sign::get_expiries(p.timestamp, &p.messages),
        p.signature.as_ref(),
    )?;
    let map: BTreeMap<String, u64> = state
        .db()?
        .get_expiries(&p.pubkey, &p.messages)?
        .into_iter()
        .collect();
    Ok(json!({"expiries": map}))
}

fn oxend(state: &NodeState, params: &Value) -> Local {
    let p: OxendParams = parse(params)?;
    match p.endpoint.as_str() {
        "get_service_nodes" | "get_n_service_nodes" => {
            Ok(json!({"result": state.directory.service_nodes_json()}))
        }
        // oxend's answer under "result", as oxenss wraps it; a bad request is oxend's error
        // passed on as 400 (`request_handler.cpp` `process_client_req(oxend_request)`).
        "ons_resolve" => state
            .options
            .ons
            .resolve(&p.params)
            .map(|r| json!({"result": r}))
            .ok_or_else(|| Failure::Status(400, "invalid ons_resolve parameters".into())),
        _ => Err(RpcError::Malformed("endpoint not allowed").into()),
    }
}
