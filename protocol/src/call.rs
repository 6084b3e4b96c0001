//! 1:1 call signalling, sans-IO: Session's `CallMessage` exchange (pre-offer, offer, answer,
//! ICE candidates, end call) as session-desktop's `ts/session/utils/calling/CallManager.ts`
//! and `ts/receiver/callMessage.ts` run it. The media itself (WebRTC) is the caller's: this
//! module says when to open a peer connection, set a description, add candidates, ring and
//! close, and what to send.
//!
//! * [`wire`]: the typed `CallMessage` ([`CallSignal`]).
//! * [`Calls`]: the calls of this device — at most one live call, as desktop — with the
//!   early-message cache (candidates that arrive before their offer), the ids of finished
//!   calls (messages about them are dropped, desktop `rejectedCallUUIDS`), the settings
//!   check, the contact check and glare.
//! * [`Call`]: one call id's state machine.
//!
//! Inputs: user actions ([`Calls::start`], [`Calls::accept`], [`Calls::decline`],
//! [`Calls::hang_up`]), WebRTC results ([`Calls::local_offer`], [`Calls::local_answer`],
//! [`Calls::local_candidate`], [`Calls::peer_connected`], [`Calls::peer_failed`]), received
//! signals ([`Calls::handle_signal`]) and time ([`Calls::handle_timeout`] when
//! [`Calls::next_timeout`] says). After each input drain [`Calls::poll_action`].
//!
//! Times: timers run on [`LocalMs`]; the age of a received offer is judged on [`NetMs`] (the
//! envelope's sent time against network time).
//!
//! Rules, each from desktop unless said:
//! * Timeouts: [`CALL_TIMEOUT_MS`] (`callTimeoutMs`) for an outgoing call to connect, for
//!   an incoming call to be answered (`IncomingCallDialog`), and — Umbra's addition — for an
//!   accepted incoming call to connect. An offer sent more than [`CALL_TIMEOUT_MS`] ago is a
//!   missed call (`handleCallTypeOffer`, "too-old-timestamp").
//! * Every call message is stored with TTL [`CALL_TTL_MS`] (`TTL_DEFAULT.CALL_MESSAGE`).
//! * Own ICE candidates are batched: sent [`ICE_BATCH_MS`] after the last one
//!   (`iceSenderDebouncer`, `_.debounce(…, 2000)`), not before the own offer/answer is sent.
//! * Received candidates wait until the remote description is set, then are added.
//! * Calls disabled in settings, or from an account that is neither approved nor sent a
//!   message by us (`isUserApprovedOrWeSentAMessage`): nothing is sent back (the caller
//!   learns nothing) and [`CallAction::Missed`] reports it.
//! * A call while another is live: END_CALL to the caller (and the own swarm,
//!   `rejectCallAlreadyAnotherCall`), reported missed unless it is the same peer.
//! * Glare (both call each other at once, each has an outgoing call not yet answered): the
//!   call with the lexicographically lesser call id survives and the other is abandoned;
//!   if the incoming one is the lesser, it is accepted on the user's behalf (the Matrix
//!   client-server spec, `matrix-org/matrix-spec` VoIP module, "Glare"). Desktop itself
//!   ends both calls (`handleCallTypeOffer` → "another-call-ongoing"); against desktop the
//!   rule still connects when desktop's id is the lesser.
//! * Within a call, colliding re-offers: the side whose last offer is newer ignores the
//!   other's (desktop's perfect-negotiation "polite" rule).
//!
//! Not here: the WebRTC objects, the device lists (the data channel's two messages are
//! [`DataChannelMessage`]), composing and encrypting the Content (the client's `Send`), the conversation's
//! call entries ([`crate::convo`]).

mod datachannel;
mod machine;
pub mod wire;

use std::collections::VecDeque;

pub use datachannel::{DataChannelMessage, MAX_DATA_CHANNEL_MESSAGE_BYTES};
pub use machine::Call;
use rand_core::CryptoRng;
pub use wire::{CallId, CallSignal, CallWireError, IceCandidate, Signal};

use crate::{
    address::{LocalMs, NetMs},
    error::ErrorKind,
    identity::AccountId,
};

/// How long a call may ring, or take to connect (desktop `callTimeoutMs`).
pub const CALL_TIMEOUT_MS: u64 = 60_000;
/// How long own ICE candidates are gathered before they are sent (desktop's debounce).
pub const ICE_BATCH_MS: u64 = 2_000;
/// Storage TTL of every call message (desktop `TTL_DEFAULT.CALL_MESSAGE`, 5 minutes).
pub const CALL_TTL_MS: u64 = 5 * 60 * 1000;
/// The id of the negotiated data channel (desktop: "S E S S I O N in ascii", 548).
pub const DATA_CHANNEL_ID: u16 = 548;
/// The label of that data channel.
pub const DATA_CHANNEL_LABEL: &str = "session-datachannel";
/// Most candidates kept per call, either way, while they wait.
pub const MAX_PENDING_CANDIDATES: usize = 128;
/// Most call ids whose early candidates are kept before their offer.
pub const MAX_EARLY_CALLS: usize = 4;
/// Most finished call ids remembered (messages about them are dropped).
pub const MAX_FINISHED_CALLS: usize = 64;

/// Who placed the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// This device called.
    Outgoing,
    /// The peer called.
    Incoming,
}

/// Where a live call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing: pre-offer sent, the offer is being made.
    Dialing,
    /// Outgoing: offer sent, waiting for the answer.
    Offered,
    /// Incoming: ringing (the offer may still be on its way).
    Ringing,
    /// Incoming: accepted; waiting for the offer or the local answer.
    Accepted,
    /// Offer and answer exchanged; ICE is connecting.
    Connecting,
    /// Media flows.
    Connected,
}

/// Why a call closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The user hung up.
    HungUp,
    /// The peer sent END_CALL.
    RemoteEnded,
    /// The user declined.
    Declined,
    /// Incoming: not answered in time.
    NotAnswered,
    /// Outgoing: not connected in time.
    NoAnswer,
    /// Incoming: accepted, but not connected in time.
    ConnectTimeout,
    /// The peer connection failed.
    ConnectionFailed,
    /// An own other device answered or declined it.
    HandledElsewhere,
    /// Glare: the peer's simultaneous call replaced this one.
    Glare,
}

/// Why an incoming call is shown as missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissedReason {
    /// Calls are off in the settings (desktop "permissions").
    CallsDisabled,
    /// The caller is not an approved contact (desktop "not-approved"; desktop adds no entry).
    NotApproved,
    /// The offer was sent more than [`CALL_TIMEOUT_MS`] ago.
    TooOld,
    /// Another call was live.
    Busy,
    /// The user declined.
    Declined,
    /// It rang out.
    NotAnswered,
}

/// A call message to send: compose it with [`CallSignal::to_content`] and send it to `to`
/// (the peer, or the own Account ID for the copy to the own devices) with `ttl_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingSignal {
    /// Recipient.
    pub to: AccountId,
    /// What to send.
    pub signal: CallSignal,
    /// Storage TTL.
    pub ttl_ms: u64,
}

/// A received call message, as the client hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedSignal {
    /// The envelope's sender.
    pub from: AccountId,
    /// The envelope's sent time.
    pub sent: NetMs,
    /// Whether the sender is approved, or we have sent them a message (desktop
    /// `isUserApprovedOrWeSentAMessage`; calling someone approves them there, as
    /// `USER_callRecipient` sends the message-request acceptance first).
    pub approved: bool,
    /// The decoded message.
    pub signal: CallSignal,
}

/// One thing for the driver to do. Each names the call it is about.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallAction {
    /// Send this call message.
    Send(OutgoingSignal),
    /// Open the `RTCPeerConnection` (relay only, the negotiated data channel
    /// [`DATA_CHANNEL_ID`], the local media).
    OpenPeerConnection {
        /// The call.
        call: CallId,
        /// The peer.
        peer: AccountId,
        /// Who called.
        direction: Direction,
    },
    /// Create the local offer; then [`Calls::local_offer`].
    CreateOffer {
        /// The call.
        call: CallId,
    },
    /// Set the remote offer.
    SetRemoteOffer {
        /// The call.
        call: CallId,
        /// Its SDP (untrusted).
        sdp: String,
    },
    /// Create the local answer; then [`Calls::local_answer`].
    CreateAnswer {
        /// The call.
        call: CallId,
    },
    /// Set the remote answer.
    SetRemoteAnswer {
        /// The call.
        call: CallId,
        /// Its SDP (untrusted).
        sdp: String,
    },
    /// Add these remote candidates.
    AddCandidates {
        /// The call.
        call: CallId,
        /// The candidates (untrusted).
        candidates: Vec<IceCandidate>,
    },
    /// Ring (incoming: the incoming-call screen and sound; outgoing: ring-back).
    Ring {
        /// The call.
        call: CallId,
        /// The peer.
        peer: AccountId,
        /// Which ring.
        direction: Direction,
    },
    /// Stop ringing.
    StopRinging {
        /// The call.
        call: CallId,
    },
    /// The call connected: start the duration.
    Connected {
        /// The call.
        call: CallId,
        /// The peer.
        peer: AccountId,
    },
    /// Close the peer connection and the call screen.
    Closed {
        /// The call.
        call: CallId,
        /// The peer.
        peer: AccountId,
        /// Why.
        reason: EndReason,
    },
    /// Add a missed-call entry to the conversation with `peer`.
    Missed {
        /// The call.
        call: CallId,
        /// The caller.
        peer: AccountId,
        /// Why.
        reason: MissedReason,
        /// When the caller sent the call's first message.
        sent: NetMs,
    },
}

/// Why a user or WebRTC input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Calls are off in the settings.
    #[error("calls are disabled")]
    CallsDisabled,
    /// Another call is live.
    #[error("another call is in progress")]
    Busy,
    /// No live call has this id.
    #[error("no such call")]
    UnknownCall,
    /// The call is not in a state where this input makes sense.
    #[error("cannot {action} in this call state")]
    WrongState {
        /// The input.
        action: &'static str,
    },
    /// An SDP is empty or longer than [`wire::MAX_SDP_BYTES`].
    #[error("SDP empty or too long")]
    BadSdp,
    /// An own candidate is out of bounds.
    #[error("bad ICE candidate")]
    BadCandidate(#[source] CallWireError),
    /// More than [`MAX_PENDING_CANDIDATES`] own candidates wait.
    #[error("too many ICE candidates waiting")]
    TooManyCandidates,
    /// Calling oneself.
    #[error("cannot call oneself")]
    SelfCall,
}

impl CallError {
    /// Always [`ErrorKind::BadApiUsage`]: the driver or the user asked for it.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadApiUsage
    }
}

fn live<'a>(current: &'a mut Option<Call>, id: &CallId) -> Result<&'a mut Call, CallError> {
    match current.as_mut() {
        Some(c) if c.id() == id => Ok(c),
        _ => Err(CallError::UnknownCall),
    }
}

#[derive(Clone, Debug)]
struct Early {
    id: CallId,
    peer: AccountId,
    seen: LocalMs,
    candidates: Vec<IceCandidate>,
}

/// The calls of this device: at most one live [`Call`]. Owns no sockets or clocks.
#[derive(Clone, Debug)]
pub struct Calls {
    me: AccountId,
    enabled: bool,
    current: Option<Call>,
    early: VecDeque<Early>,
    finished: VecDeque<CallId>,
    actions: VecDeque<CallAction>,
}

impl Calls {
    /// No calls yet. `enabled`: the "voice and video calls" setting.
    pub fn new(me: AccountId, enabled: bool) -> Self {
        Calls {
            me,
            enabled,
            current: None,
            early: VecDeque::new(),
            finished: VecDeque::new(),
            actions: VecDeque::new(),
        }
    }

    /// The setting changed. A live call goes on.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// The live call, if any.
    pub fn current(&self) -> Option<&Call> {
        self.current.as_ref()
    }

    /// The next action; call until `None` after every input.
    pub fn poll_action(&mut self) -> Option<CallAction> {
        self.actions.pop_front()
    }

    /// When to call [`Calls::handle_timeout`] next.
    pub fn next_timeout(&self) -> Option<LocalMs> {
        let early = self
            .early
            .iter()
            .map(|e| e.seen.plus(CALL_TIMEOUT_MS))
            .min();
        match (self.current.as_ref().and_then(Call::next_timeout), early) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn finish(&mut self, id: CallId) {
        if self.finished.contains(&id) {
            return;
        }
        if self.finished.len() >= MAX_FINISHED_CALLS {
            self.finished.pop_front();
        }
        self.finished.push_back(id);
    }

    /// Moves an ended current call to the finished ids.
    fn settle(&mut self) {
        if self.current.as_ref().is_some_and(Call::is_ended)
            && let Some(call) = self.current.take()
        {
            self.finish(call.id().clone());
        }
    }

    /// The user calls `peer`. Then: the pre-offer is sent, [`CallAction::OpenPeerConnection`],
    /// [`CallAction::Ring`] and [`CallAction::CreateOffer`] follow; answer the latter with
    /// [`Calls::local_offer`].
    ///
    /// # Errors
    ///
    /// [`CallError::CallsDisabled`], [`CallError::Busy`], [`CallError::SelfCall`].
    pub fn start<R: CryptoRng + ?Sized>(
        &mut self,
        peer: AccountId,
        now: LocalMs,
        rng: &mut R,
    ) -> Result<CallId, CallError> {
        if !self.enabled {
            return Err(CallError::CallsDisabled);
        }
        if self.current.is_some() {
            return Err(CallError::Busy);
        }
        if peer == self.me {
            return Err(CallError::SelfCall);
        }
        let id = CallId::generate(rng);
        self.current = Some(Call::outgoing(id.clone(), peer, now, &mut self.actions));
        Ok(id)
    }

    /// The user accepts the ringing call. Then [`CallAction::OpenPeerConnection`], and once
    /// the offer is here [`CallAction::SetRemoteOffer`] and [`CallAction::CreateAnswer`].
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`], [`CallError::WrongState`] (not ringing).
    pub fn accept(&mut self, id: &CallId, now: LocalMs) -> Result<(), CallError> {
        live(&mut self.current, id)?.accept(now, &mut self.actions)
    }

    /// The user declines the ringing call: END_CALL to the caller and the own swarm, a
    /// missed-call entry, closed.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`], [`CallError::WrongState`] (not ringing).
    pub fn decline(&mut self, id: &CallId) -> Result<(), CallError> {
        let me = self.me;
        live(&mut self.current, id)?.decline(&me, EndReason::Declined, &mut self.actions)?;
        self.settle();
        Ok(())
    }

    /// The user hangs up (or cancels an outgoing call; on a ringing call it declines).
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`].
    pub fn hang_up(&mut self, id: &CallId) -> Result<(), CallError> {
        let me = self.me;
        let call = live(&mut self.current, id)?;
        if call.direction() == Direction::Incoming && call.state() == CallState::Ringing {
            call.decline(&me, EndReason::Declined, &mut self.actions)?;
        } else {
            call.hang_up(EndReason::HungUp, &mut self.actions);
        }
        self.settle();
        Ok(())
    }

    /// WebRTC made the local offer (after [`CallAction::CreateOffer`], or an ICE restart in
    /// a connected call, desktop's re-offer). `net_now` is the offer's sent time.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`], [`CallError::WrongState`], [`CallError::BadSdp`].
    pub fn local_offer(
        &mut self,
        id: &CallId,
        sdp: String,
        now: LocalMs,
        net_now: NetMs,
    ) -> Result<(), CallError> {
        live(&mut self.current, id)?.local_offer(sdp, now, net_now, &mut self.actions)
    }

    /// WebRTC made the local answer (after [`CallAction::CreateAnswer`]).
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`], [`CallError::WrongState`], [`CallError::BadSdp`].
    pub fn local_answer(
        &mut self,
        id: &CallId,
        sdp: String,
        now: LocalMs,
    ) -> Result<(), CallError> {
        let me = self.me;
        live(&mut self.current, id)?.local_answer(&me, sdp, now, &mut self.actions)
    }

    /// WebRTC gathered a local candidate (batched; see [`ICE_BATCH_MS`]).
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`], [`CallError::BadCandidate`],
    /// [`CallError::TooManyCandidates`].
    pub fn local_candidate(
        &mut self,
        id: &CallId,
        candidate: IceCandidate,
        now: LocalMs,
    ) -> Result<(), CallError> {
        live(&mut self.current, id)?.local_candidate(candidate, now, &mut self.actions)
    }

    /// WebRTC reports the peer connection connected.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`], [`CallError::WrongState`] (no answer yet).
    pub fn peer_connected(&mut self, id: &CallId) -> Result<(), CallError> {
        live(&mut self.current, id)?.connected(&mut self.actions)
    }

    /// WebRTC reports the peer connection failed: the call ends on both sides (END_CALL to
    /// the peer).
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`].
    pub fn peer_failed(&mut self, id: &CallId) -> Result<(), CallError> {
        live(&mut self.current, id)?.hang_up(EndReason::ConnectionFailed, &mut self.actions);
        self.settle();
        Ok(())
    }

    /// The data channel said [`DataChannelMessage::Hangup`]: the peer ended the call (desktop
    /// handles it as an END_CALL from the peer, `onDataChannelReceivedMessage`). Nothing is
    /// sent.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownCall`].
    pub fn remote_hung_up(&mut self, id: &CallId) -> Result<(), CallError> {
        live(&mut self.current, id)?.remote_ended(&mut self.actions);
        self.settle();
        Ok(())
    }

    /// Time passed: flushes candidate batches, rings out, gives up on unanswered calls,
    /// forgets early candidates older than [`CALL_TIMEOUT_MS`].
    pub fn handle_timeout(&mut self, now: LocalMs) {
        let me = self.me;
        if let Some(call) = self.current.as_mut() {
            call.handle_timeout(&me, now, &mut self.actions);
        }
        self.settle();
        self.early.retain(|e| e.seen.plus(CALL_TIMEOUT_MS) > now);
    }

    /// A call message arrived (decoded with [`CallSignal::from_proto`]). `now` is local time,
    /// `net_now` network time (for the age of an offer).
    pub fn handle_signal(&mut self, msg: ReceivedSignal, now: LocalMs, net_now: NetMs) {
        let ReceivedSignal {
            from,
            sent,
            approved,
            signal: CallSignal { call_id, signal },
        } = msg;
        // desktop `isCallRejected`: nothing more about a finished call.
        if self.finished.contains(&call_id) {
            return;
        }
        if from == self.me {
            // Own other devices: only ANSWER and END_CALL count (desktop
            // `handleCallMessage`): that device took or refused the call.
            if matches!(signal, Signal::Answer { .. } | Signal::EndCall) {
                match self.current.as_mut() {
                    Some(c) if *c.id() == call_id => {
                        if c.direction() == Direction::Incoming && c.state() == CallState::Ringing {
                            c.handled_elsewhere(&mut self.actions);
                            self.settle();
                        }
                    }
                    _ => {
                        self.early.retain(|e| e.id != call_id);
                        self.finish(call_id);
                    }
                }
            }
            return;
        }
        if let Some(c) = self.current.as_mut()
            && *c.id() == call_id
        {
            if *c.peer() == from {
                c.on_signal(signal, sent, &mut self.actions);
                self.settle();
            }
            return;
        }
        match signal {
            Signal::PreOffer | Signal::Offer { .. } => {
                self.new_incoming(from, sent, approved, call_id, signal, now, net_now);
            }
            Signal::IceCandidates(cs) => self.keep_early(from, call_id, cs, now),
            Signal::EndCall => {
                self.early.retain(|e| e.id != call_id);
                self.finish(call_id);
            }
            Signal::Answer { .. }
            | Signal::ProvisionalAnswer { .. }
            | Signal::Unrecognized { .. } => {}
        }
    }

    fn keep_early(&mut self, from: AccountId, id: CallId, cs: Vec<IceCandidate>, now: LocalMs) {
        if let Some(e) = self.early.iter_mut().find(|e| e.id == id) {
            if e.peer == from {
                let room = MAX_PENDING_CANDIDATES.saturating_sub(e.candidates.len());
                e.candidates.extend(cs.into_iter().take(room));
            }
            return;
        }
        if self.early.len() >= MAX_EARLY_CALLS {
            self.early.pop_front();
        }
        let mut candidates = cs;
        candidates.truncate(MAX_PENDING_CANDIDATES);
        self.early.push_back(Early {
            id,
            peer: from,
            seen: now,
            candidates,
        });
    }

    fn take_early(&mut self, from: &AccountId, id: &CallId) -> Vec<IceCandidate> {
        let Some(pos) = self.early.iter().position(|e| e.id == *id) else {
            return Vec::new();
        };
        match self.early.remove(pos) {
            Some(e) if e.peer == *from => e.candidates,
            _ => Vec::new(),
        }
    }

    fn missed(&mut self, call: CallId, peer: AccountId, reason: MissedReason, sent: NetMs) {
        self.actions.push_back(CallAction::Missed {
            call: call.clone(),
            peer,
            reason,
            sent,
        });
        self.early.retain(|e| e.id != call);
        self.finish(call);
    }

    /// END_CALL for `id` to `to` and the own swarm (desktop `rejectCallAlreadyAnotherCall`).
    fn reject(&mut self, to: &AccountId, id: &CallId) {
        for recipient in [*to, self.me] {
            self.actions.push_back(CallAction::Send(OutgoingSignal {
                to: recipient,
                signal: CallSignal {
                    call_id: id.clone(),
                    signal: Signal::EndCall,
                },
                ttl_ms: CALL_TTL_MS,
            }));
        }
        self.early.retain(|e| e.id != *id);
        self.finish(id.clone());
    }

    #[allow(clippy::too_many_arguments)]
    fn new_incoming(
        &mut self,
        from: AccountId,
        sent: NetMs,
        approved: bool,
        id: CallId,
        signal: Signal,
        now: LocalMs,
        net_now: NetMs,
    ) {
        if !self.enabled {
            return self.missed(id, from, MissedReason::CallsDisabled, sent);
        }
        if !approved {
            return self.missed(id, from, MissedReason::NotApproved, sent);
        }
        if sent <= net_now.minus(CALL_TIMEOUT_MS) {
            return self.missed(id, from, MissedReason::TooOld, sent);
        }
        let mut glare_accept = false;
        if let Some(cur) = self.current.as_mut() {
            let glare = *cur.peer() == from
                && cur.direction() == Direction::Outgoing
                && matches!(cur.state(), CallState::Dialing | CallState::Offered);
            if glare && id < *cur.id() {
                // The peer's call wins: abandon ours, take theirs.
                cur.hang_up(EndReason::Glare, &mut self.actions);
                self.settle();
                glare_accept = true;
            } else if glare || *cur.peer() == from {
                // Ours wins (glare), or another of the peer's devices calls during our
                // call with them: refuse without a missed entry.
                return self.reject(&from, &id);
            } else {
                self.reject(&from, &id);
                self.actions.push_back(CallAction::Missed {
                    call: id,
                    peer: from,
                    reason: MissedReason::Busy,
                    sent,
                });
                return;
            }
        }
        let offer = match signal {
            Signal::Offer { sdp } => Some(sdp),
            _ => None,
        };
        let early = self.take_early(&from, &id);
        let mut call = Call::incoming(
            machine::Announced {
                id,
                peer: from,
                sent,
                offer,
                early,
            },
            !glare_accept,
            now,
            &mut self.actions,
        );
        if glare_accept {
            // Ringing is the state accept needs; it cannot fail here.
            let _ = call.accept(now, &mut self.actions);
        }
        self.current = Some(call);
    }
}
