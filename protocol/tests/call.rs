//! Call signalling: the typed `CallMessage` against hand-computed protobuf bytes (field
//! numbers of session-desktop `protos/SignalService.proto`) with tampered twins, and the
//! sans-IO `Calls` state machine through every transition, two parties at a time, their
//! messages carried as encoded Content bytes.

use proptest::prelude::*;
use prost::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::{
    address::{LocalMs, NetMs},
    call::{
        CALL_TIMEOUT_MS, CALL_TTL_MS, CallAction, CallError, CallId, CallSignal, CallState,
        CallWireError, Calls, Direction, EndReason, ICE_BATCH_MS, IceCandidate, MissedReason,
        OutgoingSignal, ReceivedSignal, Signal,
        wire::{MAX_CANDIDATES_PER_MESSAGE, MAX_SDP_BYTES},
    },
    identity::{AccountId, Identity, Seed},
    message::proto::{CallMessage, Content},
};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex fixture")
}

fn id(s: &str) -> CallId {
    CallId::new(s).expect("call id")
}

fn cand(c: &str, mid: &str, idx: u32) -> IceCandidate {
    IceCandidate {
        candidate: c.into(),
        sdp_mid: mid.into(),
        sdp_m_line_index: idx,
    }
}

// ---------------------------------------------------------------- wire

/// Each type: the bytes (hand-computed: tag = field << 3 | wire type) decode to the typed
/// signal, and the typed signal encodes to exactly those bytes.
#[test]
fn test_wire_every_type_matches_hand_computed_bytes() {
    let cases = [
        // type (1, varint) 6; uuid (5, LEN) "u1"
        ("08 06 2a 02 7531", Signal::PreOffer),
        // type 1; sdps (2, LEN) "v=0"; uuid
        (
            "08 01 12 03 763d30 2a 02 7531",
            Signal::Offer { sdp: "v=0".into() },
        ),
        (
            "08 02 12 03 763d30 2a 02 7531",
            Signal::Answer { sdp: "v=0".into() },
        ),
        (
            "08 03 12 03 763d30 2a 02 7531",
            Signal::ProvisionalAnswer { sdp: "v=0".into() },
        ),
        // type 4; sdps "c1", "c2"; sdpMLineIndexes (3, varint, not packed) 0, 1;
        // sdpMids (4, LEN) "0", "1"; uuid
        (
            "08 04 12 02 6331 12 02 6332 18 00 18 01 22 01 30 22 01 31 2a 02 7531",
            Signal::IceCandidates(vec![cand("c1", "0", 0), cand("c2", "1", 1)]),
        ),
        ("08 05 2a 02 7531", Signal::EndCall),
    ];
    for (bytes, signal) in cases {
        let bytes = hex(bytes);
        let typed = CallSignal {
            call_id: id("u1"),
            signal,
        };
        assert_eq!(
            CallSignal::decode(&bytes),
            Ok(typed.clone()),
            "{bytes:02x?}"
        );
        assert_eq!(typed.encode(), bytes, "{}", typed.type_name());
    }
}

#[test]
fn test_wire_field_order_and_packed_indexes_accepted() {
    // uuid first, then type; indexes packed (3, LEN) — both valid protobuf.
    let bytes = hex("2a 02 7531 08 04 12 02 6331 1a 01 07 22 01 30");
    assert_eq!(
        CallSignal::decode(&bytes),
        Ok(CallSignal {
            call_id: id("u1"),
            signal: Signal::IceCandidates(vec![cand("c1", "0", 7)]),
        })
    );
}

#[test]
fn test_wire_content_carries_call_message_in_field_3() {
    let s = CallSignal {
        call_id: id("u1"),
        signal: Signal::EndCall,
    };
    let bytes = s.to_content(1234).encode_to_vec();
    // Content.callMessage (3, LEN 6) { 08 05 2a 02 "u1" }, then sigTimestamp.
    assert_eq!(&bytes[..8], &hex("1a 06 08 05 2a 02 7531")[..]);
    let back = Content::decode(&bytes[..]).expect("content");
    assert_eq!(back.sig_timestamp, Some(1234));
    assert_eq!(
        CallSignal::from_proto(back.call_message.as_ref().expect("call")),
        Ok(s)
    );
}

/// Tampered twins of the good fixtures: each breaks one rule.
#[test]
fn test_wire_tampered_twins_refused() {
    let e = |h: &str| CallSignal::decode(&hex(h)).expect_err(h);
    assert_eq!(
        e("08 01 2a 02 7531"),
        CallWireError::SdpCount {
            what: "OFFER",
            count: 0
        }
    );
    assert_eq!(
        e("08 02 12 01 78 12 01 79 2a 02 7531"),
        CallWireError::SdpCount {
            what: "ANSWER",
            count: 2
        }
    );
    assert_eq!(
        e("08 01 12 00 2a 02 7531"),
        CallWireError::SdpCount {
            what: "OFFER",
            count: 0
        }
    );
    assert_eq!(
        e("08 01 12 03 763d30 22 01 30 2a 02 7531"),
        CallWireError::UnexpectedField {
            what: "OFFER",
            field: "sdpMids"
        }
    );
    assert_eq!(
        e("08 02 12 03 763d30 18 00 2a 02 7531"),
        CallWireError::UnexpectedField {
            what: "ANSWER",
            field: "sdpMLineIndexes"
        }
    );
    assert_eq!(
        e("08 05 12 01 78 2a 02 7531"),
        CallWireError::UnexpectedField {
            what: "END_CALL",
            field: "sdps"
        }
    );
    assert_eq!(
        e("08 06 22 01 30 2a 02 7531"),
        CallWireError::UnexpectedField {
            what: "PRE_OFFER",
            field: "sdpMids"
        }
    );
    // ICE: a mid missing; no candidates; an index out of bounds; an empty candidate line.
    assert_eq!(
        e("08 04 12 02 6331 18 00 2a 02 7531"),
        CallWireError::CandidateListsDiffer
    );
    assert_eq!(e("08 04 2a 02 7531"), CallWireError::NoCandidates);
    assert_eq!(
        e("08 04 12 02 6331 18 80 02 22 01 30 2a 02 7531"),
        CallWireError::BadCandidate {
            field: "sdpMLineIndexes"
        }
    );
    assert_eq!(
        e("08 04 12 00 18 00 22 01 30 2a 02 7531"),
        CallWireError::BadCandidate { field: "sdps" }
    );
    // uuid missing, empty, with a space, with a control byte; type 0; truncated.
    assert_eq!(e("08 05"), CallWireError::MissingCallId);
    assert_eq!(e("08 05 2a 00"), CallWireError::MissingCallId);
    assert_eq!(e("08 05 2a 03 752031"), CallWireError::BadCallId);
    assert_eq!(e("08 05 2a 02 7507"), CallWireError::BadCallId);
    assert_eq!(e("08 00 2a 02 7531"), CallWireError::MissingType);
    // An absent `type` takes the proto2 default, the first value listed (PRE_OFFER).
    assert_eq!(
        CallSignal::decode(&hex("2a 02 7531")).map(|s| s.signal),
        Ok(Signal::PreOffer)
    );
    assert_eq!(e("08 01 12 05 76"), CallWireError::Protobuf);
    // Unknown type: kept, not refused.
    assert_eq!(
        CallSignal::decode(&hex("08 09 2a 02 7531")),
        Ok(CallSignal {
            call_id: id("u1"),
            signal: Signal::Unrecognized { code: 9 },
        })
    );
}

#[test]
fn test_wire_bounds() {
    let long_id = "a".repeat(65);
    assert_eq!(
        CallId::new(&long_id),
        Err(CallWireError::CallIdTooLong { max: 64 })
    );
    assert!(CallId::new(&"a".repeat(64)).is_ok());
    let offer = |sdp: String| CallMessage {
        r#type: 1,
        sdps: vec![sdp],
        sdp_m_line_indexes: vec![],
        sdp_mids: vec![],
        uuid: "u1".into(),
    };
    assert!(CallSignal::from_proto(&offer("x".repeat(MAX_SDP_BYTES))).is_ok());
    assert_eq!(
        CallSignal::from_proto(&offer("x".repeat(MAX_SDP_BYTES + 1))),
        Err(CallWireError::SdpTooLong { max: MAX_SDP_BYTES })
    );
    let ice = |n: usize| CallMessage {
        r#type: 4,
        sdps: vec!["c".into(); n],
        sdp_m_line_indexes: vec![0; n],
        sdp_mids: vec!["0".into(); n],
        uuid: "u1".into(),
    };
    assert!(CallSignal::from_proto(&ice(MAX_CANDIDATES_PER_MESSAGE)).is_ok());
    assert_eq!(
        CallSignal::from_proto(&ice(MAX_CANDIDATES_PER_MESSAGE + 1)),
        Err(CallWireError::TooManyCandidates {
            max: MAX_CANDIDATES_PER_MESSAGE
        })
    );
    let huge = vec![0u8; umbra_protocol::call::wire::MAX_CALL_MESSAGE_BYTES + 1];
    assert!(matches!(
        CallSignal::decode(&huge),
        Err(CallWireError::TooLarge { .. })
    ));
    assert_eq!(
        CallWireError::Protobuf.kind(),
        umbra_protocol::error::ErrorKind::PeerMisbehaved
    );
}

#[test]
fn test_call_id_generate_is_uuid_v4() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let a = CallId::generate(&mut rng);
    let b = CallId::generate(&mut rng);
    assert_ne!(a, b);
    let s = a.as_str();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "4");
    assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
    assert_eq!(s.matches('-').count(), 4);
    assert_eq!(CallId::new(s), Ok(a));
}

fn arb_signal() -> impl Strategy<Value = CallSignal> {
    let sdp = "[ -~]{1,40}";
    let cands = prop::collection::vec(
        ("[ -~]{1,20}", "[0-9]{0,2}", 0u32..=255).prop_map(|(c, m, i)| cand(&c, &m, i)),
        1..=MAX_CANDIDATES_PER_MESSAGE,
    );
    let sig = prop_oneof![
        Just(Signal::PreOffer),
        sdp.prop_map(|sdp| Signal::Offer { sdp }),
        sdp.prop_map(|sdp| Signal::Answer { sdp }),
        sdp.prop_map(|sdp| Signal::ProvisionalAnswer { sdp }),
        cands.prop_map(Signal::IceCandidates),
        Just(Signal::EndCall),
        (7i32..1000).prop_map(|code| Signal::Unrecognized { code }),
    ];
    ("[!-~]{1,64}", sig).prop_map(|(u, signal)| CallSignal {
        call_id: id(&u),
        signal,
    })
}

proptest! {
    #[test]
    fn test_wire_roundtrip(s in arb_signal()) {
        prop_assert_eq!(CallSignal::decode(&s.encode()), Ok(s));
    }

    #[test]
    fn test_wire_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = CallSignal::decode(&bytes);
    }
}

// ---------------------------------------------------------------- state machine

fn person(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16 bytes"))
}

const T0: u64 = 1_000_000;
const NET0: u64 = 1_700_000_000_000;

/// One device: its calls and what it did.
struct Party {
    me: AccountId,
    calls: Calls,
    rng: ChaCha20Rng,
}

impl Party {
    fn new(n: u8) -> Self {
        let me = person(n).account_id();
        Party {
            calls: Calls::new(me, true),
            me,
            rng: ChaCha20Rng::seed_from_u64(u64::from(n)),
        }
    }

    fn drain(&mut self) -> Vec<CallAction> {
        std::iter::from_fn(|| self.calls.poll_action()).collect()
    }

    fn start(&mut self, peer: &AccountId, now: u64) -> CallId {
        self.calls
            .start(*peer, LocalMs(now), &mut self.rng)
            .expect("start")
    }

    /// Delivers one sent signal as it would arrive: Content bytes, decoded and checked.
    fn receive(&mut self, from: &AccountId, out: &OutgoingSignal, sent: u64, now: u64) {
        self.receive_with(from, out, sent, now, true);
    }

    fn receive_with(
        &mut self,
        from: &AccountId,
        out: &OutgoingSignal,
        sent: u64,
        now: u64,
        approved: bool,
    ) {
        let bytes = out.signal.to_content(sent).encode_to_vec();
        let content = Content::decode(&bytes[..]).expect("content");
        let signal =
            CallSignal::from_proto(content.call_message.as_ref().expect("call")).expect("valid");
        self.calls.handle_signal(
            ReceivedSignal {
                from: *from,
                sent: NetMs(sent),
                approved,
                signal,
            },
            LocalMs(now),
            NetMs(NET0 + (now - T0)),
        );
    }
}

fn sends(actions: &[CallAction]) -> Vec<OutgoingSignal> {
    actions
        .iter()
        .filter_map(|a| match a {
            CallAction::Send(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn sends_to(actions: &[CallAction], to: &AccountId) -> Vec<OutgoingSignal> {
    sends(actions).into_iter().filter(|s| s.to == *to).collect()
}

fn end_call(call: &CallId, to: &AccountId) -> CallAction {
    CallAction::Send(OutgoingSignal {
        to: *to,
        signal: CallSignal {
            call_id: call.clone(),
            signal: Signal::EndCall,
        },
        ttl_ms: CALL_TTL_MS,
    })
}

/// A calls B; B rings with the offer in hand. Returns the call id.
fn ringing(a: &mut Party, b: &mut Party) -> CallId {
    let call = a.start(&b.me, T0);
    let started = a.drain();
    a.calls
        .local_offer(
            &call,
            "offer-sdp".into(),
            LocalMs(T0 + 10),
            NetMs(NET0 + 10),
        )
        .expect("offer");
    let offered = a.drain();
    for s in sends(&started).iter().chain(sends(&offered).iter()) {
        b.receive(&a.me, s, NET0 + 10, T0 + 100);
    }
    let rang = b.drain();
    assert_eq!(
        rang,
        vec![CallAction::Ring {
            call: call.clone(),
            peer: a.me,
            direction: Direction::Incoming
        }]
    );
    call
}

/// Ringing, then B accepts and answers, and A applies the answer. Both in `Connecting`.
fn answered(a: &mut Party, b: &mut Party) -> CallId {
    let call = ringing(a, b);
    b.calls.accept(&call, LocalMs(T0 + 200)).expect("accept");
    b.drain();
    b.calls
        .local_answer(&call, "answer-sdp".into(), LocalMs(T0 + 210))
        .expect("answer");
    let out = b.drain();
    for s in sends_to(&out, &a.me) {
        a.receive(&b.me, &s, NET0 + 210, T0 + 300);
    }
    a.drain();
    call
}

fn connected(a: &mut Party, b: &mut Party) -> CallId {
    let call = answered(a, b);
    a.calls.peer_connected(&call).expect("a connected");
    b.calls.peer_connected(&call).expect("b connected");
    a.drain();
    b.drain();
    call
}

#[test]
fn test_outgoing_and_incoming_every_step() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    assert_eq!(
        a.calls.current().map(|c| c.state()),
        Some(CallState::Dialing)
    );
    let started = a.drain();
    assert_eq!(
        started,
        vec![
            CallAction::Send(OutgoingSignal {
                to: b.me,
                signal: CallSignal {
                    call_id: call.clone(),
                    signal: Signal::PreOffer
                },
                ttl_ms: CALL_TTL_MS,
            }),
            CallAction::OpenPeerConnection {
                call: call.clone(),
                peer: b.me,
                direction: Direction::Outgoing
            },
            CallAction::Ring {
                call: call.clone(),
                peer: b.me,
                direction: Direction::Outgoing
            },
            CallAction::CreateOffer { call: call.clone() },
        ]
    );

    // B: the pre-offer rings.
    b.receive(&a.me, &sends(&started)[0], NET0, T0 + 50);
    assert_eq!(
        b.drain(),
        vec![CallAction::Ring {
            call: call.clone(),
            peer: a.me,
            direction: Direction::Incoming
        }]
    );
    assert_eq!(
        b.calls.current().map(|c| c.state()),
        Some(CallState::Ringing)
    );

    // A: the offer goes out.
    a.calls
        .local_offer(
            &call,
            "offer-sdp".into(),
            LocalMs(T0 + 10),
            NetMs(NET0 + 10),
        )
        .expect("offer");
    let offered = a.drain();
    assert_eq!(sends_to(&offered, &b.me).len(), 1);
    assert_eq!(
        a.calls.current().map(|c| c.state()),
        Some(CallState::Offered)
    );
    b.receive(&a.me, &sends(&offered)[0], NET0 + 10, T0 + 60);
    assert_eq!(b.drain(), vec![]);

    // B accepts: peer connection, the offer, an answer to make.
    b.calls.accept(&call, LocalMs(T0 + 1000)).expect("accept");
    assert_eq!(
        b.drain(),
        vec![
            CallAction::StopRinging { call: call.clone() },
            CallAction::OpenPeerConnection {
                call: call.clone(),
                peer: a.me,
                direction: Direction::Incoming
            },
            CallAction::SetRemoteOffer {
                call: call.clone(),
                sdp: "offer-sdp".into()
            },
            CallAction::CreateAnswer { call: call.clone() },
        ]
    );
    assert_eq!(
        b.calls.current().map(|c| c.state()),
        Some(CallState::Accepted)
    );

    // B's answer goes to A and to B's own swarm.
    b.calls
        .local_answer(&call, "answer-sdp".into(), LocalMs(T0 + 1010))
        .expect("answer");
    let answer = b.drain();
    let to: Vec<_> = sends(&answer).iter().map(|s| s.to).collect();
    assert_eq!(to, vec![a.me, b.me]);
    assert!(sends(&answer).iter().all(|s| s.signal.signal
        == Signal::Answer {
            sdp: "answer-sdp".into()
        }));
    assert_eq!(
        b.calls.current().map(|c| c.state()),
        Some(CallState::Connecting)
    );
    // B's own copy coming back is ignored.
    b.receive(&b.me.clone(), &sends(&answer)[1], NET0 + 1010, T0 + 1100);
    assert_eq!(b.drain(), vec![]);

    // A applies the answer.
    a.receive(&b.me, &sends(&answer)[0], NET0 + 1010, T0 + 1200);
    assert_eq!(
        a.drain(),
        vec![CallAction::SetRemoteAnswer {
            call: call.clone(),
            sdp: "answer-sdp".into()
        }]
    );
    assert_eq!(
        a.calls.current().map(|c| c.state()),
        Some(CallState::Connecting)
    );

    // Connected on both sides; A stops its ring-back.
    a.calls.peer_connected(&call).expect("connected");
    assert_eq!(
        a.drain(),
        vec![
            CallAction::StopRinging { call: call.clone() },
            CallAction::Connected {
                call: call.clone(),
                peer: b.me
            }
        ]
    );
    b.calls.peer_connected(&call).expect("connected");
    assert_eq!(
        b.drain(),
        vec![CallAction::Connected {
            call: call.clone(),
            peer: a.me
        }]
    );
    assert_eq!(
        a.calls.current().map(|c| c.state()),
        Some(CallState::Connected)
    );
    // Connected calls have no deadline left.
    assert_eq!(a.calls.next_timeout(), None);
    a.calls.handle_timeout(LocalMs(T0 + 10 * CALL_TIMEOUT_MS));
    assert_eq!(a.drain(), vec![]);
}

#[test]
fn test_ice_batched_for_the_debounce_interval() {
    let (mut a, b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    a.drain();
    // Candidates before the offer is sent wait for it.
    a.calls
        .local_candidate(&call, cand("c0", "0", 0), LocalMs(T0 + 1))
        .expect("cand");
    a.calls.handle_timeout(LocalMs(T0 + 5000));
    assert_eq!(sends(&a.drain()), vec![]);
    a.calls
        .local_offer(&call, "o".into(), LocalMs(T0 + 6000), NetMs(NET0))
        .expect("offer");
    assert_eq!(sends(&a.drain()).len(), 1, "only the offer");
    // More candidates: each one restarts the interval.
    for (i, t) in [6100u64, 6600, 7100].into_iter().enumerate() {
        a.calls
            .local_candidate(&call, cand(&format!("c{}", i + 1), "0", 0), LocalMs(T0 + t))
            .expect("cand");
    }
    assert_eq!(
        a.calls.next_timeout(),
        Some(LocalMs(T0 + 7100 + ICE_BATCH_MS))
    );
    a.calls
        .handle_timeout(LocalMs(T0 + 7100 + ICE_BATCH_MS - 1));
    assert_eq!(sends(&a.drain()), vec![]);
    a.calls.handle_timeout(LocalMs(T0 + 7100 + ICE_BATCH_MS));
    let out = sends(&a.drain());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, b.me);
    assert_eq!(out[0].ttl_ms, CALL_TTL_MS);
    match &out[0].signal.signal {
        Signal::IceCandidates(cs) => {
            let lines: Vec<_> = cs.iter().map(|c| c.candidate.as_str()).collect();
            assert_eq!(lines, ["c0", "c1", "c2", "c3"]);
        }
        other => panic!("{other:?}"),
    }
    // A full message goes at once.
    for i in 0..MAX_CANDIDATES_PER_MESSAGE {
        a.calls
            .local_candidate(&call, cand(&format!("x{i}"), "0", 0), LocalMs(T0 + 8000))
            .expect("cand");
    }
    assert_eq!(sends(&a.drain()).len(), 1);
    assert_eq!(
        a.calls
            .local_candidate(&call, cand("", "0", 0), LocalMs(T0 + 8000)),
        Err(CallError::BadCandidate(CallWireError::BadCandidate {
            field: "sdps"
        }))
    );
}

#[test]
fn test_candidates_before_offer_and_answer_are_kept_then_applied() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    let started = a.drain();
    a.calls
        .local_offer(&call, "o".into(), LocalMs(T0), NetMs(NET0))
        .expect("offer");
    let offered = a.drain();
    a.calls
        .local_candidate(&call, cand("a1", "0", 0), LocalMs(T0))
        .expect("cand");
    a.calls.handle_timeout(LocalMs(T0 + ICE_BATCH_MS));
    let ice = a.drain();
    // B gets the candidates first, then the pre-offer, more candidates, then the offer.
    b.receive(&a.me, &sends(&ice)[0], NET0, T0 + 10);
    assert_eq!(b.drain(), vec![], "kept, nothing to do yet");
    b.receive(&a.me, &sends(&started)[0], NET0, T0 + 20);
    b.drain();
    let more = OutgoingSignal {
        to: b.me,
        signal: CallSignal {
            call_id: call.clone(),
            signal: Signal::IceCandidates(vec![cand("a2", "0", 0)]),
        },
        ttl_ms: CALL_TTL_MS,
    };
    b.receive(&a.me, &more, NET0, T0 + 25);
    b.receive(&a.me, &sends(&offered)[0], NET0, T0 + 30);
    assert_eq!(b.drain(), vec![]);
    b.calls.accept(&call, LocalMs(T0 + 40)).expect("accept");
    let acts = b.drain();
    assert_eq!(
        &acts[2..],
        &[
            CallAction::SetRemoteOffer {
                call: call.clone(),
                sdp: "o".into()
            },
            CallAction::AddCandidates {
                call: call.clone(),
                candidates: vec![cand("a1", "0", 0), cand("a2", "0", 0)]
            },
            CallAction::CreateAnswer { call: call.clone() },
        ]
    );
    // Once the remote description is set, candidates go straight in.
    let late = OutgoingSignal {
        signal: CallSignal {
            call_id: call.clone(),
            signal: Signal::IceCandidates(vec![cand("a3", "0", 0)]),
        },
        ..more.clone()
    };
    b.receive(&a.me, &late, NET0, T0 + 45);
    assert_eq!(
        b.drain(),
        vec![CallAction::AddCandidates {
            call: call.clone(),
            candidates: vec![cand("a3", "0", 0)]
        }]
    );

    // B's candidates reach A before B's answer: kept until the answer is set.
    b.calls
        .local_answer(&call, "ans".into(), LocalMs(T0 + 50))
        .expect("answer");
    let answer = b.drain();
    b.calls
        .local_candidate(&call, cand("b1", "0", 0), LocalMs(T0 + 51))
        .expect("cand");
    b.calls.handle_timeout(LocalMs(T0 + 51 + ICE_BATCH_MS));
    let b_ice = b.drain();
    a.receive(&b.me, &sends(&b_ice)[0], NET0, T0 + 3000);
    assert_eq!(a.drain(), vec![]);
    a.receive(&b.me, &sends_to(&answer, &a.me)[0], NET0, T0 + 3001);
    assert_eq!(
        a.drain(),
        vec![
            CallAction::SetRemoteAnswer {
                call: call.clone(),
                sdp: "ans".into()
            },
            CallAction::AddCandidates {
                call: call.clone(),
                candidates: vec![cand("b1", "0", 0)]
            },
        ]
    );
}

#[test]
fn test_pre_offer_accept_waits_for_the_offer() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    let started = a.drain();
    b.receive(&a.me, &sends(&started)[0], NET0, T0 + 10);
    b.drain();
    b.calls.accept(&call, LocalMs(T0 + 20)).expect("accept");
    assert_eq!(b.drain().len(), 2, "stop ringing, open; no offer yet");
    assert_eq!(
        b.calls
            .local_answer(&call, "too early".into(), LocalMs(T0 + 21)),
        Err(CallError::WrongState { action: "answer" })
    );
    a.calls
        .local_offer(&call, "o".into(), LocalMs(T0 + 30), NetMs(NET0 + 30))
        .expect("offer");
    let offer = sends(&a.drain());
    b.receive(&a.me, &offer[0], NET0 + 30, T0 + 40);
    assert_eq!(
        b.drain(),
        vec![
            CallAction::SetRemoteOffer {
                call: call.clone(),
                sdp: "o".into()
            },
            CallAction::CreateAnswer { call: call.clone() },
        ]
    );
}

#[test]
fn test_end_call_from_either_side() {
    // The caller hangs up a connected call.
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = connected(&mut a, &mut b);
    a.calls.hang_up(&call).expect("hang up");
    let out = a.drain();
    assert_eq!(
        out,
        vec![
            end_call(&call, &b.me),
            CallAction::Closed {
                call: call.clone(),
                peer: b.me,
                reason: EndReason::HungUp
            }
        ]
    );
    assert!(a.calls.current().is_none());
    b.receive(&a.me, &sends(&out)[0], NET0, T0 + 5000);
    assert_eq!(
        b.drain(),
        vec![CallAction::Closed {
            call: call.clone(),
            peer: a.me,
            reason: EndReason::RemoteEnded
        }]
    );
    assert!(b.calls.current().is_none());
    // Anything later about that call is dropped.
    b.receive(&a.me, &sends(&out)[0], NET0, T0 + 5001);
    assert_eq!(b.drain(), vec![]);

    // The callee hangs up.
    let (mut a, mut b) = (Party::new(3), Party::new(4));
    let call = connected(&mut a, &mut b);
    b.calls.hang_up(&call).expect("hang up");
    let out = b.drain();
    assert_eq!(
        sends(&out),
        vec![match end_call(&call, &a.me) {
            CallAction::Send(s) => s,
            _ => unreachable!(),
        }]
    );
    a.receive(&b.me, &sends(&out)[0], NET0, T0 + 5000);
    assert!(matches!(
        a.drain().as_slice(),
        [CallAction::Closed {
            reason: EndReason::RemoteEnded,
            ..
        }]
    ));

    // The caller cancels while B rings: B stops ringing, closes, no missed entry (desktop
    // `handleCallTypeEndCall`).
    let (mut a, mut b) = (Party::new(5), Party::new(6));
    let call = ringing(&mut a, &mut b);
    a.calls.hang_up(&call).expect("cancel");
    let out = a.drain();
    assert!(out.contains(&CallAction::StopRinging { call: call.clone() }));
    b.receive(&a.me, &sends(&out)[0], NET0, T0 + 500);
    assert_eq!(
        b.drain(),
        vec![
            CallAction::StopRinging { call: call.clone() },
            CallAction::Closed {
                call: call.clone(),
                peer: a.me,
                reason: EndReason::RemoteEnded
            }
        ]
    );
}

#[test]
fn test_peer_connection_failure_ends_both_sides() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = connected(&mut a, &mut b);
    b.calls.peer_failed(&call).expect("failed");
    let out = b.drain();
    assert_eq!(out[0], end_call(&call, &a.me));
    assert!(matches!(
        out[1],
        CallAction::Closed {
            reason: EndReason::ConnectionFailed,
            ..
        }
    ));
    a.receive(&b.me, &sends(&out)[0], NET0, T0 + 9000);
    assert!(a.calls.current().is_none());
}

#[test]
fn test_decline() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = ringing(&mut a, &mut b);
    b.calls.decline(&call).expect("decline");
    let out = b.drain();
    assert_eq!(
        out,
        vec![
            end_call(&call, &a.me),
            end_call(&call, &b.me),
            CallAction::StopRinging { call: call.clone() },
            CallAction::Closed {
                call: call.clone(),
                peer: a.me,
                reason: EndReason::Declined
            },
            CallAction::Missed {
                call: call.clone(),
                peer: a.me,
                reason: MissedReason::Declined,
                sent: NetMs(NET0 + 10)
            },
        ]
    );
    a.receive(&b.me, &sends(&out)[0], NET0, T0 + 500);
    assert_eq!(
        a.drain(),
        vec![
            CallAction::StopRinging { call: call.clone() },
            CallAction::Closed {
                call: call.clone(),
                peer: b.me,
                reason: EndReason::RemoteEnded
            }
        ]
    );
    // Declining twice, or accepting after: no such call.
    assert_eq!(b.calls.decline(&call), Err(CallError::UnknownCall));
    assert_eq!(
        b.calls.accept(&call, LocalMs(T0 + 600)),
        Err(CallError::UnknownCall)
    );
    // hang_up on a ringing call declines.
    let (mut a, mut b) = (Party::new(3), Party::new(4));
    let call = ringing(&mut a, &mut b);
    b.calls.hang_up(&call).expect("hang up");
    assert!(b.drain().contains(&CallAction::Missed {
        call: call.clone(),
        peer: a.me,
        reason: MissedReason::Declined,
        sent: NetMs(NET0 + 10)
    }));
}

#[test]
fn test_missed_when_ringing_times_out() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = ringing(&mut a, &mut b);
    // B started ringing at T0 + 100 (the pre-offer).
    assert_eq!(
        b.calls.next_timeout(),
        Some(LocalMs(T0 + 100 + CALL_TIMEOUT_MS))
    );
    b.calls
        .handle_timeout(LocalMs(T0 + 100 + CALL_TIMEOUT_MS - 1));
    assert_eq!(b.drain(), vec![]);
    b.calls.handle_timeout(LocalMs(T0 + 100 + CALL_TIMEOUT_MS));
    assert_eq!(
        b.drain(),
        vec![
            end_call(&call, &a.me),
            end_call(&call, &b.me),
            CallAction::StopRinging { call: call.clone() },
            CallAction::Closed {
                call: call.clone(),
                peer: a.me,
                reason: EndReason::NotAnswered
            },
            CallAction::Missed {
                call: call.clone(),
                peer: a.me,
                reason: MissedReason::NotAnswered,
                sent: NetMs(NET0 + 10)
            },
        ]
    );
    assert!(b.calls.current().is_none());
}

#[test]
fn test_missing_answer_times_out() {
    let (mut a, b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    a.calls
        .local_offer(&call, "o".into(), LocalMs(T0 + 5), NetMs(NET0))
        .expect("offer");
    a.drain();
    assert_eq!(a.calls.next_timeout(), Some(LocalMs(T0 + CALL_TIMEOUT_MS)));
    a.calls.handle_timeout(LocalMs(T0 + CALL_TIMEOUT_MS - 1));
    assert_eq!(a.drain(), vec![]);
    a.calls.handle_timeout(LocalMs(T0 + CALL_TIMEOUT_MS));
    assert_eq!(
        a.drain(),
        vec![
            end_call(&call, &b.me),
            CallAction::StopRinging { call: call.clone() },
            CallAction::Closed {
                call: call.clone(),
                peer: b.me,
                reason: EndReason::NoAnswer
            }
        ]
    );
    assert!(a.calls.current().is_none());

    // Answered but never connected: the caller's deadline still runs from the start.
    let (mut a, mut b) = (Party::new(3), Party::new(4));
    let call = answered(&mut a, &mut b);
    a.calls.handle_timeout(LocalMs(T0 + CALL_TIMEOUT_MS));
    assert!(a.drain().contains(&CallAction::Closed {
        call: call.clone(),
        peer: b.me,
        reason: EndReason::NoAnswer
    }));
    // The callee, accepted at T0 + 200, gives up a timeout later.
    b.calls.handle_timeout(LocalMs(T0 + 200 + CALL_TIMEOUT_MS));
    assert_eq!(
        b.drain(),
        vec![
            end_call(&call, &a.me),
            CallAction::Closed {
                call: call.clone(),
                peer: a.me,
                reason: EndReason::ConnectTimeout
            }
        ]
    );
}

/// Both call each other at once: the lesser call id survives, and the side whose call lost
/// takes the other on the user's behalf; the pair then connects.
#[test]
fn test_glare_lesser_call_id_survives() {
    for seeds in [(1u8, 2u8), (3, 4), (5, 6), (7, 8)] {
        let (mut a, mut b) = (Party::new(seeds.0), Party::new(seeds.1));
        let ca = a.start(&b.me, T0);
        let cb = b.start(&a.me, T0);
        a.calls
            .local_offer(&ca, "oa".into(), LocalMs(T0 + 1), NetMs(NET0 + 1))
            .expect("offer");
        b.calls
            .local_offer(&cb, "ob".into(), LocalMs(T0 + 1), NetMs(NET0 + 1))
            .expect("offer");
        let out_a = sends(&a.drain());
        let out_b = sends(&b.drain());
        // Crossing on the wire: pre-offers first.
        a.receive(&b.me, &out_b[0], NET0, T0 + 10);
        b.receive(&a.me, &out_a[0], NET0, T0 + 10);
        let (winner, loser, win_id, lose_id, lose_out, win_out) = if ca < cb {
            (&mut a, &mut b, ca, cb, out_b, out_a)
        } else {
            (&mut b, &mut a, cb, ca, out_a, out_b)
        };
        let w = winner.drain();
        let l = loser.drain();
        // The winner refuses the loser's call, quietly (no missed entry).
        assert_eq!(
            w,
            vec![
                end_call(&lose_id, &loser.me),
                end_call(&lose_id, &winner.me)
            ]
        );
        assert_eq!(winner.calls.current().map(|c| c.id()), Some(&win_id));
        // The loser abandons its call and takes the winner's, without ringing.
        assert_eq!(
            l,
            vec![
                end_call(&lose_id, &winner.me),
                CallAction::StopRinging {
                    call: lose_id.clone()
                },
                CallAction::Closed {
                    call: lose_id.clone(),
                    peer: winner.me,
                    reason: EndReason::Glare
                },
                CallAction::OpenPeerConnection {
                    call: win_id.clone(),
                    peer: winner.me,
                    direction: Direction::Incoming
                },
            ]
        );
        assert_eq!(
            loser.calls.current().map(|c| c.state()),
            Some(CallState::Accepted)
        );
        // The rest arrives: the loser's offer is about a finished call; the winner's offer
        // is taken.
        winner.receive(&loser.me, &lose_out[1], NET0 + 1, T0 + 20);
        assert_eq!(winner.drain(), vec![]);
        loser.receive(&winner.me, &win_out[1], NET0 + 1, T0 + 20);
        let win_sdp = match &win_out[1].signal.signal {
            Signal::Offer { sdp } => sdp.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            loser.drain(),
            vec![
                CallAction::SetRemoteOffer {
                    call: win_id.clone(),
                    sdp: win_sdp,
                },
                CallAction::CreateAnswer {
                    call: win_id.clone()
                },
            ]
        );
        // The END_CALLs crossing are about finished calls: dropped.
        let loser_end = sends(&l)[0].clone();
        winner.receive(&loser.me, &loser_end, NET0 + 2, T0 + 30);
        assert_eq!(winner.drain(), vec![]);
        loser.receive(&winner.me, &sends(&w)[0], NET0 + 2, T0 + 30);
        assert_eq!(loser.drain(), vec![]);
        // And the surviving call connects.
        loser
            .calls
            .local_answer(&win_id, "ans".into(), LocalMs(T0 + 40))
            .expect("answer");
        let ans = sends_to(&loser.drain(), &winner.me);
        winner.receive(&loser.me, &ans[0], NET0 + 40, T0 + 50);
        assert!(winner.drain().contains(&CallAction::SetRemoteAnswer {
            call: win_id.clone(),
            sdp: "ans".into()
        }));
        winner.calls.peer_connected(&win_id).expect("connected");
        loser.calls.peer_connected(&win_id).expect("connected");
    }
}

#[test]
fn test_not_approved_refused_and_missed() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    let pre = sends(&a.drain());
    b.receive_with(&a.me, &pre[0], NET0, T0 + 10, false);
    assert_eq!(
        b.drain(),
        vec![CallAction::Missed {
            call: call.clone(),
            peer: a.me,
            reason: MissedReason::NotApproved,
            sent: NetMs(NET0)
        }]
    );
    // Nothing was sent back; the offer that follows is dropped.
    a.calls
        .local_offer(&call, "o".into(), LocalMs(T0 + 1), NetMs(NET0))
        .expect("offer");
    let offer = sends(&a.drain());
    b.receive_with(&a.me, &offer[0], NET0, T0 + 20, false);
    assert_eq!(b.drain(), vec![]);
    assert!(b.calls.current().is_none());
}

#[test]
fn test_calls_disabled_missed_and_cannot_start() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    b.calls.set_enabled(false);
    let call = a.start(&b.me, T0);
    let pre = sends(&a.drain());
    b.receive(&a.me, &pre[0], NET0, T0 + 10);
    assert_eq!(
        b.drain(),
        vec![CallAction::Missed {
            call,
            peer: a.me,
            reason: MissedReason::CallsDisabled,
            sent: NetMs(NET0)
        }]
    );
    let a_id = a.me;
    assert_eq!(
        b.calls.start(a_id, LocalMs(T0), &mut b.rng),
        Err(CallError::CallsDisabled)
    );
    assert_eq!(
        CallError::CallsDisabled.kind(),
        umbra_protocol::error::ErrorKind::BadApiUsage
    );
}

#[test]
fn test_offer_sent_too_long_ago_is_missed() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = a.start(&b.me, T0);
    let pre = sends(&a.drain());
    // B's network time at T0 + 10 is NET0 + 10: sent exactly a timeout before → missed.
    b.receive(&a.me, &pre[0], NET0 + 10 - CALL_TIMEOUT_MS, T0 + 10);
    assert_eq!(
        b.drain(),
        vec![CallAction::Missed {
            call,
            peer: a.me,
            reason: MissedReason::TooOld,
            sent: NetMs(NET0 + 10 - CALL_TIMEOUT_MS)
        }]
    );
    // One millisecond younger rings.
    let (mut a, mut b) = (Party::new(3), Party::new(4));
    a.start(&b.me, T0);
    let pre = sends(&a.drain());
    b.receive(&a.me, &pre[0], NET0 + 11 - CALL_TIMEOUT_MS, T0 + 10);
    assert!(matches!(b.drain().as_slice(), [CallAction::Ring { .. }]));
}

#[test]
fn test_busy_with_another_peer() {
    let (mut a, mut b, mut c) = (Party::new(1), Party::new(2), Party::new(3));
    let ab = connected(&mut a, &mut b);
    let cc = c.start(&a.me, T0 + 1000);
    let pre = sends(&c.drain());
    a.receive(&c.me, &pre[0], NET0 + 1000, T0 + 1001);
    assert_eq!(
        a.drain(),
        vec![
            end_call(&cc, &c.me),
            end_call(&cc, &a.me),
            CallAction::Missed {
                call: cc.clone(),
                peer: c.me,
                reason: MissedReason::Busy,
                sent: NetMs(NET0 + 1000)
            }
        ]
    );
    assert_eq!(a.calls.current().map(|x| x.id()), Some(&ab));
    // A stranger's END_CALL naming the live call is ignored.
    let fake = OutgoingSignal {
        to: a.me,
        signal: CallSignal {
            call_id: ab.clone(),
            signal: Signal::EndCall,
        },
        ttl_ms: CALL_TTL_MS,
    };
    a.receive(&c.me, &fake, NET0, T0 + 1002);
    assert_eq!(a.drain(), vec![]);
    assert_eq!(
        a.calls.current().map(|x| x.state()),
        Some(CallState::Connected)
    );
    // Starting a second call: busy.
    let c_id = c.me;
    assert_eq!(
        a.calls.start(c_id, LocalMs(T0), &mut a.rng),
        Err(CallError::Busy)
    );
}

#[test]
fn test_answered_or_declined_on_another_own_device() {
    for signal in [Signal::Answer { sdp: "x".into() }, Signal::EndCall] {
        let (mut a, mut b) = (Party::new(1), Party::new(2));
        let call = ringing(&mut a, &mut b);
        let from_self = OutgoingSignal {
            to: b.me,
            signal: CallSignal {
                call_id: call.clone(),
                signal,
            },
            ttl_ms: CALL_TTL_MS,
        };
        b.receive(&b.me.clone(), &from_self, NET0, T0 + 500);
        assert_eq!(
            b.drain(),
            vec![
                CallAction::StopRinging { call: call.clone() },
                CallAction::Closed {
                    call: call.clone(),
                    peer: a.me,
                    reason: EndReason::HandledElsewhere
                }
            ]
        );
        assert!(b.calls.current().is_none());
    }
    // Other own types are dropped.
    let (mut a, mut b) = (Party::new(3), Party::new(4));
    let call = ringing(&mut a, &mut b);
    let pre = OutgoingSignal {
        to: b.me,
        signal: CallSignal {
            call_id: call,
            signal: Signal::PreOffer,
        },
        ttl_ms: CALL_TTL_MS,
    };
    b.receive(&b.me.clone(), &pre, NET0, T0 + 500);
    assert_eq!(b.drain(), vec![]);
}

#[test]
fn test_reoffer_and_offer_collision_within_a_call() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = connected(&mut a, &mut b);
    // A re-offers (ICE restart); B answers; A applies.
    a.calls
        .local_offer(&call, "re".into(), LocalMs(T0 + 9000), NetMs(NET0 + 9000))
        .expect("re-offer");
    let re = sends(&a.drain());
    b.receive(&a.me, &re[0], NET0 + 9000, T0 + 9100);
    assert_eq!(
        b.drain(),
        vec![
            CallAction::SetRemoteOffer {
                call: call.clone(),
                sdp: "re".into()
            },
            CallAction::CreateAnswer { call: call.clone() },
        ]
    );
    b.calls
        .local_answer(&call, "re-ans".into(), LocalMs(T0 + 9200))
        .expect("answer");
    let re_ans = sends_to(&b.drain(), &a.me);
    a.receive(&b.me, &re_ans[0], NET0 + 9200, T0 + 9300);
    assert_eq!(
        a.drain(),
        vec![CallAction::SetRemoteAnswer {
            call: call.clone(),
            sdp: "re-ans".into()
        }]
    );
    // Both re-offer at once: A at NET0+10_000, B later at NET0+10_500. A (older) yields.
    a.calls
        .local_offer(
            &call,
            "a2".into(),
            LocalMs(T0 + 10_000),
            NetMs(NET0 + 10_000),
        )
        .expect("offer");
    b.calls
        .local_offer(
            &call,
            "b2".into(),
            LocalMs(T0 + 10_500),
            NetMs(NET0 + 10_500),
        )
        .expect("offer");
    let oa = sends(&a.drain());
    let ob = sends(&b.drain());
    a.receive(&b.me, &ob[0], NET0 + 10_500, T0 + 11_000);
    b.receive(&a.me, &oa[0], NET0 + 10_000, T0 + 11_000);
    assert_eq!(
        a.drain(),
        vec![
            CallAction::SetRemoteOffer {
                call: call.clone(),
                sdp: "b2".into()
            },
            CallAction::CreateAnswer { call: call.clone() },
        ]
    );
    assert_eq!(
        b.drain(),
        vec![],
        "the impolite side ignores the older offer"
    );
}

#[test]
fn test_api_misuse_errors() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let me = a.me;
    assert_eq!(
        a.calls.start(me, LocalMs(T0), &mut a.rng),
        Err(CallError::SelfCall)
    );
    let nobody = id("nobody");
    assert_eq!(
        a.calls.accept(&nobody, LocalMs(T0)),
        Err(CallError::UnknownCall)
    );
    assert_eq!(a.calls.hang_up(&nobody), Err(CallError::UnknownCall));
    let call = a.start(&b.me, T0);
    assert_eq!(
        a.calls.accept(&call, LocalMs(T0)),
        Err(CallError::WrongState { action: "accept" })
    );
    assert_eq!(
        a.calls.peer_connected(&call),
        Err(CallError::WrongState {
            action: "connected"
        })
    );
    assert_eq!(
        a.calls
            .local_offer(&call, String::new(), LocalMs(T0), NetMs(NET0)),
        Err(CallError::BadSdp)
    );
    assert_eq!(
        a.calls.local_offer(
            &call,
            "x".repeat(MAX_SDP_BYTES + 1),
            LocalMs(T0),
            NetMs(NET0)
        ),
        Err(CallError::BadSdp)
    );
    a.calls
        .local_offer(&call, "o".into(), LocalMs(T0), NetMs(NET0))
        .expect("offer");
    assert_eq!(
        a.calls
            .local_offer(&call, "o".into(), LocalMs(T0), NetMs(NET0)),
        Err(CallError::WrongState { action: "offer" })
    );
    assert_eq!(
        a.calls.local_answer(&call, "x".into(), LocalMs(T0)),
        Err(CallError::WrongState { action: "answer" })
    );
    let _ = ringing(&mut Party::new(3), &mut b);
    let ringing_id = b.calls.current().map(|c| c.id().clone()).expect("ringing");
    assert_eq!(
        b.calls.peer_connected(&ringing_id),
        Err(CallError::WrongState {
            action: "connected"
        })
    );
}

#[test]
fn test_every_send_carries_the_call_ttl() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = ringing(&mut a, &mut b);
    b.calls.decline(&call).expect("decline");
    let mut all = b.drain();
    a.calls.handle_timeout(LocalMs(T0 + CALL_TIMEOUT_MS));
    all.extend(a.drain());
    assert!(!sends(&all).is_empty());
    assert!(sends(&all).iter().all(|s| s.ttl_ms == CALL_TTL_MS));
    assert_eq!(CALL_TTL_MS, 300_000);
}

#[test]
fn test_early_candidates_bounded_and_forgotten() {
    let (a, mut b) = (Party::new(1), Party::new(2));
    for i in 0..10u32 {
        let s = OutgoingSignal {
            to: b.me,
            signal: CallSignal {
                call_id: id(&format!("early-{i}")),
                signal: Signal::IceCandidates(vec![cand("c", "0", 0)]),
            },
            ttl_ms: CALL_TTL_MS,
        };
        b.receive(&a.me, &s, NET0, T0 + u64::from(i));
    }
    assert_eq!(b.drain(), vec![]);
    // The oldest kept entry (early-6, seen at T0 + 6) expires a timeout later.
    assert_eq!(
        b.calls.next_timeout(),
        Some(LocalMs(T0 + 6 + CALL_TIMEOUT_MS))
    );
    b.calls.handle_timeout(LocalMs(T0 + 10 + CALL_TIMEOUT_MS));
    assert_eq!(b.calls.next_timeout(), None);
    assert_eq!(b.drain(), vec![]);
}

#[test]
fn test_data_channel_messages_as_desktop() {
    use umbra_protocol::call::DataChannelMessage as D;
    assert_eq!(D::Video { enabled: true }.encode(), r#"{"video":true}"#);
    assert_eq!(D::Video { enabled: false }.encode(), r#"{"video":false}"#);
    assert_eq!(D::Hangup.encode(), r#"{"hangup":true}"#);
    for m in [
        D::Video { enabled: true },
        D::Video { enabled: false },
        D::Hangup,
    ] {
        assert_eq!(D::parse(&m.encode()), Some(m));
    }
    // Desktop: any `hangup` value hangs up, and it wins over `video`.
    assert_eq!(
        D::parse(r#"{"hangup":false,"video":true}"#),
        Some(D::Hangup)
    );
    assert_eq!(D::parse(r#"{"video":"yes"}"#), None);
    assert_eq!(D::parse(r#"{"other":1}"#), None);
    assert_eq!(D::parse("[1]"), None);
    assert_eq!(D::parse("not json"), None);
    let long = format!(r#"{{"video":true,"pad":"{}"}}"#, "x".repeat(1100));
    assert_eq!(D::parse(&long), None);
}

#[test]
fn test_data_channel_hangup_ends_without_sending() {
    let (mut a, mut b) = (Party::new(1), Party::new(2));
    let call = connected(&mut a, &mut b);
    b.calls.remote_hung_up(&call).expect("hangup");
    assert_eq!(
        b.drain(),
        vec![CallAction::Closed {
            call: call.clone(),
            peer: a.me,
            reason: EndReason::RemoteEnded
        }]
    );
    assert!(b.calls.current().is_none());
    assert_eq!(b.calls.remote_hung_up(&call), Err(CallError::UnknownCall));
}
