//! One call (one call id), sans-IO: its state, its timers, its candidate queues. Driven by
//! [`super::Calls`], which routes by call id and decides which calls may exist at all.

use std::collections::VecDeque;

use super::{
    CALL_TIMEOUT_MS, CALL_TTL_MS, CallAction, CallError, CallState, Direction, EndReason,
    ICE_BATCH_MS, MAX_PENDING_CANDIDATES, OutgoingSignal,
    wire::{CallId, CallSignal, IceCandidate, MAX_CANDIDATES_PER_MESSAGE, MAX_SDP_BYTES, Signal},
};
use crate::{
    address::{LocalMs, NetMs},
    identity::AccountId,
};

/// What an incoming call starts from.
pub(super) struct Announced {
    pub(super) id: CallId,
    pub(super) peer: AccountId,
    /// The first signal's sent time.
    pub(super) sent: NetMs,
    pub(super) offer: Option<String>,
    /// Candidates that came before.
    pub(super) early: Vec<IceCandidate>,
}

/// One call. Read its state with the accessors; change it through [`super::Calls`].
#[derive(Clone, Debug)]
pub struct Call {
    id: CallId,
    peer: AccountId,
    direction: Direction,
    state: CallState,
    /// Incoming: the sent time of the first signal of this call seen.
    first_sent: NetMs,
    /// Outgoing until connected, incoming ringing, incoming accepted until connected.
    deadline: Option<LocalMs>,
    ringing: bool,
    /// Incoming: the caller's offer, once received.
    remote_offer: Option<String>,
    /// A remote description is set, so received candidates can be added.
    remote_description_set: bool,
    /// Received candidates waiting for the remote description.
    remote_pending: Vec<IceCandidate>,
    /// The own offer/answer is sent, so own candidates may follow.
    local_description_sent: bool,
    local_batch: Vec<IceCandidate>,
    batch_due: Option<LocalMs>,
    /// Sent time of the own last offer (the glare rule within a call).
    our_offer_sent: Option<NetMs>,
    awaiting_answer: bool,
    /// A remote (re-)offer is set; the local answer is due.
    answer_due: bool,
    ended: bool,
}

fn send(out: &mut VecDeque<CallAction>, to: &AccountId, id: &CallId, signal: Signal) {
    out.push_back(CallAction::Send(OutgoingSignal {
        to: *to,
        signal: CallSignal {
            call_id: id.clone(),
            signal,
        },
        ttl_ms: CALL_TTL_MS,
    }));
}

pub(super) fn check_sdp(sdp: &str) -> Result<(), CallError> {
    if sdp.is_empty() || sdp.len() > MAX_SDP_BYTES {
        return Err(CallError::BadSdp);
    }
    Ok(())
}

impl Call {
    /// The call id.
    pub fn id(&self) -> &CallId {
        &self.id
    }

    /// The other party.
    pub fn peer(&self) -> &AccountId {
        &self.peer
    }

    /// Who called.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Where the call is.
    pub fn state(&self) -> CallState {
        self.state
    }

    pub(super) fn is_ended(&self) -> bool {
        self.ended
    }

    pub(super) fn next_timeout(&self) -> Option<LocalMs> {
        match (self.deadline, self.batch_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A call this device places: sends the pre-offer, opens the peer connection, rings
    /// back, asks for the offer (desktop `USER_callRecipient`).
    pub(super) fn outgoing(
        id: CallId,
        peer: AccountId,
        now: LocalMs,
        out: &mut VecDeque<CallAction>,
    ) -> Self {
        send(out, &peer, &id, Signal::PreOffer);
        out.push_back(CallAction::OpenPeerConnection {
            call: id.clone(),
            peer,
            direction: Direction::Outgoing,
        });
        out.push_back(CallAction::Ring {
            call: id.clone(),
            peer,
            direction: Direction::Outgoing,
        });
        out.push_back(CallAction::CreateOffer { call: id.clone() });
        Call {
            id,
            peer,
            direction: Direction::Outgoing,
            state: CallState::Dialing,
            first_sent: NetMs(0),
            deadline: Some(now.plus(CALL_TIMEOUT_MS)),
            ringing: true,
            remote_offer: None,
            remote_description_set: false,
            remote_pending: Vec::new(),
            local_description_sent: false,
            local_batch: Vec::new(),
            batch_due: None,
            our_offer_sent: None,
            awaiting_answer: false,
            answer_due: false,
            ended: false,
        }
    }

    /// A call announced by a pre-offer or an offer that passed the checks: rings (unless
    /// it is accepted at once, glare).
    pub(super) fn incoming(
        announced: Announced,
        ring: bool,
        now: LocalMs,
        out: &mut VecDeque<CallAction>,
    ) -> Self {
        let Announced {
            id,
            peer,
            sent,
            offer,
            early,
        } = announced;
        if ring {
            out.push_back(CallAction::Ring {
                call: id.clone(),
                peer,
                direction: Direction::Incoming,
            });
        }
        Call {
            id,
            peer,
            direction: Direction::Incoming,
            state: CallState::Ringing,
            first_sent: sent,
            deadline: Some(now.plus(CALL_TIMEOUT_MS)),
            ringing: ring,
            remote_offer: offer,
            remote_description_set: false,
            remote_pending: early,
            local_description_sent: false,
            local_batch: Vec::new(),
            batch_due: None,
            our_offer_sent: None,
            awaiting_answer: false,
            answer_due: false,
            ended: false,
        }
    }

    fn end(&mut self, reason: EndReason, out: &mut VecDeque<CallAction>) {
        if self.ended {
            return;
        }
        if self.ringing {
            self.ringing = false;
            out.push_back(CallAction::StopRinging {
                call: self.id.clone(),
            });
        }
        out.push_back(CallAction::Closed {
            call: self.id.clone(),
            peer: self.peer,
            reason,
        });
        self.ended = true;
        self.deadline = None;
        self.batch_due = None;
        self.local_batch.clear();
    }

    fn stop_ringing(&mut self, out: &mut VecDeque<CallAction>) {
        if self.ringing {
            self.ringing = false;
            out.push_back(CallAction::StopRinging {
                call: self.id.clone(),
            });
        }
    }

    fn set_remote_description(&mut self, out: &mut VecDeque<CallAction>) {
        self.remote_description_set = true;
        if !self.remote_pending.is_empty() {
            out.push_back(CallAction::AddCandidates {
                call: self.id.clone(),
                candidates: core::mem::take(&mut self.remote_pending),
            });
        }
    }

    /// Incoming, accepted, offer known: set it and ask for the answer.
    fn apply_offer_if_accepted(&mut self, out: &mut VecDeque<CallAction>) {
        if self.state != CallState::Accepted || self.answer_due || self.local_description_sent {
            return;
        }
        if let Some(sdp) = self.remote_offer.clone() {
            out.push_back(CallAction::SetRemoteOffer {
                call: self.id.clone(),
                sdp,
            });
            self.set_remote_description(out);
            out.push_back(CallAction::CreateAnswer {
                call: self.id.clone(),
            });
            self.answer_due = true;
        }
    }

    // ---- user and WebRTC inputs ----

    pub(super) fn accept(
        &mut self,
        now: LocalMs,
        out: &mut VecDeque<CallAction>,
    ) -> Result<(), CallError> {
        if self.direction != Direction::Incoming || self.state != CallState::Ringing {
            return Err(CallError::WrongState { action: "accept" });
        }
        self.stop_ringing(out);
        out.push_back(CallAction::OpenPeerConnection {
            call: self.id.clone(),
            peer: self.peer,
            direction: Direction::Incoming,
        });
        self.state = CallState::Accepted;
        self.deadline = Some(now.plus(CALL_TIMEOUT_MS));
        self.apply_offer_if_accepted(out);
        Ok(())
    }

    /// Decline (desktop `USER_rejectIncomingCallRequest`): END_CALL to the caller and to the
    /// own swarm (so the own other devices stop ringing), then a missed-call entry.
    pub(super) fn decline(
        &mut self,
        me: &AccountId,
        reason: EndReason,
        out: &mut VecDeque<CallAction>,
    ) -> Result<(), CallError> {
        if self.direction != Direction::Incoming || self.state != CallState::Ringing {
            return Err(CallError::WrongState { action: "decline" });
        }
        send(out, &self.peer, &self.id, Signal::EndCall);
        send(out, me, &self.id, Signal::EndCall);
        self.end(reason, out);
        out.push_back(CallAction::Missed {
            call: self.id.clone(),
            peer: self.peer,
            reason: match reason {
                EndReason::Declined => super::MissedReason::Declined,
                _ => super::MissedReason::NotAnswered,
            },
            sent: self.first_sent,
        });
        Ok(())
    }

    /// Hang up (desktop `USER_hangup`): END_CALL to the peer only.
    pub(super) fn hang_up(&mut self, reason: EndReason, out: &mut VecDeque<CallAction>) {
        send(out, &self.peer, &self.id, Signal::EndCall);
        self.end(reason, out);
    }

    pub(super) fn local_offer(
        &mut self,
        sdp: String,
        now: LocalMs,
        net_now: NetMs,
        out: &mut VecDeque<CallAction>,
    ) -> Result<(), CallError> {
        check_sdp(&sdp)?;
        match self.state {
            CallState::Dialing if self.direction == Direction::Outgoing => {
                self.state = CallState::Offered;
            }
            // A re-offer (ICE restart; desktop `createOfferAndSendIt` from the
            // disconnected handler).
            CallState::Connecting | CallState::Connected => {}
            _ => return Err(CallError::WrongState { action: "offer" }),
        }
        send(out, &self.peer, &self.id, Signal::Offer { sdp });
        self.our_offer_sent = Some(net_now);
        self.awaiting_answer = true;
        self.local_description_sent = true;
        self.schedule_batch(now);
        Ok(())
    }

    /// The local answer: to the caller and to the own swarm (desktop
    /// `buildAnswerAndSendIt` → `sendCallMessageAndSync`).
    pub(super) fn local_answer(
        &mut self,
        me: &AccountId,
        sdp: String,
        now: LocalMs,
        out: &mut VecDeque<CallAction>,
    ) -> Result<(), CallError> {
        check_sdp(&sdp)?;
        if !self.answer_due {
            return Err(CallError::WrongState { action: "answer" });
        }
        self.answer_due = false;
        send(
            out,
            &self.peer,
            &self.id,
            Signal::Answer { sdp: sdp.clone() },
        );
        send(out, me, &self.id, Signal::Answer { sdp });
        if self.state == CallState::Accepted {
            self.state = CallState::Connecting;
        }
        self.local_description_sent = true;
        self.schedule_batch(now);
        Ok(())
    }

    fn schedule_batch(&mut self, now: LocalMs) {
        if !self.local_batch.is_empty() && self.batch_due.is_none() {
            self.batch_due = Some(now.plus(ICE_BATCH_MS));
        }
    }

    /// An own ICE candidate: batched, sent [`ICE_BATCH_MS`] after the last one (desktop's
    /// `iceSenderDebouncer`, lodash `debounce(…, 2000)`), or at once when a message is full.
    pub(super) fn local_candidate(
        &mut self,
        candidate: IceCandidate,
        now: LocalMs,
        out: &mut VecDeque<CallAction>,
    ) -> Result<(), CallError> {
        candidate.check().map_err(CallError::BadCandidate)?;
        if self.local_batch.len() >= MAX_PENDING_CANDIDATES {
            return Err(CallError::TooManyCandidates);
        }
        self.local_batch.push(candidate);
        if self.local_description_sent {
            if self.local_batch.len() >= MAX_CANDIDATES_PER_MESSAGE {
                self.flush(out);
            } else {
                self.batch_due = Some(now.plus(ICE_BATCH_MS));
            }
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut VecDeque<CallAction>) {
        self.batch_due = None;
        let all = core::mem::take(&mut self.local_batch);
        for chunk in all.chunks(MAX_CANDIDATES_PER_MESSAGE) {
            send(
                out,
                &self.peer,
                &self.id,
                Signal::IceCandidates(chunk.to_vec()),
            );
        }
    }

    pub(super) fn connected(&mut self, out: &mut VecDeque<CallAction>) -> Result<(), CallError> {
        match self.state {
            CallState::Connecting => {
                self.state = CallState::Connected;
                self.deadline = None;
                self.stop_ringing(out);
                out.push_back(CallAction::Connected {
                    call: self.id.clone(),
                    peer: self.peer,
                });
                Ok(())
            }
            CallState::Connected => Ok(()),
            _ => Err(CallError::WrongState {
                action: "connected",
            }),
        }
    }

    // ---- received signals (already routed: same call id, from the peer) ----

    pub(super) fn on_signal(
        &mut self,
        signal: Signal,
        sent: NetMs,
        out: &mut VecDeque<CallAction>,
    ) {
        match signal {
            Signal::Offer { sdp } => self.on_offer(sdp, sent, out),
            Signal::Answer { sdp } => self.on_answer(sdp, out),
            Signal::IceCandidates(cs) => {
                if self.remote_description_set {
                    out.push_back(CallAction::AddCandidates {
                        call: self.id.clone(),
                        candidates: cs,
                    });
                } else {
                    let room = MAX_PENDING_CANDIDATES.saturating_sub(self.remote_pending.len());
                    self.remote_pending.extend(cs.into_iter().take(room));
                }
            }
            Signal::EndCall => self.end(EndReason::RemoteEnded, out),
            Signal::PreOffer | Signal::ProvisionalAnswer { .. } | Signal::Unrecognized { .. } => {}
        }
    }

    fn on_offer(&mut self, sdp: String, sent: NetMs, out: &mut VecDeque<CallAction>) {
        match (self.direction, self.state) {
            (Direction::Incoming, CallState::Ringing) => self.remote_offer = Some(sdp),
            (Direction::Incoming, CallState::Accepted) if self.remote_offer.is_none() => {
                self.remote_offer = Some(sdp);
                self.apply_offer_if_accepted(out);
            }
            (_, CallState::Connecting | CallState::Connected) if self.local_description_sent => {
                // A re-offer. Offer collision within a call: the peer whose last offer is
                // older yields (desktop `handleCallTypeOffer`: polite =
                // lastOutgoingOfferTimestamp < incomingOfferTimestamp; an impolite peer
                // ignores the colliding offer).
                let collision = self.awaiting_answer;
                let polite = self.our_offer_sent.is_none_or(|ours| ours < sent);
                if collision && !polite {
                    return;
                }
                self.awaiting_answer = false;
                out.push_back(CallAction::SetRemoteOffer {
                    call: self.id.clone(),
                    sdp,
                });
                self.remote_description_set = true;
                out.push_back(CallAction::CreateAnswer {
                    call: self.id.clone(),
                });
                self.answer_due = true;
            }
            _ => {}
        }
    }

    fn on_answer(&mut self, sdp: String, out: &mut VecDeque<CallAction>) {
        if !self.awaiting_answer {
            return;
        }
        self.awaiting_answer = false;
        out.push_back(CallAction::SetRemoteAnswer {
            call: self.id.clone(),
            sdp,
        });
        self.set_remote_description(out);
        if self.state == CallState::Offered {
            self.state = CallState::Connecting;
        }
    }

    /// The peer ended the call some other way than END_CALL (the data channel).
    pub(super) fn remote_ended(&mut self, out: &mut VecDeque<CallAction>) {
        self.end(EndReason::RemoteEnded, out);
    }

    /// The own other device answered or declined this ringing call.
    pub(super) fn handled_elsewhere(&mut self, out: &mut VecDeque<CallAction>) {
        if self.direction == Direction::Incoming && self.state == CallState::Ringing {
            self.end(EndReason::HandledElsewhere, out);
        }
    }

    pub(super) fn handle_timeout(
        &mut self,
        me: &AccountId,
        now: LocalMs,
        out: &mut VecDeque<CallAction>,
    ) {
        if self.batch_due.is_some_and(|due| due <= now) {
            self.flush(out);
        }
        if self.deadline.is_some_and(|due| due <= now) {
            self.deadline = None;
            match (self.direction, self.state) {
                // desktop `USER_callRecipient`: hang up after `callTimeoutMs` while still
                // ringing (not connected).
                (Direction::Outgoing, _) => self.hang_up(EndReason::NoAnswer, out),
                // desktop `IncomingCallDialog`: not answered within `callTimeoutMs` →
                // `USER_rejectIncomingCallRequest`.
                (Direction::Incoming, CallState::Ringing) => {
                    // Ringing is the state decline needs; it cannot fail here.
                    let _ = self.decline(me, EndReason::NotAnswered, out);
                }
                (Direction::Incoming, _) => self.hang_up(EndReason::ConnectTimeout, out),
            }
        }
    }
}
