//! The client outbox ids convo hands out, built and parsed only here: a text is known by its
//! database id (`"<id>"`), every other kind by its kind and sent timestamp
//! (`"<kind>/<sent ms>"`). The strings are those already in persisted client snapshots, so an
//! outbox saved before this module still resumes.

use crate::store::messages::MessageId;

/// The kinds of outgoing control messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// A reaction (added or removed).
    React,
    /// An unsend request to the peer.
    Unsend,
    /// The unsend request to our other devices.
    UnsendOwn,
    /// An expiration-timer update.
    Timer,
    /// A typing indicator.
    Typing,
    /// A read receipt.
    Receipt,
    /// A message-request acceptance.
    Accept,
}

impl Control {
    fn prefix(self) -> &'static str {
        match self {
            Control::React => "react",
            Control::Unsend => "unsend",
            Control::UnsendOwn => "unsend-own",
            Control::Timer => "timer",
            Control::Typing => "typing",
            Control::Receipt => "receipt",
            Control::Accept => "accept",
        }
    }
}

/// The outbox id of the text stored under `id`.
pub fn text(id: MessageId) -> String {
    id.0.to_string()
}

/// The outbox id of a control message of `kind` sent at `sent_ms`.
pub fn control(kind: Control, sent_ms: u64) -> String {
    format!("{}/{sent_ms}", kind.prefix())
}

/// The database id of a text's outbox id; `None` for any other id (controls, sync copies).
pub fn parse_text(local_id: &str) -> Option<MessageId> {
    if local_id.is_empty() || !local_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    local_id.parse().ok().map(MessageId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ids_round_trip_and_controls_are_not_texts() {
        assert_eq!(parse_text(&text(MessageId(42))), Some(MessageId(42)));
        assert_eq!(control(Control::UnsendOwn, 7), "unsend-own/7");
        for bad in ["", "react/5", "+5", "5/sync", "99999999999999999999999"] {
            assert_eq!(parse_text(bad), None, "{bad}");
        }
    }
}
