//! The client's side of the driver loop: the queue of [`Action`]s, the table of requests in
//! flight (what each is for and when it counts as timed out), and sending a request directly
//! or through an onion path.
//!
//! It knows how to send and how to read an onion reply, not what a request means: each
//! answer is handed back, with its [`Work`], to the part that owns it.

use std::collections::{BTreeMap, VecDeque};

use rand_core::CryptoRng;

use super::{
    Action, ClientConfig, ClientEvent, HttpResponse, LocalId, OutgoingHttp, PersistChange,
    RequestId, ServiceNode, TransportFailure,
    paths::Paths,
    route::{Route, Via},
    server::ServerTag,
    wire,
};
use crate::{
    address::{LocalMs, NodeId, StorageHash, SwarmAddr},
    onion::{
        Destination, ResponseKey, ServerDestination, build_final_request, build_request,
        decrypt_snode_response,
    },
};

/// Delay before looking again when a request could not be sent (no usable path) or a poll
/// failed.
pub(crate) const NO_PATH_RETRY_MS: u64 = 250;

/// What a request in flight is for.
#[derive(Debug)]
pub(crate) enum Work {
    /// `get_n_service_nodes` to a seed (direct).
    Seed,
    /// `info` to a guard candidate: sent directly, or through a bridge as a request only the
    /// candidate can open ([`Io::send_guard_test`]).
    GuardTest(ServiceNode),
    /// `oxend_request get_service_nodes` through a path.
    PoolRefresh,
    /// `get_swarm` of a swarm through a path.
    GetSwarm(SwarmAddr),
    /// `store` of an outbox entry.
    Store {
        /// The entry.
        local_id: LocalId,
        /// The storage hash the swarm must acknowledge.
        expected_hash: StorageHash,
    },
    /// `retrieve` of a subscription from one swarm member.
    Retrieve {
        /// The subscription.
        sub: u64,
        /// The member asked.
        node: NodeId,
    },
    /// A signed expire or delete on the own swarm.
    OwnOp {
        /// The operation.
        id: u64,
    },
    /// A config push (`sequence` of a signed store and delete) on the own swarm.
    ConfigPush {
        /// The caller's tag.
        tag: u64,
    },
    /// A request to an HTTP server.
    Server(ServerTag),
    /// `info` to a node, for its time (a resync round of the clock).
    TimeSync(NodeId),
    /// `oxend_request ons_resolve` of a name lookup, to one node.
    Ons {
        /// The lookup's tag.
        tag: u64,
        /// The node asked.
        node: NodeId,
    },
}

/// How to read the reply of an onion request.
pub(crate) struct OnionCtx {
    pub(crate) key: ResponseKey,
    pub(crate) guard: NodeId,
    /// The destination node (`None` for an HTTP server behind the last hop).
    pub(crate) dest: Option<NodeId>,
    /// The bridge it went through (`None`: direct).
    pub(crate) via: Option<Via>,
}

/// One request in flight.
pub(crate) struct InFlight {
    pub(crate) work: Work,
    pub(crate) onion: Option<OnionCtx>,
    /// Local time after which the request counts as timed out even if the driver never
    /// reports back (twice the transport timeout).
    pub(crate) expires: LocalMs,
}

/// How an onion request to a node ended.
pub(crate) enum OnionOutcome {
    /// The destination answered (status, body).
    Reply(u16, String),
    /// No usable answer: blame the path.
    PathFailed,
    /// A relay reported `502 Next node not found: <key>`.
    NodeNotFound(NodeId),
    /// A relay could not complete the request: blame the path and the destination.
    DestFailed,
}

/// Classifies the HTTP answer of the guard to an onion request (`ctx`), decrypting a
/// destination reply with `decrypt`.
pub(crate) fn classify<T>(
    result: Result<HttpResponse, TransportFailure>,
    decrypt: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<T, OnionOutcome> {
    let resp = result.map_err(|_| OnionOutcome::PathFailed)?;
    if resp.status != 200 {
        let text = String::from_utf8_lossy(&resp.body);
        if let Some(rest) = text.trim().strip_prefix("Next node not found: ")
            && let Some(key) = wire::parse_hex32(rest.trim())
        {
            return Err(OnionOutcome::NodeNotFound(NodeId(key)));
        }
        return Err(if matches!(resp.status, 502..=504) {
            OnionOutcome::DestFailed
        } else {
            OnionOutcome::PathFailed
        });
    }
    decrypt(&resp.body).ok_or(OnionOutcome::PathFailed)
}

/// Classifies an answer to an onion request to a node.
pub(crate) fn classify_snode(
    ctx: &OnionCtx,
    result: Result<HttpResponse, TransportFailure>,
) -> OnionOutcome {
    match classify(result, |body| decrypt_snode_response(&ctx.key, body).ok()) {
        Ok(reply) => OnionOutcome::Reply(reply.status, reply.body),
        Err(outcome) => outcome,
    }
}

/// Actions to hand out and requests in flight.
#[derive(Default)]
pub(crate) struct Io {
    inflight: BTreeMap<RequestId, InFlight>,
    next_id: u64,
    actions: VecDeque<Action>,
    /// Nodes whose key could not be used to build a request (low order): to be dropped.
    pub(crate) unusable: Vec<NodeId>,
    /// Direct or through which bridge.
    pub(crate) route: Route,
}

impl Io {
    /// Queues a persist action (none for no changes).
    pub(crate) fn persist(&mut self, changes: Vec<PersistChange>) {
        if !changes.is_empty() {
            self.actions.push_back(Action::Persist(changes));
        }
    }

    /// Queues a UI event.
    pub(crate) fn notify(&mut self, event: ClientEvent) {
        self.actions.push_back(Action::Notify(event));
    }

    /// Takes every queued action.
    pub(crate) fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
    }

    /// The next action.
    pub(crate) fn pop_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Removes and returns the request `id`, if still in flight.
    pub(crate) fn take(&mut self, id: RequestId) -> Option<InFlight> {
        self.inflight.remove(&id)
    }

    /// Removes and returns the requests that count as timed out at `now`.
    pub(crate) fn take_expired(&mut self, now: LocalMs) -> Vec<InFlight> {
        let ids: Vec<RequestId> = self
            .inflight
            .iter()
            .filter(|(_, f)| f.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.inflight.remove(&id))
            .collect()
    }

    /// The requests in flight and what each is for.
    pub(crate) fn in_flight(&self) -> impl Iterator<Item = (RequestId, &Work)> + '_ {
        self.inflight.iter().map(|(id, f)| (*id, &f.work))
    }

    /// When requests in flight time out.
    pub(crate) fn deadlines(&self) -> impl Iterator<Item = LocalMs> + '_ {
        self.inflight.values().map(|f| f.expires)
    }

    fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        config: &ClientConfig,
        now: LocalMs,
        url: String,
        content_type: &'static str,
        body: Vec<u8>,
        work: Work,
        onion: Option<OnionCtx>,
    ) -> RequestId {
        let id = self.next_request_id();
        self.inflight.insert(
            id,
            InFlight {
                work,
                onion,
                expires: now.plus(2 * config.request_timeout_ms),
            },
        );
        self.actions.push_back(Action::Http(OutgoingHttp {
            id,
            url,
            content_type,
            body,
            timeout_ms: config.request_timeout_ms,
        }));
        id
    }

    /// Sends a JSON request directly (no onion path).
    pub(crate) fn send_direct(
        &mut self,
        config: &ClientConfig,
        now: LocalMs,
        url: String,
        body: Vec<u8>,
        work: Work,
    ) -> RequestId {
        self.push(config, now, url, "application/json", body, work, None)
    }

    /// Asks the guard candidate `guard` for `info`: directly, or through the bridge as a
    /// request encrypted to the candidate (the bridge reads nothing). `None` if the
    /// candidate's key is unusable (it is then marked to be dropped).
    pub(crate) fn send_guard_test<R: CryptoRng + ?Sized>(
        &mut self,
        config: &ClientConfig,
        now: LocalMs,
        guard: ServiceNode,
        rng: &mut R,
    ) -> Option<RequestId> {
        if !self.route.via_bridge() {
            let url = node_url(config, &guard, "/storage_rpc/v1");
            let work = Work::GuardTest(guard);
            return Some(self.send_direct(config, now, url, wire::info_request(), work));
        }
        let (url, via) = self.route.bridge_url(&guard)?;
        let Ok(request) =
            build_final_request(&guard.x25519, &wire::info_request(), config.enc_type, rng)
        else {
            self.unusable.push(guard.id());
            return None;
        };
        let onion = OnionCtx {
            key: request.response_key,
            guard: guard.id(),
            dest: Some(guard.id()),
            via: Some(via),
        };
        let work = Work::GuardTest(guard);
        let body = request.body;
        Some(self.push(config, now, url, OCTETS, body, work, Some(onion)))
    }
}

/// Content type of onion requests.
const OCTETS: &str = "application/octet-stream";

/// `<scheme>://<ip>:<port><route>` of a node.
pub(crate) fn node_url(config: &ClientConfig, node: &ServiceNode, route: &str) -> String {
    format!(
        "{}://{}:{}{}",
        config.node_scheme, node.ip, node.port, route
    )
}

/// What a part needs to send onion requests: the request table, the paths and the settings.
pub(crate) struct Net<'a> {
    pub(crate) io: &'a mut Io,
    pub(crate) paths: &'a Paths,
    pub(crate) config: &'a ClientConfig,
    pub(crate) now: LocalMs,
}

impl Net<'_> {
    /// Sends the storage RPC `payload` to `dest` through a random path that does not
    /// contain `dest`. `None` (nothing sent) if there is no such path or the request cannot
    /// be built (the destination is then marked unusable).
    pub(crate) fn send_snode<R: CryptoRng + ?Sized>(
        &mut self,
        dest: &ServiceNode,
        payload: Vec<u8>,
        work: Work,
        rng: &mut R,
    ) -> Option<RequestId> {
        let destination = Destination::Snode {
            ed25519: dest.ed25519,
            x25519: dest.x25519,
            payload,
        };
        let sent = self.send(Some(dest.id()), Some(dest.id()), &destination, work, rng);
        if sent == Err(true) {
            // A node key is unusable (low order): drop the destination.
            self.io.unusable.push(dest.id());
        }
        sent.ok()
    }

    /// Sends a v4 request to an HTTP server through a random path (its last hop proxies it),
    /// one without `avoid` if there is such a path. `Err(true)` if the request cannot be
    /// built, `Err(false)` if there is no path.
    pub(crate) fn send_server<R: CryptoRng + ?Sized>(
        &mut self,
        server: ServerDestination,
        avoid: Option<NodeId>,
        work: Work,
        rng: &mut R,
    ) -> Result<RequestId, bool> {
        let avoid = avoid.filter(|a| self.paths.choose(Some(*a), rng).is_some());
        self.send(avoid, None, &Destination::Server(server), work, rng)
    }

    fn send<R: CryptoRng + ?Sized>(
        &mut self,
        avoid: Option<NodeId>,
        dest: Option<NodeId>,
        destination: &Destination,
        work: Work,
        rng: &mut R,
    ) -> Result<RequestId, bool> {
        let Some(path) = self.paths.choose(avoid, rng) else {
            return Err(false);
        };
        let hops = path.hops();
        let guard = path.guard().clone();
        let request =
            build_request(&hops, destination, self.config.enc_type, rng).map_err(|_| true)?;
        let (url, via) = match self.io.route.bridge_url(&guard) {
            Some((url, via)) => (url, Some(via)),
            None => (node_url(self.config, &guard, "/onion_req/v2"), None),
        };
        let onion = OnionCtx {
            key: request.response_key,
            guard: guard.id(),
            dest,
            via,
        };
        Ok(self.io.push(
            self.config,
            self.now,
            url,
            OCTETS,
            request.body,
            work,
            Some(onion),
        ))
    }
}
