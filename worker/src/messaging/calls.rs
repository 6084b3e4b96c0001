//! Calls: the worker drives the sans-IO signalling ([`umbra_protocol::call::Calls`]) and the
//! page holds the `RTCPeerConnection` (a web Worker has none). Inputs: the user's and the
//! page's [`CallCommand`]s, received `CallMessage`s (split off the client's received
//! messages before the conversation rules see them) and the timer. Effects: call messages
//! sent through the client's normal send path (ephemeral, TTL `CALL_TTL_MS`, as desktop's
//! `sendTo1o1NonDurably`), [`CallEvent`]s to the page, and the conversation's call entries
//! ([`Conversations::record_call`](umbra_protocol::convo::Conversations::record_call):
//! "You called", "… called you", missed calls — session-desktop's `callNotificationType`s).
//!
//! SDPs and candidates (IP addresses) pass through here and are never logged.

use core::{future::Future, pin::Pin};

use rand_core::CryptoRng;
use umbra_ipc::{CallCommand, CallEndReason, CallEvent, CallPhase, Candidate, ErrorCode, Event};
use umbra_protocol::{
    address::{LocalMs, NetMs},
    call::{
        CallAction, CallError, CallId, CallSignal, Direction, EndReason, IceCandidate,
        ReceivedSignal,
    },
    client::{ClientCommand, ControlKind, LocalId},
    identity::AccountId,
    message::Outgoing,
    store::{
        MessageDb,
        messages::{CallEntry, ConversationState},
    },
};

use super::{Cx, Messenger, dm};
use crate::net;

fn call_error(e: CallError) -> ErrorCode {
    match e {
        CallError::CallsDisabled => ErrorCode::CallsDisabled,
        CallError::Busy => ErrorCode::CallBusy,
        CallError::SelfCall => ErrorCode::InvalidConversationId,
        CallError::UnknownCall
        | CallError::WrongState { .. }
        | CallError::BadSdp
        | CallError::BadCandidate(_)
        | CallError::TooManyCandidates => ErrorCode::CallUnavailable,
    }
}

fn end_reason(r: EndReason) -> CallEndReason {
    match r {
        EndReason::HungUp => CallEndReason::HungUp,
        EndReason::RemoteEnded | EndReason::Glare => CallEndReason::RemoteEnded,
        EndReason::Declined => CallEndReason::Declined,
        EndReason::NotAnswered | EndReason::NoAnswer => CallEndReason::NoAnswer,
        EndReason::ConnectTimeout | EndReason::ConnectionFailed => CallEndReason::ConnectionFailed,
        EndReason::HandledElsewhere => CallEndReason::HandledElsewhere,
    }
}

fn call_id(s: &str) -> Result<CallId, ErrorCode> {
    CallId::new(s).map_err(|_| ErrorCode::CallUnavailable)
}

/// A boxed step: its (large) future is built in the small frame of the function returning
/// it, so the callers' poll frames do not grow by its size (debug builds keep every
/// temporary of a frame apart, and the worker's tests run near the stack's end).
type Step<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

impl Messenger {
    /// A call command from the app: the user's (start, accept, decline, hang up) or the
    /// page's WebRTC results. Its effects go out at once.
    pub fn call_command<'a, R: CryptoRng>(
        &'a mut self,
        cx: &'a mut Cx<'_, R>,
        cmd: CallCommand,
    ) -> Step<'a, Result<(), ErrorCode>> {
        Box::pin(self.run_call_command(cx, cmd))
    }

    async fn run_call_command<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        cmd: CallCommand,
    ) -> Result<(), ErrorCode> {
        let now = LocalMs(net::now_ms());
        let net_now = NetMs(self.client.network_time_ms(now.0));
        let calls = &mut self.calls;
        let result = match cmd {
            CallCommand::Start { peer } => {
                let peer = crate::driver::direct_peer(&peer)?;
                let id = calls.start(peer, now, cx.rng).map_err(call_error)?;
                // Desktop writes "started-call" when it places the call.
                let outcome = convo!(
                    self,
                    cx,
                    record_call(peer, id.as_str(), CallEntry::Outgoing, net_now)
                );
                self.apply(cx, outcome)
            }
            CallCommand::Accept { call } => {
                let id = call_id(&call)?;
                calls.accept(&id, now).map_err(call_error)?;
                if let Some(c) = self.calls.current() {
                    let peer = *c.peer();
                    (cx.post)(&phase_event(&id, &peer, false, CallPhase::Connecting));
                    let outcome = convo!(
                        self,
                        cx,
                        record_call(peer, id.as_str(), CallEntry::Incoming, net_now)
                    );
                    self.apply(cx, outcome)?;
                }
                Ok(())
            }
            CallCommand::Decline { call } => calls.decline(&call_id(&call)?).map_err(call_error),
            CallCommand::HangUp { call } => calls.hang_up(&call_id(&call)?).map_err(call_error),
            CallCommand::LocalOffer { call, sdp } => calls
                .local_offer(&call_id(&call)?, sdp, now, net_now)
                .map_err(call_error),
            CallCommand::LocalAnswer { call, sdp } => calls
                .local_answer(&call_id(&call)?, sdp, now)
                .map_err(call_error),
            CallCommand::LocalCandidate { call, candidate } => calls
                .local_candidate(
                    &call_id(&call)?,
                    IceCandidate {
                        candidate: candidate.candidate,
                        sdp_mid: candidate.sdp_mid,
                        sdp_m_line_index: candidate.sdp_m_line_index,
                    },
                    now,
                )
                .map_err(call_error),
            CallCommand::Connected { call } => {
                calls.peer_connected(&call_id(&call)?).map_err(call_error)
            }
            CallCommand::Failed { call } => calls.peer_failed(&call_id(&call)?).map_err(call_error),
            CallCommand::RemoteHungUp { call } => {
                calls.remote_hung_up(&call_id(&call)?).map_err(call_error)
            }
        };
        self.drain_calls(cx).await;
        self.run_actions(cx).await;
        result
    }

    /// Feeds received call messages to the calls (inside the action loop; their effects are
    /// drained by the caller's next turn).
    pub(super) fn on_call_signals<'a, R: CryptoRng>(
        &'a mut self,
        cx: &'a mut Cx<'_, R>,
        signals: Vec<(AccountId, u64, CallSignal)>,
    ) -> Step<'a, ()> {
        Box::pin(self.run_call_signals(cx, signals))
    }

    async fn run_call_signals<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        signals: Vec<(AccountId, u64, CallSignal)>,
    ) {
        let now = LocalMs(net::now_ms());
        let net_now = NetMs(self.client.network_time_ms(now.0));
        for (from, sent_ms, signal) in signals {
            // Desktop `isUserApprovedOrWeSentAMessage`: an accepted conversation (one we
            // started, wrote in, or accepted).
            let approved = from == self.convo.me()
                || MessageDb::new(cx.store, cx.vault)
                    .conversation(&dm(from))
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.state == ConversationState::Accepted);
            self.calls.handle_signal(
                ReceivedSignal {
                    from,
                    sent: NetMs(sent_ms),
                    approved,
                    signal,
                },
                now,
                net_now,
            );
        }
        self.drain_calls(cx).await;
    }

    /// The calls' timer (candidate batches, ringing and connect timeouts).
    pub(super) fn on_call_timer<'a, R: CryptoRng>(
        &'a mut self,
        cx: &'a mut Cx<'_, R>,
    ) -> Step<'a, ()> {
        Box::pin(self.run_call_timer(cx))
    }

    async fn run_call_timer<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let now = LocalMs(net::now_ms());
        if self.calls.next_timeout().is_some_and(|t| t <= now) {
            self.calls.handle_timeout(now);
            self.drain_calls(cx).await;
        }
    }

    /// The settings changed: calls on or off (a live call goes on).
    pub(super) fn set_calls_enabled(&mut self, enabled: bool) {
        self.calls.set_enabled(enabled);
    }

    /// Carries out the calls' actions: call messages to the client, events to the page,
    /// missed calls into the conversation.
    async fn drain_calls<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        while let Some(action) = self.calls.poll_action() {
            match action {
                CallAction::Send(out) => {
                    let now = net::now_ms();
                    let sent = self.client.allocate_sent_ms(LocalMs(now));
                    let outgoing = Outgoing {
                        content: out.signal.to_content(sent.0),
                        sent_timestamp_ms: sent.0,
                        ttl_ms: out.ttl_ms,
                    };
                    let cmd = ClientCommand::Send {
                        to: out.to,
                        outgoing,
                        local_id: LocalId::Control {
                            kind: ControlKind::Call,
                            sent,
                        },
                        sync_copy: false,
                        ephemeral: true,
                    };
                    if let Err(e) =
                        self.client
                            .handle_command(cmd, cx.vault.identity(), now, cx.rng)
                    {
                        (cx.post)(&Event::Error {
                            code: super::glue::client_error(&e),
                        });
                    }
                }
                CallAction::OpenPeerConnection {
                    call,
                    peer,
                    direction,
                } => (cx.post)(&Event::Call(CallEvent::Open {
                    call: call.as_str().to_owned(),
                    peer: peer.to_string(),
                    outgoing: direction == Direction::Outgoing,
                    ice_servers: self.network.ice_servers(cx.rng),
                })),
                CallAction::CreateOffer { call } => {
                    (cx.post)(&Event::Call(CallEvent::CreateOffer {
                        call: call.as_str().to_owned(),
                    }))
                }
                CallAction::CreateAnswer { call } => {
                    (cx.post)(&Event::Call(CallEvent::CreateAnswer {
                        call: call.as_str().to_owned(),
                    }));
                }
                CallAction::SetRemoteOffer { call, sdp } => {
                    (cx.post)(&Event::Call(CallEvent::RemoteOffer {
                        call: call.as_str().to_owned(),
                        sdp,
                    }));
                }
                CallAction::SetRemoteAnswer { call, sdp } => {
                    if let Some(c) = self.calls.current() {
                        (cx.post)(&phase_event(&call, c.peer(), true, CallPhase::Connecting));
                    }
                    (cx.post)(&Event::Call(CallEvent::RemoteAnswer {
                        call: call.as_str().to_owned(),
                        sdp,
                    }));
                }
                CallAction::AddCandidates { call, candidates } => {
                    (cx.post)(&Event::Call(CallEvent::RemoteCandidates {
                        call: call.as_str().to_owned(),
                        candidates: candidates
                            .into_iter()
                            .map(|c| Candidate {
                                candidate: c.candidate,
                                sdp_mid: c.sdp_mid,
                                sdp_m_line_index: c.sdp_m_line_index,
                            })
                            .collect(),
                    }));
                }
                CallAction::Ring {
                    call,
                    peer,
                    direction,
                } => {
                    let (outgoing, phase) = match direction {
                        Direction::Outgoing => (true, CallPhase::Dialing),
                        Direction::Incoming => (false, CallPhase::Ringing),
                    };
                    (cx.post)(&phase_event(&call, &peer, outgoing, phase));
                }
                CallAction::StopRinging { .. } => {}
                CallAction::Connected { call, peer } => {
                    let outgoing = self
                        .calls
                        .current()
                        .is_some_and(|c| c.direction() == Direction::Outgoing);
                    (cx.post)(&phase_event(&call, &peer, outgoing, CallPhase::Connected));
                }
                CallAction::Closed { call, reason, .. } => {
                    (cx.post)(&Event::Call(CallEvent::Ended {
                        call: call.as_str().to_owned(),
                        reason: end_reason(reason),
                    }));
                }
                CallAction::Missed {
                    call, peer, sent, ..
                } => {
                    let outcome = convo!(
                        self,
                        cx,
                        record_call(peer, call.as_str(), CallEntry::Missed, sent)
                    );
                    if let Err(code) = self.apply(cx, outcome) {
                        (cx.post)(&Event::Error { code });
                    }
                }
            }
        }
    }
}

fn phase_event(call: &CallId, peer: &AccountId, outgoing: bool, phase: CallPhase) -> Event {
    Event::Call(CallEvent::Phase {
        call: call.as_str().to_owned(),
        peer: peer.to_string(),
        outgoing,
        phase,
    })
}
