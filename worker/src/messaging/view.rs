//! Display conversions for the app: stored conversations and messages become the
//! [`umbra_ipc`] rows the UI renders ([`summary`], [`message_view`]), and the app's form of a
//! disappearing-messages setting ([`DisappearingView`]) is converted to and from the
//! database's ([`Disappearing`]); the wire form is [`convo`]'s business.

use std::collections::BTreeMap;

use umbra_ipc::{
    AttachmentAvailability, AttachmentKind, AttachmentView, ConversationKind, ConversationSummary,
    DeliveryState, Direction as IpcDirection, DisappearingMode as IpcMode, DisappearingView,
    ErrorCode, MessageKind, MessageView, QuoteView, ReactionView, offered_timers_s,
};
use umbra_protocol::{
    convo,
    identity::AccountId,
    store::messages::{
        Attachment, AttachmentState, CallEntry, Conversation, ConversationState, Direction,
        Disappearing, DisappearingMode, Message, OutboxState, Placeholder,
    },
};

/// Types the app may give attachment bytes (and how each is shown); anything else is
/// `application/octet-stream`, a download. Never `text/html`, SVG or XML: a file is never
/// rendered as a page or markup.
const SHOWN_TYPES: &[(&str, AttachmentKind)] = &[
    ("image/jpeg", AttachmentKind::Image),
    ("image/png", AttachmentKind::Image),
    ("image/webp", AttachmentKind::Image),
    ("image/gif", AttachmentKind::Image),
    ("video/mp4", AttachmentKind::Video),
    ("video/webm", AttachmentKind::Video),
    ("audio/mpeg", AttachmentKind::Audio),
    ("audio/mp3", AttachmentKind::Audio),
    ("audio/mp4", AttachmentKind::Audio),
    ("audio/m4a", AttachmentKind::Audio),
    ("audio/x-m4a", AttachmentKind::Audio),
    ("audio/aac", AttachmentKind::Audio),
    ("audio/ogg", AttachmentKind::Audio),
    ("audio/webm", AttachmentKind::Audio),
    ("audio/wav", AttachmentKind::Audio),
];

/// The display form of attachment `index`.
pub fn attachment_view(index: usize, a: &Attachment) -> AttachmentView {
    let claimed = a
        .meta
        .content_type
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (content_type, kind) = match SHOWN_TYPES.iter().find(|(t, _)| *t == claimed) {
        Some((t, kind)) => ((*t).to_owned(), *kind),
        None => ("application/octet-stream".to_owned(), AttachmentKind::File),
    };
    let kind = if a.meta.voice && kind == AttachmentKind::Audio {
        AttachmentKind::Voice
    } else {
        kind
    };
    let (size, availability) = match &a.state {
        AttachmentState::Remote => (u64::from(a.meta.size), AttachmentAvailability::Remote),
        AttachmentState::Stored { size } => (*size, AttachmentAvailability::Stored),
        AttachmentState::Failed { reason } => (
            u64::from(a.meta.size),
            AttachmentAvailability::Failed {
                code: super::files::failure_code(*reason),
            },
        ),
    };
    AttachmentView {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        kind,
        content_type,
        file_name: super::files::safe_file_name(a.meta.file_name.as_deref().unwrap_or_default()),
        size,
        dimensions: a.meta.width.zip(a.meta.height),
        availability,
    }
}

/// The conversation-list row of `c`.
pub fn summary(c: &Conversation) -> ConversationSummary {
    let last = c.last_message.as_ref();
    ConversationSummary {
        conversation: c.id.to_string(),
        display_name: c.display_name.clone(),
        kind: match c.state {
            ConversationState::Accepted => ConversationKind::Accepted,
            ConversationState::Request => ConversationKind::Request,
            ConversationState::Blocked => ConversationKind::Blocked,
        },
        last_preview: last.filter(|m| !m.deleted).map(|m| m.preview.clone()),
        last_time_ms: last.map(|m| m.sent_ms),
        unread: c.unread_count,
        disappearing: view_of(c.disappearing),
        has_avatar: c.avatar_stored,
        nickname: c.nickname.clone(),
        marked_unread: c.marked_unread,
    }
}

/// What the view needs to know about a quoted message that is still stored: its local id
/// and text.
pub type QuoteTargets = BTreeMap<(AccountId, u64), (u64, String, bool)>;

/// What a reply shows of message `m` when it quotes it: its local id, its text (for
/// attachments only, the first one's kind) and whether its first attachment is a stored
/// picture (a thumbnail).
pub fn quote_target(m: &Message) -> (u64, String, bool) {
    let first = m.attachments.first();
    let text = match first {
        Some(a) if m.body.is_empty() => a.meta.summary().to_owned(),
        _ => m.body.clone(),
    };
    let picture = first.is_some_and(|a| {
        matches!(a.state, AttachmentState::Stored { .. })
            && attachment_view(0, a).kind == AttachmentKind::Image
    });
    (m.id.0, text, picture)
}

/// The display form of a stored message. `me` is the own Account ID (our reactions and
/// quotes of our messages); `targets` resolves quoted messages still stored here.
pub fn message_view(m: &Message, me: &AccountId, targets: &QuoteTargets) -> MessageView {
    let (direction, state) = match (m.direction, m.outbox) {
        (Direction::Incoming, _) => (IpcDirection::Incoming, DeliveryState::Received),
        (Direction::Outgoing, _) if m.read => (IpcDirection::Outgoing, DeliveryState::Read),
        (Direction::Outgoing, Some(OutboxState::Sending)) => {
            (IpcDirection::Outgoing, DeliveryState::Sending)
        }
        (Direction::Outgoing, Some(OutboxState::Sent)) => {
            (IpcDirection::Outgoing, DeliveryState::Sent)
        }
        (Direction::Outgoing, Some(OutboxState::Failed { .. })) => {
            (IpcDirection::Outgoing, DeliveryState::Failed)
        }
        (Direction::Outgoing, _) => (IpcDirection::Outgoing, DeliveryState::Pending),
    };
    let quote = m.quote.as_ref().map(|q| {
        let local = targets.get(&(q.target.author, q.target.sent_ms));
        QuoteView {
            id: local.map(|(id, ..)| *id),
            picture: local.is_some_and(|(_, _, picture)| *picture),
            author_is_me: q.target.author == *me,
            // Current Session clients send no quoted text: show the stored original's.
            text: if q.text.is_empty() {
                local.map(|(_, body, _)| body.clone()).unwrap_or_default()
            } else {
                q.text.clone()
            },
        }
    });
    // BTreeMap order: sorted by emoji, stable across updates.
    let reactions = m
        .reactions
        .iter()
        .filter(|(_, who)| !who.is_empty())
        .map(|(emoji, who)| ReactionView {
            emoji: emoji.clone(),
            count: u32::try_from(who.len()).unwrap_or(u32::MAX),
            mine: who.contains(me),
        })
        .collect();
    MessageView {
        id: m.id.0,
        direction,
        body: m.body.clone(),
        sent_ms: m.sent_ms,
        state,
        quote,
        reactions,
        expires_at_ms: m.expires_at_ms,
        kind: kind_of(m.placeholder.as_ref()),
        attachments: m
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| attachment_view(i, a))
            .collect(),
    }
}

/// The app's form of what a stored message stands for.
pub fn kind_of(p: Option<&Placeholder>) -> MessageKind {
    match p {
        None => MessageKind::Text,
        Some(Placeholder::Attachment { count }) => MessageKind::Attachment { count: *count },
        Some(Placeholder::VoiceMessage) => MessageKind::VoiceMessage,
        Some(Placeholder::Call { entry, .. }) => match entry {
            CallEntry::Missed => MessageKind::MissedCall,
            CallEntry::Outgoing => MessageKind::OutgoingCall,
            CallEntry::Incoming => MessageKind::IncomingCall,
        },
        Some(Placeholder::GroupInvitation { name }) => {
            MessageKind::GroupInvitation { name: name.clone() }
        }
        Some(Placeholder::CommunityInvitation { name }) => {
            MessageKind::CommunityInvitation { name: name.clone() }
        }
        Some(Placeholder::Unknown) => MessageKind::Unsupported,
    }
}

/// The app's form of a stored setting.
pub fn view_of(d: Disappearing) -> DisappearingView {
    if !d.is_on() {
        return DisappearingView::default();
    }
    DisappearingView {
        mode: match d.mode {
            DisappearingMode::Off => IpcMode::Off,
            DisappearingMode::AfterRead => IpcMode::AfterRead,
            DisappearingMode::AfterSend => IpcMode::AfterSend,
        },
        timer_s: d.timer_s,
    }
}

/// Checks a setting chosen in the app: any mode-off setting is off; otherwise the timer must
/// be one that is offered for its mode ([`offered_timers_s`], the lists of
/// [`convo::offered_setting`]: Session's).
pub fn checked_setting(v: DisappearingView) -> Result<Disappearing, ErrorCode> {
    let mode = match v.mode {
        IpcMode::Off => DisappearingMode::Off,
        IpcMode::AfterRead => DisappearingMode::AfterRead,
        IpcMode::AfterSend => DisappearingMode::AfterSend,
    };
    if mode != DisappearingMode::Off && !offered_timers_s(v.mode).contains(&v.timer_s) {
        return Err(ErrorCode::InvalidTimer);
    }
    convo::offered_setting(mode, v.timer_s).map_err(|_| ErrorCode::InvalidTimer)
}

#[cfg(test)]
mod tests {
    use umbra_protocol::{convo::wire_of, message::DisappearingSetting};

    use super::*;

    #[test]
    fn test_settings_convert_both_ways() {
        let on = DisappearingView {
            mode: IpcMode::AfterRead,
            timer_s: 300,
        };
        let stored = checked_setting(on).expect("offered");
        assert_eq!(wire_of(stored), DisappearingSetting::AfterRead(300));
        assert_eq!(view_of(stored), on);
        assert_eq!(
            convo::stored_of(DisappearingSetting::AfterSend(1_209_600)),
            checked_setting(DisappearingView {
                mode: IpcMode::AfterSend,
                timer_s: 1_209_600
            })
            .expect("2 weeks is offered")
        );
        // Session offers no 4 weeks, and no 5 minutes or 1 hour after send.
        for bad in [0, 1, 299, 300, 301, 3_600, 2_419_200, 2_419_201, u32::MAX] {
            assert_eq!(
                checked_setting(DisappearingView {
                    mode: IpcMode::AfterSend,
                    timer_s: bad
                }),
                Err(ErrorCode::InvalidTimer)
            );
        }
        // Off with any timer is off.
        let off = checked_setting(DisappearingView {
            mode: IpcMode::Off,
            timer_s: 77,
        })
        .expect("off");
        assert_eq!(off, Disappearing::OFF);
        assert_eq!(wire_of(off), DisappearingSetting::Off);
        assert_eq!(view_of(off), DisappearingView::default());
    }

    #[test]
    fn test_placeholders_reach_the_app_as_their_kind() {
        let cases = [
            (None, MessageKind::Text),
            (
                Some(Placeholder::Attachment { count: 2 }),
                MessageKind::Attachment { count: 2 },
            ),
            (Some(Placeholder::VoiceMessage), MessageKind::VoiceMessage),
            (
                Some(Placeholder::Call {
                    call_id: "c".into(),
                    entry: CallEntry::Missed,
                }),
                MessageKind::MissedCall,
            ),
            (
                Some(Placeholder::Call {
                    call_id: "c".into(),
                    entry: CallEntry::Outgoing,
                }),
                MessageKind::OutgoingCall,
            ),
            (
                Some(Placeholder::Call {
                    call_id: "c".into(),
                    entry: CallEntry::Incoming,
                }),
                MessageKind::IncomingCall,
            ),
            (
                Some(Placeholder::GroupInvitation { name: "G".into() }),
                MessageKind::GroupInvitation { name: "G".into() },
            ),
            (
                Some(Placeholder::CommunityInvitation { name: "C".into() }),
                MessageKind::CommunityInvitation { name: "C".into() },
            ),
            (Some(Placeholder::Unknown), MessageKind::Unsupported),
        ];
        for (stored, want) in cases {
            assert_eq!(kind_of(stored.as_ref()), want);
        }
    }

    #[test]
    fn test_an_old_unoffered_setting_still_loads() {
        // Stored by an older Umbra (4 weeks after send) or set by a peer: shown as it is,
        // and the timer menu starts from the nearest offered timer.
        let old = convo::stored_of(DisappearingSetting::AfterSend(2_419_200));
        let shown = view_of(old);
        assert_eq!(
            shown,
            DisappearingView {
                mode: IpcMode::AfterSend,
                timer_s: 2_419_200
            }
        );
        let menu = shown.nearest_offered();
        assert_eq!(menu.timer_s, 1_209_600);
        assert!(checked_setting(menu).is_ok());
    }
}
