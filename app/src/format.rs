//! Pure text helpers for the messaging screens: Account ID validation, short IDs, names
//! (without bidi controls), link hosts in punycode, delivery-state words and clock times. No
//! browser APIs here, so they are tested natively.

use umbra_ipc::{
    ConversationSummary, DeliveryState, DisappearingMode, DisappearingView, ErrorCode, MessageKind,
    PathState,
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

/// What the "New conversation" field holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PeerInput {
    /// An Account ID (lower-case).
    Account(String),
    /// An ONS name (lower-case), to be resolved by the worker.
    Name(String),
}

/// Reads the "New conversation" field: an Account ID, or an ONS name as Session allows them
/// (1–64 letters, digits, `_` or `-`, not starting or ending with `-`). Something that looks
/// like a mistyped Account ID (`05` and 40 or more hex characters) is an invalid Account ID,
/// not a name to look up.
pub(crate) fn parse_peer(text: &str) -> Result<PeerInput, ErrorCode> {
    if let Ok(id) = parse_account_id(text) {
        return Ok(PeerInput::Account(id));
    }
    let t = text.trim().to_ascii_lowercase();
    let hex = t.bytes().all(|b| b.is_ascii_hexdigit());
    if t.starts_with("05") && hex && t.len() >= 40 {
        return Err(ErrorCode::InvalidAccountId);
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = t.as_bytes();
    let name = match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            b.len() <= 64 && word(f) && word(l) && b.iter().all(|&c| word(c) || c == b'-')
        }
        _ => false,
    };
    if name {
        Ok(PeerInput::Name(t))
    } else if t.is_empty() || hex {
        Err(ErrorCode::InvalidAccountId)
    } else {
        Err(ErrorCode::InvalidName)
    }
}

/// A short form of an Account ID for headings and lists: the first 6 and last 4 characters.
pub(crate) fn short_id(id: &str) -> String {
    match (id.get(..6), id.get(id.len().saturating_sub(4)..)) {
        (Some(head), Some(tail)) if id.len() > 12 => format!("{head}…{tail}"),
        _ => id.to_owned(),
    }
}

/// The name shown for a conversation: the peer's display name without bidi controls
/// ([`strip_bidi`]), else the short Account ID.
pub(crate) fn conversation_name(c: &ConversationSummary) -> String {
    // The user's own name for the peer first, as Session shows it.
    [c.nickname.as_deref(), c.display_name.as_deref()]
        .into_iter()
        .flatten()
        .map(strip_bidi)
        .map(|n| n.trim().to_owned())
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| short_id(&c.conversation))
}

/// Whether `c` is a bidirectional-text control: the embeddings and overrides U+202A–U+202E,
/// the isolates U+2066–U+2069, the marks U+200E / U+200F and the Arabic letter mark U+061C.
/// In a name they can reverse what follows ("Alice" + U+202E "gnp.exe") and fake another
/// name or a link target.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` without bidi controls ([`is_bidi_control`]): for display names.
pub(crate) fn strip_bidi(text: &str) -> String {
    text.chars().filter(|&c| !is_bidi_control(c)).collect()
}

/// `text` with every bidi control shown as its code point (`⟨U+202E⟩`): for a link's
/// address in the confirmation dialog, where the user must see exactly what it is.
pub(crate) fn mark_bidi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The host of an `http(s)://` URL as the link dialog shows it: lower case, without user
/// info or port, every non-ASCII label in its IDNA ASCII form (`xn--` + [`punycode`]), and
/// whether it had any non-ASCII label (a look-alike risk the dialog points out). `None` if
/// the URL has no host.
///
/// This is ToASCII without the Unicode normalisation tables (the bundle has a size budget):
/// labels are lower-cased and the ideographic full stops U+3002, U+FF0E, U+FF61 separate
/// labels as in IDNA (RFC 3490 §3.1), but no NFKC mapping is applied, so a host that a
/// browser would normalise may read differently here; it never reads as ASCII when it is not.
pub(crate) fn link_host(url: &str) -> Option<(String, bool)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // "https://bank.example@evil.example/" goes to evil.example.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        // An IPv6 literal: "[…]" (ASCII only), then an optional port.
        host_port.split_inclusive(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return None;
    }
    let mut non_ascii = false;
    let labels: Vec<String> = host
        .split(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'])
        .map(|label| {
            let label = label.to_lowercase();
            if label.is_ascii() {
                label
            } else {
                non_ascii = true;
                format!("xn--{}", punycode(&label))
            }
        })
        .collect();
    Some((labels.join("."), non_ascii))
}

/// Punycode (RFC 3492 §6.3, encoding): the basic (ASCII) code points of `input` in order,
/// a `-` delimiter if there were any, then the others as generalized variable-length
/// integers. Case is kept as given.
pub(crate) fn punycode(input: &str) -> String {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    const INITIAL_BIAS: u32 = 72;
    const INITIAL_N: u32 = 128;
    fn adapt(delta: u32, points: u32, first: bool) -> u32 {
        let mut delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
    fn digit(d: u32) -> char {
        // 0..25 are a..z, 26..35 are 0..9.
        let b = if d < 26 {
            b'a' + d as u8
        } else {
            b'0' + (d - 26) as u8
        };
        char::from(b)
    }
    let code: Vec<u32> = input.chars().map(u32::from).collect();
    let mut out: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(out.len()).unwrap_or(u32::MAX);
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias, mut handled) = (INITIAL_N, 0u32, INITIAL_BIAS, basic);
    let total = u32::try_from(code.len()).unwrap_or(u32::MAX);
    while handled < total {
        // The smallest code point not handled yet (there is one: handled < total).
        let m = code.iter().copied().filter(|&c| c >= n).min().unwrap_or(n);
        // Labels are short (a host label has at most 63 bytes): no overflow in practice,
        // and saturating keeps a hostile input from panicking.
        delta = delta.saturating_add((m - n).saturating_mul(handled + 1));
        n = m;
        for &c in &code {
            if c < n {
                delta = delta.saturating_add(1);
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.saturating_add(1);
        n += 1;
    }
    out
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

/// The route in words, for the connection indicator: `via bridge <host>` or `direct` (the
/// address is the user's or the bundle's configuration, shown as text).
pub(crate) fn route_text(network: Option<&umbra_ipc::NetworkView>) -> Option<String> {
    let n = network?;
    Some(match &n.bridge {
        Some(url) => {
            let host = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            format!("via bridge {}", host.split('/').next().unwrap_or(host))
        }
        None => "direct".into(),
    })
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

/// A recording's length as a clock: "0:05", "1:30".
pub(crate) fn elapsed_text(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
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

/// The sentence a placeholder message shows (and is labelled with) for content Umbra cannot
/// show yet, `who` being "You" or the peer's name; `None`-like empty for a text. Names of
/// groups and communities are untrusted: bidi controls are removed and they are quoted.
pub(crate) fn placeholder_text(kind: &MessageKind, who: &str) -> String {
    let who = strip_bidi(who);
    match kind {
        MessageKind::Text => String::new(),
        MessageKind::Attachment { count } if *count > 1 => {
            format!("{who} sent {count} attachments — not supported yet")
        }
        MessageKind::Attachment { .. } => format!("{who} sent an attachment — not supported yet"),
        MessageKind::VoiceMessage => format!("{who} sent a voice message — not supported yet"),
        // As session-desktop's call notifications (`callNotificationType`).
        MessageKind::MissedCall if who == "You" => "You called".into(),
        MessageKind::MissedCall => format!("Missed call from {who}"),
        MessageKind::OutgoingCall => format!("You called {who}"),
        MessageKind::IncomingCall => format!("{who} called you"),
        MessageKind::GroupInvitation { name } => format!(
            "{who} sent an invitation to the group “{}” — groups are not supported yet",
            strip_bidi(name)
        ),
        MessageKind::CommunityInvitation { name } => format!(
            "{who} sent an invitation to the community “{}” — communities are not supported yet",
            strip_bidi(name)
        ),
        MessageKind::Unsupported => {
            format!("{who} sent a kind of message this version cannot show yet")
        }
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

/// A file size for people: "512 B", "1.5 KB", "10.0 MB" (decimal units, as Session shows).
pub(crate) fn file_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// The MIME type of a picture by its first bytes (JPEG, PNG, GIF, WebP), else `None`.
pub(crate) fn picture_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The letter of a placeholder avatar: the name's first letter or digit, upper-case; "?"
/// without one.
pub(crate) fn initial(name: &str) -> String {
    strip_bidi(name)
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

/// What an attachment is, in words.
pub(crate) fn attachment_kind_text(kind: umbra_ipc::AttachmentKind) -> &'static str {
    match kind {
        umbra_ipc::AttachmentKind::Image => "Photo",
        umbra_ipc::AttachmentKind::Video => "Video",
        umbra_ipc::AttachmentKind::Audio => "Audio",
        umbra_ipc::AttachmentKind::Voice => "Voice message",
        umbra_ipc::AttachmentKind::File => "File",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use umbra_ipc::ConversationKind;

    const ID: &str = "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a";

    fn summary(conversation: &str) -> ConversationSummary {
        ConversationSummary {
            conversation: conversation.into(),
            display_name: None,
            kind: ConversationKind::Accepted,
            last_preview: None,
            last_time_ms: None,
            unread: 0,
            disappearing: Default::default(),
            has_avatar: false,
            nickname: None,
            marked_unread: false,
        }
    }

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
            has_avatar: false,
            nickname: None,
            marked_unread: false,
        };
        assert_eq!(conversation_name(&c), "0555b9…884a");
        c.display_name = Some("  ".into());
        assert_eq!(conversation_name(&c), "0555b9…884a");
        c.display_name = Some("<b>Bob</b>".into());
        assert_eq!(conversation_name(&c), "<b>Bob</b>");
        // The user's nickname wins; a blank one does not hide the display name.
        c.nickname = Some("Bobby\u{202e}".into());
        assert_eq!(conversation_name(&c), "Bobby");
        c.nickname = Some(" ".into());
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

    /// RFC 3492 §7.1 sample strings (A)–(H), (J)–(S) that need no mixed-case annotation.
    #[test]
    fn test_punycode_rfc3492_samples() {
        let cases = [
            (
                "\u{644}\u{64A}\u{647}\u{645}\u{627}\u{628}\u{62A}\u{643}\u{644}\u{645}\u{648}\u{634}\u{639}\u{631}\u{628}\u{64A}\u{61F}",
                "egbpdaj6bu4bxfgehfvwxn",
            ),
            (
                "\u{4ED6}\u{4EEC}\u{4E3A}\u{4EC0}\u{4E48}\u{4E0D}\u{8BF4}\u{4E2D}\u{6587}",
                "ihqwcrb4cv8a8dqg056pqjye",
            ),
            (
                "\u{4ED6}\u{5011}\u{7232}\u{4EC0}\u{9EBD}\u{4E0D}\u{8AAA}\u{4E2D}\u{6587}",
                "ihqwctvzc91f659drss3x8bo0yb",
            ),
            (
                "Pro\u{10D}prost\u{11B}nemluv\u{ED}\u{10D}esky",
                "Proprostnemluvesky-uyb24dma41a",
            ),
            (
                "\u{5DC}\u{5DE}\u{5D4}\u{5D4}\u{5DD}\u{5E4}\u{5E9}\u{5D5}\u{5D8}\u{5DC}\u{5D0}\u{5DE}\u{5D3}\u{5D1}\u{5E8}\u{5D9}\u{5DD}\u{5E2}\u{5D1}\u{5E8}\u{5D9}\u{5EA}",
                "4dbcagdahymbxekheh6e0a7fei0b",
            ),
            (
                "3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}",
                "3B-ww4c5e180e575a65lsy2b",
            ),
            (
                "\u{5B89}\u{5BA4}\u{5948}\u{7F8E}\u{6075}-with-SUPER-MONKEYS",
                "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n",
            ),
            (
                "Hello-Another-Way-\u{305D}\u{308C}\u{305E}\u{308C}\u{306E}\u{5834}\u{6240}",
                "Hello-Another-Way--fc4qua05auwb3674vfr0b",
            ),
            (
                "\u{3072}\u{3068}\u{3064}\u{5C4B}\u{6839}\u{306E}\u{4E0B}2",
                "2-u9tlzr9756bt3uc0v",
            ),
            (
                "Maji\u{3067}Koi\u{3059}\u{308B}5\u{79D2}\u{524D}",
                "MajiKoi5-783gue6qz075azm5e",
            ),
            (
                "\u{30D1}\u{30D5}\u{30A3}\u{30FC}de\u{30EB}\u{30F3}\u{30D0}",
                "de-jg4avhby1noc0d",
            ),
            (
                "\u{305D}\u{306E}\u{30B9}\u{30D4}\u{30FC}\u{30C9}\u{3067}",
                "d9juau41awczczp",
            ),
            ("-> $1.00 <-", "-> $1.00 <--"),
        ];
        for (input, want) in cases {
            assert_eq!(punycode(input), want, "{input}");
        }
    }

    #[test]
    fn test_link_host_shows_look_alikes_in_punycode() {
        // Cyrillic "а" (U+0430) in "pаypal.com": a different site than it looks.
        assert_eq!(
            link_host("https://p\u{430}ypal.com/login"),
            Some(("xn--pypal-4ve.com".into(), true))
        );
        assert_eq!(
            link_host("https://B\u{FC}cher.example/"),
            Some(("xn--bcher-kva.example".into(), true))
        );
        // ASCII hosts as they are (lower case); user info and port are not the host.
        assert_eq!(
            link_host("https://Example.COM:8443/x?y#z"),
            Some(("example.com".into(), false))
        );
        assert_eq!(
            link_host("https://bank.example@evil.example/"),
            Some(("evil.example".into(), false))
        );
        assert_eq!(
            link_host("http://[::1]:8080/"),
            Some(("[::1]".into(), false))
        );
        // Ideographic full stops separate labels as dots do.
        assert_eq!(
            link_host("https://\u{4F8B}\u{3002}example/"),
            Some((format!("xn--{}.example", punycode("\u{4F8B}")), true))
        );
        assert_eq!(link_host("https:///path"), None);
        assert_eq!(link_host("no scheme"), None);
    }

    #[test]
    fn test_bidi_controls_are_stripped_from_names_and_marked_in_links() {
        let all = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for c in all {
            assert!(is_bidi_control(c), "{c:?}");
            assert_eq!(strip_bidi(&format!("Al{c}ice")), "Alice");
        }
        for c in [
            'a', '\u{200D}', '\u{2029}', '\u{202F}', '\u{2065}', '\u{206A}',
        ] {
            assert!(!is_bidi_control(c), "{c:?}");
        }
        // "Alice" + RLO + "gnp.exe" would show as "Aliceexe.png".
        let fake = ConversationSummary {
            display_name: Some("Alice\u{202E}gnp.exe".into()),
            ..summary("05ab")
        };
        assert_eq!(conversation_name(&fake), "Alicegnp.exe");
        // Only controls: the short id, not an empty-looking name.
        let empty = ConversationSummary {
            display_name: Some("\u{202E}\u{200F}".into()),
            ..summary(&format!("05{}", "cd".repeat(32)))
        };
        assert_eq!(conversation_name(&empty), short_id(&empty.conversation));
        assert_eq!(
            mark_bidi("https://x.example/\u{202E}fdp.exe"),
            "https://x.example/⟨U+202E⟩fdp.exe"
        );
    }

    #[test]
    fn test_placeholder_sentences() {
        let cases = [
            (
                MessageKind::Attachment { count: 1 },
                "Alice",
                "Alice sent an attachment — not supported yet",
            ),
            (
                MessageKind::Attachment { count: 3 },
                "You",
                "You sent 3 attachments — not supported yet",
            ),
            (
                MessageKind::VoiceMessage,
                "Alice",
                "Alice sent a voice message — not supported yet",
            ),
            (MessageKind::MissedCall, "Alice", "Missed call from Alice"),
            (MessageKind::OutgoingCall, "Alice", "You called Alice"),
            (
                MessageKind::IncomingCall,
                "Al\u{202E}ice",
                "Alice called you",
            ),
            (
                MessageKind::GroupInvitation {
                    name: "Book\u{202E}club".into(),
                },
                "Alice",
                "Alice sent an invitation to the group “Bookclub” — groups are not supported yet",
            ),
            (
                MessageKind::CommunityInvitation {
                    name: "<b>Room</b>".into(),
                },
                "Al\u{2067}ice",
                "Alice sent an invitation to the community “<b>Room</b>” — communities are not supported yet",
            ),
            (
                MessageKind::Unsupported,
                "Alice",
                "Alice sent a kind of message this version cannot show yet",
            ),
            (MessageKind::Text, "Alice", ""),
        ];
        for (kind, who, want) in cases {
            assert_eq!(placeholder_text(&kind, who), want, "{kind:?}");
        }
    }

    #[test]
    fn test_countdown_timer_and_title_words() {
        assert_eq!(countdown_text(299_001), "5m 0s");
        assert_eq!(countdown_text(298_500), "4m 59s");
        assert_eq!(countdown_text(9_000), "9s");
        assert_eq!(countdown_text(-5), "0s");
        assert_eq!(countdown_text(3_600_000 + 60_000), "1h 1m");
        assert_eq!(countdown_text(2 * 86_400_000 + 3_600_000), "2d 1h");
        let labels = |timers: &[u32]| timers.iter().map(|&s| timer_label(s)).collect::<Vec<_>>();
        assert_eq!(
            labels(&umbra_ipc::AFTER_READ_TIMERS_S),
            [
                "5 minutes",
                "1 hour",
                "12 hours",
                "1 day",
                "1 week",
                "2 weeks"
            ]
        );
        assert_eq!(
            labels(&umbra_ipc::AFTER_SEND_TIMERS_S),
            ["12 hours", "1 day", "1 week", "2 weeks"]
        );
        // A peer's timer that is not offered still reads well.
        assert_eq!(timer_label(2_419_200), "4 weeks");
        assert_eq!(timer_label(600), "10 minutes");
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

    #[test]
    fn test_route_text_names_the_bridge_host_or_direct() {
        let mut n = umbra_ipc::NetworkView {
            network: "local".into(),
            bridge: Some("https://bridge.example:8443/umbra".into()),
            ..umbra_ipc::NetworkView::default()
        };
        assert_eq!(
            route_text(Some(&n)).as_deref(),
            Some("via bridge bridge.example:8443")
        );
        n.bridge = None;
        assert_eq!(route_text(Some(&n)).as_deref(), Some("direct"));
        assert_eq!(route_text(None), None);
    }

    #[test]
    fn test_the_new_conversation_field_takes_ids_and_names() {
        let id = format!("05{}", "ab".repeat(32));
        assert_eq!(
            parse_peer(&format!(" {id} ")),
            Ok(PeerInput::Account(id.clone()))
        );
        assert_eq!(parse_peer(" Alice "), Ok(PeerInput::Name("alice".into())));
        assert_eq!(
            parse_peer("bob_99-x"),
            Ok(PeerInput::Name("bob_99-x".into()))
        );
        assert_eq!(parse_peer(&id[..65]), Err(ErrorCode::InvalidAccountId));
        assert_eq!(parse_peer(""), Err(ErrorCode::InvalidAccountId));
        assert_eq!(parse_peer("-alice"), Err(ErrorCode::InvalidName));
        assert_eq!(parse_peer("al ice"), Err(ErrorCode::InvalidName));
        assert_eq!(parse_peer("<b>x</b>"), Err(ErrorCode::InvalidName));
    }

    #[test]
    fn test_file_sizes_read_as_people_say_them() {
        assert_eq!(picture_type(b"\x89PNG\r\n\x1a\nxx"), Some("image/png"));
        assert_eq!(picture_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(picture_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(picture_type(b"<html>"), None);
        assert_eq!(initial("  bob"), "B");
        assert_eq!(initial("\u{202e}élan"), "É");
        assert_eq!(initial("!!"), "?");
        assert_eq!(elapsed_text(5_400), "0:05");
        assert_eq!(elapsed_text(90_000), "1:30");
        assert_eq!(file_size(0), "0 B");
        assert_eq!(file_size(999), "999 B");
        assert_eq!(file_size(1_500), "1.5 KB");
        assert_eq!(file_size(10_000_000), "10.0 MB");
        assert_eq!(
            attachment_kind_text(umbra_ipc::AttachmentKind::Voice),
            "Voice message"
        );
    }
}
