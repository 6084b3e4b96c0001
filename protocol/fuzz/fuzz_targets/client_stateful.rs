//! Fuzz target: the sans-IO `Client` driven by arbitrary network behaviour must never panic.
//!
//! The input is a list of structured steps (`arbitrary`): user commands (send, retry, poll,
//! subscribe, own-swarm expire/delete, server requests, …), the passing of time, a restart
//! from the persisted snapshot, and answers to any request in flight. An answer is a
//! transport failure, raw bytes, the honest answer of a small fake network, or a correctly
//! onion-encrypted reply whose status and body the fuzzer picks (node lists, swarms, store
//! acknowledgements, retrieve answers with real messages from a contact, or raw bytes). The
//! fake network holds every node's keys, so it peels the client's real onion layers.
//!
//! Checked: every `Persist` applies to a snapshot that survives a JSON round trip; a
//! received message comes from an account that signed it (the contact or the own account);
//! the client's own bookkeeping stays bounded (requests in flight).
#![no_main]

use std::{collections::BTreeMap, sync::OnceLock};

use arbitrary::Arbitrary;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use ed25519_dalek::{Signer as _, SigningKey};
use libfuzzer_sys::fuzz_target;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use serde_json::{Value, json};
use umbra_protocol::{
    address::SwarmAddr,
    client::{
        Action, Client, ClientCommand, ClientConfig, ClientEvent, ClientIdentity, ClientSnapshot,
        HttpResponse, LocalId, OutgoingHttp, PollingMode, ServerTag, ServerTarget, ServiceNode,
        Subscription, SubscriptionAuth, TransportFailure,
    },
    identity::{Identity, Seed},
    message::{TextDraft, compose_text, encode_for_1o1},
    onion::{
        HttpProtocol, V4Response,
        node::{Peeled, open_server_request, peel_layer, wrap_final_response},
    },
    rpc::{Namespace, message_hash, params::StoreParams},
};
use x25519_dalek::{PublicKey, StaticSecret};

const START_MS: u64 = 1_790_000_000_000;
const NODES: usize = 10;

struct FakeNode {
    secret: StaticSecret,
    signing: SigningKey,
    node: ServiceNode,
}

struct Fixture {
    nodes: Vec<FakeNode>,
    own: Identity,
    contact: Identity,
    server_secret: StaticSecret,
    server: ServerTarget,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let nodes = (0..NODES)
            .map(|i| {
                let secret = StaticSecret::from([i as u8 + 1; 32]);
                let signing = SigningKey::from_bytes(&[i as u8 + 101; 32]);
                let node = ServiceNode {
                    ip: format!("10.0.0.{}", i + 1),
                    port: 22000 + i as u16,
                    ed25519: signing.verifying_key().to_bytes(),
                    x25519: PublicKey::from(&secret).to_bytes(),
                    swarm_id: None,
                };
                FakeNode {
                    secret,
                    signing,
                    node,
                }
            })
            .collect();
        let server_secret = StaticSecret::from([0x77; 32]);
        let server = ServerTarget {
            host: "127.0.0.1".into(),
            port: 8080,
            scheme: HttpProtocol::Http,
            x25519: PublicKey::from(&server_secret).to_bytes(),
        };
        Fixture {
            nodes,
            own: Identity::from_seed(&Seed::from_entropy(&[0x01; 32]).expect("32 bytes")),
            contact: Identity::from_seed(&Seed::from_entropy(&[0x02; 16]).expect("16 bytes")),
            server_secret,
            server,
        }
    })
}

#[derive(Arbitrary, Debug)]
enum Step {
    Answer {
        pick: u8,
        reply: Reply,
    },
    /// Every request in flight gets its honest answer (so paths, swarms and polls come up
    /// in a few steps).
    AnswerAllHonestly,
    /// The driver loses the request: it only ends by the client's own timeout.
    Forget {
        pick: u8,
    },
    Wait {
        ms: u16,
    },
    WaitForNextTimeout,
    Command(Cmd),
    Restart,
}

#[derive(Arbitrary, Debug)]
enum Reply {
    Timeout,
    Unreachable,
    Raw {
        status: u16,
        body: Vec<u8>,
    },
    Honest,
    Onion {
        status: u16,
        body: Body,
        t_skew_s: Option<i16>,
        base64: bool,
    },
    Server {
        code: u16,
        body: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
enum Body {
    Bytes(Vec<u8>),
    Swarm(Vec<u8>),
    NodeList(Vec<u8>),
    Retrieve { messages: Vec<Msg>, more: bool },
    StoreAcks { members: Vec<u8>, forge: bool },
    Empty,
}

#[derive(Arbitrary, Debug)]
struct Msg {
    kind: MsgKind,
    expiration: Option<u64>,
    sent_skew_s: i32,
}

#[derive(Arbitrary, Debug)]
enum MsgKind {
    FromContact(String),
    FromSelf(String),
    Raw(Vec<u8>),
    BadBase64,
}

#[derive(Arbitrary, Debug)]
enum Cmd {
    SendText {
        body: String,
        id: u8,
    },
    Send {
        body: String,
        id: u8,
        to_self: bool,
        sync_copy: bool,
        ephemeral: bool,
    },
    PollNow,
    Polling(bool),
    Retry {
        id: u8,
    },
    DisplayName(Option<String>),
    ExpireOwn {
        picks: Vec<u8>,
        in_s: u32,
    },
    DeleteOwn {
        picks: Vec<u8>,
    },
    Subscribe {
        contact: bool,
        ns: i16,
        unsigned: bool,
        interval_ms: Option<u16>,
    },
    Unsubscribe {
        contact: bool,
        ns: i16,
    },
    ServerRequest {
        tag: u8,
        get: bool,
        path: String,
        body: Option<Vec<u8>>,
    },
}

struct Harness {
    client: Client,
    snapshot: ClientSnapshot,
    pending: Vec<OutgoingHttp>,
    now: u64,
    rng: ChaCha20Rng,
    /// Hashes seen in retrieve answers (for own-swarm operations).
    hashes: Vec<String>,
}

fn config() -> ClientConfig {
    ClientConfig {
        seed_urls: vec!["http://seed:1".into()],
        node_scheme: "http".into(),
        ..ClientConfig::default()
    }
}

fn node_json(n: &ServiceNode) -> Value {
    json!({"ip": n.ip, "port_https": n.port, "pubkey_ed25519": hex::encode(n.ed25519),
           "pubkey_x25519": hex::encode(n.x25519)})
}

fn nodes_of(picks: &[u8]) -> Vec<&'static ServiceNode> {
    let f = fixture();
    picks
        .iter()
        .take(16)
        .map(|&i| &f.nodes[usize::from(i) % NODES].node)
        .collect()
}

fn node_list(picks: &[u8]) -> Value {
    let states: Vec<Value> = nodes_of(picks)
        .into_iter()
        .map(|n| {
            json!({"public_ip": n.ip, "storage_port": n.port,
                   "pubkey_ed25519": hex::encode(n.ed25519), "pubkey_x25519": hex::encode(n.x25519)})
        })
        .collect();
    json!({"service_node_states": states})
}

fn all() -> Vec<u8> {
    (0..NODES as u8).collect()
}

impl Harness {
    fn new(snapshot: Option<ClientSnapshot>, now: u64) -> Harness {
        let f = fixture();
        let client = Client::new(
            ClientIdentity::from_identity(&f.own),
            config(),
            snapshot.clone(),
        );
        Harness {
            client,
            snapshot: snapshot.unwrap_or_default(),
            pending: Vec::new(),
            now,
            rng: ChaCha20Rng::seed_from_u64(now),
            hashes: vec!["A".repeat(43)],
        }
    }

    fn drain(&mut self) {
        let f = fixture();
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Http(req) => self.pending.push(req),
                Action::Persist(changes) => changes.iter().for_each(|c| self.snapshot.apply(c)),
                Action::Notify(ClientEvent::MessageReceived(m)) => {
                    assert!(
                        m.from == f.contact.account_id() || m.from == f.own.account_id(),
                        "a message from an account that signed nothing: {}",
                        m.from
                    );
                }
                Action::Notify(_) => {}
            }
        }
        assert!(
            self.pending.len() < 500,
            "requests in flight pile up: {}",
            self.pending.len()
        );
    }

    fn command(&mut self, cmd: &Cmd) {
        let f = fixture();
        let id = |n: u8| LocalId::Message(u64::from(n));
        let cmd = match cmd {
            Cmd::SendText { body, id: n } => ClientCommand::SendText {
                to: f.contact.account_id(),
                body: body.clone(),
                local_id: id(*n),
            },
            Cmd::Send {
                body,
                id: n,
                to_self,
                sync_copy,
                ephemeral,
            } => {
                let sent = self
                    .client
                    .allocate_sent_ms(umbra_protocol::address::LocalMs(self.now));
                let draft = TextDraft {
                    body: body.clone(),
                    ..TextDraft::default()
                };
                let Ok(outgoing) = compose_text(&draft, sent.0) else {
                    return;
                };
                let to = if *to_self {
                    f.own.account_id()
                } else {
                    f.contact.account_id()
                };
                ClientCommand::Send {
                    to,
                    outgoing,
                    local_id: id(*n),
                    sync_copy: *sync_copy,
                    ephemeral: *ephemeral,
                }
            }
            Cmd::PollNow => ClientCommand::PollNow,
            Cmd::Polling(fg) => ClientCommand::SetPollingMode(if *fg {
                PollingMode::Foreground
            } else {
                PollingMode::Background
            }),
            Cmd::Retry { id: n } => ClientCommand::Retry { local_id: id(*n) },
            Cmd::DisplayName(name) => ClientCommand::SetDisplayName(name.clone()),
            Cmd::ExpireOwn { picks, in_s } => ClientCommand::ExpireOwn {
                hashes: self.pick_hashes(picks),
                expiry_ms: self.now + u64::from(*in_s) * 1000,
            },
            Cmd::DeleteOwn { picks } => ClientCommand::DeleteOwn {
                hashes: self.pick_hashes(picks),
            },
            Cmd::Subscribe {
                contact,
                ns,
                unsigned,
                interval_ms,
            } => {
                let who = if *contact { &f.contact } else { &f.own };
                ClientCommand::Subscribe(Subscription {
                    swarm: SwarmAddr::from(who.account_id()),
                    namespace: Namespace(*ns),
                    auth: if *unsigned {
                        SubscriptionAuth::Unsigned
                    } else {
                        SubscriptionAuth::Account
                    },
                    interval_ms: interval_ms.map(u64::from),
                })
            }
            Cmd::Unsubscribe { contact, ns } => {
                let who = if *contact { &f.contact } else { &f.own };
                ClientCommand::Unsubscribe {
                    swarm: SwarmAddr::from(who.account_id()),
                    namespace: Namespace(*ns),
                }
            }
            Cmd::ServerRequest {
                tag,
                get,
                path,
                body,
            } => ClientCommand::ServerRequest {
                tag: ServerTag(u64::from(*tag)),
                server: f.server.clone(),
                method: if *get { "GET" } else { "POST" }.into(),
                path: path.clone(),
                headers: BTreeMap::new(),
                body: body.clone(),
            },
        };
        let _ = self
            .client
            .handle_command(cmd, &f.own, self.now, &mut self.rng);
    }

    fn pick_hashes(&self, picks: &[u8]) -> Vec<String> {
        picks
            .iter()
            .take(8)
            .map(|&i| self.hashes[usize::from(i) % self.hashes.len()].clone())
            .collect()
    }

    /// Peels the client's onion request at the guard down to its destination.
    fn peel(&self, req: &OutgoingHttp) -> Option<Peeled> {
        let f = fixture();
        let host = req.url.strip_prefix("http://")?.split('/').next()?;
        let mut at = f
            .nodes
            .iter()
            .position(|n| format!("{}:{}", n.node.ip, n.node.port) == host)?;
        let mut body = req.body.clone();
        for _ in 0..8 {
            let n = &f.nodes[at];
            match peel_layer(&body, &n.secret, &n.node.x25519).ok()? {
                Peeled::Relay {
                    next_ed25519,
                    body: next,
                } => {
                    at = f
                        .nodes
                        .iter()
                        .position(|n| n.node.ed25519 == next_ed25519)?;
                    body = next;
                }
                other => return Some(other),
            }
        }
        None
    }

    fn message_data(&mut self, m: &Msg) -> Option<String> {
        let f = fixture();
        let sent = self
            .now
            .saturating_add_signed(i64::from(m.sent_skew_s) * 1000);
        let (from, body) = match &m.kind {
            MsgKind::FromContact(b) => (&f.contact, b),
            MsgKind::FromSelf(b) => (&f.own, b),
            MsgKind::Raw(bytes) => return Some(STANDARD.encode(bytes)),
            MsgKind::BadBase64 => return Some("!!".into()),
        };
        let draft = TextDraft {
            body: body.clone(),
            ..TextDraft::default()
        };
        let outgoing = compose_text(&draft, sent).ok()?;
        let data = encode_for_1o1(
            from,
            &f.own.account_id(),
            &outgoing.content,
            sent,
            &mut self.rng,
        )
        .ok()?;
        Some(STANDARD.encode(data))
    }

    fn body_text(&mut self, body: &Body, t: Option<u64>, payload: &Value) -> String {
        let f = fixture();
        let mut v = match body {
            Body::Bytes(b) => return String::from_utf8_lossy(b).into_owned(),
            Body::Empty => json!({}),
            Body::Swarm(picks) => {
                json!({"snodes": nodes_of(picks).into_iter().map(node_json).collect::<Vec<_>>()})
            }
            Body::NodeList(picks) => json!({"result": node_list(picks)}),
            Body::Retrieve { messages, more } => {
                let list: Vec<Value> = messages
                    .iter()
                    .take(20)
                    .filter_map(|m| {
                        let data = self.message_data(m)?;
                        let own = SwarmAddr::from(f.own.account_id());
                        let hash = message_hash(&own, Namespace::DEFAULT, data.as_bytes());
                        if self.hashes.len() < 64 {
                            self.hashes.push(hash.clone());
                        }
                        let mut e = json!({"hash": hash, "data": data});
                        if let Some(x) = m.expiration {
                            e["expiration"] = json!(x);
                        }
                        Some(e)
                    })
                    .collect();
                json!({"messages": list, "more": more})
            }
            Body::StoreAcks { members, forge } => {
                let hash = store_hash(payload).unwrap_or_default();
                let mut swarm = serde_json::Map::new();
                for &i in members.iter().take(8) {
                    let n = &f.nodes[usize::from(i) % NODES];
                    let sig = if *forge {
                        [9u8; 64]
                    } else {
                        n.signing.sign(hash.as_bytes()).to_bytes()
                    };
                    swarm.insert(
                        hex::encode(n.node.ed25519),
                        json!({"hash": hash, "signature": STANDARD.encode(sig)}),
                    );
                }
                json!({"swarm": swarm, "hash": hash})
            }
        };
        if let Some(t) = t {
            v["t"] = json!(t);
        }
        v.to_string()
    }

    /// What an honest node answers to a storage RPC: (status, body).
    fn honest_rpc(&mut self, payload: &Value) -> (u16, String) {
        let t = Some(self.now);
        let body = match payload["method"].as_str().unwrap_or("") {
            "get_swarm" => Body::Swarm(vec![0, 1, 2, 3]),
            "oxend_request" => Body::NodeList(all()),
            "store" => Body::StoreAcks {
                members: vec![0, 1, 2, 3],
                forge: false,
            },
            "retrieve" => Body::Retrieve {
                // A contact's message, new each time (its sent time follows the clock).
                messages: vec![Msg {
                    kind: MsgKind::FromContact("hello".into()),
                    expiration: None,
                    sent_skew_s: 0,
                }],
                more: false,
            },
            "expire" | "delete" | "info" => Body::Empty,
            _ => return (404, "unknown method".into()),
        };
        (200, self.body_text(&body, t, payload))
    }

    fn answer(
        &mut self,
        req: &OutgoingHttp,
        reply: &Reply,
    ) -> Result<HttpResponse, TransportFailure> {
        let f = fixture();
        let resp = |status, body| Ok(HttpResponse { status, body });
        let onion = req.url.ends_with("/onion_req/v2");
        match reply {
            Reply::Timeout => Err(TransportFailure::Timeout),
            Reply::Unreachable => Err(TransportFailure::Unreachable),
            Reply::Raw { status, body } => resp(*status, body.clone()),
            Reply::Honest if req.url.starts_with("http://seed") => resp(
                200,
                json!({"result": node_list(&all())})
                    .to_string()
                    .into_bytes(),
            ),
            Reply::Honest if !onion => {
                let payload: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let (status, body) = self.honest_rpc(&payload);
                resp(status, body.into_bytes())
            }
            _ if !onion => resp(502, Vec::new()),
            Reply::Honest | Reply::Onion { .. } | Reply::Server { .. } => match self.peel(req) {
                None => resp(502, b"Invalid ciphertext".to_vec()),
                Some(Peeled::FinalDestination {
                    payload,
                    reply: key,
                    base64,
                    ..
                }) => {
                    let payload: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
                    let (status, text, b64) = match reply {
                        Reply::Onion {
                            status,
                            body,
                            t_skew_s,
                            base64: b,
                        } => {
                            let t = t_skew_s
                                .map(|s| self.now.saturating_add_signed(i64::from(s) * 1000));
                            (*status, self.body_text(body, t, &payload), *b)
                        }
                        _ => {
                            let (s, t) = self.honest_rpc(&payload);
                            (s, t, base64)
                        }
                    };
                    resp(
                        200,
                        wrap_final_response(&key, status, &text, b64, &mut self.rng),
                    )
                }
                Some(Peeled::ProxyToServer { body, .. }) => {
                    let Ok((_req, key)) =
                        open_server_request(&body, &f.server_secret, &f.server.x25519)
                    else {
                        return resp(400, Vec::new());
                    };
                    let (code, body) = match reply {
                        Reply::Server { code, body } => (*code, body.clone()),
                        _ => (200, b"ok".to_vec()),
                    };
                    let v4 = V4Response {
                        code,
                        headers: BTreeMap::new(),
                        body,
                    };
                    resp(200, key.encrypt_reply(&v4.encode(), &mut self.rng))
                }
                Some(Peeled::Relay { .. }) => resp(502, Vec::new()),
            },
        }
    }

    fn step(&mut self, step: &Step) {
        let f = fixture();
        match step {
            Step::Answer { pick, reply } => {
                if self.pending.is_empty() {
                    return;
                }
                let req = self.pending.remove(usize::from(*pick) % self.pending.len());
                self.now += 10;
                let result = self.answer(&req, reply);
                self.client
                    .handle_response(req.id, result, &f.own, self.now, &mut self.rng);
            }
            Step::AnswerAllHonestly => {
                for req in std::mem::take(&mut self.pending) {
                    self.now += 1;
                    let result = self.answer(&req, &Reply::Honest);
                    self.client
                        .handle_response(req.id, result, &f.own, self.now, &mut self.rng);
                }
            }
            Step::Forget { pick } => {
                if !self.pending.is_empty() {
                    self.pending.remove(usize::from(*pick) % self.pending.len());
                }
            }
            Step::Wait { ms } => {
                self.now += u64::from(*ms) * 8;
                self.client.handle_timeout(&f.own, self.now, &mut self.rng);
            }
            Step::WaitForNextTimeout => {
                if let Some(t) = self.client.next_timeout() {
                    self.now = self.now.max(t);
                }
                self.client.handle_timeout(&f.own, self.now, &mut self.rng);
            }
            Step::Command(cmd) => self.command(cmd),
            Step::Restart => {
                let json = serde_json::to_vec(&self.snapshot).expect("snapshot serializes");
                let snap: ClientSnapshot = serde_json::from_slice(&json).expect("snapshot parses");
                assert_eq!(snap, self.snapshot, "snapshot changed by a JSON round trip");
                *self = Harness::new(Some(snap), self.now + 1000);
                self.client.handle_timeout(&f.own, self.now, &mut self.rng);
            }
        }
        self.drain();
    }
}

/// The hash a `store` request's data gets in its swarm (what members sign).
fn store_hash(payload: &Value) -> Option<String> {
    let p: StoreParams = serde_json::from_value(payload.get("params")?.clone()).ok()?;
    Some(message_hash(&p.pubkey, p.namespace, &p.data.0))
}

fuzz_target!(|steps: Vec<Step>| {
    let f = fixture();
    let mut h = Harness::new(None, START_MS);
    h.client.handle_timeout(&f.own, h.now, &mut h.rng);
    h.drain();
    for step in steps.iter().take(200) {
        h.step(step);
    }
});
