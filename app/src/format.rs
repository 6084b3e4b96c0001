//! Pure text helpers for the messaging screens: Account ID validation, short IDs, names,
//! delivery-state words and clock times. No browser APIs here, so they are tested natively.

use umbra_ipc::{ConversationSummary, DeliveryState, ErrorCode, PathState};

/// Checks typed text is an Account ID (`05` followed by 64 hex characters, surrounding
/// whitespace ignored) and returns it in lower case.
pub(crate) fn parse_account_id(text: &str) -> Result<String, ErrorCode> {
    let id = text.trim();
    let ok = id.len() == 66 && id.starts_with("05") && id.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(ErrorCode::InvalidAccountId)
    }
}

/// A short form of an Account ID for headings and lists: the first 6 and last 4 characters.
pub(crate) fn short_id(id: &str) -> String {
    match (id.get(..6), id.get(id.len().saturating_sub(4)..)) {
        (Some(head), Some(tail)) if id.len() > 12 => format!("{head}…{tail}"),
        _ => id.to_owned(),
    }
}

/// The name shown for a conversation: the peer's display name, else the short Account ID.
pub(crate) fn conversation_name(c: &ConversationSummary) -> String {
    match c.display_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => short_id(&c.peer),
    }
}

/// The delivery-state word shown under an outgoing message (`None` for incoming ones).
pub(crate) fn delivery_text(state: DeliveryState) -> Option<&'static str> {
    match state {
        DeliveryState::Pending | DeliveryState::Sending => Some("Sending"),
        DeliveryState::Sent => Some("Sent"),
        DeliveryState::Read => Some("Read"),
        DeliveryState::Failed => Some("Failed"),
        DeliveryState::Received => None,
    }
}

/// The words of the network status indicator.
pub(crate) fn path_text(state: Option<PathState>) -> &'static str {
    match state {
        None | Some(PathState::Building) => "Connecting",
        Some(PathState::Connected) => "Connected",
        Some(PathState::Failing) => "Connection failing",
    }
}

/// `HH:MM` from an hour and a minute.
pub(crate) fn clock(hours: u32, minutes: u32) -> String {
    format!("{hours:02}:{minutes:02}")
}

/// The unread badge's words.
pub(crate) fn unread_text(n: u32) -> String {
    if n > 99 {
        "99+ unread".into()
    } else {
        format!("{n} unread")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use umbra_ipc::ConversationKind;

    const ID: &str = "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a";

    #[test]
    fn test_account_id_validation() {
        assert_eq!(parse_account_id(ID).as_deref(), Ok(ID));
        assert_eq!(parse_account_id(&format!("  {ID}\n")).as_deref(), Ok(ID));
        assert_eq!(parse_account_id(&ID.to_uppercase()).as_deref(), Ok(ID));
        let bad = [
            "",
            &ID[..65],
            &format!("{ID}0"),
            &format!("15{}", &ID[2..]),
            &format!("{}g", &ID[..65]),
            &format!("{}é", &ID[..64]),
        ];
        for b in bad {
            assert_eq!(
                parse_account_id(b),
                Err(ErrorCode::InvalidAccountId),
                "{b:?}"
            );
        }
    }

    #[test]
    fn test_short_id_and_names() {
        assert_eq!(short_id(ID), "0555b9…884a");
        assert_eq!(short_id("05ab"), "05ab");
        let mut c = ConversationSummary {
            peer: ID.into(),
            display_name: None,
            kind: ConversationKind::Accepted,
            last_preview: None,
            last_time_ms: None,
            unread: 0,
            disappearing: Default::default(),
        };
        assert_eq!(conversation_name(&c), "0555b9…884a");
        c.display_name = Some("  ".into());
        assert_eq!(conversation_name(&c), "0555b9…884a");
        c.display_name = Some("<b>Bob</b>".into());
        assert_eq!(conversation_name(&c), "<b>Bob</b>");
    }

    #[test]
    fn test_state_words() {
        assert_eq!(delivery_text(DeliveryState::Pending), Some("Sending"));
        assert_eq!(delivery_text(DeliveryState::Sent), Some("Sent"));
        assert_eq!(delivery_text(DeliveryState::Failed), Some("Failed"));
        assert_eq!(delivery_text(DeliveryState::Received), None);
        assert_eq!(path_text(Some(PathState::Connected)), "Connected");
        assert_eq!(path_text(None), "Connecting");
        assert_eq!(clock(7, 5), "07:05");
        assert_eq!(unread_text(3), "3 unread");
        assert_eq!(unread_text(1000), "99+ unread");
    }
}
