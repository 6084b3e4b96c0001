//! Pure text helpers for the messaging screens: Account ID validation, short IDs, names,
//! delivery-state words and clock times. No browser APIs here, so they are tested natively.

use umbra_ipc::{
    ConversationSummary, DeliveryState, DisappearingMode, DisappearingView, ErrorCode, PathState,
};

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
        _ => short_id(&c.conversation),
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

/// The clock banner's role and words, if there is anything to say: an alert when the
/// device clock is far off, a status while messages wait for the network time.
pub(crate) fn clock_banner(clock: &umbra_ipc::ClockStatus) -> Option<(&'static str, String)> {
    if clock.far_off {
        let off = clock.offset_ms.unwrap_or(0);
        let minutes = off.unsigned_abs() / 60_000;
        let amount = if minutes >= 120 {
            format!("{} hours", minutes / 60)
        } else {
            format!("{minutes} minutes")
        };
        // Network minus device: a negative offset means the device is ahead.
        let way = if off < 0 { "ahead" } else { "behind" };
        return Some((
            "alert",
            format!(
                "Your device clock is about {amount} {way}. Umbra uses network time, but                  please set your clock correctly."
            ),
        ));
    }
    (clock.waiting > 0).then(|| {
        let n = clock.waiting;
        let what = if n == 1 { "message" } else { "messages" };
        (
            "status",
            format!("Waiting for network time: {n} {what} will be sent once connected."),
        )
    })
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

/// A piece of message text: plain text, or a web link shown as a button that asks first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text shown as it is.
    Text(String),
    /// An `http://` or `https://` URL.
    Link(String),
}

/// Splits `text` into plain text and web links. Only `http://` and `https://` URLs count
/// (never `javascript:`, `data:` or anything else); trailing punctuation that usually ends a
/// sentence (`.,;:!?` and an unbalanced closing bracket or quote) is left out of the link.
pub(crate) fn split_links(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let start = [lower.find("https://"), lower.find("http://")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = start else {
            plain.push_str(rest);
            break;
        };
        // Only at a word start: "xhttp://" is not a link.
        let at_word_start = rest[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([<>\"'".contains(c));
        let len = rest[start..]
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .unwrap_or(rest.len() - start);
        let mut url = &rest[start..start + len];
        loop {
            let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'']);
            let trimmed = if trimmed.ends_with(')')
                && trimmed.matches('(').count() < trimmed.matches(')').count()
            {
                &trimmed[..trimmed.len() - 1]
            } else {
                trimmed
            };
            if trimmed.len() == url.len() {
                break;
            }
            url = trimmed;
        }
        let scheme_len = if url.to_ascii_lowercase().starts_with("https://") {
            8
        } else {
            7
        };
        if !at_word_start || url.len() <= scheme_len {
            let step = start + len.max(1);
            let step = (step..=rest.len())
                .find(|&i| rest.is_char_boundary(i))
                .unwrap_or(rest.len());
            plain.push_str(&rest[..step]);
            rest = &rest[step..];
            continue;
        }
        plain.push_str(&rest[..start]);
        if !plain.is_empty() {
            out.push(Segment::Text(core::mem::take(&mut plain)));
        }
        out.push(Segment::Link(url.to_owned()));
        rest = &rest[start + url.len()..];
    }
    if !plain.is_empty() {
        out.push(Segment::Text(plain));
    }
    out
}

/// A countdown: "1d 2h", "3h 4m", "4m 59s" or "9s" (never negative).
pub(crate) fn countdown_text(remaining_ms: i64) -> String {
    let s = (remaining_ms.max(0) + 999) / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

/// The words of a disappearing-messages timer: "5 minutes", "1 hour", …, "4 weeks".
pub(crate) fn timer_label(secs: u32) -> String {
    match secs {
        300 => "5 minutes".into(),
        3_600 => "1 hour".into(),
        43_200 => "12 hours".into(),
        86_400 => "1 day".into(),
        604_800 => "1 week".into(),
        1_209_600 => "2 weeks".into(),
        2_419_200 => "4 weeks".into(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The words of a conversation's disappearing-messages setting.
pub(crate) fn disappearing_text(d: DisappearingView) -> String {
    match d.mode {
        _ if d.timer_s == 0 => "Messages do not disappear".into(),
        DisappearingMode::Off => "Messages do not disappear".into(),
        DisappearingMode::AfterRead => format!("Disappear after read: {}", timer_label(d.timer_s)),
        DisappearingMode::AfterSend => format!("Disappear after send: {}", timer_label(d.timer_s)),
    }
}

/// The tab title: "(N) Umbra" with N unread messages in all, else "Umbra".
pub(crate) fn title_text(unread: u32) -> String {
    match unread {
        0 => "Umbra".into(),
        n if n > 99 => "(99+) Umbra".into(),
        n => format!("({n}) Umbra"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use umbra_ipc::ConversationKind;

    const ID: &str = "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a";

    #[test]
    fn test_clock_banner_names_the_problem() {
        use umbra_ipc::ClockStatus;
        assert_eq!(clock_banner(&ClockStatus::default()), None);
        let fast = ClockStatus {
            offset_ms: Some(-86_400_000),
            far_off: true,
            waiting: 0,
        };
        let (role, text) = clock_banner(&fast).unwrap();
        assert_eq!(role, "alert");
        assert!(text.contains("24 hours ahead"), "{text}");
        let slow = ClockStatus {
            offset_ms: Some(5 * 60_000),
            ..fast
        };
        assert!(clock_banner(&slow).unwrap().1.contains("5 minutes behind"));
        let waiting = ClockStatus {
            waiting: 2,
            ..ClockStatus::default()
        };
        let (role, text) = clock_banner(&waiting).unwrap();
        assert_eq!(role, "status");
        assert!(text.contains("2 messages"), "{text}");
    }

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
            conversation: ID.into(),
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

    #[test]
    fn test_links_are_http_and_https_only() {
        use Segment::{Link, Text};
        assert_eq!(
            split_links("see https://example.com/x, then"),
            vec![
                Text("see ".into()),
                Link("https://example.com/x".into()),
                Text(", then".into())
            ]
        );
        assert_eq!(
            split_links("HTTP://A.b/c?d=1."),
            vec![Link("HTTP://A.b/c?d=1".into()), Text(".".into())]
        );
        assert_eq!(
            split_links("(at https://w.org/a_(b)) ok"),
            vec![
                Text("(at ".into()),
                Link("https://w.org/a_(b)".into()),
                Text(") ok".into())
            ]
        );
        for plain in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://x.org",
            "xhttps://x.org",
            "https://",
            "no links here",
            "",
        ] {
            assert!(
                split_links(plain).iter().all(|s| matches!(s, Text(_))),
                "{plain:?}"
            );
            let joined: String = split_links(plain)
                .into_iter()
                .map(|s| match s {
                    Text(t) | Link(t) => t,
                })
                .collect();
            assert_eq!(joined, plain, "nothing lost");
        }
        assert_eq!(
            split_links("<script>https://é.example/ü</script>"),
            vec![
                Text("<script>".into()),
                Link("https://é.example/ü".into()),
                Text("</script>".into())
            ]
        );
    }

    #[test]
    fn test_countdown_timer_and_title_words() {
        assert_eq!(countdown_text(299_001), "5m 0s");
        assert_eq!(countdown_text(298_500), "4m 59s");
        assert_eq!(countdown_text(9_000), "9s");
        assert_eq!(countdown_text(-5), "0s");
        assert_eq!(countdown_text(3_600_000 + 60_000), "1h 1m");
        assert_eq!(countdown_text(2 * 86_400_000 + 3_600_000), "2d 1h");
        let labels: Vec<String> = umbra_ipc::DISAPPEARING_TIMERS_S
            .iter()
            .map(|&s| timer_label(s))
            .collect();
        assert_eq!(
            labels,
            [
                "5 minutes",
                "1 hour",
                "12 hours",
                "1 day",
                "1 week",
                "2 weeks",
                "4 weeks"
            ]
        );
        let d = |mode, timer_s| DisappearingView { mode, timer_s };
        assert_eq!(
            disappearing_text(d(DisappearingMode::Off, 0)),
            "Messages do not disappear"
        );
        assert_eq!(
            disappearing_text(d(DisappearingMode::AfterRead, 0)),
            "Messages do not disappear"
        );
        assert_eq!(
            disappearing_text(d(DisappearingMode::AfterRead, 300)),
            "Disappear after read: 5 minutes"
        );
        assert_eq!(
            disappearing_text(d(DisappearingMode::AfterSend, 86_400)),
            "Disappear after send: 1 day"
        );
        assert_eq!(title_text(0), "Umbra");
        assert_eq!(title_text(3), "(3) Umbra");
        assert_eq!(title_text(1000), "(99+) Umbra");
    }
}
