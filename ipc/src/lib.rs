#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod call;
pub mod command;
pub mod error;
pub mod event;
pub mod messaging;
pub mod secret;
pub mod strength;

pub use call::{CallCommand, CallEndReason, CallEvent, CallPhase, Candidate, IceServer};
pub use command::{
    AccountCommand, AppCommand, Command, ConversationOp, ConversationsCommand, NetworkCommand,
    SettingsCommand, decode_command, encode_command,
};
pub use error::ErrorCode;
pub use event::{AccountState, ClockStatus, Event, Task, UploadState, decode_event, encode_event};
pub use messaging::{
    AFTER_READ_TIMERS_S, AFTER_SEND_TIMERS_S, AttachmentAvailability, AttachmentKind,
    AttachmentView, ConversationKind, ConversationSummary, DeliveryState, Direction,
    DisappearingMode, DisappearingView, MessageKind, MessageView, NetworkView, PathState,
    QuoteView, ReactionView, SearchHit, Settings, SyncView, offered_timers_s, patch_messages,
};
pub use secret::SecretString;
pub use strength::{Strength, Weakness, estimate as estimate_strength};

/// Version of this contract. The worker announces it in [`Event::Ready`]; the app refuses to
/// talk to a worker with another version (a stale worker script after an update).
///
/// 2: commands nested by domain, conversations named by reference, `MessagesChanged`.
/// 3: `remove` and `show_recovery_phrase` carry the passphrase; `weak_passphrase`.
pub const IPC_VERSION: u32 = 3;

/// A message could not be decoded (wrong shape or version skew). Carries no message bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError;

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ipc message could not be decoded")
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> ConversationSummary {
        ConversationSummary {
            conversation: "05ab".into(),
            display_name: None,
            kind: ConversationKind::Request,
            last_preview: Some("<b>hi</b>".into()),
            last_time_ms: Some(5),
            unread: 1,
            disappearing: DisappearingView::default(),
            has_avatar: false,
            nickname: None,
            marked_unread: false,
        }
    }

    fn view(id: u64) -> MessageView {
        MessageView {
            id,
            direction: Direction::Incoming,
            body: "<b>hi</b>".into(),
            sent_ms: 5,
            state: DeliveryState::Received,
            quote: None,
            reactions: vec![],
            expires_at_ms: None,
            kind: Default::default(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn test_event_wire_shape_is_stable() {
        let ev = Event::Error {
            code: ErrorCode::PhraseUnknownWord { position: 3 },
        };
        assert_eq!(
            encode_event(&ev),
            r#"{"event":"error","code":{"code":"phrase_unknown_word","position":3}}"#
        );
        assert_eq!(
            encode_event(&Event::Ready {
                version: IPC_VERSION
            }),
            r#"{"event":"ready","version":3}"#
        );
        let st = Event::Status {
            state: AccountState::Unlocked {
                account_id: "05ab".into(),
            },
        };
        assert_eq!(
            encode_event(&st),
            r#"{"event":"status","state":{"state":"unlocked","account_id":"05ab"}}"#
        );
        assert_eq!(decode_event(&encode_event(&st)), Ok(st));
    }

    #[test]
    fn test_messaging_events_name_the_conversation() {
        let ev = Event::Messages {
            conversation: "05ab".into(),
            summary: summary(),
            items: vec![view(1)],
        };
        let text = encode_event(&ev);
        assert!(
            text.starts_with(r#"{"event":"messages","conversation":"05ab","#),
            "{text}"
        );
        assert!(
            text.contains(r#""summary":{"conversation":"05ab","#),
            "{text}"
        );
        assert!(text.contains(r#""kind":"request""#));
        assert!(text.contains(r#""state":"received""#));
        assert_eq!(decode_event(&text), Ok(ev));
        let changed = Event::MessagesChanged {
            conversation: "05ab".into(),
            summary: None,
            upserts: vec![view(2)],
            removed: vec![1],
        };
        let text = encode_event(&changed);
        assert!(
            text.starts_with(r#"{"event":"messages_changed","conversation":"05ab","summary":null,"upserts":[{"id":2,"#),
            "{text}"
        );
        assert!(text.ends_with(r#""removed":[1]}"#), "{text}");
        assert_eq!(decode_event(&text), Ok(changed));
        for ev in [
            Event::PeerTyping {
                conversation: "05ab".into(),
                sender: "05cd".into(),
                typing: true,
            },
            Event::Incoming {
                conversation: "05ab".into(),
                display_name: Some("A".into()),
                preview: "hi".into(),
            },
            Event::SearchResults {
                query: "hi".into(),
                conversation: Some("05ab".into()),
                items: vec![SearchHit {
                    conversation: "05ab".into(),
                    display_name: None,
                    id: 1,
                    direction: Direction::Outgoing,
                    body: "hi".into(),
                    sent_ms: 5,
                }],
            },
            Event::BlockList {
                accounts: vec!["05ab".into()],
            },
        ] {
            let text = encode_event(&ev);
            assert!(!text.contains(r#""peer""#), "{text}");
            assert_eq!(decode_event(&text), Ok(ev));
        }
    }

    #[test]
    fn test_phrase_words_are_plain_on_the_wire_and_redacted_in_debug() {
        let ev = Event::RecoveryPhrase {
            words: vec!["zygote".into(), "hazard".into()],
        };
        let text = encode_event(&ev);
        assert_eq!(
            text,
            r#"{"event":"recovery_phrase","words":["zygote","hazard"]}"#
        );
        assert_eq!(decode_event(&text), Ok(ev.clone()));
        let dbg = format!("{ev:?}");
        assert!(!dbg.contains("zygote"), "{dbg}");
    }

    #[test]
    fn test_garbage_events_are_rejected() {
        assert_eq!(decode_event("{\"event\":\"unlocked\"}"), Err(DecodeError));
        assert_eq!(
            decode_event(r#"{"event":"messages","peer":"05ab","conversation":{},"items":[]}"#),
            Err(DecodeError)
        );
        assert_eq!(decode_event("not json"), Err(DecodeError));
    }
}
