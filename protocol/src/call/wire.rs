//! Call signalling, wire layer: the typed form of Session's `CallMessage` (bytes and types
//! only; no state).
//!
//! `CallMessage` (session-desktop `protos/SignalService.proto`), proto2:
//!
//! | field | tag | wire | meaning |
//! | --- | --- | --- | --- |
//! | `type` | 1 | varint, required | `PRE_OFFER` 6, `OFFER` 1, `ANSWER` 2, `PROVISIONAL_ANSWER` 3, `ICE_CANDIDATES` 4, `END_CALL` 5 |
//! | `sdps` | 2 | LEN, repeated | the SDP (offer/answer: exactly one) or one candidate line each |
//! | `sdpMLineIndexes` | 3 | varint, repeated, not packed | per candidate |
//! | `sdpMids` | 4 | LEN, repeated | per candidate |
//! | `uuid` | 5 | LEN, required | the call id, the same in every message of a call |
//!
//! Rules checked on decode (parse, don't validate, docs/engineering.md C4): the call id is
//! 1..=[`MAX_CALL_ID_BYTES`] printable ASCII bytes; an offer, answer or provisional answer
//! carries exactly one SDP of at most [`MAX_SDP_BYTES`] and no candidate fields (desktop's
//! `CallMessage` constructor refuses an empty `sdps` for every type but `END_CALL` and
//! `PRE_OFFER`, session-desktop `ts/session/messages/outgoing/controlMessage/CallMessage.ts`,
//! and reads only `sdps[0]`); ICE candidates come as three lists of the same length,
//! 1..=[`MAX_CANDIDATES_PER_MESSAGE`] entries; a pre-offer and an end-call carry no SDP. An
//! unknown non-zero `type` is kept as [`Signal::Unrecognized`]; `0` is no type at all and
//! refused. An absent `type` reads as `PRE_OFFER`, the proto2 default (the first value
//! listed), as prost decodes it; a pre-offer without fields is harmless.

use prost::Message as _;
use rand_core::CryptoRng;

use crate::{
    error::ErrorKind,
    message::proto::{CallMessage, CallMessageType, Content},
};

/// Longest call id accepted (a UUID has 36 characters).
pub const MAX_CALL_ID_BYTES: usize = crate::message::MAX_CALL_ID_BYTES;
/// Longest SDP accepted in an offer or answer (a browser's audio+video offer is 3–8 KiB).
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// Most ICE candidates in one `ICE_CANDIDATES` message.
pub const MAX_CANDIDATES_PER_MESSAGE: usize = 64;
/// Longest candidate line (`candidate:…`; real ones are ~100–200 bytes).
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Longest `sdpMid` (browsers use "0", "1", …).
pub const MAX_MID_BYTES: usize = 64;
/// Largest `sdpMLineIndex` accepted.
pub const MAX_M_LINE_INDEX: u32 = 255;
/// Largest encoded `CallMessage` [`CallSignal::decode`] looks at.
pub const MAX_CALL_MESSAGE_BYTES: usize = MAX_SDP_BYTES
    + MAX_CANDIDATES_PER_MESSAGE * (MAX_CANDIDATE_BYTES + MAX_MID_BYTES + 16)
    + MAX_CALL_ID_BYTES
    + 64;

/// Why a `CallMessage` was refused. Carries no bytes of the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallWireError {
    /// The bytes are not a protobuf `CallMessage`.
    #[error("call message does not decode")]
    Protobuf,
    /// The encoded message is larger than [`MAX_CALL_MESSAGE_BYTES`].
    #[error("call message larger than {max} bytes")]
    TooLarge {
        /// The cap.
        max: usize,
    },
    /// `type` is 0, which no type has.
    #[error("call message type missing")]
    MissingType,
    /// `uuid` is missing or empty.
    #[error("call id missing")]
    MissingCallId,
    /// `uuid` is longer than [`MAX_CALL_ID_BYTES`].
    #[error("call id longer than {max} bytes")]
    CallIdTooLong {
        /// The cap.
        max: usize,
    },
    /// `uuid` has a byte outside printable ASCII.
    #[error("call id has characters outside printable ASCII")]
    BadCallId,
    /// An offer/answer does not carry exactly one SDP.
    #[error("{what} needs exactly one SDP, got {count}")]
    SdpCount {
        /// The message type.
        what: &'static str,
        /// How many it carried.
        count: usize,
    },
    /// An SDP is longer than [`MAX_SDP_BYTES`].
    #[error("SDP longer than {max} bytes")]
    SdpTooLong {
        /// The cap.
        max: usize,
    },
    /// A field this type never carries is set.
    #[error("{what} carries {field}")]
    UnexpectedField {
        /// The message type.
        what: &'static str,
        /// The proto field name.
        field: &'static str,
    },
    /// `sdps`, `sdpMLineIndexes` and `sdpMids` differ in length.
    #[error("ICE candidate lists differ in length")]
    CandidateListsDiffer,
    /// An `ICE_CANDIDATES` message without candidates.
    #[error("no ICE candidates")]
    NoCandidates,
    /// More than [`MAX_CANDIDATES_PER_MESSAGE`] candidates.
    #[error("more than {max} ICE candidates")]
    TooManyCandidates {
        /// The cap.
        max: usize,
    },
    /// A candidate's line, mid or m-line index is out of bounds.
    #[error("ICE candidate {field} out of bounds")]
    BadCandidate {
        /// Which part.
        field: &'static str,
    },
}

impl CallWireError {
    /// Always [`ErrorKind::PeerMisbehaved`]: the peer sent it.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::PeerMisbehaved
    }
}

/// A call's id (`CallMessage.uuid`): 1..=[`MAX_CALL_ID_BYTES`] printable ASCII bytes. Desktop
/// makes a random UUID v4 per call (session-desktop `ts/session/utils/calling/CallManager.ts`
/// `USER_callRecipient`); so does [`CallId::generate`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(String);

impl CallId {
    /// Checks an id received or typed.
    ///
    /// # Errors
    ///
    /// Empty, too long or not printable ASCII.
    pub fn new(s: &str) -> Result<Self, CallWireError> {
        if s.is_empty() {
            return Err(CallWireError::MissingCallId);
        }
        if s.len() > MAX_CALL_ID_BYTES {
            return Err(CallWireError::CallIdTooLong {
                max: MAX_CALL_ID_BYTES,
            });
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CallWireError::BadCallId);
        }
        Ok(CallId(s.to_owned()))
    }

    /// A random UUID v4 in lower-case hyphenated form (RFC 9562 §5.4), as desktop's `uuid`
    /// package makes.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        CallId(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One ICE candidate as WebRTC gives it (`RTCIceCandidate.candidate`, `sdpMid`,
/// `sdpMLineIndex`; desktop drops candidates lacking any of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceCandidate {
    /// The `candidate:…` line (at most [`MAX_CANDIDATE_BYTES`]).
    pub candidate: String,
    /// The media stream id (at most [`MAX_MID_BYTES`]).
    pub sdp_mid: String,
    /// The m-line index (at most [`MAX_M_LINE_INDEX`]).
    pub sdp_m_line_index: u32,
}

impl IceCandidate {
    /// Checks the bounds (also used for the own candidates before they are batched).
    ///
    /// # Errors
    ///
    /// [`CallWireError::BadCandidate`] naming the part out of bounds.
    pub fn check(&self) -> Result<(), CallWireError> {
        if self.candidate.is_empty() || self.candidate.len() > MAX_CANDIDATE_BYTES {
            return Err(CallWireError::BadCandidate { field: "sdps" });
        }
        if self.sdp_mid.len() > MAX_MID_BYTES {
            return Err(CallWireError::BadCandidate { field: "sdpMids" });
        }
        if self.sdp_m_line_index > MAX_M_LINE_INDEX {
            return Err(CallWireError::BadCandidate {
                field: "sdpMLineIndexes",
            });
        }
        Ok(())
    }
}

/// What one `CallMessage` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `PRE_OFFER` (6): a call is coming (wakes mobile clients); no SDP.
    PreOffer,
    /// `OFFER` (1): the caller's SDP offer (also a re-offer within a call, for an ICE restart).
    Offer {
        /// The SDP.
        sdp: String,
    },
    /// `ANSWER` (2): the callee's SDP answer.
    Answer {
        /// The SDP.
        sdp: String,
    },
    /// `PROVISIONAL_ANSWER` (3): defined, ignored by desktop (`ts/receiver/callMessage.ts`).
    ProvisionalAnswer {
        /// The SDP.
        sdp: String,
    },
    /// `ICE_CANDIDATES` (4): a batch of candidates.
    IceCandidates(Vec<IceCandidate>),
    /// `END_CALL` (5): hang up, decline or busy.
    EndCall,
    /// A `type` this version does not know; ignored.
    Unrecognized {
        /// The value.
        code: i32,
    },
}

/// A typed `CallMessage`: the call id and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSignal {
    /// `uuid`.
    pub call_id: CallId,
    /// `type` and its fields.
    pub signal: Signal,
}

fn one_sdp(what: &'static str, m: &CallMessage) -> Result<String, CallWireError> {
    if m.sdps.len() != 1 {
        return Err(CallWireError::SdpCount {
            what,
            count: m.sdps.len(),
        });
    }
    no_candidate_fields(what, m)?;
    let sdp = &m.sdps[0];
    if sdp.len() > MAX_SDP_BYTES {
        return Err(CallWireError::SdpTooLong { max: MAX_SDP_BYTES });
    }
    if sdp.is_empty() {
        return Err(CallWireError::SdpCount { what, count: 0 });
    }
    Ok(sdp.clone())
}

fn no_candidate_fields(what: &'static str, m: &CallMessage) -> Result<(), CallWireError> {
    if !m.sdp_m_line_indexes.is_empty() {
        return Err(CallWireError::UnexpectedField {
            what,
            field: "sdpMLineIndexes",
        });
    }
    if !m.sdp_mids.is_empty() {
        return Err(CallWireError::UnexpectedField {
            what,
            field: "sdpMids",
        });
    }
    Ok(())
}

fn nothing(what: &'static str, m: &CallMessage) -> Result<(), CallWireError> {
    if !m.sdps.is_empty() {
        return Err(CallWireError::UnexpectedField {
            what,
            field: "sdps",
        });
    }
    no_candidate_fields(what, m)
}

impl CallSignal {
    /// Checks a decoded `CallMessage` (as found in `Content.callMessage`).
    ///
    /// # Errors
    ///
    /// The rules in the module doc.
    pub fn from_proto(m: &CallMessage) -> Result<Self, CallWireError> {
        let call_id = CallId::new(&m.uuid)?;
        let signal = match CallMessageType::try_from(m.r#type) {
            Ok(CallMessageType::PreOffer) => {
                nothing("PRE_OFFER", m)?;
                Signal::PreOffer
            }
            Ok(CallMessageType::Offer) => Signal::Offer {
                sdp: one_sdp("OFFER", m)?,
            },
            Ok(CallMessageType::Answer) => Signal::Answer {
                sdp: one_sdp("ANSWER", m)?,
            },
            Ok(CallMessageType::ProvisionalAnswer) => Signal::ProvisionalAnswer {
                sdp: one_sdp("PROVISIONAL_ANSWER", m)?,
            },
            Ok(CallMessageType::IceCandidates) => {
                let n = m.sdps.len();
                if n == 0 {
                    return Err(CallWireError::NoCandidates);
                }
                if m.sdp_mids.len() != n || m.sdp_m_line_indexes.len() != n {
                    return Err(CallWireError::CandidateListsDiffer);
                }
                if n > MAX_CANDIDATES_PER_MESSAGE {
                    return Err(CallWireError::TooManyCandidates {
                        max: MAX_CANDIDATES_PER_MESSAGE,
                    });
                }
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let c = IceCandidate {
                        candidate: m.sdps[i].clone(),
                        sdp_mid: m.sdp_mids[i].clone(),
                        sdp_m_line_index: m.sdp_m_line_indexes[i],
                    };
                    c.check()?;
                    out.push(c);
                }
                Signal::IceCandidates(out)
            }
            Ok(CallMessageType::EndCall) => {
                nothing("END_CALL", m)?;
                Signal::EndCall
            }
            Err(_) if m.r#type == 0 => return Err(CallWireError::MissingType),
            Err(_) => Signal::Unrecognized { code: m.r#type },
        };
        Ok(CallSignal { call_id, signal })
    }

    /// Decodes the bytes of a `CallMessage`.
    ///
    /// # Errors
    ///
    /// [`CallWireError::TooLarge`], [`CallWireError::Protobuf`], or a rule of
    /// [`CallSignal::from_proto`].
    pub fn decode(bytes: &[u8]) -> Result<Self, CallWireError> {
        if bytes.len() > MAX_CALL_MESSAGE_BYTES {
            return Err(CallWireError::TooLarge {
                max: MAX_CALL_MESSAGE_BYTES,
            });
        }
        let m = CallMessage::decode(bytes).map_err(|_| CallWireError::Protobuf)?;
        Self::from_proto(&m)
    }

    /// The `CallMessage` to send. An [`Signal::Unrecognized`] keeps its code and no fields.
    pub fn to_proto(&self) -> CallMessage {
        let mut m = CallMessage {
            r#type: 0,
            sdps: Vec::new(),
            sdp_m_line_indexes: Vec::new(),
            sdp_mids: Vec::new(),
            uuid: self.call_id.0.clone(),
        };
        m.r#type = match &self.signal {
            Signal::PreOffer => CallMessageType::PreOffer as i32,
            Signal::Offer { sdp } => {
                m.sdps.push(sdp.clone());
                CallMessageType::Offer as i32
            }
            Signal::Answer { sdp } => {
                m.sdps.push(sdp.clone());
                CallMessageType::Answer as i32
            }
            Signal::ProvisionalAnswer { sdp } => {
                m.sdps.push(sdp.clone());
                CallMessageType::ProvisionalAnswer as i32
            }
            Signal::IceCandidates(cs) => {
                for c in cs {
                    m.sdps.push(c.candidate.clone());
                    m.sdp_m_line_indexes.push(c.sdp_m_line_index);
                    m.sdp_mids.push(c.sdp_mid.clone());
                }
                CallMessageType::IceCandidates as i32
            }
            Signal::EndCall => CallMessageType::EndCall as i32,
            Signal::Unrecognized { code } => *code,
        };
        m
    }

    /// The encoded `CallMessage`.
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// The `Content` to send this in (`callMessage`, field 3, with `sigTimestamp` = the sent
    /// timestamp, as every Content desktop sends). No disappearing fields: the call
    /// messages Umbra sends do not disappear (desktop forces after-read on some; absent
    /// fields mean "off" to every client).
    pub fn to_content(&self, sent_ms: u64) -> Content {
        Content {
            call_message: Some(self.to_proto()),
            sig_timestamp: Some(sent_ms),
            ..Content::default()
        }
    }

    /// The name of the type, for logs (no user data).
    pub fn type_name(&self) -> &'static str {
        match self.signal {
            Signal::PreOffer => "PRE_OFFER",
            Signal::Offer { .. } => "OFFER",
            Signal::Answer { .. } => "ANSWER",
            Signal::ProvisionalAnswer { .. } => "PROVISIONAL_ANSWER",
            Signal::IceCandidates(_) => "ICE_CANDIDATES",
            Signal::EndCall => "END_CALL",
            Signal::Unrecognized { .. } => "unrecognized",
        }
    }
}
