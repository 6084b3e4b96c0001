//! Display data for messaging: conversations, messages, delivery states and the status of
//! the onion paths. Plain data only — the worker owns every key and decides what is shown; the
//! app renders these values as text. A conversation is named by its reference, the string form
//! of a conversation id (`05…`, the peer's Account ID, for a one-to-one conversation).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// How a conversation stands with its peer.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// A normal conversation (started by us, or a request we accepted).
    Accepted,
    /// The first messages of an Account ID we do not know yet: a message request.
    Request,
    /// The peer is blocked: their messages are dropped unseen.
    Blocked,
}

/// One row of the conversation list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    /// The conversation reference (for a one-to-one conversation, the peer's Account ID).
    pub conversation: String,
    /// The peer's display name, if they sent one (untrusted text: render as text).
    pub display_name: Option<String>,
    /// Accepted, request or blocked.
    pub kind: ConversationKind,
    /// A short preview of the last message (untrusted text).
    pub last_preview: Option<String>,
    /// When the last message was sent, ms since the Unix epoch.
    pub last_time_ms: Option<u64>,
    /// How many incoming messages are unread.
    pub unread: u32,
    /// The conversation's disappearing-messages setting.
    #[serde(default)]
    pub disappearing: DisappearingView,
    /// Whether the peer's profile picture is stored (ask with
    /// [`ConversationOp::GetAvatar`](crate::ConversationOp::GetAvatar)).
    #[serde(default)]
    pub has_avatar: bool,
    /// The name the user gave the peer, if any (shown instead of the display name;
    /// untrusted text when it came from another device).
    #[serde(default)]
    pub nickname: Option<String>,
    /// The user marked it unread (shown like an unread message until it is opened).
    #[serde(default)]
    pub marked_unread: bool,
}

/// Session's two disappearing-message modes (docs/protocol.md §9), or off.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisappearingMode {
    /// Messages stay.
    #[default]
    Off,
    /// Messages disappear `timer_s` seconds after they were read.
    AfterRead,
    /// Messages disappear `timer_s` seconds after they were sent.
    AfterSend,
}

/// A disappearing-messages setting: mode and timer.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
pub struct DisappearingView {
    /// The mode.
    pub mode: DisappearingMode,
    /// The timer in seconds (0 when off). The app offers [`offered_timers_s`] for the mode; a
    /// peer may have chosen another one (Session accepts any up to 30 days).
    pub timer_s: u32,
}

impl DisappearingView {
    /// The offered setting nearest to this one in the same mode (a tie goes to the shorter
    /// timer): what the timer menu preselects for a timer it does not offer, such as an older
    /// Umbra's 4 weeks or 5 minutes after send. Off (or a zero timer) is off.
    pub fn nearest_offered(self) -> DisappearingView {
        let offered = offered_timers_s(self.mode);
        match offered
            .iter()
            .copied()
            .min_by_key(|t| t.abs_diff(self.timer_s))
        {
            Some(timer_s) if self.timer_s != 0 => DisappearingView {
                mode: self.mode,
                timer_s,
            },
            _ => DisappearingView::default(),
        }
    }
}

/// Timers offered for delete-after-read, in seconds: 5 minutes, 1 hour, 12 hours, 1 day,
/// 1 week, 2 weeks (Session's list: session-desktop
/// `ts/session/disappearing_messages/timerOptions.ts`).
pub const AFTER_READ_TIMERS_S: [u32; 6] = [300, 3_600, 43_200, 86_400, 604_800, 1_209_600];

/// Timers offered for delete-after-send, in seconds: 12 hours, 1 day, 1 week, 2 weeks
/// (Session's list, `timerOptions.ts`).
pub const AFTER_SEND_TIMERS_S: [u32; 4] = [43_200, 86_400, 604_800, 1_209_600];

/// The timers offered for `mode` (none when off).
pub fn offered_timers_s(mode: DisappearingMode) -> &'static [u32] {
    match mode {
        DisappearingMode::Off => &[],
        DisappearingMode::AfterRead => &AFTER_READ_TIMERS_S,
        DisappearingMode::AfterSend => &AFTER_SEND_TIMERS_S,
    }
}

/// The quoted message a reply shows above its text.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct QuoteView {
    /// Local id of the quoted message when it is still in this browser (jump target).
    pub id: Option<u64>,
    /// True when the quoted message is ours.
    pub author_is_me: bool,
    /// The quoted text (untrusted: render as text); empty when the original is gone.
    pub text: String,
    /// The original's first attachment is a picture stored here (its thumbnail can be shown:
    /// attachment 0 of message `id`).
    #[serde(default)]
    pub picture: bool,
}

/// One emoji under a message.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct ReactionView {
    /// The emoji (untrusted text).
    pub emoji: String,
    /// How many accounts reacted with it.
    pub count: u32,
    /// True when we are one of them (clicking it again removes ours).
    pub mine: bool,
}

/// The user's privacy and notification switches, kept encrypted by the worker. All off by
/// default (Session's defaults for read receipts and typing indicators).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Send read receipts (off: none are sent, as Session does). Session's default: off.
    pub read_receipts: bool,
    /// Send typing indicators (off: none are sent). Session's default: off.
    pub typing_indicators: bool,
    /// Show browser notifications for new messages while the tab is hidden.
    pub notifications: bool,
    /// Show the sender and text in notifications (off: "New message" only).
    pub notification_content: bool,
    /// Voice and video calls (Session's "Voice and Video Calls" permission; off: incoming
    /// calls are shown as missed and the caller learns nothing).
    #[serde(default)]
    pub calls: bool,
}

/// One search result.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// The conversation reference.
    pub conversation: String,
    /// The conversation's display name, if known (untrusted text).
    pub display_name: Option<String>,
    /// The message's local id.
    pub id: u64,
    /// Who wrote it.
    pub direction: Direction,
    /// The message text (untrusted: render as text).
    pub body: String,
    /// When it was sent, ms since the Unix epoch.
    pub sent_ms: u64,
}

/// Which side wrote a message.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Written by the peer.
    Incoming,
    /// Written by us.
    Outgoing,
}

/// Where an outgoing message is; incoming messages are always `Received`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting in the durable outbox (offline, or no path yet).
    Pending,
    /// Being stored in the recipient's swarm.
    Sending,
    /// A node of the recipient's swarm acknowledged it.
    Sent,
    /// Sending failed; the user may retry.
    Failed,
    /// An incoming message.
    Received,
    /// An outgoing message the peer has read (they sent a read receipt).
    Read,
}

/// What a message is: a text, or a placeholder for content Umbra cannot show yet (the app
/// says what was sent, "not supported yet", and shows the text that came with it).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MessageKind {
    /// A text message.
    #[default]
    Text,
    /// Files, images or video; the body holds their caption text.
    Attachment {
        /// How many.
        count: u32,
    },
    /// A voice message.
    VoiceMessage,
    /// A call not answered here (one per call).
    MissedCall,
    /// A call we placed.
    OutgoingCall,
    /// A call we answered.
    IncomingCall,
    /// An invitation to a group.
    GroupInvitation {
        /// The group's name (untrusted text).
        name: String,
    },
    /// An invitation to a community.
    CommunityInvitation {
        /// The community's name (untrusted text).
        name: String,
    },
    /// A kind of message this version does not know.
    Unsupported,
}

/// One message of the open conversation.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// Local id, stable across reloads; used for retry and delete.
    pub id: u64,
    /// Who wrote it.
    pub direction: Direction,
    /// The text (untrusted for incoming messages: render as text, never as HTML).
    pub body: String,
    /// When it was sent, ms since the Unix epoch (the sender's clock).
    pub sent_ms: u64,
    /// Delivery state.
    pub state: DeliveryState,
    /// The message this one replies to.
    #[serde(default)]
    pub quote: Option<QuoteView>,
    /// Emoji reactions, in a stable order.
    #[serde(default)]
    pub reactions: Vec<ReactionView>,
    /// When the message disappears, ms since the Unix epoch (a countdown is shown); `None`
    /// when it does not (or, for delete-after-read, until it is read).
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    /// A text, or what the placeholder stands for.
    #[serde(default)]
    pub kind: MessageKind,
    /// The message's attachments, in order.
    #[serde(default)]
    pub attachments: Vec<AttachmentView>,
}

/// How an attachment is shown.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A picture shown inline (JPEG, PNG, WebP, GIF).
    Image,
    /// A video, played inline where the browser can.
    Video,
    /// Audio (a file that plays).
    Audio,
    /// A voice message.
    Voice,
    /// Any other file: offered for download only.
    File,
}

/// Where an attachment's bytes are.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AttachmentAvailability {
    /// On the file server; not fetched (a request's, or not yet).
    Remote,
    /// Being downloaded.
    Downloading,
    /// Here: open it with [`ConversationOp::OpenAttachment`](crate::ConversationOp::OpenAttachment).
    Stored,
    /// It could not be fetched.
    Failed {
        /// Why.
        code: crate::ErrorCode,
    },
}

/// One attachment of a message (untrusted text: render as text only).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct AttachmentView {
    /// Its index in the message.
    pub index: u32,
    /// How to show it.
    pub kind: AttachmentKind,
    /// The MIME type to give the bytes (from an allow-list; else `application/octet-stream`).
    pub content_type: String,
    /// A safe file name for saving (no path, no control characters).
    pub file_name: String,
    /// Size in bytes (as stored, else as the sender said).
    pub size: u64,
    /// Width and height, as the sender said.
    pub dimensions: Option<(u32, u32)>,
    /// Where its bytes are.
    pub availability: AttachmentAvailability,
}

/// How the worker reaches the network, for the connection indicator and Settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
pub struct NetworkView {
    /// The network the bundle is configured for: `local` or `mainnet`.
    pub network: String,
    /// The bridge requests go through now, or `None`: straight to the nodes.
    pub bridge: Option<String>,
    /// The user's own bridges (tried before the bundle's).
    pub own_bridges: Vec<String>,
    /// The bridges the bundle's configuration names.
    pub bundle_bridges: Vec<String>,
}

/// Config sync with the account's other devices (Session's configs), for Settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
pub struct SyncView {
    /// When a pull last merged something from the account's swarm (local ms), if ever.
    pub last_merge_ms: Option<u64>,
    /// What does not sync now, one line each (`Contacts: config decryption failed`); the
    /// other configs go on syncing.
    pub failures: Vec<String>,
}

/// The state of the onion paths, shown like Session's path indicator.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathState {
    /// Finding nodes and building paths.
    Building,
    /// At least one path works.
    Connected,
    /// Requests are failing; retrying.
    Failing,
}

/// Applies an [`Event::MessagesChanged`](crate::Event::MessagesChanged) to a page `items` kept
/// in ascending (`sent_ms`, `id`) order: drops the `removed` ids, replaces each upsert's
/// message or inserts it in order. Returns the ids whose view was inserted or changed (an
/// upsert equal to what is shown changes nothing).
pub fn patch_messages(
    items: &mut Vec<MessageView>,
    upserts: Vec<MessageView>,
    removed: &[u64],
) -> Vec<u64> {
    if !removed.is_empty() {
        let removed: BTreeSet<u64> = removed.iter().copied().collect();
        items.retain(|m| !removed.contains(&m.id));
    }
    let mut changed = Vec::new();
    for m in upserts {
        if let Some(pos) = items.iter().position(|x| x.id == m.id) {
            if items[pos] == m {
                continue;
            }
            items.remove(pos);
        }
        let key = (m.sent_ms, m.id);
        let at = items.partition_point(|x| (x.sent_ms, x.id) <= key);
        changed.push(m.id);
        items.insert(at, m);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: u64, sent_ms: u64, body: &str) -> MessageView {
        MessageView {
            id,
            direction: Direction::Outgoing,
            body: body.into(),
            sent_ms,
            state: DeliveryState::Pending,
            quote: None,
            reactions: vec![],
            expires_at_ms: None,
            kind: Default::default(),
            attachments: Vec::new(),
        }
    }

    fn ids(items: &[MessageView]) -> Vec<u64> {
        items.iter().map(|m| m.id).collect()
    }

    #[test]
    fn test_patch_inserts_in_order_replaces_and_removes() {
        let mut page = vec![view(1, 10, "a"), view(2, 20, "b"), view(3, 30, "c")];
        // A new newest message, one that sorts between (a late arrival), and a tie on the
        // sent time ordered by id.
        let changed = patch_messages(
            &mut page,
            vec![view(9, 25, "late"), view(4, 40, "d"), view(8, 20, "tie")],
            &[],
        );
        assert_eq!(changed, vec![9, 4, 8]);
        assert_eq!(ids(&page), vec![1, 2, 8, 9, 3, 4]);
        // A changed state replaces in place; an identical upsert is no change.
        let mut sent = view(2, 20, "b");
        sent.state = DeliveryState::Sent;
        let changed = patch_messages(&mut page, vec![sent.clone(), view(3, 30, "c")], &[1, 77]);
        assert_eq!(changed, vec![2]);
        assert_eq!(ids(&page), vec![2, 8, 9, 3, 4]);
        assert_eq!(page[0], sent);
        // Removing everything empties the page.
        let all = ids(&page);
        assert!(patch_messages(&mut page, vec![], &all).is_empty());
        assert!(page.is_empty());
    }

    #[test]
    fn test_offered_timers_are_sessions_and_old_ones_map_to_the_nearest() {
        assert_eq!(
            offered_timers_s(DisappearingMode::AfterRead),
            [300, 3_600, 43_200, 86_400, 604_800, 1_209_600]
        );
        assert_eq!(
            offered_timers_s(DisappearingMode::AfterSend),
            [43_200, 86_400, 604_800, 1_209_600]
        );
        assert!(offered_timers_s(DisappearingMode::Off).is_empty());
        let v = |mode, timer_s| DisappearingView { mode, timer_s };
        use DisappearingMode::{AfterRead, AfterSend, Off};
        for (old, want) in [
            (v(AfterSend, 300), v(AfterSend, 43_200)),
            (v(AfterSend, 3_600), v(AfterSend, 43_200)),
            (v(AfterSend, 2_419_200), v(AfterSend, 1_209_600)),
            (v(AfterRead, 2_419_200), v(AfterRead, 1_209_600)),
            (v(AfterRead, 3_600), v(AfterRead, 3_600)),
            (v(AfterRead, 0), v(Off, 0)),
            (v(Off, 77), v(Off, 0)),
        ] {
            assert_eq!(old.nearest_offered(), want, "{old:?}");
        }
    }

    #[test]
    fn test_patch_agrees_with_a_full_page() {
        // Whatever the order of the upserts, the patched page equals the sorted full page.
        let full: Vec<MessageView> = (0..20u64)
            .map(|i| view(i, (i * 7) % 5, &format!("m{i}")))
            .collect();
        let mut sorted = full.clone();
        sorted.sort_by_key(|m| (m.sent_ms, m.id));
        let mut page = Vec::new();
        let changed = patch_messages(&mut page, full.iter().rev().cloned().collect(), &[]);
        assert_eq!(changed.len(), 20);
        assert_eq!(page, sorted);
    }
}
