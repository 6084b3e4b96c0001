//! Calls between the app and the worker. The worker runs the signalling
//! (`umbra_protocol::call::Calls`); the page holds the `RTCPeerConnection` (a web Worker has
//! none) and reports what WebRTC made and saw. A call is named by its id (`call`, the
//! `CallMessage.uuid`), the peer by the reference of its one-to-one conversation.
//!
//! SDPs and ICE candidates contain IP addresses: the `Debug` forms here redact them, and
//! neither side logs them.

use core::fmt;

use serde::{Deserialize, Serialize};

/// What the app asks of the worker's calls. Wire form: `{"cmd":"call","op":"start",…}`.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CallCommand {
    /// Call `peer`. Answered with [`CallEvent::Open`], or
    /// [`ErrorCode::CallsDisabled`](crate::ErrorCode::CallsDisabled) /
    /// [`ErrorCode::CallBusy`](crate::ErrorCode::CallBusy).
    Start {
        /// The conversation reference of the peer.
        peer: String,
    },
    /// Accept the ringing call.
    Accept {
        /// The call.
        call: String,
    },
    /// Decline the ringing call.
    Decline {
        /// The call.
        call: String,
    },
    /// Hang up (or cancel an outgoing call).
    HangUp {
        /// The call.
        call: String,
    },
    /// WebRTC made the local offer (after [`CallEvent::CreateOffer`], or an ICE restart).
    LocalOffer {
        /// The call.
        call: String,
        /// The SDP.
        sdp: String,
    },
    /// WebRTC made the local answer (after [`CallEvent::CreateAnswer`]).
    LocalAnswer {
        /// The call.
        call: String,
        /// The SDP.
        sdp: String,
    },
    /// WebRTC gathered a local ICE candidate.
    LocalCandidate {
        /// The call.
        call: String,
        /// The candidate.
        candidate: Candidate,
    },
    /// The peer connection is connected.
    Connected {
        /// The call.
        call: String,
    },
    /// The peer connection failed.
    Failed {
        /// The call.
        call: String,
    },
    /// The data channel said the peer hung up.
    RemoteHungUp {
        /// The call.
        call: String,
    },
}

impl fmt::Debug for CallCommand {
    /// Names the operation only: ids, peers, SDPs and candidates are not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallCommand::Start { .. } => "Start(<redacted>)",
            CallCommand::Accept { .. } => "Accept",
            CallCommand::Decline { .. } => "Decline",
            CallCommand::HangUp { .. } => "HangUp",
            CallCommand::LocalOffer { .. } => "LocalOffer(<redacted>)",
            CallCommand::LocalAnswer { .. } => "LocalAnswer(<redacted>)",
            CallCommand::LocalCandidate { .. } => "LocalCandidate(<redacted>)",
            CallCommand::Connected { .. } => "Connected",
            CallCommand::Failed { .. } => "Failed",
            CallCommand::RemoteHungUp { .. } => "RemoteHungUp",
        })
    }
}

/// One ICE candidate (`RTCIceCandidateInit`).
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The `candidate:…` line (untrusted when received).
    pub candidate: String,
    /// `sdpMid`.
    pub sdp_mid: String,
    /// `sdpMLineIndex`.
    pub sdp_m_line_index: u32,
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Candidate(<redacted>)")
    }
}

/// One `RTCIceServer` (TURN only: calls are relayed).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct IceServer {
    /// `turn:` URLs.
    pub urls: Vec<String>,
    /// The long-term credential's user name.
    pub username: String,
    /// Its password (a service credential, not the user's).
    pub credential: String,
}

/// Where a call is, as the app shows it.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// Outgoing: ringing at the peer.
    Dialing,
    /// Incoming: ringing here (the incoming-call dialog).
    Ringing,
    /// Accepted or answered: WebRTC is connecting.
    Connecting,
    /// Media flows (the duration runs).
    Connected,
}

/// Why a call ended.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEndReason {
    /// We hung up.
    HungUp,
    /// The peer hung up.
    RemoteEnded,
    /// We declined.
    Declined,
    /// Not answered in time.
    NoAnswer,
    /// The connection failed or never came up.
    ConnectionFailed,
    /// Another device of ours answered or declined it.
    HandledElsewhere,
}

/// What the worker tells the app about calls. Wire form: `{"event":"call","op":"open",…}`.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CallEvent {
    /// Open the `RTCPeerConnection` for this call: these ICE servers, relay only, the
    /// negotiated data channel, the local media.
    Open {
        /// The call.
        call: String,
        /// The conversation reference of the peer.
        peer: String,
        /// We called (else the peer did).
        outgoing: bool,
        /// The TURN servers to use.
        ice_servers: Vec<IceServer>,
    },
    /// Create the local offer, then [`CallCommand::LocalOffer`].
    CreateOffer {
        /// The call.
        call: String,
    },
    /// Create the local answer, then [`CallCommand::LocalAnswer`].
    CreateAnswer {
        /// The call.
        call: String,
    },
    /// Set the peer's offer as the remote description.
    RemoteOffer {
        /// The call.
        call: String,
        /// The SDP (untrusted).
        sdp: String,
    },
    /// Set the peer's answer as the remote description.
    RemoteAnswer {
        /// The call.
        call: String,
        /// The SDP (untrusted).
        sdp: String,
    },
    /// Add the peer's candidates.
    RemoteCandidates {
        /// The call.
        call: String,
        /// The candidates (untrusted).
        candidates: Vec<Candidate>,
    },
    /// The call's phase changed (an incoming call starts [`CallPhase::Ringing`]).
    Phase {
        /// The call.
        call: String,
        /// The conversation reference of the peer.
        peer: String,
        /// We called.
        outgoing: bool,
        /// The phase.
        phase: CallPhase,
    },
    /// The call ended: close the peer connection and the call screen.
    Ended {
        /// The call.
        call: String,
        /// Why.
        reason: CallEndReason,
    },
}

impl fmt::Debug for CallEvent {
    /// Names the event only: SDPs, candidates and credentials are not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallEvent::Open { outgoing, .. } => write!(f, "Open {{ outgoing: {outgoing} }}"),
            CallEvent::CreateOffer { .. } => f.write_str("CreateOffer"),
            CallEvent::CreateAnswer { .. } => f.write_str("CreateAnswer"),
            CallEvent::RemoteOffer { .. } => f.write_str("RemoteOffer(<redacted>)"),
            CallEvent::RemoteAnswer { .. } => f.write_str("RemoteAnswer(<redacted>)"),
            CallEvent::RemoteCandidates { .. } => f.write_str("RemoteCandidates(<redacted>)"),
            CallEvent::Phase { phase, .. } => write!(f, "Phase({phase:?})"),
            CallEvent::Ended { reason, .. } => write!(f, "Ended({reason:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, Event, decode_command, decode_event, encode_command, encode_event};

    fn candidate() -> Candidate {
        Candidate {
            candidate: "candidate:1 1 udp 1 192.0.2.7 3478 typ relay".into(),
            sdp_mid: "0".into(),
            sdp_m_line_index: 0,
        }
    }

    #[test]
    fn test_call_commands_round_trip_and_redact() {
        let call = || "c-1".to_owned();
        for c in [
            CallCommand::Start {
                peer: "05ab".into(),
            },
            CallCommand::Accept { call: call() },
            CallCommand::Decline { call: call() },
            CallCommand::HangUp { call: call() },
            CallCommand::LocalOffer {
                call: call(),
                sdp: "v=0 192.0.2.7".into(),
            },
            CallCommand::LocalAnswer {
                call: call(),
                sdp: "v=0 192.0.2.7".into(),
            },
            CallCommand::LocalCandidate {
                call: call(),
                candidate: candidate(),
            },
            CallCommand::Connected { call: call() },
            CallCommand::Failed { call: call() },
            CallCommand::RemoteHungUp { call: call() },
        ] {
            let cmd = Command::Call(c);
            let text = encode_command(&cmd);
            assert!(text.starts_with(r#"{"cmd":"call","op":"#), "{text}");
            assert_eq!(decode_command(&text), Ok(cmd.clone()));
            let dbg = format!("{cmd:?}");
            assert!(
                !dbg.contains("192.0.2.7") && !dbg.contains("05ab") && !dbg.contains("c-1"),
                "{dbg}"
            );
        }
    }

    #[test]
    fn test_call_events_round_trip_and_redact() {
        let call = || "c-1".to_owned();
        for e in [
            CallEvent::Open {
                call: call(),
                peer: "05ab".into(),
                outgoing: true,
                ice_servers: vec![IceServer {
                    urls: vec!["turn:127.0.0.1:3478".into()],
                    username: "u".into(),
                    credential: "pw-secret".into(),
                }],
            },
            CallEvent::CreateOffer { call: call() },
            CallEvent::CreateAnswer { call: call() },
            CallEvent::RemoteOffer {
                call: call(),
                sdp: "v=0 192.0.2.7".into(),
            },
            CallEvent::RemoteAnswer {
                call: call(),
                sdp: "v=0 192.0.2.7".into(),
            },
            CallEvent::RemoteCandidates {
                call: call(),
                candidates: vec![candidate()],
            },
            CallEvent::Phase {
                call: call(),
                peer: "05ab".into(),
                outgoing: false,
                phase: CallPhase::Ringing,
            },
            CallEvent::Ended {
                call: call(),
                reason: CallEndReason::RemoteEnded,
            },
        ] {
            let dbg = format!("{e:?}");
            assert!(
                !dbg.contains("192.0.2.7") && !dbg.contains("pw-secret") && !dbg.contains("05ab"),
                "{dbg}"
            );
            let event = Event::Call(e);
            let text = encode_event(&event);
            assert!(text.starts_with(r#"{"event":"call","op":"#), "{text}");
            assert_eq!(decode_event(&text), Ok(event));
        }
    }
}
