//! Fuzz target: the node's storage RPC (`umbra_node::rpc::handle_raw` and `dispatch`, with the
//! protocol's typed params and checks) must never panic, over a sequence of requests against
//! one node with an in-memory SQLite database.
//!
//! The input is a list of structured operations (`arbitrary`): raw bodies, any method with
//! fuzzed params, and well-formed requests of every method from two accounts, each with a
//! valid signature or a forgery (none, a flipped bit, another key, another account's
//! signature), at fuzzed clock offsets. The node is alone in its swarm, so every account is
//! its own and nothing is forwarded. Checked after every operation:
//! - a request that needs a signature and carries a forged one is refused;
//! - a refused request changes no row;
//! - no request fails as an internal error (500), and every success is a JSON object with `t`.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use umbra_node::{
    client::{Account, store_params},
    clock::Clock,
    directory::{Directory, NodeInfo},
    keys::NodeKeys,
    rpc::{Body, Reply, dispatch, handle_raw},
    server::{NodeOptions, NodeState},
    tls::{http_client, install_crypto_provider},
};
use umbra_protocol::rpc::{
    Namespace, NamespaceSel,
    params::Signature64,
    sign::{self, ExpireMode},
};

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Auth {
    Valid,
    Missing,
    FlippedBit,
    OtherAccountsSignature,
    OtherAccountsKey,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Raw(Vec<u8>),
    Method {
        method: u8,
        params: Vec<u8>,
    },
    Store {
        who: bool,
        ns: i16,
        data: Vec<u8>,
        ttl_s: u32,
        dt_s: i16,
        auth: Auth,
    },
    Retrieve {
        who: bool,
        ns: i16,
        last: Option<u8>,
        max_count: Option<u8>,
        dt_s: i16,
        auth: Auth,
    },
    Delete {
        who: bool,
        picks: Vec<u8>,
        required: bool,
        auth: Auth,
    },
    DeleteAll {
        who: bool,
        ns: Option<i16>,
        dt_s: i16,
        auth: Auth,
    },
    DeleteBefore {
        who: bool,
        ns: Option<i16>,
        before_dt_s: i32,
        auth: Auth,
    },
    Expire {
        who: bool,
        picks: Vec<u8>,
        dt_s: i32,
        mode: u8,
        list: bool,
        auth: Auth,
    },
    ExpireAll {
        who: bool,
        ns: Option<i16>,
        dt_s: i32,
        auth: Auth,
    },
    GetExpiries {
        who: bool,
        picks: Vec<u8>,
        dt_s: i16,
        auth: Auth,
    },
    Batch {
        sequence: bool,
        count: u8,
    },
    Advance(u16),
}

const METHODS: [&str; 14] = [
    "store",
    "retrieve",
    "delete",
    "delete_all",
    "delete_before",
    "expire",
    "expire_all",
    "get_expiries",
    "get_swarm",
    "info",
    "oxend_request",
    "batch",
    "sequence",
    "nonsense",
];

struct World {
    state: Arc<NodeState>,
    accounts: [Account; 2],
    /// Hashes the node acknowledged, and a few invalid ones.
    hashes: Vec<String>,
    /// (method, params) of the last well-formed requests (for batches).
    recent: Vec<(String, Value)>,
}

fn node() -> Arc<NodeState> {
    install_crypto_provider();
    let keys = NodeKeys::from_seed(&[0x5a; 32]);
    let info = NodeInfo {
        index: 0,
        ed25519: keys.ed25519_public(),
        x25519: keys.x25519_public(),
        ip: "127.0.0.1".into(),
        port: 1,
        swarm_id: 0,
        tls: false,
    };
    let directory = Arc::new(Directory {
        nodes: vec![info.clone()],
    });
    let options = NodeOptions {
        db_path: ":memory:".into(),
        proxy_allowed_hosts: Vec::new(),
        relay_timeout: std::time::Duration::from_secs(1),
        rate_limit: None,
        limits: umbra_node::limits::NodeLimits::DEFAULT,
        ons: Default::default(),
    };
    let http = http_client(None).expect("http client");
    Arc::new(NodeState::new(info, keys, directory, Clock::system(), http, options).expect("node"))
}

fn signed(auth: Auth, a: &Account, b: &Account, mut p: Value, msg: &[u8]) -> Value {
    match auth {
        Auth::Valid => {
            p["pubkey_ed25519"] = json!(a.ed25519());
            p["signature"] = json!(a.sign(msg));
        }
        Auth::Missing => p["pubkey_ed25519"] = json!(a.ed25519()),
        Auth::FlippedBit => {
            let mut sig = a.sign(msg).0;
            sig[63] ^= 0x10;
            p["pubkey_ed25519"] = json!(a.ed25519());
            p["signature"] = json!(Signature64(sig));
        }
        Auth::OtherAccountsSignature => {
            p["pubkey_ed25519"] = json!(a.ed25519());
            p["signature"] = json!(b.sign(msg));
        }
        Auth::OtherAccountsKey => {
            p["pubkey_ed25519"] = json!(b.ed25519());
            p["signature"] = json!(b.sign(msg));
        }
    }
    p
}

fn sel(ns: Option<i16>) -> NamespaceSel {
    ns.map_or(NamespaceSel::All, |n| NamespaceSel::One(Namespace(n)))
}

fn offset(now: u64, dt_ms: i64) -> u64 {
    now.saturating_add_signed(dt_ms)
}

impl World {
    fn picks(&self, picks: &[u8]) -> Vec<String> {
        picks
            .iter()
            .take(30)
            .filter_map(|&i| self.hashes.get(usize::from(i) % self.hashes.len()).cloned())
            .collect()
    }

    /// A well-formed request: (method, params, needs a signature, auth).
    fn request(&self, op: &Op, now: u64) -> Option<(String, Value, bool, Auth)> {
        let pair = |who: bool| {
            let (x, y) = if who { (1, 0) } else { (0, 1) };
            (&self.accounts[x], &self.accounts[y])
        };
        Some(match *op {
            Op::Store {
                who,
                ns,
                ref data,
                ttl_s,
                dt_s,
                auth,
            } => {
                let (a, b) = pair(who);
                let ns = Namespace(ns);
                let ts = offset(now, i64::from(dt_s) * 1000);
                let p = store_params(&a.id, ns, data, ts, u64::from(ttl_s) * 1000);
                let p = signed(auth, a, b, p, &sign::store(ns, ts));
                ("store".into(), p, ns.store_needs_auth(), auth)
            }
            Op::Retrieve {
                who,
                ns,
                last,
                max_count,
                dt_s,
                auth,
            } => {
                let (a, b) = pair(who);
                let ns = Namespace(ns);
                let ts = offset(now, i64::from(dt_s) * 1000);
                let mut p = json!({"pubkey": a.id.to_hex(), "namespace": ns.0, "timestamp": ts});
                if let Some(l) = last {
                    p["last_hash"] = json!(self.picks(&[l]).first());
                }
                if let Some(c) = max_count {
                    p["max_count"] = json!(c);
                }
                let p = signed(auth, a, b, p, &sign::retrieve(ns, ts));
                ("retrieve".into(), p, ns.retrieve_needs_auth(), auth)
            }
            Op::Delete {
                who,
                ref picks,
                required,
                auth,
            } => {
                let (a, b) = pair(who);
                let hashes = self.picks(picks);
                let p = json!({"pubkey": a.id.to_hex(), "messages": hashes, "required": required});
                let p = signed(auth, a, b, p, &sign::delete(&hashes));
                ("delete".into(), p, true, auth)
            }
            Op::DeleteAll {
                who,
                ns,
                dt_s,
                auth,
            } => {
                let (a, b) = pair(who);
                let ts = offset(now, i64::from(dt_s) * 1000);
                let p = json!({"pubkey": a.id.to_hex(), "namespace": sel(ns), "timestamp": ts});
                let p = signed(auth, a, b, p, &sign::delete_all(sel(ns), ts));
                ("delete_all".into(), p, true, auth)
            }
            Op::DeleteBefore {
                who,
                ns,
                before_dt_s,
                auth,
            } => {
                let (a, b) = pair(who);
                let before = offset(now, i64::from(before_dt_s) * 1000);
                let p = json!({"pubkey": a.id.to_hex(), "namespace": sel(ns), "before": before});
                let p = signed(auth, a, b, p, &sign::delete_before(sel(ns), before));
                ("delete_before".into(), p, true, auth)
            }
            Op::Expire {
                who,
                ref picks,
                dt_s,
                mode,
                list,
                auth,
            } => {
                let (a, b) = pair(who);
                let hashes = self.picks(picks);
                let mode = [ExpireMode::Set, ExpireMode::Shorten, ExpireMode::Extend]
                    [usize::from(mode % 3)];
                let expiry = offset(now, i64::from(dt_s) * 1000);
                let mut p = json!({"pubkey": a.id.to_hex(), "messages": hashes,
                    "shorten": mode == ExpireMode::Shorten, "extend": mode == ExpireMode::Extend});
                let msg = if list {
                    let expiries: Vec<u64> = (0..hashes.len() as u64)
                        .map(|i| expiry + i * 1000)
                        .collect();
                    let mut m = format!("expire{}", mode.sig_str());
                    expiries.iter().for_each(|e| m.push_str(&e.to_string()));
                    hashes.iter().for_each(|h| m.push_str(h));
                    p["expiry"] = json!(expiries);
                    m.into_bytes()
                } else {
                    p["expiry"] = json!(expiry);
                    sign::expire(mode, expiry, &hashes)
                };
                ("expire".into(), signed(auth, a, b, p, &msg), true, auth)
            }
            Op::ExpireAll {
                who,
                ns,
                dt_s,
                auth,
            } => {
                let (a, b) = pair(who);
                let expiry = offset(now, i64::from(dt_s) * 1000);
                let p = json!({"pubkey": a.id.to_hex(), "namespace": sel(ns), "expiry": expiry});
                let p = signed(auth, a, b, p, &sign::expire_all(sel(ns), expiry));
                ("expire_all".into(), p, true, auth)
            }
            Op::GetExpiries {
                who,
                ref picks,
                dt_s,
                auth,
            } => {
                let (a, b) = pair(who);
                let hashes = self.picks(picks);
                let ts = offset(now, i64::from(dt_s) * 1000);
                let p = json!({"pubkey": a.id.to_hex(), "messages": hashes, "timestamp": ts});
                let p = signed(auth, a, b, p, &sign::get_expiries(ts, &hashes));
                ("get_expiries".into(), p, true, auth)
            }
            _ => return None,
        })
    }

    fn run(&mut self, op: &Op) {
        let state = self.state.clone();
        let now = state.clock.now_ms();
        let before = state.message_count();
        let (reply, forged) = match op {
            Op::Raw(bytes) => (block_on(handle_raw(&state, bytes)), false),
            Op::Method { method, params } => {
                let method = METHODS[usize::from(*method) % METHODS.len()];
                let params = serde_json::from_slice(params).unwrap_or(Value::Null);
                (block_on(dispatch(&state, method, &params)), false)
            }
            Op::Batch { sequence, count } => {
                let requests: Vec<Value> = self
                    .recent
                    .iter()
                    .rev()
                    .take(usize::from(*count % 24))
                    .map(|(m, p)| json!({"method": m, "params": p}))
                    .collect();
                let method = if *sequence { "sequence" } else { "batch" };
                let params = json!({"requests": requests});
                (block_on(dispatch(&state, method, &params)), false)
            }
            Op::Advance(s) => {
                state.clock.advance_ms(i64::from(*s) * 1000);
                return;
            }
            op => {
                let Some((method, params, needs_auth, auth)) = self.request(op, now) else {
                    return;
                };
                let reply = block_on(dispatch(&state, &method, &params));
                if self.recent.len() < 32 {
                    self.recent.push((method, params));
                }
                (reply, needs_auth && auth != Auth::Valid)
            }
        };
        self.check(&reply, forged, before);
        if let Body::Json(v) = &reply.body
            && let Some(h) = v.get("hash").and_then(Value::as_str)
            && self.hashes.len() < 64
        {
            self.hashes.push(h.to_owned());
        }
    }

    fn check(&self, reply: &Reply, forged: bool, count_before: u64) {
        assert_ne!(reply.status, 500, "internal error: {}", reply.body_string());
        if forged {
            assert!(
                !reply.is_success(),
                "a forged signature was accepted: {}",
                reply.body_string()
            );
        }
        if !reply.is_success() {
            assert_eq!(
                self.state.message_count(),
                count_before,
                "a refused request changed rows"
            );
        } else {
            match &reply.body {
                Body::Json(v) => assert!(v.get("t").is_some(), "no t in {v}"),
                Body::Text(t) => panic!("success with a text body: {t}"),
            }
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut world = World {
        state: node(),
        accounts: [Account::from_seed(&[1; 32]), Account::from_seed(&[2; 32])],
        hashes: vec!["A".repeat(43), "not a hash".into()],
        recent: Vec::new(),
    };
    for op in ops.iter().take(64) {
        world.run(op);
    }
});
