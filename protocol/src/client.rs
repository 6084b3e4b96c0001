//! The sans-IO messaging client: onion paths, node pool, swarm cache, network time, the
//! durable outbox for sending and polled subscriptions for receiving
//! (`docs/protocol.md` §3.4, §3.6, §4, §4.6, §5.5).
//!
//! The [`Client`] owns no sockets, clocks, timers or storage handles. The driver (the
//! worker) pushes inputs with [`Client::handle_command`], [`Client::handle_response`] and
//! [`Client::handle_timeout`], passing the current time and an RNG each time, then drains
//! [`Action`]s with [`Client::poll_action`] until it returns `None`:
//!
//! * [`Action::Http`]: POST `body` to `url`; report the outcome with
//!   [`Client::handle_response`] and the same [`RequestId`] (a timeout after `timeout_ms` is
//!   [`TransportFailure::Timeout`]);
//! * [`Action::Persist`]: apply these changes durably, in order, in one transaction
//!   ([`ClientSnapshot::apply`] shows the meaning of each);
//! * [`Action::Notify`]: tell the UI.
//!
//! Carry out actions in the order they come: a `Persist` must be durable before any later
//! `Http` is sent (the outbox and the dedup records rely on it). [`Client::next_timeout`] says
//! when to call [`Client::handle_timeout`] next.
//!
//! Every request goes through a 3-hop onion path except the seed request and the direct
//! `info` that tests a guard before use (it names nobody). Failure handling follows the
//! desktop client: a path that fails 3 times is rebuilt, a node that fails 3 times is dropped,
//! a relay answer `502 Next node not found: <hex>` drops that node at once, `421` replaces the
//! cached swarm (with the members the pool vouches for, `swarms`) and retries on another
//! member (at once the first time, then with backoff; every attempt counts toward the cap),
//! `406`/`425` report a clock problem and start a resync of the network time. Signed and sent
//! timestamps use the network time learned from the `"t"` of node answers (`clock`: median
//! over nodes, outliers rejected, persisted across restarts).
//!
//! When the driver cannot make a step durable, it calls [`Client::abort_request`] for the
//! requests it did not send and [`Client::revert_to`] with what is stored: nothing is blamed
//! on a path and nothing received is lost.
//!
//! This file is the façade: it owns one value of each part and routes every command, answer
//! and timeout to the part that owns it. The parts: `pool` (service nodes, seeds),
//! `paths` (guards, onion paths, indicator), `swarms` (members per swarm), `clock` (network
//! time), `outbox` (sending), `own_ops` (expire/delete in the own swarm), `config_push` (config messages into the own
//! swarm), `poller`
//! (subscriptions, receiving), `dedup` (seen records, own timestamps), `io` (actions and
//! requests in flight); `task` and `pick` are small helpers they share.

mod api;
mod clock;
mod config_push;
mod dedup;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
mod io;
mod local_id;
mod ons;
mod outbox;
mod own_ops;
mod paths;
mod pick;
mod poller;
mod pool;
mod route;
mod server;
mod snapshot;
mod swarms;
mod task;
mod wire;

use std::collections::BTreeMap;

use rand_core::CryptoRng;

pub use api::{
    Action, ClientCommand, ClientConfig, ClientError, ClientEvent, ClientIdentity, ClientStats,
    HttpResponse, OutgoingHttp, PathStatus, PollingMode, ReceivedMessage, RequestId, SwarmMessage,
    TransportFailure,
};
pub use config_push::ConfigPushError;
pub use local_id::{ControlKind, LocalId};
pub use outbox::{OutboxEntry, OutboxState};
pub use own_ops::{OwnSwarmOp, OwnSwarmOpKind};
pub use poller::{Subscription, SubscriptionAuth};
pub use route::RouteInfo;
pub use server::{ServerReply, ServerRequestError, ServerTag, ServerTarget};
pub use snapshot::{ClientSnapshot, PersistChange, SeenRecord};
pub use wire::ServiceNode;

use crate::{
    address::{LocalMs, NetMs, NodeId, SwarmAddr},
    identity::{AccountId, Identity},
    onion::decrypt_v4_response,
};
use clock::Clock;
use config_push::ConfigPushes;
use dedup::Dedup;
use io::{InFlight, Io, Net, OnionCtx, OnionOutcome, Work, classify, classify_snode};
use outbox::{Dispatch, Outbox};
use own_ops::OwnOps;
use paths::Paths;
use poller::{Poller, Receive};
use pool::Pool;
use route::{Route, Verdict};
use server::ServerRequests;
use swarms::Swarms;

/// The sans-IO messaging client. See the module documentation for the driving loop.
pub struct Client {
    me: ClientIdentity,
    config: ClientConfig,
    clock: Clock,
    io: Io,
    pool: Pool,
    paths: Paths,
    swarms: Swarms,
    outbox: Outbox,
    own_ops: OwnOps,
    config_pushes: ConfigPushes,
    poller: Poller,
    dedup: Dedup,
    servers: ServerRequests,
    ons: ons::OnsLookups,
    /// Last hashes of non-default subscriptions from the snapshot (for a later subscribe).
    persisted_last: BTreeMap<String, BTreeMap<String, String>>,
    last_now: LocalMs,
}

impl Client {
    /// A client for `identity_public`, resumed from `snapshot` if given (unsent outbox
    /// entries, including those that were in flight, are queued again).
    pub fn new(
        identity_public: ClientIdentity,
        config: ClientConfig,
        snapshot: Option<ClientSnapshot>,
    ) -> Self {
        let snap = snapshot.unwrap_or_default();
        let me = identity_public.account_id;
        let mut outbox = Outbox::default();
        outbox.restore(snap.outbox);
        let mut dedup = Dedup::default();
        dedup.restore(snap.seen);
        for e in outbox.entries() {
            let _ = dedup.note_own(me, e.sent_ms, 0, false);
        }
        let mut own_ops = OwnOps::default();
        own_ops.restore(snap.own_ops);
        let mut io = Io::default();
        io.route = Route::new(&config.bridges);
        Client {
            me: identity_public,
            clock: Clock::restored(snap.clock_offset_ms),
            io,
            pool: Pool::with_nodes(snap.pool),
            paths: Paths::default(),
            swarms: Swarms::with(snap.swarms),
            outbox,
            own_ops,
            config_pushes: ConfigPushes::default(),
            poller: Poller::new(me, &snap.last_hashes, &snap.subscription_last_hashes),
            dedup,
            servers: ServerRequests::default(),
            ons: ons::OnsLookups::default(),
            persisted_last: snap.subscription_last_hashes,
            last_now: LocalMs(0),
            config,
        }
    }

    /// Handles a user command. On success the resulting actions are queued.
    ///
    /// # Errors
    ///
    /// [`ClientError`] for a duplicate or unknown local id, an empty message, or an
    /// `identity` that is not this client's.
    pub fn handle_command<R: CryptoRng + ?Sized>(
        &mut self,
        cmd: ClientCommand,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<(), ClientError> {
        if identity.ed25519_public() != self.me.ed25519_public {
            return Err(ClientError::WrongIdentity);
        }
        let now = LocalMs(now_ms);
        let me = self.me.account_id;
        match cmd {
            ClientCommand::SendText { to, body, local_id } => {
                if body.is_empty() {
                    return Err(ClientError::EmptyMessage);
                }
                if self.outbox.contains(&local_id) {
                    return Err(ClientError::DuplicateLocalId);
                }
                let mut entry = Outbox::text(to, body, local_id, now);
                // Until a node has told us the time, the local clock may be far off: the
                // timestamp is then assigned at the first send attempt.
                if self.clock.is_synced() {
                    let (sent, record) =
                        self.dedup
                            .allocate(me, self.clock.net(now), self.config.message_ttl_ms);
                    entry.sent_ms = sent;
                    self.io.persist(vec![
                        PersistChange::Seen(record),
                        PersistChange::Outbox(entry.clone()),
                    ]);
                }
                self.outbox.add(entry, &mut self.io)?;
            }
            ClientCommand::PollNow => self.poller.poll_now(now),
            ClientCommand::SetPollingMode(mode) => self.poller.set_mode(mode, &self.config, now),
            ClientCommand::Retry { local_id } => self.outbox.retry(&local_id, now, &mut self.io)?,
            ClientCommand::SetDisplayName(name) => self.config.display_name = name,
            ClientCommand::Send {
                to,
                outgoing,
                local_id,
                sync_copy,
                ephemeral,
            } => {
                if self.outbox.contains(&local_id) {
                    return Err(ClientError::DuplicateLocalId);
                }
                let entry = Outbox::composed(to, &outgoing, local_id, sync_copy, ephemeral, now);
                // The own copies (note to self, sync copies) must not come back as new.
                let ttl = self.config.message_ttl_ms;
                if let Some(record) = self.dedup.note_own(me, entry.sent_ms, ttl, !ephemeral) {
                    self.io.persist(vec![PersistChange::Seen(record)]);
                }
                self.outbox.add(entry, &mut self.io)?;
            }
            ClientCommand::ExpireOwn { hashes, expiry_ms } => {
                let kind = OwnSwarmOpKind::Expire {
                    hashes,
                    expiry_ms: NetMs(expiry_ms),
                };
                self.own_ops.queue(kind, now, &mut self.io)?;
            }
            ClientCommand::DeleteOwn { hashes } => {
                let kind = OwnSwarmOpKind::Delete { hashes };
                self.own_ops.queue(kind, now, &mut self.io)?;
            }
            ClientCommand::PushConfig {
                tag,
                namespace,
                data,
                obsolete,
            } => {
                if self.config_pushes.contains(tag) {
                    return Err(ClientError::DuplicateTag);
                }
                if !config_push::fits(&data) {
                    return Err(ClientError::TooLarge);
                }
                self.config_pushes.queue(tag, namespace, data, obsolete);
            }
            ClientCommand::Subscribe(spec) => {
                self.poller.subscribe(spec, now, &self.persisted_last);
            }
            ClientCommand::Unsubscribe { swarm, namespace } => {
                self.poller.unsubscribe(&swarm, namespace);
            }
            ClientCommand::ServerRequest {
                tag,
                server,
                method,
                path,
                headers,
                body,
            } => {
                if self.servers.contains(tag) {
                    return Err(ClientError::DuplicateTag);
                }
                self.servers
                    .queue(tag, server, method, path, headers, body, now, &mut self.io);
            }
            ClientCommand::ResolveOns { tag, name } => {
                if self.ons.contains(tag) {
                    return Err(ClientError::DuplicateTag);
                }
                self.ons.queue(tag, &name, &mut self.io);
            }
        }
        self.pump(identity, now, rng);
        Ok(())
    }

    /// Handles the outcome of the request `id`. Unknown ids (already answered) are ignored.
    pub fn handle_response<R: CryptoRng + ?Sized>(
        &mut self,
        id: RequestId,
        result: Result<HttpResponse, TransportFailure>,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        let now = LocalMs(now_ms);
        if let Some(inflight) = self.io.take(id) {
            self.route(inflight, result, identity, now);
        }
        self.pump(identity, now, rng);
    }

    /// The driver did not send request `id` (it could not make the step that queued it
    /// durable): it is forgotten without blaming any path or node, and its work is queued
    /// again (an outbox entry's attempt is not counted). Unknown ids are ignored.
    pub fn abort_request(&mut self, id: RequestId, now_ms: u64) {
        let now = LocalMs(now_ms);
        let Some(f) = self.io.take(id) else {
            return;
        };
        match f.work {
            Work::Store { local_id, .. } => self.outbox.unsent(&local_id, now),
            Work::Retrieve { sub, .. } => self.poller.unsent(sub, now),
            Work::OwnOp { id } => self.own_ops.unsent(id, now),
            Work::ConfigPush { tag } => self.config_pushes.unsent(tag, now),
            Work::Seed => {
                self.pool.seeded(None, &mut self.io, &self.config, now);
            }
            Work::GuardTest(node) => {
                let in_pool = self.pool.contains(&node.id());
                self.paths
                    .guard_tested(node, false, in_pool, &self.config, now);
            }
            Work::PoolRefresh => self.pool.refreshed(None, &mut self.io, &self.config, now),
            Work::GetSwarm(swarm) => {
                let retry = now.plus(self.config.retry_delay_ms);
                self.swarms.fetch_failed(swarm, retry);
            }
            Work::Server(tag) => {
                if let Some(ctx) = f.onion {
                    self.servers
                        .failed(tag, ctx.guard, None, u32::MAX, now, &mut self.io);
                }
            }
            Work::TimeSync(node) => {
                let change = self.clock.round_failed(&node);
                self.clock_changed(&change);
            }
            Work::Ons { tag, node } => self.ons.unsent(tag, &node),
        }
    }

    /// Goes back to what is durable after the driver failed to apply `Persist` changes:
    /// `durable` is the snapshot as stored. The outbox, the dedup records, the last hashes
    /// and the own-swarm operations are taken from it, so messages whose records were lost
    /// are retrieved and shown again and no entry is forgotten; paths, pool, swarms and the
    /// clock are caches and stay. Abort the requests of the failed step first
    /// ([`Client::abort_request`]); requests still in flight keep their place.
    pub fn revert_to(&mut self, durable: ClientSnapshot) {
        // Actions queued since the failed step describe state that is gone: requests among
        // them are aborted, the rest dropped.
        for action in self.io.take_actions() {
            if let Action::Http(req) = action {
                self.abort_request(req.id, self.last_now.0);
            }
        }
        let mut stores = std::collections::BTreeSet::new();
        let mut ops = BTreeMap::new();
        for (id, work) in self.io.in_flight() {
            match work {
                Work::Store { local_id, .. } => {
                    stores.insert(local_id.clone());
                }
                Work::OwnOp { id: op } => {
                    ops.insert(*op, id);
                }
                _ => {}
            }
        }
        self.outbox.revert(durable.outbox, &stores);
        self.dedup.revert(durable.seen);
        let me = self.me.account_id;
        for e in self.outbox.entries() {
            let _ = self.dedup.note_own(me, e.sent_ms, 0, false);
        }
        self.own_ops.revert(durable.own_ops, &ops);
        self.poller
            .revert_last_hashes(&durable.last_hashes, &durable.subscription_last_hashes);
        self.persisted_last = durable.subscription_last_hashes;
    }

    /// Handles the passing of time (call at [`Client::next_timeout`]).
    pub fn handle_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        self.pump(identity, LocalMs(now_ms), rng);
    }

    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.io.pop_action()
    }

    /// When (local clock, ms) [`Client::handle_timeout`] should be called next, if ever.
    pub fn next_timeout(&self) -> Option<u64> {
        let have_paths = !self.paths.is_empty();
        let mut times: Vec<LocalMs> = self.io.deadlines().collect();
        times.extend(self.outbox.next_due(&self.clock, have_paths));
        times.extend(self.pool.next_due(&self.config, have_paths, &self.io));
        times.extend(self.paths.next_due(&self.config));
        if have_paths {
            times.extend(self.swarms.next_due());
            times.extend(self.own_ops.next_due());
            times.extend(self.config_pushes.next_due());
            times.extend(self.poller.next_due(|s| self.swarms.get(s).is_some()));
            times.extend(self.servers.next_due());
            if self.ons.wants_requests() {
                times.push(self.last_now.plus(io::NO_PATH_RETRY_MS));
            }
        }
        times
            .into_iter()
            .filter(|&t| t > self.last_now)
            .min()
            .map(|t| t.0)
    }

    /// The onion path indicator.
    pub fn path_status(&self) -> PathStatus {
        self.paths.status()
    }

    /// The nodes of each onion path, guard first (for the UI's path view).
    pub fn paths(&self) -> Vec<Vec<ServiceNode>> {
        self.paths.list()
    }

    /// How requests leave: directly or through which bridge.
    pub fn route_info(&self) -> RouteInfo {
        self.io.route.info()
    }

    /// Replaces the bridges (empty: straight to the nodes). The first is used from the next
    /// request on; requests in flight finish where they went.
    pub fn set_bridges(&mut self, bridges: Vec<String>) {
        self.io.route.set_bridges(&bridges);
        self.config.bridges = bridges;
        self.route_changed();
    }

    /// The known service nodes.
    pub fn pool(&self) -> Vec<ServiceNode> {
        self.pool.nodes().values().cloned().collect()
    }

    /// The cached swarm of `account`, if any.
    pub fn cached_swarm(&self, account: &AccountId) -> Option<&[ServiceNode]> {
        self.swarms.get(&SwarmAddr::from(*account))
    }

    /// Diagnostic counters.
    pub fn stats(&self) -> ClientStats {
        self.poller.stats
    }

    /// The outbox (unsent and failed entries, and entries sent since the last restore).
    pub fn outbox(&self) -> &[OutboxEntry] {
        self.outbox.entries()
    }

    /// Pending own-swarm operations (expire, delete), for diagnostics and tests.
    pub fn own_ops(&self) -> Vec<OwnSwarmOp> {
        self.own_ops.list()
    }

    /// The polled subscriptions (the default one first).
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.poller.subscriptions()
    }

    /// Network time (ms) at local time `now_ms`, using the offset learned from nodes.
    pub fn network_time_ms(&self, now_ms: u64) -> u64 {
        self.clock.net(LocalMs(now_ms)).0
    }

    /// The current network time offset (network minus local, ms).
    pub fn time_offset_ms(&self) -> i64 {
        self.clock.offset_ms()
    }

    /// Whether the network time is known (a node answered, in this session or, through the
    /// snapshot, an earlier one). Until then the device clock may be far off: do not
    /// allocate sent timestamps ([`Client::allocate_sent_ms`]); wait for
    /// [`ClientEvent::ClockSynced`].
    pub fn clock_synced(&self) -> bool {
        self.clock.is_synced()
    }

    /// Takes the device clock as network time until nodes answer, so sent timestamps can be
    /// allocated at once. Only for a driver that runs without any network (offline tests):
    /// a real client waits for [`ClientEvent::ClockSynced`].
    pub fn assume_device_clock(&mut self) {
        self.clock.assume_synced();
    }

    /// Whether the device clock is far off the network's (more than 60 s).
    pub fn clock_far_off(&self) -> bool {
        self.clock.is_synced() && self.clock.is_far_off()
    }

    /// A sent timestamp for a new own message composed at local time `now`: network time,
    /// unique for this account (the pair (sender, sent timestamp) identifies a message) and
    /// increasing while the clock is sane, and recorded as seen so that the own copies never
    /// come back as new. The record is queued as a persist action: drain the actions before
    /// sending the message. Call it only once [`Client::clock_synced`]: before, it is the
    /// device clock.
    pub fn allocate_sent_ms(&mut self, now: LocalMs) -> NetMs {
        let (sent, record) = self.dedup.allocate(
            self.me.account_id,
            self.clock.net(now),
            self.config.message_ttl_ms,
        );
        self.io.persist(vec![PersistChange::Seen(record)]);
        sent
    }

    // ----- routing -------------------------------------------------------------------

    fn route(
        &mut self,
        f: InFlight,
        result: Result<HttpResponse, TransportFailure>,
        identity: &Identity,
        now: LocalMs,
    ) {
        let verdict = match &f.onion {
            Some(ctx) => self.io.route.judge(&ctx.guard, ctx.via, &result),
            None => Verdict::Path,
        };
        match (f.onion, f.work) {
            (None, work) => self.direct_response(work, result, now),
            (Some(ctx), work) if verdict == Verdict::Bridge => self.bridge_failed(work, &ctx, now),
            (Some(ctx), Work::GuardTest(node)) => {
                // A one-hop `info` through the bridge: read it as if the candidate had
                // answered directly.
                let answer = match (verdict, classify_snode(&ctx, result)) {
                    (Verdict::Guard, _) => None,
                    (_, OnionOutcome::Reply(status, body)) => {
                        self.io.route.good_answer(ctx.via);
                        Some(HttpResponse {
                            status,
                            body: body.into_bytes(),
                        })
                    }
                    (_, _) => {
                        self.io.route.bad_answer(&ctx.guard, ctx.via);
                        None
                    }
                };
                let answer = answer.ok_or(TransportFailure::Unreachable);
                self.direct_response(Work::GuardTest(node), answer, now);
            }
            (Some(ctx), work) if verdict == Verdict::Guard => {
                self.path_failed(&ctx.guard);
                match ctx.dest {
                    Some(dest) => self.work_failed(work, dest, now, true),
                    None => self.server_failed(work, &ctx, None, now),
                }
            }
            (Some(ctx), work) => self.onion_response(work, ctx, result, identity, now),
        }
        self.route_changed();
    }

    /// A request through the bridge failed on the bridge's account (it is down or refused):
    /// neither the path nor the destination is blamed; the work is retried later.
    fn bridge_failed(&mut self, work: Work, ctx: &OnionCtx, now: LocalMs) {
        match (work, ctx.dest) {
            (Work::GuardTest(node), _) => {
                let in_pool = self.pool.contains(&node.id());
                self.paths
                    .guard_tested(node, false, in_pool, &self.config, now);
            }
            (work @ Work::Server(_), _) | (work, None) => self.server_failed(work, ctx, None, now),
            (work, Some(dest)) => self.work_failed(work, dest, now, true),
        }
    }

    /// Tells the UI when the bridge in use changed.
    fn route_changed(&mut self) {
        if std::mem::take(&mut self.io.route.changed) {
            let info = self.io.route.info();
            self.io.notify(ClientEvent::RouteChanged(info));
        }
    }

    fn record_time(&mut self, node: NodeId, body: &[u8], now: LocalMs) {
        if let Some(t) = wire::parse_t(body) {
            let change = self.clock.record(node, t, now);
            self.clock_changed(&change);
        }
    }

    fn clock_changed(&mut self, change: &clock::ClockChange) {
        if let Some(offset_ms) = change.persist {
            self.io
                .persist(vec![PersistChange::ClockOffset { offset_ms }]);
        }
        if change.synced {
            self.io.notify(ClientEvent::ClockSynced);
        }
        if let Some(offset_ms) = change.warn {
            self.io.notify(ClientEvent::ClockSkew {
                offset_ms,
                far_off: self.clock.is_far_off(),
            });
        }
    }

    fn direct_response(
        &mut self,
        work: Work,
        result: Result<HttpResponse, TransportFailure>,
        now: LocalMs,
    ) {
        let ok_body = match result {
            Ok(resp) if resp.status == 200 => Some(resp.body),
            _ => None,
        };
        match work {
            Work::Seed => {
                let seeded = self
                    .pool
                    .seeded(ok_body.as_deref(), &mut self.io, &self.config, now);
                if !seeded {
                    self.paths.failing = true;
                }
            }
            Work::GuardTest(node) => {
                let t = ok_body.as_deref().and_then(wire::parse_info);
                let valid = t.is_some();
                if let Some(t) = t {
                    let change = self.clock.record(node.id(), t, now);
                    self.clock_changed(&change);
                }
                let in_pool = self.pool.contains(&node.id());
                let key = node.id();
                self.paths
                    .guard_tested(node, valid, in_pool, &self.config, now);
                if !valid {
                    self.node_failed(&key);
                }
            }
            _ => {}
        }
    }

    fn onion_response(
        &mut self,
        work: Work,
        ctx: OnionCtx,
        result: Result<HttpResponse, TransportFailure>,
        identity: &Identity,
        now: LocalMs,
    ) {
        let Some(dest) = ctx.dest else {
            self.server_response(work, &ctx, result, now);
            return;
        };
        let outcome = classify_snode(&ctx, result);
        if matches!(outcome, OnionOutcome::Reply(..)) {
            // It decrypted: whatever the route is, it carried the destination's answer.
            self.io.route.good_answer(ctx.via);
        }
        match outcome {
            OnionOutcome::Reply(200, body) => {
                self.record_time(dest, body.as_bytes(), now);
                self.paths.path_ok(&ctx.guard);
                self.pool.node_ok(&dest);
                self.work_succeeded(work, body.as_bytes(), dest, identity, now);
            }
            OnionOutcome::Reply(421, body) => {
                // Only members the pool vouches for are taken (swarms.rs); a 421 naming none
                // counts as a failure of the node and of the request.
                let accepted = match (self.swarm_of(&work), wire::parse_swarm(body.as_bytes())) {
                    (Some(s), Some(nodes)) => {
                        let pool = self.pool.nodes();
                        self.swarms.offer(s, &nodes, dest, pool, &mut self.io)
                    }
                    _ => false,
                };
                if !accepted {
                    self.node_failed(&dest);
                }
                self.work_failed(work, dest, now, !accepted);
            }
            OnionOutcome::Reply(404, _) if matches!(work, Work::OwnOp { .. }) => {
                // Nothing left to delete or expire on this swarm: done.
                self.work_succeeded(work, b"{}", dest, identity, now);
            }
            OnionOutcome::Reply(406 | 425, _) => {
                // Our clock, not the node: resync (rounds back off) and retry with backoff.
                self.io.notify(ClientEvent::ClockOutOfSync);
                self.clock.clock_error(now);
                self.work_failed(work, dest, now, true);
            }
            OnionOutcome::Reply(_, _) => {
                self.node_failed(&dest);
                self.work_failed(work, dest, now, true);
            }
            OnionOutcome::PathFailed => {
                self.io.route.bad_answer(&ctx.guard, ctx.via);
                self.path_failed(&ctx.guard);
                self.work_failed(work, dest, now, true);
            }
            OnionOutcome::NodeNotFound(key) => {
                self.drop_node(&key);
                self.work_failed(work, dest, now, true);
            }
            OnionOutcome::DestFailed => {
                self.io.route.bad_answer(&ctx.guard, ctx.via);
                self.path_failed(&ctx.guard);
                self.node_failed(&dest);
                self.work_failed(work, dest, now, true);
            }
        }
    }

    /// The answer to a server request (`work` is [`Work::Server`]).
    fn server_response(
        &mut self,
        work: Work,
        ctx: &OnionCtx,
        result: Result<HttpResponse, TransportFailure>,
        now: LocalMs,
    ) {
        let Work::Server(tag) = work else {
            return;
        };
        if let Ok(resp) = &result
            && server::is_proxy_refusal(resp)
        {
            // The path worked: a node answered deliberately.
            self.paths.path_ok(&ctx.guard);
            self.servers.refused(tag, resp.status, &mut self.io);
            return;
        }
        let status = result.as_ref().ok().map(|r| r.status).filter(|s| *s != 200);
        let decrypt = |body: &[u8]| decrypt_v4_response(&ctx.key, body).ok();
        match classify(result, decrypt) {
            Ok(reply) => {
                self.io.route.good_answer(ctx.via);
                self.paths.path_ok(&ctx.guard);
                self.servers.answered(tag, reply, &mut self.io);
            }
            Err(outcome) => {
                match outcome {
                    OnionOutcome::NodeNotFound(key) => self.drop_node(&key),
                    _ => self.path_failed(&ctx.guard),
                }
                self.io.route.bad_answer(&ctx.guard, ctx.via);
                self.server_failed(Work::Server(tag), ctx, status, now);
            }
        }
    }

    /// A server request failed (an attempt is counted).
    fn server_failed(&mut self, work: Work, ctx: &OnionCtx, status: Option<u16>, now: LocalMs) {
        if let Work::Server(tag) = work {
            let max = self.config.server_request_attempts;
            self.servers
                .failed(tag, ctx.guard, status, max, now, &mut self.io);
        }
    }

    /// The swarm a request to a swarm member was for (what a 421 answer replaces).
    fn swarm_of(&self, work: &Work) -> Option<SwarmAddr> {
        match work {
            Work::GetSwarm(s) => Some(*s),
            Work::Retrieve { sub, .. } => self.poller.swarm_of(*sub),
            Work::OwnOp { .. } | Work::ConfigPush { .. } => Some(self.me.account_id.into()),
            Work::Store { local_id, .. } => self.outbox.recipient(local_id),
            Work::Seed
            | Work::GuardTest(_)
            | Work::PoolRefresh
            | Work::Server(_)
            | Work::TimeSync(_)
            | Work::Ons { .. } => None,
        }
    }

    /// Puts failed work back in its queue. `counts` is false when the failure says nothing
    /// about the request itself (421: retry at once on the new swarm).
    fn work_failed(&mut self, work: Work, dest: NodeId, now: LocalMs, counts: bool) {
        let max = self.config.max_send_attempts;
        match work {
            Work::Seed | Work::GuardTest(_) => {}
            Work::PoolRefresh => self.pool.refreshed(None, &mut self.io, &self.config, now),
            Work::GetSwarm(swarm) => {
                let retry = now.plus(self.config.retry_delay_ms);
                self.swarms.fetch_failed(swarm, retry);
            }
            Work::Store { local_id, .. } => {
                self.outbox
                    .store_failed(local_id, dest, counts, max, now, &mut self.io);
            }
            Work::Retrieve { sub, .. } => self.poller.failed(sub, counts, now),
            Work::OwnOp { id } => self.own_ops.failed(id, counts, max, now, &mut self.io),
            Work::ConfigPush { tag } => {
                self.config_pushes
                    .failed(tag, counts, max, now, &mut self.io);
            }
            Work::Server(_) => {}
            Work::TimeSync(node) => {
                let change = self.clock.round_failed(&node);
                self.clock_changed(&change);
            }
            Work::Ons { tag, .. } => self.ons.failed(tag, &mut self.io),
        }
    }

    fn work_succeeded(
        &mut self,
        work: Work,
        body: &[u8],
        dest: NodeId,
        identity: &Identity,
        now: LocalMs,
    ) {
        match work {
            Work::Seed | Work::GuardTest(_) | Work::Server(_) => {}
            Work::PoolRefresh => self
                .pool
                .refreshed(Some(body), &mut self.io, &self.config, now),
            Work::GetSwarm(swarm) => {
                let retry = now.plus(self.config.retry_delay_ms);
                let pool = self.pool.nodes();
                if !self
                    .swarms
                    .fetched(swarm, body, dest, pool, &mut self.io, retry)
                {
                    self.node_failed(&dest);
                }
            }
            Work::Store {
                local_id,
                expected_hash,
            } => {
                let members = self
                    .outbox
                    .recipient(&local_id)
                    .and_then(|to| self.swarms.get(&to));
                let acknowledged = self.outbox.stored(
                    local_id.clone(),
                    expected_hash,
                    body,
                    dest,
                    members,
                    self.me.account_id,
                    self.config.send_sync_copies,
                    now,
                    &mut self.io,
                );
                if !acknowledged {
                    // No signed acknowledgement of our message from a swarm member.
                    self.node_failed(&dest);
                    let max = self.config.max_send_attempts;
                    self.outbox
                        .store_failed(local_id, dest, true, max, now, &mut self.io);
                }
            }
            Work::OwnOp { id } => self.own_ops.done(id, &mut self.io),
            Work::ConfigPush { tag } => {
                let own = self.me.account_id.into();
                let max = self.config.max_send_attempts;
                if !self
                    .config_pushes
                    .answered(tag, body, own, max, now, &mut self.io)
                {
                    self.node_failed(&dest);
                }
            }
            Work::Ons { tag, .. } => self.ons.answered(tag, body, &mut self.io),
            Work::TimeSync(node) => {
                // (An answer with a time was taken by `record_time`; one without fails.)
                let change = self.clock.round_failed(&node);
                self.clock_changed(&change);
            }
            Work::Retrieve { sub, node } => {
                let mut rx = Receive {
                    io: &mut self.io,
                    dedup: &mut self.dedup,
                    clock: &self.clock,
                    identity,
                    config: &self.config,
                };
                if !self.poller.retrieved(sub, node, body, &mut rx, now) {
                    self.node_failed(&dest);
                }
            }
        }
    }

    /// Removes a node from the pool, every swarm and every path containing it.
    fn drop_node(&mut self, key: &NodeId) {
        self.paths.remove_node(key);
        self.swarms.remove_node(key, &mut self.io);
        self.pool.remove(key, &mut self.io);
    }

    fn node_failed(&mut self, key: &NodeId) {
        if self.pool.node_failed(key, self.config.failure_threshold) {
            self.drop_node(key);
        }
    }

    fn path_failed(&mut self, guard: &NodeId) {
        if self.paths.path_failed(guard, self.config.failure_threshold) {
            // Desktop rule: a path that failed too often is dropped with its guard.
            self.drop_node(guard);
        }
    }

    fn drop_unusable(&mut self) {
        for key in std::mem::take(&mut self.io.unusable) {
            self.drop_node(&key);
        }
    }

    // ----- scheduling ----------------------------------------------------------------

    /// Starts every request that is due and possible.
    fn pump<R: CryptoRng + ?Sized>(&mut self, identity: &Identity, now: LocalMs, rng: &mut R) {
        self.last_now = now;
        // Requests the driver never answered count as timed out.
        for f in self.io.take_expired(now) {
            self.route(f, Err(TransportFailure::Timeout), identity, now);
        }
        // Typing indicators that could not go out within their TTL are pointless now.
        self.outbox.drop_stale_ephemeral(self.clock.net(now));
        self.pool.ensure_seeded(&mut self.io, &self.config, now);
        let me = self.me.account_id;
        self.paths
            .ensure(self.pool.nodes(), &mut self.io, &self.config, now, rng);
        self.paths.update_status(&mut self.io);
        if self.paths.is_empty() {
            return;
        }
        let mut net = Net {
            io: &mut self.io,
            paths: &self.paths,
            config: &self.config,
            now,
        };
        self.pool.dispatch_refresh(&mut net, rng);
        if self.clock.round_due() {
            // Ask random nodes their time; their median replaces the samples.
            let mut asked = std::collections::BTreeSet::new();
            for _ in 0..clock::RESYNC_NODES {
                let Some(node) = self.pool.random(&asked, rng) else {
                    break;
                };
                let payload = wire::rpc_request("info", &serde_json::json!({}));
                if net
                    .send_snode(&node, payload, Work::TimeSync(node.id()), rng)
                    .is_some()
                {
                    asked.insert(node.id());
                }
            }
            self.clock.start_round(asked, now);
        }
        let own = SwarmAddr::from(me);
        self.swarms.ensure(own, self.pool.nodes(), &mut net, rng);
        self.swarms
            .ensure_unconfirmed(self.pool.nodes(), &mut net, rng);
        for swarm in self.poller.swarms() {
            self.swarms.ensure(swarm, self.pool.nodes(), &mut net, rng);
        }
        self.outbox.dispatch(
            &mut Dispatch {
                net: &mut net,
                swarms: &mut self.swarms,
                pool: self.pool.nodes(),
                dedup: &mut self.dedup,
                clock: &self.clock,
                identity,
            },
            rng,
        );
        if let Some(members) = self.swarms.get(&own) {
            self.own_ops.dispatch(own, members, identity, &mut net, rng);
            self.config_pushes
                .dispatch(own, members, identity, &self.clock, &mut net, rng);
        }
        let swarms = &self.swarms;
        self.poller
            .dispatch(|s| swarms.get(s), identity, &self.clock, &mut net, rng);
        self.servers.dispatch(&mut net, rng);
        self.ons.dispatch(&self.pool, &mut net, rng);
        self.drop_unusable();
    }
}
