//! Two-party tests of the sans-IO client over an in-memory fake network
//! (docs/engineering.md C11; docs/security.md N1, N3, N5, R2, R6, R8, C8).
//!
//! The fake network has a seed and a dozen service nodes in three swarms. Nodes peel real
//! onion layers with `umbra_protocol::onion::node`, relay by Ed25519 key (unknown or dead
//! next hop: `502 Next node not found`), answer `get_swarm`, `store` (replicated to every
//! live swarm member, 421 outside the swarm, 406 for bad clocks), signed `retrieve`
//! (checked with the node-side verifier) and `oxend_request`. Everything is deterministic:
//! seeded ChaCha RNGs and a fake clock; each client can have its own clock skew.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use ed25519_dalek::{Signer as _, SigningKey};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use serde_json::{Value, json};
use umbra_protocol::{
    client::{
        Action, Client, ClientCommand, ClientConfig, ClientEvent, ClientIdentity, ClientSnapshot,
        ConfigPushError, HttpResponse, LocalId, OutboxState, PathStatus, PersistChange,
        PollingMode, ReceivedMessage, RequestId, RouteInfo, ServerReply, ServerRequestError,
        ServerTag, ServerTarget, ServiceNode, Subscription, SubscriptionAuth, SwarmMessage,
        TransportFailure,
    },
    identity::{AccountId, Identity, Seed},
    onion::{
        HttpProtocol, V4Response,
        node::{Peeled, open_server_request, peel_layer, wrap_final_response},
    },
    ons::OnsError,
    rpc::{
        self, Namespace,
        params::{DeleteParams, ExpireParams, GetSwarmParams, RetrieveParams, StoreParams},
    },
    swarm,
};
use x25519_dalek::{PublicKey, StaticSecret};

const START_MS: u64 = 1_790_000_000_000;
const LATENCY_MS: u64 = 10;
const SEED_HOST: &str = "seed";

struct FakeNode {
    signing: SigningKey,
    node: ServiceNode,
    secret: StaticSecret,
    swarm_id: u64,
    online: bool,
    /// Known to the network (false: relays answer "Next node not found").
    listed: bool,
    /// Answer every onion request with this HTTP status (fault injection).
    fail_status: Option<u16>,
    /// A hostile node: the `result` it answers `oxend_request` with.
    pool_answer: Option<Value>,
    /// A hostile node: the members it names in every `get_swarm` answer.
    swarm_answer: Option<Vec<ServiceNode>>,
    /// A hostile node: answers every store and retrieve with a 421 naming these.
    answer_421: Option<Vec<ServiceNode>>,
}

/// Ways an onion reply is damaged on its way back (docs/security.md N1).
#[derive(Clone, Copy, Debug)]
enum Fault {
    Empty,
    Garbage,
    Truncated,
    FlippedByte,
    BadResultWrapper,
    InvalidCiphertext400,
    Timeout,
    Reset,
    WrongStatus,
}

#[derive(Clone)]
struct Stored {
    owner: String,
    namespace: Namespace,
    hash: String,
    data: Vec<u8>,
    expiry: u64,
}

struct Net {
    nodes: Vec<FakeNode>,
    swarm_ids: Vec<u64>,
    db: BTreeMap<[u8; 32], Vec<Stored>>,
    now: u64,
    rng: ChaCha20Rng,
    /// Store acknowledgements to lose (the message is stored, the reply is an error).
    lose_store_acks: u32,
    /// Replace every member's signature in store answers by garbage.
    forge_store_acks: bool,
    /// The seed is unreachable.
    seed_down: bool,
    /// Faults applied, one each, to the next onion replies (N1).
    faults: VecDeque<Fault>,
    /// Store/retrieve requests served.
    stores: u32,
    retrieves: u32,
    /// (owner, hash, ttl) of every store served.
    store_log: Vec<(String, String, u64)>,
    /// Signed expire/delete requests served: (method, owner, hashes).
    own_ops_log: Vec<(String, String, Vec<String>)>,
    /// Answer this many expire/delete requests with 500 first.
    fail_own_ops: u32,
    /// The methods of every `sequence`/`batch` served, in order.
    sequences: Vec<Vec<String>>,
    /// HTTP servers the last hop proxies v4 requests to, by (host, port).
    servers: BTreeMap<(String, u16), FakeServer>,
    /// The guard of the onion request being served.
    current_guard: Option<usize>,
    /// The nodes the onion request being served has passed through so far.
    chain: Vec<usize>,
    /// Every chain (guard .. final node) in which a node appeared twice.
    chain_violations: Vec<Vec<usize>>,
    /// Onion requests that reached a final node.
    onion_served: u32,
    /// (url, body) of every request sent directly (not through an onion path).
    direct_log: Vec<(String, Vec<u8>)>,
    /// `oxend_request`s served, by node.
    pool_asked: BTreeMap<usize, u32>,
    /// The seed and `oxend_request` list each node's `swarm_id`.
    list_swarm_ids: bool,
    /// Hostile `get_swarm` and 421 answers given.
    hostile_answers: u32,
    /// (owner, net time) of every retrieve served.
    retrieve_log: Vec<(String, u64)>,
    /// Rewrites storage RPC answers (hostile nodes): (node, method, params, now, answer).
    hook: Option<RpcHook>,
    /// (node, method) of every storage RPC served.
    rpc_log: Vec<(usize, String)>,
    /// Blind bridges by host (`POST /v1/onion/<guard ed25519 hex>`).
    bridges: BTreeMap<String, FakeBridge>,
    /// ONS records by base64 name hash, as oxend returns them.
    ons: BTreeMap<String, Value>,
}

/// How a fake bridge behaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BridgeMode {
    /// Forwards to the guard, returns its answer unchanged.
    Honest,
    /// Cannot be reached.
    Down,
    /// Forwards, then flips a byte of every answer.
    Corrupting,
    /// Answers everything with its own `503 busy`.
    Busy,
}

struct FakeBridge {
    mode: BridgeMode,
    /// (guard index, body) of every request forwarded.
    forwarded: Vec<(usize, Vec<u8>)>,
}

type RpcHook = Box<dyn FnMut(usize, &str, &Value, u64, (u16, String)) -> (u16, String)>;

/// A v4 HTTP server behind the last hop.
struct FakeServer {
    secret: StaticSecret,
    public: [u8; 32],
    /// Answer this many proxied requests with 502 (server unreachable) first.
    fail_next: u32,
    /// (guard index, answered) of every request proxied to it.
    log: Vec<(usize, bool)>,
}

/// The route (path) of a fake-network URL.
fn route_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

fn node_json(n: &ServiceNode) -> Value {
    json!({
        "ip": n.ip, "port": n.port.to_string(), "port_https": n.port,
        "pubkey_ed25519": hex::encode(n.ed25519), "pubkey_x25519": hex::encode(n.x25519),
        "pubkey_legacy": hex::encode(n.ed25519), "address": "x.snode",
    })
}

impl Net {
    fn new(n_nodes: usize, n_swarms: usize, seed: u64) -> Net {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let swarm_ids = swarm::spread_swarm_ids(n_swarms);
        let nodes = (0..n_nodes)
            .map(|i| {
                let secret = StaticSecret::random_from_rng(&mut rng);
                let x25519 = PublicKey::from(&secret).to_bytes();
                let mut ed_seed = [0u8; 32];
                rand_chacha::rand_core::Rng::fill_bytes(&mut rng, &mut ed_seed);
                let signing = SigningKey::from_bytes(&ed_seed);
                let ed25519 = signing.verifying_key().to_bytes();
                FakeNode {
                    signing,
                    node: ServiceNode {
                        ip: format!("10.0.0.{}", i + 1),
                        port: 22000 + i as u16,
                        ed25519,
                        x25519,
                        swarm_id: Some(swarm_ids[i % n_swarms]),
                    },
                    secret,
                    swarm_id: swarm_ids[i % n_swarms],
                    online: true,
                    listed: true,
                    fail_status: None,
                    pool_answer: None,
                    swarm_answer: None,
                    answer_421: None,
                }
            })
            .collect();
        Net {
            nodes,
            swarm_ids,
            db: BTreeMap::new(),
            now: START_MS,
            rng,
            lose_store_acks: 0,
            faults: VecDeque::new(),
            forge_store_acks: false,
            seed_down: false,
            stores: 0,
            retrieves: 0,
            store_log: Vec::new(),
            own_ops_log: Vec::new(),
            fail_own_ops: 0,
            sequences: Vec::new(),
            servers: BTreeMap::new(),
            current_guard: None,
            chain: Vec::new(),
            chain_violations: Vec::new(),
            onion_served: 0,
            direct_log: Vec::new(),
            pool_asked: BTreeMap::new(),
            list_swarm_ids: true,
            hostile_answers: 0,
            retrieve_log: Vec::new(),
            hook: None,
            rpc_log: Vec::new(),
            bridges: BTreeMap::new(),
            ons: BTreeMap::new(),
        }
    }

    fn swarm_of(&self, account_hex: &str) -> Vec<usize> {
        let space = swarm::swarm_space_hex(account_hex).unwrap();
        let id = swarm::swarm_for(space, &self.swarm_ids).unwrap();
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].swarm_id == id && self.nodes[i].listed)
            .collect()
    }

    fn swarm_nodes(&self, account: &AccountId) -> Vec<ServiceNode> {
        self.swarm_of(&account.to_string())
            .into_iter()
            .map(|i| self.nodes[i].node.clone())
            .collect()
    }

    fn by_ed(&self, ed: &[u8; 32]) -> Option<usize> {
        self.nodes.iter().position(|n| &n.node.ed25519 == ed)
    }

    fn node_list(&self) -> Value {
        let states: Vec<Value> = self
            .nodes
            .iter()
            .filter(|n| n.listed)
            .map(|n| {
                let mut v = json!({"public_ip": n.node.ip, "storage_port": n.node.port,
                   "pubkey_ed25519": hex::encode(n.node.ed25519),
                   "pubkey_x25519": hex::encode(n.node.x25519), "requested_unlock_height": 0});
                if self.list_swarm_ids {
                    v["swarm_id"] = json!(n.swarm_id);
                }
                v
            })
            .collect();
        json!({"service_node_states": states, "height": 100})
    }

    fn swarm_reply(&self, account_hex: &str) -> Value {
        let snodes: Vec<Value> = self
            .swarm_of(account_hex)
            .into_iter()
            .map(|i| node_json(&self.nodes[i].node))
            .collect();
        json!({"snodes": snodes, "swarm": "00", "t": self.now, "hf": [19, 3]})
    }

    /// Stores `data` for `owner` on every live member of its swarm (as node replication).
    fn put(&mut self, owner_hex: &str, data: Vec<u8>, expiry: u64) -> String {
        self.put_ns(owner_hex, Namespace::DEFAULT, data, expiry)
    }

    /// Stores `data` in namespace `ns` of `owner` (as [`Net::put`]).
    fn put_ns(&mut self, owner_hex: &str, ns: Namespace, data: Vec<u8>, expiry: u64) -> String {
        let account = rpc::AccountId::from_hex(owner_hex).unwrap();
        let hash = rpc::message_hash(&account, ns, &data);
        for i in self.swarm_of(owner_hex) {
            if !self.nodes[i].online {
                continue;
            }
            let list = self.db.entry(self.nodes[i].node.ed25519).or_default();
            if !list.iter().any(|m| m.hash == hash) {
                list.push(Stored {
                    owner: owner_hex.to_owned(),
                    namespace: ns,
                    hash: hash.clone(),
                    data: data.clone(),
                    expiry,
                });
            }
        }
        hash
    }

    /// Storage RPC at node `i`: (status, body), as rewritten by the hook if any.
    fn rpc(&mut self, i: usize, payload: &[u8]) -> (u16, String) {
        let answer = self.honest_rpc(i, payload);
        let req: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
        let method = req["method"].as_str().unwrap_or("").to_owned();
        self.rpc_log.push((i, method.clone()));
        match self.hook.as_mut() {
            Some(hook) => hook(i, &method, &req["params"], self.now, answer),
            None => answer,
        }
    }

    /// Storage RPC at node `i` as an honest node answers it.
    fn honest_rpc(&mut self, i: usize, payload: &[u8]) -> (u16, String) {
        let Ok(req) = serde_json::from_slice::<Value>(payload) else {
            return (400, "invalid json".into());
        };
        let method = req["method"].as_str().unwrap_or("").to_owned();
        let params = req["params"].clone();
        let now = self.now;
        match method.as_str() {
            "get_swarm" => {
                let Ok(p) = serde_json::from_value::<GetSwarmParams>(params) else {
                    return (400, "bad params".into());
                };
                if let Some(list) = &self.nodes[i].swarm_answer {
                    self.hostile_answers += 1;
                    let snodes: Vec<Value> = list.iter().map(node_json).collect();
                    return (200, json!({"snodes": snodes, "t": now}).to_string());
                }
                (200, self.swarm_reply(&p.pubkey.to_hex()).to_string())
            }
            "store" | "retrieve" if self.nodes[i].answer_421.is_some() => {
                self.hostile_answers += 1;
                let list = self.nodes[i].answer_421.as_deref().unwrap_or_default();
                let snodes: Vec<Value> = list.iter().map(node_json).collect();
                (421, json!({"snodes": snodes, "t": now}).to_string())
            }
            "info" => (
                200,
                json!({"version": [2, 11, 0], "timestamp": now, "t": now, "hf": [19, 3]})
                    .to_string(),
            ),
            "oxend_request" if params["endpoint"] == "ons_resolve" => {
                let hash = params["params"]["name_hash"].as_str().unwrap_or_default();
                let record = self.ons.get(hash).cloned().unwrap_or_else(|| json!({}));
                (200, json!({"result": record, "t": now}).to_string())
            }
            "oxend_request" => {
                *self.pool_asked.entry(i).or_default() += 1;
                let result = self.nodes[i]
                    .pool_answer
                    .clone()
                    .unwrap_or_else(|| self.node_list());
                (200, json!({"result": result, "t": now}).to_string())
            }
            "store" => {
                let Ok(p) = serde_json::from_value::<StoreParams>(params) else {
                    return (400, "bad params".into());
                };
                let owner = p.pubkey.to_hex();
                if !self.swarm_of(&owner).contains(&i) {
                    return (421, self.swarm_reply(&owner).to_string());
                }
                if p.namespace != Namespace::DEFAULT {
                    // Private namespaces: signed over `store ‖ ns ‖ sig_timestamp` (§4.4).
                    let ts = p.sig_timestamp.unwrap_or(p.timestamp);
                    let msg = rpc::sign::store(p.namespace, ts);
                    if ts.abs_diff(now) > rpc::SIGNATURE_TOLERANCE_MS
                        || rpc::auth::verify_request(
                            &p.pubkey,
                            p.pubkey_ed25519.as_ref(),
                            &msg,
                            p.signature.as_ref(),
                        )
                        .is_err()
                    {
                        return (401, "Failed to verify signature".into());
                    }
                }
                let ttl = p.ttl.unwrap_or(0);
                if p.timestamp > now + rpc::STORE_TOLERANCE_MS
                    || p.timestamp + ttl + rpc::STORE_TOLERANCE_MS < now
                {
                    return (406, "Timestamp error: check your clock".into());
                }
                self.stores += 1;
                let hash = self.put_ns(&owner, p.namespace, p.data.0, p.timestamp + ttl);
                self.store_log.push((owner.clone(), hash.clone(), ttl));
                if self.lose_store_acks > 0 {
                    self.lose_store_acks -= 1;
                    return (500, "storage failure".into());
                }
                // Every live member reports its result, signed over the hash (§4.5).
                let mut swarm = serde_json::Map::new();
                for j in self.swarm_of(&owner) {
                    let n = &self.nodes[j];
                    let entry = if n.online {
                        let sig = n.signing.sign(hash.as_bytes()).to_bytes();
                        json!({"hash": hash, "signature": STANDARD.encode(sig),
                               "expiry": p.timestamp + ttl})
                    } else {
                        json!({"failed": true, "timeout": true})
                    };
                    swarm.insert(hex::encode(n.node.ed25519), entry);
                }
                if self.forge_store_acks {
                    for entry in swarm.values_mut() {
                        if let Some(obj) = entry.as_object_mut() {
                            obj.insert("signature".into(), json!(STANDARD.encode([9u8; 64])));
                        }
                    }
                }
                (
                    200,
                    json!({"swarm": swarm, "hash": hash, "t": now, "hf": [19, 3]}).to_string(),
                )
            }
            "retrieve" => {
                let Ok(p) = serde_json::from_value::<RetrieveParams>(params) else {
                    return (400, "bad params".into());
                };
                let owner = p.pubkey.to_hex();
                if !self.swarm_of(&owner).contains(&i) {
                    return (421, self.swarm_reply(&owner).to_string());
                }
                let Some(ts) = p.timestamp else {
                    return (401, "signature required".into());
                };
                if ts.abs_diff(now) > rpc::SIGNATURE_TOLERANCE_MS {
                    return (406, "Timestamp error: check your clock".into());
                }
                let msg = rpc::sign::retrieve(p.namespace, ts);
                if rpc::auth::verify_request(
                    &p.pubkey,
                    p.pubkey_ed25519.as_ref(),
                    &msg,
                    p.signature.as_ref(),
                )
                .is_err()
                {
                    return (401, "Failed to verify signature".into());
                }
                self.retrieves += 1;
                self.retrieve_log.push((owner.clone(), now));
                let list: Vec<Stored> = self
                    .db
                    .get(&self.nodes[i].node.ed25519)
                    .map(|l| {
                        l.iter()
                            .filter(|m| m.owner == owner && m.namespace == p.namespace)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                let start = p
                    .last_hash
                    .as_ref()
                    .and_then(|h| list.iter().position(|m| &m.hash == h))
                    .map_or(0, |pos| pos + 1);
                let messages: Vec<Value> = list[start..]
                    .iter()
                    .map(|m| {
                        json!({"hash": m.hash, "timestamp": now, "expiration": m.expiry,
                               "data": STANDARD.encode(&m.data)})
                    })
                    .collect();
                (
                    200,
                    json!({"messages": messages, "more": false, "t": now, "hf": [19, 3]})
                        .to_string(),
                )
            }
            "expire" | "delete" => {
                let (pubkey, ed, sig, hashes, msg, expiry) = if method == "expire" {
                    let Ok(p) = serde_json::from_value::<ExpireParams>(params) else {
                        return (400, "bad params".into());
                    };
                    let Some(mode) = p.mode() else {
                        return (400, "bad params".into());
                    };
                    let msg = rpc::sign::expire(mode, p.expiry, &p.messages);
                    (
                        p.pubkey,
                        p.pubkey_ed25519,
                        p.signature,
                        p.messages,
                        msg,
                        Some(p.expiry),
                    )
                } else {
                    let Ok(p) = serde_json::from_value::<DeleteParams>(params) else {
                        return (400, "bad params".into());
                    };
                    let msg = rpc::sign::delete(&p.messages);
                    (
                        p.pubkey,
                        p.pubkey_ed25519,
                        p.signature,
                        p.messages,
                        msg,
                        None,
                    )
                };
                let owner = pubkey.to_hex();
                if !self.swarm_of(&owner).contains(&i) {
                    return (421, self.swarm_reply(&owner).to_string());
                }
                if rpc::auth::verify_request(&pubkey, ed.as_ref(), &msg, sig.as_ref()).is_err() {
                    return (401, "Failed to verify signature".into());
                }
                if self.fail_own_ops > 0 {
                    self.fail_own_ops -= 1;
                    return (500, "storage failure".into());
                }
                self.own_ops_log
                    .push((method.clone(), owner.clone(), hashes.clone()));
                // Replicated to every live member, as the node does.
                for j in self.swarm_of(&owner) {
                    if !self.nodes[j].online {
                        continue;
                    }
                    let list = self.db.entry(self.nodes[j].node.ed25519).or_default();
                    match expiry {
                        Some(e) => list
                            .iter_mut()
                            .filter(|m| m.owner == owner && hashes.contains(&m.hash))
                            .for_each(|m| m.expiry = m.expiry.min(e)),
                        None => list.retain(|m| !(m.owner == owner && hashes.contains(&m.hash))),
                    }
                }
                (200, json!({"swarm": {}, "t": now}).to_string())
            }
            "sequence" | "batch" => {
                let Some(requests) = params["requests"].as_array().cloned() else {
                    return (400, "bad params".into());
                };
                self.sequences
                    .push(requests.iter().map(|r| r["method"].to_string()).collect());
                let mut results = Vec::new();
                for r in requests {
                    let (code, body) = self.honest_rpc(i, r.to_string().as_bytes());
                    let body = serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body));
                    results.push(json!({"code": code, "body": body}));
                    if method == "sequence" && code != 200 {
                        break;
                    }
                }
                (
                    200,
                    json!({"results": results, "t": now, "hf": [19, 3]}).to_string(),
                )
            }
            _ => (404, "unknown method".into()),
        }
    }

    /// An onion request arriving at node `i`.
    fn onion(&mut self, i: usize, body: &[u8]) -> HttpResponse {
        self.chain.push(i);
        if let Some(status) = self.nodes[i].fail_status {
            return HttpResponse {
                status,
                body: b"Snode not ready".to_vec(),
            };
        }
        let peeled = peel_layer(body, &self.nodes[i].secret, &self.nodes[i].node.x25519);
        match peeled {
            Err(e) => HttpResponse {
                status: e.http_status(),
                body: b"Invalid ciphertext".to_vec(),
            },
            Ok(Peeled::Relay { next_ed25519, body }) => match self.by_ed(&next_ed25519) {
                Some(j) if self.nodes[j].online && self.nodes[j].listed => self.onion(j, &body),
                _ => HttpResponse {
                    status: 502,
                    body: format!("Next node not found: {}", hex::encode(next_ed25519))
                        .into_bytes(),
                },
            },
            Ok(Peeled::FinalDestination {
                payload,
                reply,
                base64,
                ..
            }) => {
                self.check_chain();
                let (status, text) = self.rpc(i, &payload);
                let mut rng = ChaCha20Rng::seed_from_u64(rand_chacha::rand_core::Rng::next_u64(
                    &mut self.rng,
                ));
                HttpResponse {
                    status: 200,
                    body: wrap_final_response(&reply, status, &text, base64, &mut rng),
                }
            }
            Ok(Peeled::ProxyToServer {
                host, port, body, ..
            }) => {
                self.check_chain();
                self.proxy(host, port, &body)
            }
        }
    }

    /// Records the current chain if a node appears in it twice (a guard in its own path, or
    /// a destination inside the path of its request).
    fn check_chain(&mut self) {
        self.onion_served += 1;
        let distinct: BTreeSet<usize> = self.chain.iter().copied().collect();
        if distinct.len() != self.chain.len() {
            self.chain_violations.push(self.chain.clone());
        }
    }

    /// A v4 request the last hop proxies to `host:port`.
    fn proxy(&mut self, host: String, port: u16, body: &[u8]) -> HttpResponse {
        let guard = self.current_guard.unwrap_or(usize::MAX);
        let Some(server) = self.servers.get_mut(&(host, port)) else {
            return HttpResponse {
                status: 400,
                body: b"Invalid host for proxy request".to_vec(),
            };
        };
        if server.fail_next > 0 {
            server.fail_next -= 1;
            server.log.push((guard, false));
            return HttpResponse {
                status: 502,
                body: b"Next node is unreachable".to_vec(),
            };
        }
        let Ok((req, reply)) = open_server_request(body, &server.secret, &server.public) else {
            return HttpResponse {
                status: 400,
                body: Vec::new(),
            };
        };
        server.log.push((guard, true));
        let text = format!(
            "{} {} {} {}",
            req.method,
            req.endpoint,
            req.headers.get("x-test").map_or("-", String::as_str),
            req.body.map_or(0, |b| b.len())
        );
        let resp = V4Response {
            code: 201,
            headers: BTreeMap::from([("content-type".to_string(), "text/plain".to_string())]),
            body: text.into_bytes(),
        };
        let mut rng =
            ChaCha20Rng::seed_from_u64(rand_chacha::rand_core::Rng::next_u64(&mut self.rng));
        HttpResponse {
            status: 200,
            body: reply.encrypt_reply(&resp.encode(), &mut rng),
        }
    }

    fn http(&mut self, url: &str, body: &[u8]) -> Result<HttpResponse, TransportFailure> {
        let rest = url.strip_prefix("http://").expect("http url");
        let (host, route) = rest.split_at(rest.find('/').unwrap());
        let (ip, port) = host.split_once(':').unwrap();
        if route_of(url) != "/onion_req/v2" {
            self.direct_log.push((url.to_owned(), body.to_vec()));
        }
        if let Some(mode) = self.bridges.get(host).map(|b| b.mode) {
            return self.bridge(host, mode, route, body);
        }
        if ip == SEED_HOST && self.seed_down {
            return Err(TransportFailure::Unreachable);
        }
        if ip == SEED_HOST {
            assert_eq!(route, "/json_rpc");
            let req: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(req["method"], "get_n_service_nodes");
            return Ok(HttpResponse {
                status: 200,
                body: json!({"result": self.node_list()}).to_string().into_bytes(),
            });
        }
        let port: u16 = port.parse().unwrap();
        let Some(i) = self
            .nodes
            .iter()
            .position(|n| n.node.ip == ip && n.node.port == port)
        else {
            return Err(TransportFailure::Unreachable);
        };
        if !self.nodes[i].online {
            return Err(TransportFailure::Unreachable);
        }
        match route {
            "/onion_req/v2" => {
                self.current_guard = Some(i);
                self.chain.clear();
                let reply = self.onion(i, body);
                let Some(fault) = self.faults.pop_front() else {
                    return Ok(reply);
                };
                let mut body = reply.body;
                let status = match fault {
                    Fault::Empty => {
                        body.clear();
                        200
                    }
                    Fault::Garbage => {
                        body = (0..200u8).map(|b| b.wrapping_mul(37)).collect();
                        200
                    }
                    Fault::Truncated => {
                        body.truncate(body.len() / 2);
                        200
                    }
                    Fault::FlippedByte => {
                        if let Some(b) = body.get_mut(20) {
                            *b ^= 0x01;
                        }
                        200
                    }
                    Fault::BadResultWrapper => {
                        body = br#"{"result":"!!not base64!!"}"#.to_vec();
                        200
                    }
                    Fault::InvalidCiphertext400 => {
                        body = b"Invalid ciphertext".to_vec();
                        400
                    }
                    Fault::Timeout => return Err(TransportFailure::Timeout),
                    Fault::Reset => return Err(TransportFailure::Unreachable),
                    Fault::WrongStatus => 299,
                };
                Ok(HttpResponse { status, body })
            }
            "/storage_rpc/v1" => {
                let (status, text) = self.rpc(i, body);
                Ok(HttpResponse {
                    status,
                    body: text.into_bytes(),
                })
            }
            _ => Ok(HttpResponse {
                status: 404,
                body: Vec::new(),
            }),
        }
    }
}

impl Net {
    /// A request to the fake bridge at `host`, as `umbra-node bridge` answers it.
    fn bridge(
        &mut self,
        host: &str,
        mode: BridgeMode,
        route: &str,
        body: &[u8],
    ) -> Result<HttpResponse, TransportFailure> {
        let plain = |status: u16, text: &str| {
            Ok(HttpResponse {
                status,
                body: text.as_bytes().to_vec(),
            })
        };
        match mode {
            BridgeMode::Down => return Err(TransportFailure::Unreachable),
            BridgeMode::Busy => return plain(503, "busy"),
            BridgeMode::Honest | BridgeMode::Corrupting => {}
        }
        let Some(key) = route
            .strip_prefix("/v1/onion/")
            .and_then(|h| hex::decode(h).ok())
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
        else {
            return plain(400, "bad request");
        };
        let Some(i) = self.by_ed(&key) else {
            return plain(404, "unknown guard");
        };
        self.bridges
            .get_mut(host)
            .unwrap()
            .forwarded
            .push((i, body.to_vec()));
        let n = &self.nodes[i].node;
        let url = format!("http://{}:{}/onion_req/v2", n.ip, n.port);
        let mut reply = match self.http(&url, body) {
            Ok(r) => r,
            Err(TransportFailure::Timeout) => return plain(504, "guard timed out"),
            Err(TransportFailure::Unreachable) => return plain(502, "guard unreachable"),
        };
        if mode == BridgeMode::Corrupting
            && let Some(b) = reply.body.get_mut(20)
        {
            *b ^= 0x01;
        }
        Ok(reply)
    }
}

struct Party {
    client: Client,
    identity: Identity,
    rng: ChaCha20Rng,
    skew_ms: i64,
    online: bool,
    snapshot: ClientSnapshot,
    received: Vec<ReceivedMessage>,
    outbox_events: Vec<(LocalId, OutboxState)>,
    statuses: Vec<PathStatus>,
    clock_errors: u32,
    /// Steps with persist changes whose store fails (next ones first).
    fail_persists: u32,
    /// `ClockSynced` events, and `ClockSkew` events (offset, far off).
    clock_synced: u32,
    clock_warnings: Vec<(i64, bool)>,
    /// Texts written before the clock was synced, held as the worker holds them: (to, body).
    held: Vec<(usize, String)>,
    /// (original local id, hash) of every sync copy stored.
    sync_copies: Vec<(LocalId, String)>,
    /// Answers to server requests.
    server_replies: Vec<(ServerTag, Result<ServerReply, ServerRequestError>)>,
    /// Messages of raw subscriptions: (namespace, message).
    swarm_messages: Vec<(Namespace, SwarmMessage)>,
    /// Outcomes of config pushes: (tag, namespace, result).
    config_pushes: Vec<(u64, Namespace, Result<String, ConfigPushError>)>,
    /// Every pool and swarm the client persisted, in order.
    pool_log: Vec<Vec<ServiceNode>>,
    swarm_log: Vec<(umbra_protocol::address::SwarmAddr, Vec<ServiceNode>)>,
    /// Every route change reported.
    routes: Vec<RouteInfo>,
    /// ONS answers: (tag, (name, result)).
    ons: Vec<(u64, OnsAnswer)>,
}

/// A name as resolved and its outcome.
type OnsAnswer = (String, Result<AccountId, OnsError>);

impl Party {
    fn new(seed_byte: u8, name: &str, skew_ms: i64, snapshot: Option<ClientSnapshot>) -> Party {
        let seed = Seed::from_entropy(&[seed_byte; 32]).unwrap();
        let identity = Identity::from_seed(&seed);
        let config = ClientConfig {
            seed_urls: vec![format!("http://{SEED_HOST}:1")],
            node_scheme: "http".into(),
            display_name: Some(name.into()),
            ..ClientConfig::default()
        };
        Party {
            client: Client::new(
                ClientIdentity::from_identity(&identity),
                config,
                snapshot.clone(),
            ),
            identity,
            rng: ChaCha20Rng::seed_from_u64(u64::from(seed_byte)),
            skew_ms,
            online: true,
            snapshot: snapshot.unwrap_or_default(),
            received: Vec::new(),
            outbox_events: Vec::new(),
            statuses: Vec::new(),
            clock_errors: 0,
            fail_persists: 0,
            clock_synced: 0,
            clock_warnings: Vec::new(),
            held: Vec::new(),
            sync_copies: Vec::new(),
            server_replies: Vec::new(),
            swarm_messages: Vec::new(),
            config_pushes: Vec::new(),
            pool_log: Vec::new(),
            swarm_log: Vec::new(),
            routes: Vec::new(),
            ons: Vec::new(),
        }
    }

    fn id(&self) -> AccountId {
        self.identity.account_id()
    }

    fn local(&self, net_now: u64) -> u64 {
        net_now.saturating_add_signed(self.skew_ms)
    }

    /// Rebuilds the client from its persisted snapshot (tab closed and reopened).
    fn restart(&mut self) {
        let config = ClientConfig {
            seed_urls: vec![format!("http://{SEED_HOST}:1")],
            node_scheme: "http".into(),
            ..ClientConfig::default()
        };
        self.client = Client::new(
            ClientIdentity::from_identity(&self.identity),
            config,
            Some(self.snapshot.clone()),
        );
    }
}

struct World {
    net: Net,
    parties: Vec<Party>,
    /// (deliver at net time, party, request, result)
    queue: VecDeque<(
        u64,
        usize,
        RequestId,
        Result<HttpResponse, TransportFailure>,
    )>,
}

impl World {
    fn new(net_seed: u64, skews: [i64; 2]) -> World {
        World {
            net: Net::new(12, 3, net_seed),
            parties: vec![
                Party::new(1, "Alice", skews[0], None),
                Party::new(2, "Bob", skews[1], None),
            ],
            queue: VecDeque::new(),
        }
    }

    fn drain(&mut self) {
        for p in 0..self.parties.len() {
            if !self.parties[p].online {
                continue;
            }
            loop {
                let party = &mut self.parties[p];
                let actions: Vec<Action> =
                    std::iter::from_fn(|| party.client.poll_action()).collect();
                if actions.is_empty() {
                    break;
                }
                if party.fail_persists > 0
                    && actions.iter().any(|a| matches!(a, Action::Persist(_)))
                {
                    // The driver's store fails this step: nothing of it is kept or shown, its
                    // requests are not sent, and the client goes back to what is durable.
                    party.fail_persists -= 1;
                    let local = party.local(self.net.now);
                    for a in &actions {
                        if let Action::Http(req) = a {
                            party.client.abort_request(req.id, local);
                        }
                    }
                    party.client.revert_to(party.snapshot.clone());
                    continue;
                }
                for action in actions {
                    self.deliver(p, action);
                }
            }
        }
    }

    /// Carries out one action of party `p` as the worker does.
    fn deliver(&mut self, p: usize, action: Action) {
        let party = &mut self.parties[p];
        match action {
            Action::Http(req) => {
                let result = self.net.http(&req.url, &req.body);
                self.queue
                    .push_back((self.net.now + LATENCY_MS, p, req.id, result));
            }
            Action::Persist(changes) => {
                for c in &changes {
                    party.snapshot.apply(c);
                    match c {
                        PersistChange::Pool(nodes) => party.pool_log.push(nodes.clone()),
                        PersistChange::Swarm { account, nodes } => {
                            party.swarm_log.push((*account, nodes.clone()));
                        }
                        _ => {}
                    }
                }
            }
            Action::Notify(ClientEvent::MessageReceived(m)) => party.received.push(m),
            Action::Notify(ClientEvent::OutboxUpdated { local_id, state }) => {
                party.outbox_events.push((local_id, state));
            }
            Action::Notify(ClientEvent::PathStatusChanged(s)) => party.statuses.push(s),
            Action::Notify(ClientEvent::RouteChanged(r)) => party.routes.push(r),
            Action::Notify(ClientEvent::OnsResolved { tag, name, result }) => {
                party.ons.push((tag, (name, result)));
            }
            Action::Notify(ClientEvent::ClockOutOfSync) => party.clock_errors += 1,
            Action::Notify(ClientEvent::ClockSynced) => party.clock_synced += 1,
            Action::Notify(ClientEvent::ClockSkew { offset_ms, far_off }) => {
                party.clock_warnings.push((offset_ms, far_off));
            }
            Action::Notify(ClientEvent::SyncCopyStored { local_id, hash }) => {
                party.sync_copies.push((local_id, hash));
            }
            Action::Notify(ClientEvent::ServerResponse { tag, result }) => {
                party.server_replies.push((tag, result));
            }
            Action::Notify(ClientEvent::ConfigPushed {
                tag,
                namespace,
                result,
            }) => party.config_pushes.push((tag, namespace, result)),
            Action::Notify(ClientEvent::SwarmMessages {
                subscription,
                messages,
            }) => party
                .swarm_messages
                .extend(messages.into_iter().map(|m| (subscription.namespace, m))),
        }
    }

    fn send(&mut self, from: usize, to: usize, body: &str) {
        let to_id = self.parties[to].id();
        let now = self.net.now;
        let p = &mut self.parties[from];
        let local = p.local(now);
        let n = p.outbox_events.len() + p.client.outbox().len();
        p.client
            .handle_command(
                ClientCommand::SendText {
                    to: to_id,
                    body: body.into(),
                    local_id: format!("{body}#{n}").into(),
                },
                &p.identity,
                local,
                &mut p.rng,
            )
            .unwrap();
        self.drain();
    }

    fn kick(&mut self) {
        let now = self.net.now;
        for p in self.parties.iter_mut().filter(|p| p.online) {
            let local = p.local(now);
            p.client.handle_timeout(&p.identity, local, &mut p.rng);
        }
        self.drain();
    }

    /// Runs the simulation for up to `limit_ms` of network time or until `done`.
    fn run_until(&mut self, limit_ms: u64, done: impl Fn(&World) -> bool) -> bool {
        let end = self.net.now + limit_ms;
        self.kick();
        for _ in 0..200_000 {
            self.drain();
            if done(self) {
                return true;
            }
            let mut t = end;
            for (at, p, ..) in &self.queue {
                if self.parties[*p].online {
                    t = t.min(*at);
                }
            }
            for p in self.parties.iter().filter(|p| p.online) {
                if let Some(x) = p.client.next_timeout() {
                    t = t.min(x.saturating_add_signed(-p.skew_ms));
                }
            }
            if t >= end {
                self.net.now = end;
                return done(self);
            }
            self.net.now = self.net.now.max(t);
            let now = self.net.now;
            let due: Vec<_> = {
                let (due, keep): (Vec<_>, Vec<_>) = self
                    .queue
                    .drain(..)
                    .partition(|(at, p, ..)| *at <= now && self.parties[*p].online);
                self.queue = keep.into();
                due
            };
            for (_, p, id, result) in due {
                let party = &mut self.parties[p];
                let local = party.local(now);
                party
                    .client
                    .handle_response(id, result, &party.identity, local, &mut party.rng);
                self.drain();
            }
            for p in self.parties.iter_mut().filter(|p| p.online) {
                let local = p.local(now);
                if p.client.next_timeout().is_some_and(|x| x <= local) {
                    p.client.handle_timeout(&p.identity, local, &mut p.rng);
                }
            }
        }
        panic!("simulation did not settle");
    }

    fn bodies(&self, p: usize) -> Vec<String> {
        self.parties[p]
            .received
            .iter()
            .map(|m| m.body.clone())
            .collect()
    }

    fn all_sent(&self, p: usize) -> bool {
        self.parties[p].client.outbox().is_empty()
    }

    fn connect(&mut self) {
        assert!(self.run_until(10_000, |w| {
            w.parties
                .iter()
                .all(|p| p.client.path_status() == PathStatus::Connected)
        }));
    }
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix} {i}")).collect()
}

#[test]
fn twenty_messages_each_way_arrive_once_in_order() {
    let mut w = World::new(7, [0, 0]);
    w.connect();
    assert_eq!(w.parties[0].statuses, vec![PathStatus::Connected]);
    let paths = w.parties[0].client.paths();
    assert_eq!(paths.len(), 2);
    let mut all: BTreeSet<[u8; 32]> = BTreeSet::new();
    for p in &paths {
        assert_eq!(p.len(), 3);
        all.extend(p.iter().map(|n| n.ed25519));
    }
    assert_eq!(all.len(), 6, "two paths of three distinct nodes");

    let a = numbered("from alice", 20);
    let b = numbered("from bob", 20);
    for i in 0..20 {
        w.send(0, 1, &a[i]);
        w.send(1, 0, &b[i]);
    }
    assert!(w.run_until(30_000, |w| w.bodies(1).len() >= 20
        && w.bodies(0).len() >= 20));
    // Let any stray duplicate show up before checking.
    w.run_until(3_000, |_| false);
    assert_eq!(w.bodies(1), a);
    assert_eq!(w.bodies(0), b);
    assert!(w.all_sent(0) && w.all_sent(1));
    let m = &w.parties[1].received[0];
    assert_eq!(m.from, w.parties[0].id());
    assert_eq!(m.profile_name.as_deref(), Some("Alice"));
    assert_eq!(w.parties[1].client.stats().received, 20);
    // Every persisted outbox entry reached Sent (and the snapshot dropped them).
    assert!(w.parties[0].snapshot.outbox.is_empty());
    let sent = w.parties[0]
        .outbox_events
        .iter()
        .filter(|(_, s)| *s == OutboxState::Sent)
        .count();
    assert_eq!(sent, 20);
}

#[test]
fn offline_recipient_catches_up() {
    let mut w = World::new(8, [0, 0]);
    w.connect();
    w.parties[1].online = false;
    let a = numbered("while away", 10);
    for m in &a {
        w.send(0, 1, m);
    }
    assert!(w.run_until(20_000, |w| w.all_sent(0)));
    assert!(w.bodies(1).is_empty());
    w.net.now += 60_000;
    w.parties[1].online = true;
    assert!(w.run_until(20_000, |w| w.bodies(1).len() >= 10));
    w.run_until(2_000, |_| false);
    assert_eq!(w.bodies(1), a);
}

#[test]
fn swarm_node_dropping_out_loses_nothing() {
    let mut w = World::new(9, [0, 0]);
    w.connect();
    let bob = w.parties[1].id();
    let a = numbered("m", 20);
    for m in &a[..10] {
        w.send(0, 1, m);
    }
    assert!(w.run_until(20_000, |w| w.bodies(1).len() >= 10));
    // One of Bob's swarm members dies mid-conversation.
    let victim = w.net.swarm_of(&bob.to_string())[0];
    w.net.nodes[victim].online = false;
    for m in &a[10..] {
        w.send(0, 1, m);
    }
    assert!(w.run_until(60_000, |w| w.bodies(1).len() >= 20));
    w.run_until(3_000, |_| false);
    assert_eq!(w.bodies(1), a);
    assert!(w.all_sent(0));
}

#[test]
fn wrong_swarm_421_updates_cache_and_delivers() {
    let mut w = World::new(10, [0, 0]);
    let bob = w.parties[1].id();
    let right = w.net.swarm_nodes(&bob);
    let wrong: Vec<ServiceNode> = w
        .net
        .nodes
        .iter()
        .map(|n| n.node.clone())
        .filter(|n| !right.contains(n))
        .take(4)
        .collect();
    // Alice restarts with a stale cached swarm for Bob.
    let mut snap = ClientSnapshot::default();
    snap.swarms.insert(bob.into(), wrong.clone());
    w.parties[0] = Party::new(1, "Alice", 0, Some(snap));
    w.connect();
    w.send(0, 1, "hello after 421");
    assert!(w.run_until(20_000, |w| w.bodies(1).len() == 1));
    assert_eq!(w.bodies(1), vec!["hello after 421".to_string()]);
    // Two attempts answered 421: the first member's list kept none of the cached members,
    // so it waited for a second node's word (a second 421 or a `get_swarm`); the retry on
    // the new swarm succeeded at once.
    let states: Vec<OutboxState> = w.parties[0].outbox_events.iter().map(|(_, s)| *s).collect();
    use OutboxState::{Pending, Sending, Sent};
    assert_eq!(
        states,
        vec![Pending, Sending, Pending, Sending, Pending, Sending, Sent]
    );
    let cached = w.parties[0].client.cached_swarm(&bob).unwrap().to_vec();
    assert_eq!(cached, right, "421 body replaced the cached swarm");
    assert_eq!(w.parties[0].snapshot.swarms.get(&bob.into()), Some(&right));
}

#[test]
fn clock_skew_of_one_hour_works_through_network_offset() {
    // Bob's clock is an hour fast, Alice's five minutes slow.
    let mut w = World::new(11, [-300_000, 3_600_000]);
    // Composed before any node told Bob the time.
    w.send(1, 0, "early");
    w.connect();
    assert!(w.run_until(10_000, |w| !w.bodies(0).is_empty()));
    let early = w.parties[0].received.remove(0);
    assert_eq!(early.body, "early");
    assert!(
        early.sent_ms.abs_diff(w.net.now) < 60_000,
        "stamped with network time"
    );
    let a = numbered("skewed a", 5);
    let b = numbered("skewed b", 5);
    for i in 0..5 {
        w.send(0, 1, &a[i]);
        w.send(1, 0, &b[i]);
    }
    assert!(w.run_until(20_000, |w| w.bodies(1).len() >= 5 && w.bodies(0).len() >= 5));
    assert_eq!(w.bodies(1), a);
    assert_eq!(w.bodies(0), b);
    let off = w.parties[1].client.time_offset_ms();
    assert!(
        (off + 3_600_000).abs() <= 2 * LATENCY_MS as i64,
        "offset {off}"
    );
    // Sent timestamps are network time, not Bob's fast clock.
    let m = &w.parties[0].received[0];
    assert!(m.sent_ms.abs_diff(w.net.now) < 60_000);
    assert!(m.received_ms.abs_diff(w.net.now) < 60_000);
    assert_eq!(m.order_ms, m.sent_ms);
    assert_eq!(w.parties[1].clock_errors, 0);
}

#[test]
fn malformed_envelope_is_dropped_without_affecting_others() {
    let mut w = World::new(12, [0, 0]);
    w.connect();
    let bob_hex = w.parties[1].id().to_string();
    w.send(0, 1, "before");
    assert!(w.run_until(10_000, |w| w.bodies(1).len() == 1));
    let expiry = w.net.now + 3_600_000;
    w.net
        .put(&bob_hex, b"\x0a\x03not an envelope".to_vec(), expiry);
    w.net.put(&bob_hex, vec![0xff; 300], expiry);
    w.send(0, 1, "after");
    assert!(w.run_until(10_000, |w| w.bodies(1).len() == 2));
    w.run_until(3_000, |_| false);
    assert_eq!(w.bodies(1), vec!["before".to_string(), "after".to_string()]);
    assert_eq!(w.parties[1].client.stats().malformed_dropped, 2);
}

#[test]
fn duplicate_deliveries_are_shown_once() {
    let mut w = World::new(13, [0, 0]);
    w.connect();
    // Bob polls every member of his swarm in turn; each returns the same stored message.
    // And the first two store acks are lost, so Alice re-sends (new ciphertext, same id).
    w.net.lose_store_acks = 2;
    let a = numbered("dup", 5);
    for m in &a {
        w.send(0, 1, m);
    }
    assert!(w.run_until(30_000, |w| w.bodies(1).len() >= 5 && w.all_sent(0)));
    w.run_until(5_000, |_| false);
    assert_eq!(w.bodies(1), a);
    let stats = w.parties[1].client.stats();
    assert!(stats.duplicates_dropped >= 2, "{stats:?}");
    assert_eq!(stats.received, 5);
    // Replays of already seen stored data are dropped by hash.
    let bob_hex = w.parties[1].id().to_string();
    let stored: Vec<Vec<u8>> = w
        .net
        .db
        .values()
        .flatten()
        .filter(|m| m.owner == bob_hex)
        .map(|m| m.data.clone())
        .collect();
    let expiry = w.net.now + 3_600_000;
    for d in stored.iter().take(3) {
        // Nodes serve the same stored message again after the last hash (re-inserted).
        for list in w.net.db.values_mut() {
            list.retain(|m| &m.data != d);
        }
        w.net.put(&bob_hex, d.clone(), expiry);
    }
    w.run_until(5_000, |_| false);
    assert_eq!(w.bodies(1), a);
}

#[test]
fn outbox_survives_snapshot_and_restore() {
    let mut w = World::new(14, [0, 0]);
    // The whole network is unreachable: nothing can be sent.
    for n in &mut w.net.nodes {
        n.online = false;
    }
    let a = numbered("queued", 5);
    for m in &a {
        w.send(0, 1, m);
    }
    w.run_until(5_000, |_| false);
    assert_eq!(w.parties[0].client.outbox().len(), 5);
    assert_eq!(w.parties[0].snapshot.outbox.len(), 5);
    assert_ne!(w.parties[0].client.path_status(), PathStatus::Connected);
    // Tab closed; the network comes back; the tab is reopened from the snapshot.
    for n in &mut w.net.nodes {
        n.online = true;
    }
    w.queue.clear();
    // The worker stores the snapshot as JSON.
    let json = serde_json::to_string(&w.parties[0].snapshot).unwrap();
    let back: ClientSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.parties[0].snapshot);
    w.parties[0].restart();
    assert_eq!(w.parties[0].client.outbox().len(), 5);
    assert!(w.run_until(30_000, |w| w.bodies(1).len() >= 5 && w.all_sent(0)));
    w.run_until(3_000, |_| false);
    assert_eq!(w.bodies(1), a);
    assert!(w.parties[0].snapshot.outbox.is_empty());

    // A message whose store succeeded but whose ack was lost, then restart: it is sent again
    // and shown once (same sender timestamp).
    w.net.lose_store_acks = 1;
    w.send(0, 1, "ack lost");
    w.run_until(LATENCY_MS * 3, |_| false);
    w.queue.clear();
    w.parties[0].restart();
    assert!(w.run_until(30_000, |w| w.all_sent(0) && w.bodies(1).len() >= 6));
    w.run_until(3_000, |_| false);
    assert_eq!(w.bodies(1).iter().filter(|b| *b == "ack lost").count(), 1);
}

#[test]
fn path_failures_rebuild_paths_and_drop_nodes() {
    let mut w = World::new(15, [0, 0]);
    w.connect();
    let paths = w.parties[0].client.paths();
    // A guard starts failing every request (HTTP 503 before peeling).
    let guard = paths[0][0].clone();
    let gi = w.net.by_ed(&guard.ed25519).unwrap();
    w.net.nodes[gi].fail_status = Some(503);
    // A relay of the other path disappears from the network ("Next node not found").
    let relay = paths[1][1].clone();
    let ri = w.net.by_ed(&relay.ed25519).unwrap();
    w.net.nodes[ri].listed = false;
    let a = numbered("through failures", 10);
    for m in &a {
        w.send(0, 1, m);
    }
    let p = &mut w.parties[0];
    p.client
        .handle_command(
            ClientCommand::SetPollingMode(PollingMode::Foreground),
            &p.identity,
            w.net.now,
            &mut p.rng,
        )
        .unwrap();
    assert!(w.run_until(60_000, |w| w.bodies(1).len() >= 10 && w.all_sent(0)));
    assert_eq!(w.bodies(1), a);
    let client = &w.parties[0].client;
    let pool: Vec<[u8; 32]> = client.pool().iter().map(|n| n.ed25519).collect();
    assert!(
        !pool.contains(&relay.ed25519),
        "unknown relay dropped at once"
    );
    assert!(
        !pool.contains(&guard.ed25519),
        "failing guard dropped after 3 failures"
    );
    for p in client.paths() {
        assert!(
            p.iter()
                .all(|n| n.ed25519 != guard.ed25519 && n.ed25519 != relay.ed25519)
        );
    }
    assert_eq!(client.paths().len(), 2, "paths rebuilt");
    assert_eq!(client.path_status(), PathStatus::Connected);
}

#[test]
fn polling_cadence_follows_mode() {
    let mut w = World::new(16, [0, 0]);
    w.connect();
    assert!(w.run_until(5_000, |w| {
        w.parties[1]
            .client
            .cached_swarm(&w.parties[1].id())
            .is_some()
    }));
    w.run_until(2_000, |_| false);
    let before = w.net.retrieves;
    w.run_until(10_000, |_| false);
    let fg = w.net.retrieves - before;
    for p in 0..2 {
        let party = &mut w.parties[p];
        let local = party.local(w.net.now);
        party
            .client
            .handle_command(
                ClientCommand::SetPollingMode(PollingMode::Background),
                &party.identity,
                local,
                &mut party.rng,
            )
            .unwrap();
    }
    w.run_until(2_000, |_| false);
    let before = w.net.retrieves;
    w.run_until(30_000, |_| false);
    let bg = w.net.retrieves - before;
    // Two clients: ~10 polls each per 10 s in the foreground, ~3 each per 30 s in background.
    assert!((16..=24).contains(&fg), "foreground polls {fg}");
    assert!((4..=8).contains(&bg), "background polls {bg}");
}

#[test]
fn malformed_onion_replies_are_survived_and_messages_delivered() {
    let mut w = World::new(17, [0, 0]);
    w.connect();
    let faults = [
        Fault::Empty,
        Fault::Garbage,
        Fault::Truncated,
        Fault::FlippedByte,
        Fault::BadResultWrapper,
        Fault::InvalidCiphertext400,
        Fault::Timeout,
        Fault::Reset,
        Fault::WrongStatus,
    ];
    // Every fault type three times, hitting whatever requests come next (stores, polls,
    // swarm lookups) on either client.
    for _ in 0..3 {
        w.net.faults.extend(faults);
    }
    let a = numbered("under fire", 8);
    let b = numbered("return fire", 8);
    for i in 0..8 {
        w.send(0, 1, &a[i]);
        w.send(1, 0, &b[i]);
    }
    assert!(w.run_until(120_000, |w| w.bodies(1).len() >= 8
        && w.bodies(0).len() >= 8
        && w.all_sent(0)
        && w.all_sent(1)));
    w.run_until(3_000, |_| false);
    assert!(w.net.faults.is_empty(), "all faults were injected");
    assert_eq!(w.bodies(1), a);
    assert_eq!(w.bodies(0), b);
    for p in &w.parties {
        assert_eq!(p.client.path_status(), PathStatus::Connected);
        assert_eq!(p.client.paths().len(), 2);
    }
}

#[test]
fn pool_is_refreshed_through_a_path() {
    let mut w = World::new(18, [0, 0]);
    let config = ClientConfig {
        seed_urls: vec![format!("http://{SEED_HOST}:1")],
        node_scheme: "http".into(),
        pool_refresh_ms: 5_000,
        ..ClientConfig::default()
    };
    let newcomer = w.net.nodes.len() - 1;
    w.net.nodes[newcomer].listed = false;
    w.parties[0].client = Client::new(
        ClientIdentity::from_identity(&w.parties[0].identity),
        config,
        None,
    );
    w.connect();
    let key = w.net.nodes[newcomer].node.ed25519;
    assert!(!w.parties[0].client.pool().iter().any(|n| n.ed25519 == key));
    w.net.nodes[newcomer].listed = true;
    assert!(w.run_until(20_000, |w| {
        w.parties[0].client.pool().iter().any(|n| n.ed25519 == key)
    }));
    assert!(
        w.parties[0].snapshot.pool.iter().any(|n| n.ed25519 == key),
        "pool persisted"
    );
}

#[test]
fn api_misuse_is_a_typed_error() {
    let mut p = Party::new(3, "Carol", 0, None);
    let other = Identity::from_seed(&Seed::from_entropy(&[4; 32]).unwrap());
    let to = other.account_id();
    let send = |body: &str, id: &str| ClientCommand::SendText {
        to,
        body: body.into(),
        local_id: id.into(),
    };
    assert_eq!(
        p.client
            .handle_command(send("", "x"), &p.identity, START_MS, &mut p.rng),
        Err(umbra_protocol::client::ClientError::EmptyMessage)
    );
    p.client
        .handle_command(send("hi", "x"), &p.identity, START_MS, &mut p.rng)
        .unwrap();
    assert_eq!(
        p.client
            .handle_command(send("hi", "x"), &p.identity, START_MS, &mut p.rng),
        Err(umbra_protocol::client::ClientError::DuplicateLocalId)
    );
    assert_eq!(
        p.client
            .handle_command(send("hi", "y"), &other, START_MS, &mut p.rng),
        Err(umbra_protocol::client::ClientError::WrongIdentity)
    );
    assert_eq!(
        p.client.handle_command(
            ClientCommand::Retry {
                local_id: "nope".into()
            },
            &p.identity,
            START_MS,
            &mut p.rng
        ),
        Err(umbra_protocol::client::ClientError::UnknownLocalId)
    );
    // The accepted message is persisted before anything is sent.
    let first = p.client.poll_action();
    assert!(matches!(first, Some(Action::Persist(_))), "{first:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10))]

    /// Arbitrary answers to onion requests never panic the client; it keeps going and
    /// delivers once the network behaves again.
    #[test]
    fn arbitrary_replies_never_panic(
        replies in proptest::collection::vec(
            (proptest::prelude::any::<u16>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
            1..6,
        )
    ) {
        let mut w = World::new(19, [0, 0]);
        w.connect();
        w.send(0, 1, "x");
        let p = &mut w.parties[0];
        let mut pending = Vec::new();
        while let Some(a) = p.client.poll_action() {
            if let Action::Http(req) = a {
                pending.push(req.id);
            }
        }
        for (id, (status, body)) in pending.into_iter().zip(replies.iter().cycle()) {
            let local = p.local(w.net.now);
            p.client.handle_response(
                id,
                Ok(HttpResponse { status: *status, body: body.clone() }),
                &p.identity,
                local,
                &mut p.rng,
            );
        }
        proptest::prop_assert!(w.run_until(60_000, |w| w.bodies(1).len() == 1 && w.all_sent(0)));
    }
}

#[test]
fn unanswered_requests_time_out_inside_the_client() {
    let mut w = World::new(20, [0, 0]);
    w.connect();
    w.send(0, 1, "lost in transit");
    // The driver loses every answer to Alice's outstanding requests.
    w.queue.retain(|(_, party, ..)| *party != 0);
    assert!(w.run_until(60_000, |w| w.bodies(1).len() == 1 && w.all_sent(0)));
    assert_eq!(w.bodies(1), vec!["lost in transit".to_string()]);
}

#[test]
fn store_is_sent_only_after_a_signed_acknowledgement() {
    let mut w = World::new(21, [0, 0]);
    w.connect();
    w.net.forge_store_acks = true;
    w.send(0, 1, "needs a real ack");
    w.run_until(5_000, |_| false);
    // The node stored it (Bob even sees it) but no acknowledgement verifies: not "Sent".
    assert!(!w.all_sent(0));
    assert!(
        !w.parties[0]
            .outbox_events
            .iter()
            .any(|(_, s)| *s == OutboxState::Sent)
    );
    w.net.forge_store_acks = false;
    assert!(w.run_until(60_000, |w| w.all_sent(0)));
    assert_eq!(
        w.bodies(1),
        vec!["needs a real ack".to_string()],
        "resend shown once"
    );
}

#[test]
fn sync_copies_reach_the_other_device_only() {
    let mut w = World::new(22, [0, 0]);
    // Alice's second device: same account, its own client.
    w.parties.push(Party::new(1, "Alice", 0, None));
    assert!(w.run_until(10_000, |w| {
        w.parties
            .iter()
            .all(|p| p.client.path_status() == PathStatus::Connected)
    }));
    let bob = w.parties[1].id();
    w.send(0, 1, "from device one");
    w.send(1, 0, "to both devices");
    assert!(w.run_until(20_000, |w| w.bodies(2).len() >= 2
        && !w.bodies(1).is_empty()
        && !w.bodies(0).is_empty()
        && w.all_sent(0)));
    w.run_until(3_000, |_| false);
    assert_eq!(w.bodies(1), vec!["from device one".to_string()]);
    assert_eq!(
        w.bodies(0),
        vec!["to both devices".to_string()],
        "no echo of own copy"
    );
    let second = &w.parties[2].received;
    assert_eq!(second.len(), 2);
    let copy = second.iter().find(|m| m.body == "from device one").unwrap();
    assert_eq!(copy.from, w.parties[0].id());
    assert_eq!(copy.sync_target, Some(bob));
    let incoming = second.iter().find(|m| m.body == "to both devices").unwrap();
    assert_eq!(incoming.sync_target, None);
}

#[test]
fn sender_clock_is_clamped_and_old_replays_rejected() {
    use umbra_protocol::message::{
        encode_for_1o1,
        proto::{Content, DataMessage},
    };
    let mut w = World::new(23, [0, 0]);
    w.connect();
    let bob = w.parties[1].id();
    let content = |text: &str| Content {
        data_message: Some(DataMessage {
            body: Some(text.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let day = 24 * 3600 * 1000;
    let now = w.net.now;
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let alice = &w.parties[0].identity;
    let future = encode_for_1o1(
        alice,
        &bob,
        &content("from the future"),
        now + day,
        &mut rng,
    )
    .unwrap();
    let ancient =
        encode_for_1o1(alice, &bob, &content("ancient"), now - 15 * day, &mut rng).unwrap();
    w.net.put(&bob.to_string(), ancient, now + 3_600_000);
    w.net.put(&bob.to_string(), future, now + 3_600_000);
    assert!(w.run_until(10_000, |w| !w.bodies(1).is_empty()));
    w.run_until(2_000, |_| false);
    assert_eq!(w.bodies(1), vec!["from the future".to_string()]);
    let m = &w.parties[1].received[0];
    assert_eq!(m.sent_ms, now + day);
    assert_eq!(
        m.order_ms,
        m.received_ms + 60_000,
        "future timestamp clamped"
    );
    assert_eq!(w.parties[1].client.stats().stale_dropped, 1);
}

#[test]
fn unreachable_seed_shows_failing_then_recovers() {
    let mut w = World::new(24, [0, 0]);
    w.net.seed_down = true;
    w.run_until(5_000, |_| false);
    let alice = &w.parties[0];
    assert_eq!(alice.client.path_status(), PathStatus::Failing);
    assert!(alice.client.pool().is_empty());
    assert!(
        alice.client.next_timeout().is_some(),
        "keeps retrying the seed"
    );
    w.net.seed_down = false;
    w.connect();
    assert_eq!(
        w.parties[0].statuses,
        vec![PathStatus::Failing, PathStatus::Connected]
    );
}

// ----- every message kind (issue 5) ---------------------------------------------------------

use umbra_protocol::message::{
    DisappearingSetting, Event, MessageId, QuoteRef, ReactionChange, SendPrefs, TextDraft,
    compose_reaction, compose_text, compose_typing, compose_unsend,
};

impl World {
    /// Sends a composed message from party `from` to account `to` through `ClientCommand::Send`.
    fn send_composed(
        &mut self,
        from: usize,
        to: AccountId,
        outgoing: umbra_protocol::message::Outgoing,
        local_id: &str,
        sync_copy: bool,
        ephemeral: bool,
    ) {
        let now = self.net.now;
        let p = &mut self.parties[from];
        let local = p.local(now);
        p.client
            .handle_command(
                ClientCommand::Send {
                    to,
                    outgoing,
                    local_id: local_id.into(),
                    sync_copy,
                    ephemeral,
                },
                &p.identity,
                local,
                &mut p.rng,
            )
            .unwrap();
        self.drain();
    }

    fn command(
        &mut self,
        p: usize,
        cmd: ClientCommand,
    ) -> Result<(), umbra_protocol::client::ClientError> {
        let now = self.net.now;
        let party = &mut self.parties[p];
        let local = party.local(now);
        let r = party
            .client
            .handle_command(cmd, &party.identity, local, &mut party.rng);
        self.drain();
        r
    }

    /// Every copy of `hash` in the fake network: (node index, expiry).
    fn copies(&self, hash: &str) -> Vec<u64> {
        self.net
            .db
            .values()
            .flat_map(|l| l.iter().filter(|m| m.hash == hash).map(|m| m.expiry))
            .collect()
    }
}

fn text_draft(body: &str, disappearing: DisappearingSetting) -> TextDraft {
    TextDraft {
        body: body.into(),
        quote: None,
        profile: None,
        disappearing,
        attachments: Vec::new(),
    }
}

#[test]
fn any_composed_kind_travels_and_is_classified() {
    let mut w = World::new(31, [0, 0]);
    w.connect();
    let (alice, bob) = (w.parties[0].id(), w.parties[1].id());
    let t0 = w.net.now;
    let first = compose_text(&text_draft("first", DisappearingSetting::Off), t0).unwrap();
    w.send_composed(0, bob, first, "1", true, false);
    assert!(w.run_until(20_000, |w| !w.parties[1].received.is_empty()));
    let target = MessageId {
        author: alice,
        sent_timestamp_ms: t0,
    };
    // Bob replies quoting it, then reacts to it.
    let mut reply = text_draft("second", DisappearingSetting::Off);
    reply.quote = Some(QuoteRef {
        target,
        text: Some("first".into()),
    });
    let t1 = w.net.now;
    w.send_composed(
        1,
        alice,
        compose_text(&reply, t1).unwrap(),
        "r",
        true,
        false,
    );
    let t2 = w.net.now + 1;
    let reaction = compose_reaction(
        &target,
        "👍",
        ReactionChange::Add,
        None,
        DisappearingSetting::Off,
        t2,
    )
    .unwrap();
    w.send_composed(1, alice, reaction, "react", true, false);
    assert!(w.run_until(30_000, |w| w.parties[0].received.len() >= 2
        && w.all_sent(1)));
    w.run_until(2_000, |_| false);
    let got = &w.parties[0].received;
    assert_eq!(got.len(), 2, "{got:?}");
    match &got[0].event {
        Event::Text { body, quote, .. } => {
            assert_eq!(body, "second");
            assert_eq!(quote.as_ref().map(|q| q.target), Some(target));
        }
        other => panic!("expected a text, got {other:?}"),
    }
    assert_eq!(got[0].body, "second");
    match &got[1].event {
        Event::Reaction {
            target: t,
            emoji,
            change,
            ..
        } => {
            assert_eq!(
                (*t, emoji.as_str(), *change),
                (target, "👍", ReactionChange::Add)
            );
        }
        other => panic!("expected a reaction, got {other:?}"),
    }
    assert!(got[1].body.is_empty());
    assert!(got.iter().all(|m| m.expiration_ms.is_some()));
    // Bob's client reported where the sync copies of both live in his own swarm.
    let bob_hex = bob.to_string();
    let synced: Vec<String> = w.parties[1]
        .sync_copies
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(synced, ["r", "react"]);
    for (_, hash) in &w.parties[1].sync_copies {
        assert!(
            w.net
                .store_log
                .iter()
                .any(|(owner, h, _)| owner == &bob_hex && h == hash),
            "the sync copy is in Bob's own swarm"
        );
    }
}

#[test]
fn disappearing_ttls_for_message_and_sync_copy() {
    let mut w = World::new(32, [0, 0]);
    w.connect();
    let (alice, bob) = (w.parties[0].id(), w.parties[1].id());
    let t0 = w.net.now;
    let after_send = compose_text(
        &text_draft("gone soon", DisappearingSetting::AfterSend(43_200)),
        t0,
    )
    .unwrap();
    w.send_composed(0, bob, after_send, "s", true, false);
    let after_read = compose_text(
        &text_draft("gone once read", DisappearingSetting::AfterRead(3600)),
        t0 + 1,
    )
    .unwrap();
    w.send_composed(0, bob, after_read, "r", true, false);
    // M8: a 4-week after-read timer the peer chose (Session adopts any received timer, so
    // the conversation follows it): the sender's own copy counts as read at sending, but is
    // never stored for longer than namespace 0 allows (14 days).
    let four_weeks = umbra_protocol::convo::with_setting(
        compose_text(
            &text_draft("long", DisappearingSetting::AfterRead(3600)),
            t0 + 2,
        )
        .unwrap(),
        DisappearingSetting::AfterRead(2_419_200),
    );
    w.send_composed(0, bob, four_weeks, "r4", true, false);
    assert!(w.run_until(30_000, |w| w.all_sent(0)
        && w.parties[0].sync_copies.len() == 3));
    let ttl_in = |owner: &AccountId, hash: &str| {
        w.net
            .store_log
            .iter()
            .find(|(o, h, _)| o == &owner.to_string() && h == hash)
            .map(|(_, _, ttl)| *ttl)
    };
    let sync: BTreeMap<String, String> = w.parties[0]
        .sync_copies
        .iter()
        .map(|(id, hash)| (id.to_string(), hash.clone()))
        .collect();
    let max = umbra_protocol::rpc::Namespace::DEFAULT.max_ttl_ms();
    assert_eq!(max, 14 * 24 * 3600 * 1000);
    // After send: both copies live 12 h.
    assert_eq!(ttl_in(&alice, &sync["s"]), Some(43_200_000));
    // After read: the recipient's copy lives the default 14 days until read; the sender's own
    // copy counts as read at sending.
    assert_eq!(ttl_in(&alice, &sync["r"]), Some(3_600_000));
    assert_eq!(ttl_in(&alice, &sync["r4"]), Some(max));
    let bob_ttls: Vec<u64> = w
        .net
        .store_log
        .iter()
        .filter(|(o, _, _)| o == &bob.to_string())
        .map(|(_, _, t)| *t)
        .collect();
    assert_eq!(bob_ttls, vec![43_200_000, max, max]);
    assert!(w.net.store_log.iter().all(|(_, _, ttl)| *ttl <= max));
}

#[test]
fn typing_indicators_are_ephemeral() {
    let mut w = World::new(33, [0, 0]);
    w.connect();
    let bob = w.parties[1].id();
    let prefs = SendPrefs {
        read_receipts: false,
        typing_indicators: true,
    };
    let typing = compose_typing(&prefs, true, w.net.now).unwrap();
    w.send_composed(0, bob, typing, "typing/1", false, true);
    assert!(w.run_until(20_000, |w| !w.parties[1].received.is_empty()));
    assert_eq!(
        w.parties[1].received[0].event,
        Event::Typing { started: true }
    );
    assert!(
        w.parties[0].outbox_events.is_empty(),
        "no events for typing"
    );
    assert!(w.parties[0].snapshot.outbox.is_empty(), "never persisted");
    // With the network down, a typing indicator is dropped once its 20 s TTL has passed.
    for n in &mut w.net.nodes {
        n.online = false;
    }
    let typing = compose_typing(&prefs, false, w.net.now).unwrap();
    w.send_composed(0, bob, typing, "typing/2", false, true);
    assert_eq!(w.parties[0].client.outbox().len(), 1);
    w.run_until(25_000, |_| false);
    assert!(w.parties[0].client.outbox().is_empty());
    assert!(w.parties[0].snapshot.outbox.is_empty());
}

#[test]
fn expire_and_delete_own_messages_are_signed_durable_and_retried() {
    let mut w = World::new(34, [0, 0]);
    w.connect();
    let bob = w.parties[1].id();
    w.send(0, 1, "one");
    w.send(0, 1, "two");
    assert!(w.run_until(20_000, |w| w.parties[1].received.len() >= 2));
    let hashes: Vec<String> = w.parties[1]
        .received
        .iter()
        .map(|m| m.hash.clone())
        .collect();
    let far = w.copies(&hashes[0]);
    assert!(!far.is_empty());
    // Bob read "one": its copy in his swarm now expires in 5 minutes.
    let expiry = w.net.now + 300_000;
    w.net.fail_own_ops = 1;
    w.command(
        1,
        ClientCommand::ExpireOwn {
            hashes: vec![hashes[0].clone()],
            expiry_ms: expiry,
        },
    )
    .unwrap();
    assert_eq!(
        w.parties[1].snapshot.own_ops.len(),
        1,
        "durable before sending"
    );
    assert!(w.run_until(20_000, |w| w.parties[1].client.own_ops().is_empty()));
    assert!(w.parties[1].snapshot.own_ops.is_empty());
    assert!(w.copies(&hashes[0]).iter().all(|&e| e == expiry));
    assert!(
        w.copies(&hashes[1]).iter().all(|&e| e > expiry),
        "others untouched"
    );
    // A delete queued while the network is down survives a restart and is carried out.
    for n in &mut w.net.nodes {
        n.online = false;
    }
    w.command(
        1,
        ClientCommand::DeleteOwn {
            hashes: vec![hashes[1].clone()],
        },
    )
    .unwrap();
    w.run_until(3_000, |_| false);
    for n in &mut w.net.nodes {
        n.online = true;
    }
    w.queue.clear();
    let json = serde_json::to_string(&w.parties[1].snapshot).unwrap();
    w.parties[1].snapshot = serde_json::from_str(&json).unwrap();
    w.parties[1].restart();
    assert_eq!(w.parties[1].client.own_ops().len(), 1);
    assert!(w.run_until(30_000, |w| w.parties[1].client.own_ops().is_empty()));
    assert!(w.copies(&hashes[1]).is_empty(), "deleted from every member");
    let ops: Vec<(&str, &str)> = w
        .net
        .own_ops_log
        .iter()
        .map(|(m, o, _)| (m.as_str(), o.as_str()))
        .collect();
    let bob_hex = bob.to_string();
    assert_eq!(
        ops,
        [("expire", bob_hex.as_str()), ("delete", bob_hex.as_str())]
    );
    // Nothing to do is an API error, not a request.
    assert!(
        w.command(1, ClientCommand::DeleteOwn { hashes: vec![] })
            .is_err()
    );
}

#[test]
fn unsend_of_anothers_message_is_dropped_as_malformed() {
    let mut w = World::new(35, [0, 0]);
    w.connect();
    let (alice, bob) = (w.parties[0].id(), w.parties[1].id());
    // Alice forges an unsend of Bob's message: compose refuses, so build the Content by hand.
    let mut forged = compose_unsend(
        &alice,
        &MessageId {
            author: alice,
            sent_timestamp_ms: 5,
        },
        w.net.now,
    )
    .unwrap();
    if let Some(u) = forged.content.unsend_request.as_mut() {
        u.author = bob.to_string();
    }
    w.send_composed(0, bob, forged, "forged", false, false);
    let genuine = compose_unsend(
        &alice,
        &MessageId {
            author: alice,
            sent_timestamp_ms: 6,
        },
        w.net.now + 1,
    )
    .unwrap();
    w.send_composed(0, bob, genuine, "genuine", false, false);
    assert!(w.run_until(20_000, |w| !w.parties[1].received.is_empty()
        && w.all_sent(0)));
    w.run_until(2_000, |_| false);
    let got = &w.parties[1].received;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].event,
        Event::Unsend {
            target: MessageId {
                author: alice,
                sent_timestamp_ms: 6
            }
        }
    );
    assert_eq!(w.parties[1].client.stats().malformed_dropped, 1);
}

#[test]
fn snapshot_from_before_message_kinds_still_loads() {
    let mut w = World::new(36, [0, 0]);
    for n in &mut w.net.nodes {
        n.online = false;
    }
    w.send(0, 1, "old layout");
    let mut json: Value = serde_json::to_value(&w.parties[0].snapshot).unwrap();
    // Strip every field added for message kinds, as an older worker stored it.
    json.as_object_mut().unwrap().remove("own_ops");
    for e in json["outbox"].as_array_mut().unwrap() {
        let e = e.as_object_mut().unwrap();
        for k in ["content", "ttl_ms", "sync_copy", "ephemeral"] {
            assert!(e.remove(k).is_some(), "{k} is serialized");
        }
    }
    let old: ClientSnapshot = serde_json::from_value(json).unwrap();
    for n in &mut w.net.nodes {
        n.online = true;
    }
    w.parties[0].snapshot = old;
    w.queue.clear();
    w.parties[0].restart();
    assert!(w.run_until(30_000, |w| !w.parties[1].received.is_empty()
        && w.all_sent(0)));
    assert_eq!(w.bodies(1), ["old layout"]);
}

impl World {
    /// Adds a v4 HTTP server at `host:443` (failing its first `fail_next` requests) and
    /// returns its target.
    fn add_server(&mut self, host: &str, fail_next: u32) -> ServerTarget {
        let secret = StaticSecret::random_from_rng(&mut self.net.rng);
        let public = PublicKey::from(&secret).to_bytes();
        self.net.servers.insert(
            (host.to_owned(), 443),
            FakeServer {
                secret,
                public,
                fail_next,
                log: Vec::new(),
            },
        );
        ServerTarget {
            host: host.into(),
            port: 443,
            scheme: HttpProtocol::Https,
            x25519: public,
        }
    }

    fn server_request(&mut self, p: usize, tag: u64, server: ServerTarget, path: &str) {
        let now = self.net.now;
        let party = &mut self.parties[p];
        let local = party.local(now);
        party
            .client
            .handle_command(
                ClientCommand::ServerRequest {
                    tag: ServerTag(tag),
                    server,
                    method: "POST".into(),
                    path: path.into(),
                    headers: BTreeMap::from([("x-test".to_string(), "yes".to_string())]),
                    body: Some(b"hello".to_vec()),
                },
                &party.identity,
                local,
                &mut party.rng,
            )
            .unwrap();
        self.drain();
    }

    fn reply(&self, p: usize, tag: u64) -> Option<&Result<ServerReply, ServerRequestError>> {
        self.parties[p]
            .server_replies
            .iter()
            .find(|(t, _)| *t == ServerTag(tag))
            .map(|(_, r)| r)
    }
}

#[test]
fn server_request_is_answered_and_retried_over_another_path() {
    let mut w = World::new(40, [0, 0]);
    w.connect();
    let target = w.add_server("files.example", 1);
    w.server_request(0, 7, target, "/file/1");
    assert!(w.run_until(20_000, |w| w.reply(0, 7).is_some()));
    let reply = w.reply(0, 7).unwrap().clone().unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body, b"POST /file/1 yes 5");
    assert_eq!(
        reply.headers.get("content-type").map(String::as_str),
        Some("text/plain")
    );
    // The first attempt failed at the server; the retry went through another path.
    let log = &w.net.servers[&("files.example".to_string(), 443)].log;
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].1, log[1].1), (false, true));
    assert_ne!(log[0].0, log[1].0, "the retry used another guard");
    // Answered once.
    assert_eq!(w.parties[0].server_replies.len(), 1);
}

#[test]
fn server_request_errors_are_typed() {
    let mut w = World::new(41, [0, 0]);
    w.connect();
    // A server that never answers: given up after the configured attempts.
    let down = w.add_server("down.example", 100);
    w.server_request(0, 1, down.clone(), "/x");
    // A host the last hop may not proxy to: refused at once, not retried.
    let unknown = ServerTarget {
        host: "nowhere.example".into(),
        ..down.clone()
    };
    w.server_request(0, 2, unknown, "/x");
    // Bad input: answered at once, nothing sent.
    let empty = ServerTarget {
        host: String::new(),
        ..down.clone()
    };
    w.server_request(0, 3, empty, "/x");
    w.server_request(0, 4, down.clone(), "no-slash");
    assert_eq!(w.reply(0, 3), Some(&Err(ServerRequestError::Invalid)));
    assert_eq!(w.reply(0, 4), Some(&Err(ServerRequestError::Invalid)));
    // A tag under way cannot be reused.
    let p = &mut w.parties[0];
    let dup = p.client.handle_command(
        ClientCommand::ServerRequest {
            tag: ServerTag(1),
            server: down,
            method: "GET".into(),
            path: "/".into(),
            headers: BTreeMap::new(),
            body: None,
        },
        &p.identity,
        START_MS,
        &mut p.rng,
    );
    assert_eq!(dup, Err(umbra_protocol::client::ClientError::DuplicateTag));
    assert!(w.run_until(30_000, |w| w.reply(0, 1).is_some()
        && w.reply(0, 2).is_some()));
    assert_eq!(
        w.reply(0, 1),
        Some(&Err(ServerRequestError::Unreachable {
            attempts: 3,
            last_status: Some(502)
        }))
    );
    assert_eq!(
        w.reply(0, 2),
        Some(&Err(ServerRequestError::ProxyRefused { status: 400 }))
    );
    assert_eq!(
        w.net.servers[&("down.example".to_string(), 443)].log.len(),
        3
    );
    // Messaging still works afterwards.
    w.send(0, 1, "still here");
    assert!(w.run_until(30_000, |w| w.bodies(1) == ["still here"]));
}

#[test]
fn another_namespace_is_one_subscription() {
    let mut w = World::new(42, [0, 0]);
    w.connect();
    let alice = w.parties[0].id();
    let ns = Namespace(2);
    let expiry = w.net.now + 3_600_000;
    let hash = w
        .net
        .put_ns(&alice.to_string(), ns, b"config blob".to_vec(), expiry);
    let sub = Subscription {
        swarm: alice.into(),
        namespace: ns,
        auth: SubscriptionAuth::Account,
        interval_ms: Some(5_000),
    };
    let now = w.net.now;
    let p = &mut w.parties[0];
    let local = p.local(now);
    p.client
        .handle_command(
            ClientCommand::Subscribe(sub),
            &p.identity,
            local,
            &mut p.rng,
        )
        .unwrap();
    assert_eq!(p.client.subscriptions().len(), 2);
    assert!(w.run_until(20_000, |w| !w.parties[0].swarm_messages.is_empty()));
    let (got_ns, msg) = &w.parties[0].swarm_messages[0];
    assert_eq!(*got_ns, ns);
    assert_eq!(msg.data, b"config blob");
    assert_eq!(msg.hash.as_str(), hash);
    // Not mistaken for an inbox message, and not delivered twice.
    assert!(w.parties[0].received.is_empty());
    assert_eq!(w.parties[0].client.stats().malformed_dropped, 0);
    w.run_until(20_000, |_| false);
    assert_eq!(w.parties[0].swarm_messages.len(), 1);
    // Its last hash is persisted apart from the default subscription's.
    let key = format!("{}/2", alice);
    assert!(
        w.parties[0].snapshot.subscription_last_hashes[&key]
            .values()
            .all(|h| h == &hash)
    );
    assert!(
        !w.parties[0]
            .snapshot
            .last_hashes
            .values()
            .any(|h| h == &hash)
    );
    // Unsubscribed: nothing more is polled there.
    let now = w.net.now;
    let p = &mut w.parties[0];
    let local = p.local(now);
    p.client
        .handle_command(
            ClientCommand::Unsubscribe {
                swarm: alice.into(),
                namespace: ns,
            },
            &p.identity,
            local,
            &mut p.rng,
        )
        .unwrap();
    assert_eq!(p.client.subscriptions().len(), 1);
    w.net
        .put_ns(&alice.to_string(), ns, b"later".to_vec(), expiry);
    w.run_until(20_000, |_| false);
    assert_eq!(w.parties[0].swarm_messages.len(), 1);
}

#[test]
fn snapshot_written_before_typed_ids_still_loads() {
    // As the previous client wrote it: string local ids, a `LastHash` map keyed by node hex.
    let to = Identity::from_seed(&Seed::from_entropy(&[5; 32]).unwrap()).account_id();
    let entry = |id: &str, sync: bool| {
        let mut e = json!({
            "local_id": id, "to": to.to_string(), "body": "hi", "sent_ms": 1_700_000_000_000u64,
            "state": "Failed", "attempts": 10, "next_attempt_ms": 0, "hash": null,
        });
        if sync {
            e["sync_target"] = json!(to.to_string());
        }
        e
    };
    let node = "ab".repeat(32);
    let snapshot = json!({
        "outbox": [entry("123", false), entry("123/sync", true), entry("react/1700000000001", false),
                   entry("typing/1700000000002", false), entry("hello#3", false)],
        "last_hashes": {node.clone(): "somehash"},
        "seen": [], "pool": [], "swarms": {},
    });
    let snap: ClientSnapshot = serde_json::from_value(snapshot).unwrap();
    let ids: Vec<LocalId> = snap.outbox.iter().map(|e| e.local_id.clone()).collect();
    assert_eq!(
        ids,
        [
            LocalId::Message(123),
            LocalId::Message(123).sync_copy(),
            LocalId::Control {
                kind: umbra_protocol::client::ControlKind::Reaction,
                sent: umbra_protocol::address::NetMs(1_700_000_000_001)
            },
            LocalId::Control {
                kind: umbra_protocol::client::ControlKind::Typing,
                sent: umbra_protocol::address::NetMs(1_700_000_000_002)
            },
            LocalId::Label("hello#3".into()),
        ]
    );
    // Written back in the same form.
    let again = serde_json::to_value(&snap).unwrap();
    assert_eq!(again["outbox"][1]["local_id"], "123/sync");
    assert_eq!(again["last_hashes"][&node], "somehash");
    // A change in the old form still applies to the default subscription.
    let mut snap = snap;
    let old: umbra_protocol::client::PersistChange =
        serde_json::from_value(json!({"LastHash": {"node": node, "hash": "newer"}})).unwrap();
    snap.apply(&old);
    assert_eq!(snap.last_hashes[&"ab".repeat(32)], "newer");
    // A client resumes from it, with the typed ids.
    let p = Party::new(6, "Dan", 0, Some(snap));
    assert_eq!(p.client.outbox().len(), 5);
    assert_eq!(p.client.outbox()[0].local_id, LocalId::Message(123));
}

#[test]
fn allocated_sent_timestamps_are_unique_and_never_come_back() {
    let mut w = World::new(43, [0, 0]);
    w.connect();
    let now = w.net.now;
    let p = &mut w.parties[1];
    let local = p.local(now);
    let a = p
        .client
        .allocate_sent_ms(umbra_protocol::address::LocalMs(local));
    let b = p
        .client
        .allocate_sent_ms(umbra_protocol::address::LocalMs(local));
    assert!(b > a);
    assert!(a.0.abs_diff(now) < 60_000, "network time");
    // A note to self with an allocated timestamp is not shown again when it comes back.
    let bob = w.parties[1].id();
    let note = compose_text(&text_draft("note", DisappearingSetting::Off), b.0).unwrap();
    w.send_composed(1, bob, note, "n", false, false);
    assert!(w.run_until(20_000, |w| w.all_sent(1)));
    w.run_until(5_000, |_| false);
    assert!(w.parties[1].received.is_empty());
}

// ----- hostile nodes (issue 10: items 1, 2, 3, 5, 18) -------------------------------------

impl World {
    /// Two parties on a fake network of `n_nodes` nodes in `n_swarms` swarms.
    fn sized(n_nodes: usize, n_swarms: usize, net_seed: u64) -> World {
        World {
            net: Net::new(n_nodes, n_swarms, net_seed),
            parties: vec![
                Party::new(1, "Alice", 0, None),
                Party::new(2, "Bob", 0, None),
            ],
            queue: VecDeque::new(),
        }
    }
}

/// Item 3: over many network seeds and pool sizes, no onion request passes a node twice
/// (a guard in its own path, or the destination inside the path it is sent over).
#[test]
fn onion_requests_never_pass_a_node_twice_across_seeds_and_pool_sizes() {
    let sizes = [3usize, 4, 5, 6, 7, 9, 12, 16, 23, 30];
    let mut served = 0;
    for seed in 0..60u64 {
        let n = sizes[seed as usize % sizes.len()];
        let mut w = World::sized(n, (n / 4).max(1), 1000 + seed);
        w.run_until(4_000, |w| {
            w.parties
                .iter()
                .all(|p| p.client.path_status() == PathStatus::Connected)
        });
        w.send(0, 1, "hello");
        w.send(1, 0, "hi");
        w.run_until(4_000, |_| false);
        for p in &w.parties {
            for path in p.client.paths() {
                let ids: BTreeSet<[u8; 32]> = path.iter().map(|n| n.ed25519).collect();
                assert_eq!(ids.len(), path.len(), "seed {seed}, {n} nodes: {path:?}");
            }
        }
        assert!(
            w.net.chain_violations.is_empty(),
            "seed {seed}, {n} nodes: {:?}",
            w.net.chain_violations
        );
        served += w.net.onion_served;
    }
    assert!(served > 500, "the check ran: {served} onion requests");
}

/// Item 2: the only requests that leave without an onion path (the seed request and guard
/// tests) never name the account: not its Session ID, its X25519 key or its Ed25519 key.
#[test]
fn direct_requests_never_name_the_account() {
    let mut w = World::new(61, [0, 0]);
    w.connect();
    w.send(0, 1, "one");
    w.send(1, 0, "two");
    assert!(w.run_until(20_000, |w| w.bodies(1).len() == 1 && w.bodies(0).len() == 1));
    // Break a guard so that new candidates are tested.
    let guard = w.parties[0].client.paths()[0][0].ed25519;
    let g = w.net.by_ed(&guard).unwrap();
    w.net.nodes[g].online = false;
    w.send(0, 1, "three");
    assert!(w.run_until(30_000, |w| w.bodies(1).len() == 2));
    w.run_until(5_000, |_| false);
    let guard_tests = w
        .net
        .direct_log
        .iter()
        .filter(|(url, _)| route_of(url) == "/storage_rpc/v1")
        .count();
    assert!(guard_tests >= 5, "guards were tested: {guard_tests}");
    for p in &w.parties {
        let ed = p.identity.ed25519_public();
        let id = p.id().to_string();
        let needles = [
            id.clone(),
            id[2..].to_owned(),
            hex::encode(ed),
            STANDARD.encode(ed),
            STANDARD.encode(hex::decode(&id[2..]).unwrap()),
        ];
        for (url, body) in &w.net.direct_log {
            let text = String::from_utf8_lossy(body).to_lowercase();
            for n in &needles {
                assert!(
                    !text.contains(&n.to_lowercase()),
                    "{url} carries the account: {text}"
                );
            }
        }
    }
}

/// `n` nodes no honest node knows (an attacker's own), as `service_node_states` entries.
fn attacker_nodes(n: u8) -> (Vec<Value>, BTreeSet<[u8; 32]>) {
    let mut keys = BTreeSet::new();
    let states = (0..n)
        .map(|k| {
            let secret = StaticSecret::from([k.wrapping_add(200); 32]);
            let x = PublicKey::from(&secret).to_bytes();
            let ed = SigningKey::from_bytes(&[k.wrapping_add(100); 32])
                .verifying_key()
                .to_bytes();
            keys.insert(ed);
            json!({"public_ip": format!("66.6.6.{k}"), "storage_port": 30000 + u16::from(k),
                   "pubkey_ed25519": hex::encode(ed), "pubkey_x25519": hex::encode(x),
                   "requested_unlock_height": 0, "swarm_id": 7})
        })
        .collect();
    (states, keys)
}

/// Item 1: one malicious node answering pool refreshes with 8 nodes of its own (alone, or
/// added to the honest list) never gets one into the pool, and messages keep flowing.
#[test]
fn one_malicious_node_cannot_bring_its_own_nodes_into_the_pool() {
    for variant in 0..2u64 {
        let mut w = World::new(71 + variant, [0, 0]);
        let config = ClientConfig {
            seed_urls: vec![format!("http://{SEED_HOST}:1")],
            node_scheme: "http".into(),
            pool_refresh_ms: 3_000,
            ..ClientConfig::default()
        };
        w.parties[0].client = Client::new(
            ClientIdentity::from_identity(&w.parties[0].identity),
            config,
            None,
        );
        w.connect();
        let in_paths: BTreeSet<[u8; 32]> = w.parties[0]
            .client
            .paths()
            .iter()
            .flatten()
            .map(|n| n.ed25519)
            .collect();
        let evil = (0..w.net.nodes.len())
            .find(|&i| !in_paths.contains(&w.net.nodes[i].node.ed25519))
            .unwrap();
        let (mut states, fakes) = attacker_nodes(8);
        if variant == 1 {
            let mut all = w.net.node_list()["service_node_states"]
                .as_array()
                .unwrap()
                .clone();
            all.append(&mut states);
            states = all;
        }
        w.net.nodes[evil].pool_answer = Some(json!({"service_node_states": states}));
        assert!(
            w.run_until(120_000, |w| w
                .net
                .pool_asked
                .get(&evil)
                .copied()
                .unwrap_or(0)
                >= 2),
            "the malicious node was asked"
        );
        let p = &w.parties[0];
        let leaked = |nodes: &[ServiceNode]| nodes.iter().any(|n| fakes.contains(&n.ed25519));
        assert!(!leaked(&p.client.pool()), "variant {variant}: in the pool");
        assert!(!leaked(&p.snapshot.pool), "variant {variant}: persisted");
        assert!(p.pool_log.iter().all(|pool| !leaked(pool)));
        assert!(p.client.pool().len() >= 12, "the honest nodes stay");
        w.send(0, 1, "still here");
        assert!(w.run_until(20_000, |w| w.bodies(1) == ["still here"]));
    }
}

/// Nodes no honest node knows, as a hostile node would name them.
fn outsiders() -> Vec<ServiceNode> {
    let (states, _) = attacker_nodes(4);
    states
        .iter()
        .map(|s| ServiceNode {
            ip: s["public_ip"].as_str().unwrap().to_owned(),
            port: s["storage_port"].as_u64().unwrap() as u16,
            ed25519: hex::decode(s["pubkey_ed25519"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
            x25519: hex::decode(s["pubkey_x25519"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
            swarm_id: None,
        })
        .collect()
}

/// Whether party `p` ever persisted `account`'s swarm with one of `bad` in it.
fn persisted_any(w: &World, p: usize, account: &AccountId, bad: &[ServiceNode]) -> bool {
    let swarm = umbra_protocol::address::SwarmAddr::from(*account);
    w.parties[p].swarm_log.iter().any(|(s, nodes)| {
        *s == swarm
            && nodes
                .iter()
                .any(|n| bad.iter().any(|b| b.ed25519 == n.ed25519))
    })
}

/// Item 5: destinations that name colluding nodes outside the pool as a swarm are ignored,
/// and messages still arrive both ways.
#[test]
fn get_swarm_naming_outsiders_is_ignored_and_messages_arrive() {
    let mut w = World::new(81, [0, 0]);
    let bob = w.parties[1].id();
    let honest: BTreeSet<usize> = w.net.swarm_of(&bob.to_string()).into_iter().collect();
    let fake = outsiders();
    for i in 0..w.net.nodes.len() {
        if !honest.contains(&i) {
            w.net.nodes[i].swarm_answer = Some(fake.clone());
        }
    }
    w.connect();
    w.send(0, 1, "through the noise");
    w.send(1, 0, "back");
    assert!(w.run_until(60_000, |w| w.bodies(1).len() == 1 && w.bodies(0).len() == 1));
    assert!(w.net.hostile_answers > 0, "a hostile node was asked");
    for p in 0..2 {
        for account in [w.parties[0].id(), bob] {
            assert!(
                !persisted_any(&w, p, &account, &fake),
                "party {p} took the outsiders"
            );
        }
        for n in w.parties[p].client.cached_swarm(&bob).unwrap_or_default() {
            assert!(honest.contains(&w.net.by_ed(&n.ed25519).unwrap()));
        }
    }
}

/// Item 5: a swarm member answering 421 with nodes outside the pool is ignored (and counted
/// as a failure); the others deliver.
#[test]
fn a_421_naming_outsiders_is_ignored() {
    let mut w = World::new(82, [0, 0]);
    let bob = w.parties[1].id();
    let hostile = w.net.swarm_of(&bob.to_string())[0];
    let fake = outsiders();
    w.net.nodes[hostile].answer_421 = Some(fake.clone());
    w.connect();
    let a = numbered("via 421", 4);
    for m in &a {
        w.send(0, 1, m);
    }
    assert!(w.run_until(60_000, |w| w.bodies(1).len() >= 4
        && w.net.hostile_answers >= 2));
    w.run_until(2_000, |_| false);
    assert_eq!(w.bodies(1), a);
    assert!(!persisted_any(&w, 0, &bob, &fake) && !persisted_any(&w, 1, &bob, &fake));
}

/// Item 5: with a pool that has no swarm ids (an older snapshot), a 421 naming other pool
/// nodes as the whole new swarm is not taken on one node's word: a second node is asked and
/// the true swarm stays.
#[test]
fn a_swarm_change_dropping_every_member_needs_a_second_node() {
    let mut w = World::new(83, [0, 0]);
    w.net.list_swarm_ids = false;
    let bob = w.parties[1].id();
    let members = w.net.swarm_of(&bob.to_string());
    let hostile = members[0];
    let bogus: Vec<ServiceNode> = (0..w.net.nodes.len())
        .filter(|i| !members.contains(i))
        .take(4)
        .map(|i| w.net.nodes[i].node.clone())
        .collect();
    w.connect();
    assert!(
        w.parties[1]
            .client
            .pool()
            .iter()
            .all(|n| n.swarm_id.is_none())
    );
    w.net.nodes[hostile].answer_421 = Some(bogus.clone());
    let a = numbered("confirmed", 3);
    for m in &a {
        w.send(0, 1, m);
    }
    assert!(w.run_until(60_000, |w| w.bodies(1).len() >= 3
        && w.net.hostile_answers >= 3));
    assert_eq!(w.bodies(1), a);
    for p in 0..2 {
        assert!(
            !persisted_any(&w, p, &bob, &bogus),
            "party {p} took one node's word"
        );
        let cached = w.parties[p].client.cached_swarm(&bob).unwrap();
        assert!(
            cached
                .iter()
                .all(|n| members.contains(&w.net.by_ed(&n.ed25519).unwrap()))
        );
    }
}

/// Item 18: the poll cadence is jittered by up to ± 20 % of the interval, drawn from the
/// client's RNG, instead of an exact period the guard can read the polling mode from.
#[test]
fn poll_intervals_are_jittered_within_a_fifth() {
    let mut w = World::new(91, [0, 0]);
    w.connect();
    let party = &mut w.parties[0];
    let local = party.local(w.net.now);
    party
        .client
        .handle_command(
            ClientCommand::SetPollingMode(PollingMode::Background),
            &party.identity,
            local,
            &mut party.rng,
        )
        .unwrap();
    w.drain();
    w.run_until(25_000, |_| false);
    let start = w.net.now;
    w.run_until(200_000, |_| false);
    let alice = w.parties[0].id().to_string();
    let times: Vec<u64> = w
        .net
        .retrieve_log
        .iter()
        .filter(|(owner, t)| *owner == alice && *t >= start)
        .map(|(_, t)| *t)
        .collect();
    let interval = ClientConfig::default().poll_background_ms;
    let gaps: Vec<u64> = times.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(gaps.len() >= 12, "{gaps:?}");
    for g in &gaps {
        assert!(
            (interval * 8 / 10..=interval * 12 / 10 + 100).contains(g),
            "gap {g} outside ± 20 % of {interval}: {gaps:?}"
        );
    }
    let distinct: BTreeSet<u64> = gaps.iter().copied().collect();
    assert!(distinct.len() * 2 > gaps.len(), "not jittered: {gaps:?}");
}

// ----- hardening: retries, dedup lifetime, storage failures, clocks (issue 10) ---------------

impl World {
    /// Runs until party `p` has a usable path (the others may be offline).
    fn connect_one(&mut self, p: usize) {
        assert!(self.run_until(20_000, |w| w.parties[p].client.path_status()
            == PathStatus::Connected));
    }

    /// Storage RPCs `method` served by node `i` (any node: `None`).
    fn served(&self, i: Option<usize>, method: &str) -> usize {
        self.net
            .rpc_log
            .iter()
            .filter(|(n, m)| i.is_none_or(|i| *n == i) && m == method)
            .count()
    }
}

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

#[test]
fn a_node_naming_itself_in_421_cannot_loop_a_message_or_a_poll() {
    let mut w = World::new(53, [0, 0]);
    let (alice, bob) = (w.parties[0].id(), w.parties[1].id());
    let right = w.net.swarm_nodes(&bob);
    let own = w.net.swarm_nodes(&alice);
    let x = (0..w.net.nodes.len())
        .find(|&i| !right.contains(&w.net.nodes[i].node) && !own.contains(&w.net.nodes[i].node))
        .unwrap();
    let x_node = w.net.nodes[x].node.clone();
    // Alice believes X is Bob's swarm and her own; X answers every request with 421 naming
    // only itself.
    let mut snap = ClientSnapshot::default();
    snap.swarms.insert(bob.into(), vec![x_node.clone()]);
    snap.swarms.insert(alice.into(), vec![x_node.clone()]);
    w.parties[0] = Party::new(1, "Alice", 0, Some(snap));
    w.parties[1].online = false;
    let x_json = node_json(&x_node);
    w.net.hook = Some(Box::new(move |i, _, _, now, answer| {
        if i == x && answer.0 == 421 {
            (421, json!({"snodes": [x_json], "t": now}).to_string())
        } else {
            answer
        }
    }));
    w.connect_one(0);
    w.command(0, ClientCommand::SetPollingMode(PollingMode::Background))
        .unwrap();
    w.send(0, 1, "looping?");
    w.run_until(HOUR_MS, |_| false);
    let max = ClientConfig::default().max_send_attempts as usize;
    assert!(
        w.served(Some(x), "store") <= max,
        "stores bounded by the attempt cap"
    );
    // X's 421 names a node of the wrong swarm, which the pool does not vouch for: X is
    // counted as failing and dropped, and the message goes to the real swarm — or, were the
    // swarm never found, ends Failed. Never "sending" forever.
    let last = w.parties[0].outbox_events.last().map(|(_, s)| *s);
    assert!(
        matches!(last, Some(OutboxState::Sent | OutboxState::Failed)),
        "the message ends Sent or Failed, not sending forever: {last:?}"
    );
    // Polls back off to at most one every 30 s (an hour: about 120, not one per round trip).
    let polls = w.served(Some(x), "retrieve");
    assert!(polls <= 150, "{polls} polls of a 421 loop in an hour");
}

#[test]
fn more_without_messages_does_not_repoll_at_once() {
    let mut w = World::new(55, [0, 0]);
    w.parties[1].online = false;
    w.net.hook = Some(Box::new(|_, method, _, now, answer| {
        if method == "retrieve" && answer.0 == 200 {
            (
                200,
                json!({"messages": [], "more": true, "t": now}).to_string(),
            )
        } else {
            answer
        }
    }));
    w.connect_one(0);
    w.command(0, ClientCommand::SetPollingMode(PollingMode::Background))
        .unwrap();
    let before = w.served(None, "retrieve");
    w.run_until(HOUR_MS, |_| false);
    let polls = w.served(None, "retrieve") - before;
    // One poll per background interval (10 s): 360 in an hour.
    let per_hour = (HOUR_MS / ClientConfig::default().poll_background_ms) as usize;
    assert!(polls <= per_hour + 2, "{polls} polls in an hour");
    assert!(polls >= per_hour - 2, "still polling: {polls}");
}

#[test]
fn node_supplied_expiry_is_clamped_and_pruned_after_the_ttl() {
    let mut w = World::new(51, [0, 0]);
    w.net.hook = Some(Box::new(|_, method, _, _, (status, body)| {
        if method != "retrieve" || status != 200 {
            return (status, body);
        }
        let mut v: Value = serde_json::from_str(&body).unwrap();
        for m in v["messages"].as_array_mut().unwrap() {
            m["expiration"] = json!(u64::MAX);
        }
        (status, v.to_string())
    }));
    w.connect();
    w.send(0, 1, "forever?");
    assert!(w.run_until(20_000, |w| w.bodies(1).len() == 1));
    let hash = w.parties[1].received[0].hash.clone();
    let now = w.net.now;
    let record = |w: &World| {
        w.parties[1]
            .snapshot
            .seen
            .iter()
            .find(|r| r.hash.as_deref() == Some(hash.as_str()))
            .map(|r| r.expires_ms)
    };
    let expires = record(&w).expect("recorded");
    assert!(
        expires <= now + 14 * DAY_MS + 2 * 60_000,
        "clamped to the namespace TTL: {expires}"
    );
    // Fifteen days later the swarm has dropped the message; Bob's tab is reopened and the
    // record is pruned at the first poll.
    w.net.db.clear();
    w.queue.clear();
    w.net.now += 15 * DAY_MS;
    w.parties[1].restart();
    let polls = w.served(None, "retrieve");
    assert!(w.run_until(20_000, |w| w.served(None, "retrieve") > polls + 2));
    assert_eq!(record(&w), None, "pruned after the TTL");
}

#[test]
fn a_retrieve_answer_records_at_most_the_cap() {
    let mut w = World::new(52, [0, 0]);
    w.connect();
    w.parties[0].online = false;
    let bob_hex = w.parties[1].id().to_string();
    let expiry = w.net.now + HOUR_MS;
    let entries: Vec<Value> = (0..100_000)
        .map(|i| json!({"hash": format!("{i:043}"), "data": "AAAA", "expiration": expiry}))
        .collect();
    let flood = json!({"messages": entries, "more": true}).to_string();
    let before = w.parties[1].snapshot.seen.len();
    let mut served = false;
    w.net.hook = Some(Box::new(move |_, method, params, _, answer| {
        if method == "retrieve" && !served && params["pubkey"].as_str() == Some(&bob_hex) {
            served = true;
            return (200, flood.clone());
        }
        answer
    }));
    w.run_until(5_000, |_| false);
    let added = w.parties[1].snapshot.seen.len() - before;
    assert_eq!(added, 512, "at most the cap recorded from one answer");
    assert_eq!(w.parties[1].client.stats().malformed_dropped, 512);
    // The last hash advanced over what was taken only.
    let last: BTreeSet<&String> = w.parties[1].snapshot.last_hashes.values().collect();
    assert!(last.contains(&format!("{:043}", 511)));
}

#[test]
fn a_failed_persist_loses_no_message_and_blames_no_path() {
    let mut w = World::new(54, [0, 0]);
    w.connect();
    let paths = w.parties[1].client.paths();
    let pool = w.parties[1].client.pool().len();
    // Bob's store fails three steps in a row (as often as a path may fail before it is
    // dropped), starting with the one that receives the messages.
    w.parties[1].fail_persists = 3;
    let a = numbered("kept", 3);
    for m in &a {
        w.send(0, 1, m);
    }
    assert!(w.run_until(60_000, |w| w.bodies(1).len() >= 3));
    w.run_until(30_000, |_| false);
    assert_eq!(w.parties[1].fail_persists, 0, "the failures happened");
    assert_eq!(
        w.bodies(1),
        a,
        "every message arrives once, after the retry"
    );
    assert_eq!(w.parties[1].client.paths(), paths, "no path dropped");
    assert_eq!(w.parties[1].client.pool().len(), pool, "no node dropped");
}

impl World {
    /// Party `p` writes `body` to party `to` as the worker does: a sent timestamp from
    /// `Client::allocate_sent_ms` (held while the network time is unknown), composed, then
    /// `ClientCommand::Send`.
    fn write(&mut self, p: usize, to: usize, body: &str) {
        if !self.parties[p].client.clock_synced() {
            self.parties[p].held.push((to, body.to_owned()));
            return;
        }
        let to_id = self.parties[to].id();
        let local = self.parties[p].local(self.net.now);
        let sent = self.parties[p]
            .client
            .allocate_sent_ms(umbra_protocol::address::LocalMs(local));
        self.drain();
        let outgoing = compose_text(&text_draft(body, DisappearingSetting::Off), sent.0).unwrap();
        let id = format!("w/{body}");
        self.send_composed(p, to_id, outgoing, &id, false, false);
    }

    /// Writes what party `p` held once its clock is synced (the worker does this on
    /// `ClientEvent::ClockSynced`).
    fn release_held(&mut self, p: usize) {
        if self.parties[p].client.clock_synced() {
            for (to, body) in std::mem::take(&mut self.parties[p].held) {
                self.write(p, to, &body);
            }
        }
    }
}

#[test]
fn a_fast_clock_offline_then_online_stamps_network_time() {
    // Alice's device clock is a day fast and she writes before any node answered.
    let mut w = World::new(56, [DAY_MS as i64, 0]);
    for n in &mut w.net.nodes {
        n.online = false;
    }
    w.run_until(5_000, |_| false);
    w.write(0, 1, "typed offline");
    assert!(!w.parties[0].client.clock_synced());
    assert_eq!(
        w.parties[0].held.len(),
        1,
        "held until the network time is known"
    );
    for n in &mut w.net.nodes {
        n.online = true;
    }
    w.net.seed_down = false;
    assert!(w.run_until(30_000, |w| w.parties[0].clock_synced > 0));
    w.release_held(0);
    w.write(0, 1, "typed online");
    assert!(w.run_until(30_000, |w| w.bodies(1).len() == 2));
    for m in &w.parties[1].received {
        assert!(
            m.sent_ms.abs_diff(w.net.now) < 60_000,
            "{} stamped with network time, not the device clock",
            m.body
        );
    }
    // The user is told their clock is far off.
    assert_eq!(w.parties[0].clock_warnings.len(), 1);
    let (offset, far) = w.parties[0].clock_warnings[0];
    assert!(far && (offset + DAY_MS as i64).abs() < 1_000, "{offset}");
    // The tab is reopened offline: the offset of the last session still applies.
    assert!(w.parties[0].snapshot.clock_offset_ms.is_some());
    for n in &mut w.net.nodes {
        n.online = false;
    }
    w.queue.clear();
    w.parties[0].restart();
    assert!(w.parties[0].client.clock_synced());
    let local = w.parties[0].local(w.net.now);
    let sent = w.parties[0]
        .client
        .allocate_sent_ms(umbra_protocol::address::LocalMs(local));
    assert!(
        sent.0.abs_diff(w.net.now) < 60_000,
        "restart offline: network time"
    );
}

#[test]
fn a_406_storm_costs_bounded_requests() {
    let mut w = World::new(57, [0, 0]);
    w.parties[1].online = false;
    w.connect_one(0);
    w.command(0, ClientCommand::SetPollingMode(PollingMode::Background))
        .unwrap();
    // Every node now refuses Alice's polls for her clock.
    w.net.hook = Some(Box::new(|_, method, _, _, answer| {
        if method == "retrieve" {
            (406, "Timestamp error: check your clock".into())
        } else {
            answer
        }
    }));
    let (polls, infos) = (w.served(None, "retrieve"), w.served(None, "info"));
    w.run_until(HOUR_MS, |_| false);
    let polls = w.served(None, "retrieve") - polls;
    let infos = w.served(None, "info") - infos;
    // Polls back off to one per 30 s; resync rounds (3 nodes each) to one per 10 minutes.
    assert!(polls <= 150, "{polls} polls in an hour");
    assert!(infos <= 3 * 12, "{infos} time requests in an hour");
    assert!(infos >= 3, "the clock was resynced");
    assert!(w.parties[0].clock_errors > 0);
}

#[test]
fn a_clock_jump_is_resynced_from_several_nodes() {
    let mut w = World::new(58, [0, 0]);
    w.connect();
    // Alice's device clock jumps an hour ahead: her polls are refused until she resyncs.
    w.parties[0].skew_ms = HOUR_MS as i64;
    let infos = w.served(None, "info");
    w.run_until(60_000, |_| false);
    assert!(w.served(None, "info") > infos, "resync round");
    let off = w.parties[0].client.time_offset_ms();
    assert!((off + HOUR_MS as i64).abs() < 1_000, "offset {off}");
    w.write(0, 1, "after the jump");
    assert!(w.run_until(30_000, |w| w.bodies(1).len() == 1));
    assert!(w.parties[1].received[0].sent_ms.abs_diff(w.net.now) < 60_000);
}

#[test]
fn three_lying_nodes_cannot_shift_the_offset() {
    let mut w = World::new(59, [0, 0]);
    let liars: BTreeSet<usize> = [0, 5, 10].into();
    w.net.hook = Some(Box::new(move |i, _, _, _, (status, body)| {
        if !liars.contains(&i) {
            return (status, body);
        }
        match serde_json::from_str::<Value>(&body) {
            Ok(mut v) if v.get("t").is_some() => {
                v["t"] = json!(v["t"].as_u64().unwrap_or(0) + DAY_MS);
                (status, v.to_string())
            }
            _ => (status, body),
        }
    }));
    w.connect();
    assert!(w.run_until(30_000, |w| {
        w.parties.iter().all(|p| p.client.clock_synced())
    }));
    for i in 0..5 {
        w.write(0, 1, &format!("m{i}"));
        w.run_until(5_000, |_| false);
    }
    assert!(w.run_until(30_000, |w| w.bodies(1).len() == 5));
    w.run_until(60_000, |_| false);
    let liar_answers = w
        .net
        .rpc_log
        .iter()
        .filter(|(i, _)| [0, 5, 10].contains(i))
        .count();
    assert!(liar_answers > 0, "the liars were asked");
    for p in &w.parties {
        let off = p.client.time_offset_ms();
        assert!(off.abs() < 1_000, "offset {off}");
    }
    for m in &w.parties[1].received {
        assert!(m.sent_ms.abs_diff(w.net.now) < 120_000);
    }
}

// ----- through a blind bridge (issue 11) ---------------------------------------------------

impl World {
    /// Two parties whose requests go through the bridges `hosts` (modes as given), the pool
    /// starting from the first `bootstrap` nodes of the network. Seeds are configured too:
    /// the client must not use them.
    fn bridged(hosts: &[(&str, BridgeMode)], bootstrap: usize) -> World {
        let mut w = World::new(41, [0, 0]);
        for (host, mode) in hosts {
            let bridge = FakeBridge {
                mode: *mode,
                forwarded: Vec::new(),
            };
            w.net.bridges.insert((*host).to_owned(), bridge);
        }
        let boot: Vec<ServiceNode> = w.net.nodes[..bootstrap]
            .iter()
            .map(|n| n.node.clone())
            .collect();
        for (i, p) in w.parties.iter_mut().enumerate() {
            let config = ClientConfig {
                seed_urls: vec![format!("http://{SEED_HOST}:1")],
                node_scheme: "http".into(),
                display_name: Some(format!("party {i}")),
                bridges: hosts.iter().map(|(h, _)| format!("http://{h}/")).collect(),
                bootstrap: boot.clone(),
                ..ClientConfig::default()
            };
            p.client = Client::new(ClientIdentity::from_identity(&p.identity), config, None);
        }
        w
    }

    /// Every request that left party-side code: (url, body); none may be anything but an
    /// onion request to a bridge.
    fn assert_only_bridge_requests(&self) {
        assert!(!self.net.direct_log.is_empty());
        for (url, body) in &self.net.direct_log {
            let host = url
                .strip_prefix("http://")
                .and_then(|r| r.split('/').next())
                .unwrap();
            assert!(
                self.net.bridges.contains_key(host),
                "request outside a bridge: {url}"
            );
            assert!(route_of(url).starts_with("/v1/onion/"), "{url}");
            // Nothing the bridge sees is readable: no JSON, no Account ID.
            assert!(serde_json::from_slice::<Value>(body).is_err(), "{url}");
            for p in &self.parties {
                let id = p.id().to_string();
                assert!(!body.windows(id.len()).any(|w| w == id.as_bytes()));
            }
        }
    }
}

#[test]
fn through_a_bridge_only_onion_requests_leave_and_messages_arrive() {
    let mut w = World::bridged(&[("bridge-a:1", BridgeMode::Honest)], 12);
    w.connect();
    for b in numbered("bridged", 3) {
        w.send(0, 1, &b);
    }
    w.send(1, 0, "back");
    assert!(w.run_until(60_000, |w| w.bodies(1).len() == 3 && w.bodies(0).len() == 1));
    assert_eq!(w.bodies(1), numbered("bridged", 3));
    w.assert_only_bridge_requests();
    let bridge = &w.net.bridges["bridge-a:1"];
    assert!(bridge.forwarded.len() > 10);
    // The seed was never asked, guard candidates were tested through the bridge (one-hop
    // onion requests), and the route stayed as configured.
    assert!(!w.net.direct_log.iter().any(|(u, _)| u.contains(SEED_HOST)));
    assert!(w.parties.iter().all(|p| p.routes.is_empty()));
    assert_eq!(
        w.parties[0].client.route_info(),
        RouteInfo::Bridge("http://bridge-a:1".into())
    );
    assert!(w.net.chain_violations.is_empty());
}

#[test]
fn a_bridge_that_is_down_is_left_for_the_next_and_no_path_is_blamed() {
    let mut w = World::bridged(
        &[("down:1", BridgeMode::Down), ("good:1", BridgeMode::Honest)],
        12,
    );
    w.connect();
    w.send(0, 1, "via the second bridge");
    assert!(w.run_until(60_000, |w| w.bodies(1).len() == 1));
    for p in &w.parties {
        // Once, and no bouncing back when the other requests sent to it fail too.
        assert_eq!(p.routes, vec![RouteInfo::Bridge("http://good:1".into())]);
        assert_eq!(
            p.client.route_info(),
            RouteInfo::Bridge("http://good:1".into())
        );
        // The down bridge cost no node its place.
        assert!(
            p.pool_log.iter().all(|l| l.len() == 12),
            "a node was dropped"
        );
    }
    w.assert_only_bridge_requests();
}

#[test]
fn a_corrupting_bridge_is_never_believed_and_is_left() {
    let mut w = World::bridged(
        &[
            ("evil:1", BridgeMode::Corrupting),
            ("good:1", BridgeMode::Honest),
        ],
        12,
    );
    w.connect();
    w.send(0, 1, "not tampered");
    w.send(1, 0, "nor this");
    assert!(w.run_until(120_000, |w| w.bodies(1).len() == 1
        && w.bodies(0).len() == 1));
    assert_eq!(w.bodies(1), vec!["not tampered".to_owned()]);
    assert_eq!(w.bodies(0), vec!["nor this".to_owned()]);
    for p in &w.parties {
        assert_eq!(
            p.client.route_info(),
            RouteInfo::Bridge("http://good:1".into())
        );
        assert!(
            p.routes
                .contains(&RouteInfo::Bridge("http://good:1".into()))
        );
    }
    assert!(!w.net.bridges["evil:1"].forwarded.is_empty());
}

#[test]
fn a_busy_only_bridge_fails_visibly_and_recovers_when_it_answers() {
    let mut w = World::bridged(&[("only:1", BridgeMode::Busy)], 12);
    assert!(!w.run_until(20_000, |w| w.parties[0].client.path_status()
        == PathStatus::Connected));
    // Nothing reached a node, and nothing was dropped from the pool for the bridge's fault.
    assert_eq!(w.net.onion_served, 0);
    assert!(
        w.parties[0].pool_log.iter().all(|l| l.len() == 12),
        "a node was dropped"
    );
    w.net.bridges.get_mut("only:1").unwrap().mode = BridgeMode::Honest;
    w.send(0, 1, "after the storm");
    assert!(w.run_until(120_000, |w| w.bodies(1).len() == 1));
}

#[test]
fn bridges_can_be_changed_and_removed_at_run_time() {
    let mut w = World::bridged(&[("a:1", BridgeMode::Honest)], 12);
    w.net.bridges.insert(
        "b:1".into(),
        FakeBridge {
            mode: BridgeMode::Honest,
            forwarded: Vec::new(),
        },
    );
    w.connect();
    w.parties[0].client.set_bridges(vec!["http://b:1".into()]);
    w.drain();
    assert_eq!(
        w.parties[0].routes,
        vec![RouteInfo::Bridge("http://b:1".into())]
    );
    let before = w.net.bridges["b:1"].forwarded.len();
    w.send(0, 1, "through b");
    assert!(w.run_until(60_000, |w| w.bodies(1).len() == 1));
    assert!(w.net.bridges["b:1"].forwarded.len() > before);
    w.parties[0].client.set_bridges(Vec::new());
    w.drain();
    assert_eq!(w.parties[0].routes.last(), Some(&RouteInfo::Direct));
    assert_eq!(w.parties[0].client.route_info(), RouteInfo::Direct);
}

// ----- ONS names (issue 18) -----------------------------------------------------------------

/// The record oxend keeps for `name` → `account` (sealed as ONS seals it, with a fixed nonce).
fn ons_record(name: &str, account: &AccountId) -> (String, Value) {
    use blake2::{Blake2b, Blake2bMac, digest::Digest as _, digest::Mac as _, digest::consts::U32};
    use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce, aead::Aead as _};
    let hash: [u8; 32] = Blake2b::<U32>::digest(name.as_bytes()).into();
    let mut mac = <Blake2bMac<U32> as blake2::digest::KeyInit>::new_from_slice(&hash).unwrap();
    mac.update(name.as_bytes());
    let key: [u8; 32] = mac.finalize().into_bytes().into();
    let nonce = [9u8; 24];
    let sealed = XChaCha20Poly1305::new(&key.into())
        .encrypt(&XNonce::from(nonce), account.as_bytes().as_slice())
        .unwrap();
    (
        STANDARD.encode(hash),
        json!({"encrypted_value": hex::encode(sealed), "nonce": hex::encode(nonce)}),
    )
}

impl World {
    fn resolve(&mut self, p: usize, tag: u64, name: &str) {
        self.command(
            p,
            ClientCommand::ResolveOns {
                tag,
                name: name.into(),
            },
        )
        .unwrap();
    }

    fn ons_result(&self, p: usize, tag: u64) -> Option<&OnsAnswer> {
        self.parties[p]
            .ons
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, r)| r)
    }
}

#[test]
fn ons_names_resolve_when_the_nodes_agree_and_never_otherwise() {
    let mut w = World::new(77, [0, 0]);
    let bob = w.parties[1].id();
    let (hash, record) = ons_record("bob", &bob);
    w.net.ons.insert(hash.clone(), record);
    w.connect();
    // Typed in capitals: the lower-case name is what is looked up; three nodes agree.
    let before = w.net.rpc_log.len();
    w.resolve(0, 1, " Bob ");
    assert!(w.run_until(30_000, |w| w.ons_result(0, 1).is_some()));
    assert_eq!(w.ons_result(0, 1), Some(&("bob".to_owned(), Ok(bob))));
    let asked: BTreeSet<usize> = w.net.rpc_log[before..]
        .iter()
        .filter(|(_, m)| m == "oxend_request")
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(asked.len(), 3, "three different nodes");
    // Unknown names and invalid names are typed answers.
    w.resolve(0, 2, "nobody");
    w.resolve(0, 3, "not a name");
    assert!(w.run_until(30_000, |w| w.ons_result(0, 2).is_some()
        && w.ons_result(0, 3).is_some()));
    assert_eq!(w.ons_result(0, 2).unwrap().1, Err(OnsError::NotFound));
    assert_eq!(w.ons_result(0, 3).unwrap().1, Err(OnsError::InvalidName));
    // One lying node (its record names Alice) among those asked is enough to refuse the
    // answer (all three asked lying together would pass: agreement bounds one liar, as in
    // Session's clients).
    let alice = w.parties[0].id();
    let (_, lie) = ons_record("bob", &alice);
    w.net.hook = Some(Box::new(move |i, method, params, now, answer| {
        if i == 0 && method == "oxend_request" && params["endpoint"] == "ons_resolve" {
            return (200, json!({"result": lie.clone(), "t": now}).to_string());
        }
        answer
    }));
    let mut disagreed = false;
    for tag in 100..130 {
        w.resolve(0, tag, "bob");
        assert!(w.run_until(30_000, |w| w.ons_result(0, tag).is_some()));
        let r = &w.ons_result(0, tag).unwrap().1;
        // Never the liar's account: either every asked node was honest, or they disagree.
        assert_ne!(r, &Ok(alice));
        disagreed |= *r == Err(OnsError::Disagreement);
    }
    assert!(
        disagreed,
        "half the nodes lie: some lookup must have met one"
    );
    // Duplicate tags are refused.
    w.resolve(0, 30, "bob");
    assert_eq!(
        w.command(
            0,
            ClientCommand::ResolveOns {
                tag: 30,
                name: "bob".into()
            }
        ),
        Err(umbra_protocol::client::ClientError::DuplicateTag)
    );
}

impl World {
    /// Party `p` subscribes to namespace `ns` of its own swarm.
    fn subscribe_own(&mut self, p: usize, ns: Namespace) {
        let now = self.net.now;
        let party = &mut self.parties[p];
        let sub = Subscription {
            swarm: party.id().into(),
            namespace: ns,
            auth: SubscriptionAuth::Account,
            interval_ms: Some(2_000),
        };
        let local = party.local(now);
        party
            .client
            .handle_command(
                ClientCommand::Subscribe(sub),
                &party.identity,
                local,
                &mut party.rng,
            )
            .unwrap();
        self.drain();
    }

    /// Party `p` pushes a config message.
    fn push_config(
        &mut self,
        p: usize,
        tag: u64,
        ns: Namespace,
        push: &umbra_protocol::config::Push,
    ) {
        let now = self.net.now;
        let party = &mut self.parties[p];
        let local = party.local(now);
        party
            .client
            .handle_command(
                ClientCommand::PushConfig {
                    tag,
                    namespace: ns,
                    data: push.data.clone(),
                    obsolete: push.obsolete.clone(),
                },
                &party.identity,
                local,
                &mut party.rng,
            )
            .unwrap();
        self.drain();
    }

    /// Whether namespace `ns` of `owner` holds `hash` on every live member.
    fn holds(&self, owner: &AccountId, ns: Namespace, hash: &str) -> bool {
        let members = self.net.swarm_of(&owner.to_string());
        members
            .iter()
            .filter(|&&i| self.net.nodes[i].online)
            .all(|&i| {
                self.net
                    .db
                    .get(&self.net.nodes[i].node.ed25519)
                    .is_some_and(|l| {
                        l.iter().any(|m| {
                            m.namespace == ns && m.hash == hash && m.owner == owner.to_string()
                        })
                    })
            })
    }
}

#[test]
fn config_push_is_a_signed_store_and_delete_sequence_pulled_by_the_other_device() {
    use umbra_protocol::config::{ConfigKind, ConfigState, contacts};
    let mut w = World::new(77, [0, 0]);
    // A second device of Alice's account.
    w.parties.push(Party::new(1, "Alice laptop", 0, None));
    w.connect();
    let alice = w.parties[0].id();
    let bob = w.parties[1].id();
    let ns = Namespace(ConfigKind::Contacts.namespace());
    w.subscribe_own(2, ns);

    let identity = Identity::from_seed(&Seed::from_entropy(&[1; 32]).unwrap());
    let mut state = ConfigState::new(ConfigKind::Contacts);
    contacts::update(&mut state, &bob, |c| c.approved = true).unwrap();
    let push = state.push(&identity).unwrap();
    w.push_config(0, 1, ns, &push);
    assert!(w.run_until(20_000, |w| !w.parties[0].config_pushes.is_empty()));
    let (tag, got_ns, result) = w.parties[0].config_pushes[0].clone();
    assert_eq!((tag, got_ns), (1, ns));
    let first = result.expect("stored");
    assert!(w.holds(&alice, ns, &first));
    // TTL 30 days, one store (no delete: nothing superseded yet).
    assert!(
        w.net
            .store_log
            .iter()
            .any(|(o, h, ttl)| o == &alice.to_string()
                && h == &first
                && *ttl == umbra_protocol::config::CONFIG_TTL_MS)
    );
    assert_eq!(
        w.net.sequences.last().unwrap(),
        &vec!["\"store\"".to_owned()]
    );
    state.confirm_pushed(push.seqno, first.clone());

    // The other device pulls and merges it.
    assert!(w.run_until(20_000, |w| {
        w.parties[2]
            .swarm_messages
            .iter()
            .any(|(n, m)| *n == ns && m.hash.as_str() == first)
    }));
    let mut other = ConfigState::new(ConfigKind::Contacts);
    let pulled: Vec<(String, Vec<u8>)> = w.parties[2]
        .swarm_messages
        .iter()
        .map(|(_, m)| (m.hash.as_str().to_owned(), m.data.clone()))
        .collect();
    let outcome = other.merge(&w.parties[2].identity, &pulled);
    assert!(outcome.changed);
    assert_eq!(other.seqno(), state.seqno());
    assert_eq!(contacts::get(&other, &bob).map(|c| c.approved), Some(true));

    // The next change supersedes the first message: store and delete in one sequence.
    contacts::update(&mut state, &bob, |c| c.blocked = true).unwrap();
    let push = state.push(&identity).unwrap();
    assert_eq!(push.obsolete, vec![first.clone()]);
    w.push_config(0, 2, ns, &push);
    assert!(w.run_until(20_000, |w| w.parties[0].config_pushes.len() == 2));
    let second = w.parties[0].config_pushes[1].2.clone().expect("stored");
    assert_eq!(
        w.net.sequences.last().unwrap(),
        &vec!["\"store\"".to_owned(), "\"delete\"".to_owned()]
    );
    assert!(w.holds(&alice, ns, &second));
    assert!(!w.net.db.values().flatten().any(|m| m.hash == first));
    // A tag under way cannot be reused, data over the limit is refused.
    let p = &mut w.parties[0];
    let local = p.local(w.net.now);
    let big = ClientCommand::PushConfig {
        tag: 3,
        namespace: ns,
        data: vec![0; rpc::MAX_DATA_BYTES + 1],
        obsolete: Vec::new(),
    };
    assert_eq!(
        p.client.handle_command(big, &p.identity, local, &mut p.rng),
        Err(umbra_protocol::client::ClientError::TooLarge)
    );
}

#[test]
fn config_push_with_a_bad_signature_is_retried_then_fails() {
    use umbra_protocol::config::{ConfigKind, ConfigState, user_profile};
    let mut w = World::new(78, [0, 0]);
    w.connect();
    let ns = Namespace(ConfigKind::UserProfile.namespace());
    let identity = Identity::from_seed(&Seed::from_entropy(&[1; 32]).unwrap());
    let mut state = ConfigState::new(ConfigKind::UserProfile);
    user_profile::set_name(&mut state, "Alice").unwrap();
    let push = state.push(&identity).unwrap();
    // Every node refuses the store (as for a bad signature).
    w.net.hook = Some(Box::new(|_, method, _, _, answer| {
        if method == "sequence" {
            (
                200,
                json!({"results": [{"code": 401, "body": "Failed to verify signature"}]})
                    .to_string(),
            )
        } else {
            answer
        }
    }));
    w.push_config(0, 9, ns, &push);
    assert!(w.run_until(600_000, |w| !w.parties[0].config_pushes.is_empty()));
    assert_eq!(
        w.parties[0].config_pushes[0],
        (9, ns, Err(ConfigPushError::Failed))
    );
}

/// Runs one party's [`umbra_protocol::sync::ConfigSync`] against the fake network: feeds it
/// the config messages and push outcomes it has not seen, then hands its pushes to the client.
fn sync_step(
    w: &mut World,
    p: usize,
    sync: &mut umbra_protocol::sync::ConfigSync,
    seen: &mut (usize, usize),
) {
    let now = w.net.now;
    let party = &mut w.parties[p];
    let identity = Identity::from_seed(&Seed::from_entropy(&[1; 32]).unwrap());
    let new: Vec<(Namespace, SwarmMessage)> = party.swarm_messages[seen.0..].to_vec();
    seen.0 = party.swarm_messages.len();
    for (ns, m) in new {
        sync.on_messages(&identity, ns, &[m], now);
    }
    let pushed: Vec<_> = party.config_pushes[seen.1..].to_vec();
    seen.1 = party.config_pushes.len();
    for (tag, _, result) in pushed {
        sync.on_pushed(tag, result);
    }
    let local = party.local(now);
    for cmd in sync.pushes(&identity) {
        party
            .client
            .handle_command(cmd, &party.identity, local, &mut party.rng)
            .unwrap();
    }
    w.drain();
}

#[test]
fn two_devices_of_one_account_converge_through_the_swarm() {
    use umbra_protocol::config::{ConfigKind, contacts, user_profile};
    use umbra_protocol::sync::ConfigSync;
    let mut w = World::new(79, [0, 0]);
    w.parties.push(Party::new(1, "Alice laptop", 0, None));
    w.connect();
    let alice = w.parties[0].id();
    let (bob, carol) = (w.parties[1].id(), Party::new(3, "Carol", 0, None).id());
    let mut phone = ConfigSync::new(alice);
    let mut laptop = ConfigSync::new(alice);
    for (p, sync) in [(0, &phone), (2, &laptop)] {
        for sub in sync.subscriptions() {
            let now = w.net.now;
            let party = &mut w.parties[p];
            let local = party.local(now);
            party
                .client
                .handle_command(
                    ClientCommand::Subscribe(sub),
                    &party.identity,
                    local,
                    &mut party.rng,
                )
                .unwrap();
        }
    }
    // Concurrent edits: the phone accepts Bob and names the account, the laptop blocks Carol.
    let t = w.net.now;
    phone.accepted(&bob, t);
    phone.set_name(Some("Alice"));
    laptop.blocked(&carol, true, t);
    let (mut seen_phone, mut seen_laptop) = ((0, 0), (0, 0));
    let converged = |a: &ConfigSync, b: &ConfigSync| {
        ConfigKind::ALL.into_iter().all(|k| {
            a.config(k).seqno() == b.config(k).seqno() && a.config(k).data() == b.config(k).data()
        }) && !a.wants_push()
            && !b.wants_push()
    };
    for _ in 0..40 {
        sync_step(&mut w, 0, &mut phone, &mut seen_phone);
        sync_step(&mut w, 2, &mut laptop, &mut seen_laptop);
        w.run_until(1_000, |_| false);
        if converged(&phone, &laptop)
            && contacts::get(phone.config(ConfigKind::Contacts), &carol).is_some()
            && contacts::get(laptop.config(ConfigKind::Contacts), &bob).is_some()
        {
            break;
        }
    }
    assert!(converged(&phone, &laptop));
    for s in [&phone, &laptop] {
        let c = s.config(ConfigKind::Contacts);
        assert_eq!(contacts::get(c, &bob).map(|c| c.approved), Some(true));
        assert_eq!(contacts::get(c, &carol).map(|c| c.blocked), Some(true));
        assert_eq!(
            user_profile::name(s.config(ConfigKind::UserProfile)).as_deref(),
            Some("Alice")
        );
        assert!(s.status().failures.is_empty());
    }
    // Every push was a signed sequence the nodes accepted.
    assert!(w.parties[0].config_pushes.iter().all(|(_, _, r)| r.is_ok()));
    assert!(w.parties[2].config_pushes.iter().all(|(_, _, r)| r.is_ok()));
}
