//! The values [`MessageDb`](super::MessageDb) takes and returns: conversations, messages, their
//! states, and the input of an insert. All are plain data (serde, `Clone`, `PartialEq`); none is
//! secret key material, but all of it is private and only ever stored sealed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::address::ConversationId;
use crate::identity::AccountId;
use crate::message::{AttachmentMeta, ProfilePicture};

/// The stable local key of a stored message (assigned by the database, never reused; unique
/// across all conversations). Not the message's Session identity: that is [`MessageRef`]
/// (author and sent timestamp; `message::MessageKey` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageKey(pub u64);

/// Whether a conversation is accepted, a message request, or blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationState {
    /// A conversation the user started or accepted.
    Accepted,
    /// Someone unknown wrote first; the user has not accepted (or deleted/blocked) yet.
    Request,
    /// Blocked: incoming messages are dropped (for a 1:1 conversation: everything from that
    /// account, in any conversation).
    Blocked,
}

/// When messages of a conversation disappear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisappearingMode {
    /// Messages do not disappear.
    Off,
    /// A message disappears `timer_s` after it was read (Session `DELETE_AFTER_READ`).
    AfterRead,
    /// A message disappears `timer_s` after it was sent (Session `DELETE_AFTER_SEND`).
    AfterSend,
}

/// A disappearing-messages setting: mode and timer in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disappearing {
    /// The mode.
    pub mode: DisappearingMode,
    /// The timer in seconds (ignored when the mode is [`DisappearingMode::Off`]).
    pub timer_s: u32,
}

impl Disappearing {
    /// Messages never disappear.
    pub const OFF: Disappearing = Disappearing {
        mode: DisappearingMode::Off,
        timer_s: 0,
    };

    /// True if this setting makes messages disappear.
    pub fn is_on(&self) -> bool {
        self.mode != DisappearingMode::Off && self.timer_s > 0
    }
}

impl Default for Disappearing {
    fn default() -> Disappearing {
        Disappearing::OFF
    }
}

/// Who wrote a message, from this account's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Written by someone else (the peer of a 1:1 conversation, a member of a group).
    Incoming,
    /// Written by this account (on this or another device).
    Outgoing,
}

/// Delivery state of an outgoing message (the durable outbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxState {
    /// Stored, not yet handed to the network.
    Pending,
    /// A send is in flight. After a reload this means "interrupted": send again.
    Sending,
    /// Stored by the recipient's swarm.
    Sent,
    /// Sending failed; `code` is the client's reason code (shown by the UI, retried on request).
    Failed {
        /// Reason code chosen by the network client.
        code: u16,
    },
}

impl OutboxState {
    /// True for states that [`MessageDb::pending_outbox`](super::MessageDb::pending_outbox)
    /// returns: the message still has to be sent.
    pub fn needs_send(&self) -> bool {
        matches!(self, OutboxState::Pending | OutboxState::Sending)
    }
}

/// What a stored message stands for when it is not a plain text: content Umbra cannot show
/// yet, kept as a placeholder so nothing a peer sent is dropped silently (its text, such as
/// an attachment's caption, is the message body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Placeholder {
    /// Files, images or video (`count` of them); captions are in the body.
    Attachment {
        /// How many attachments.
        count: u32,
    },
    /// A voice message.
    VoiceMessage,
    /// A call's entry in the conversation (one per call, whatever signalling messages it
    /// took), as session-desktop's `callNotificationType` info messages.
    Call {
        /// The call's id (`CallMessage.uuid`, untrusted).
        call_id: String,
        /// What became of it (records of older versions: missed).
        #[serde(default)]
        entry: CallEntry,
    },
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
    Unknown,
}

impl Placeholder {
    /// A short English summary, the conversation-list preview when the message has no text.
    pub fn summary(&self) -> &'static str {
        match self {
            Placeholder::Attachment { .. } => "Attachment",
            Placeholder::VoiceMessage => "Voice message",
            Placeholder::Call { entry, .. } => match entry {
                CallEntry::Missed => "Missed call",
                CallEntry::Outgoing => "Outgoing call",
                CallEntry::Incoming => "Incoming call",
            },
            Placeholder::GroupInvitation { .. } => "Group invitation",
            Placeholder::CommunityInvitation { .. } => "Community invitation",
            Placeholder::Unknown => "Unsupported message",
        }
    }
}

/// What a call entry says (session-desktop's `callNotificationType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEntry {
    /// `missed-call`: an incoming call not answered here (declined, rung out, refused).
    #[default]
    Missed,
    /// `started-call`: we called.
    Outgoing,
    /// `answered-a-call`: we answered the peer's call.
    Incoming,
}

/// Where the bytes of an attachment are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum AttachmentState {
    /// Only on the file server (not downloaded yet, or not wanted yet).
    #[default]
    Remote,
    /// Downloaded, checked and stored here (sealed, in chunks).
    Stored {
        /// Plaintext size in bytes.
        size: u64,
    },
    /// A download failed for good (gone from the server, a wrong digest, undecryptable); the
    /// user may try again.
    Failed {
        /// Why.
        reason: AttachmentFailure,
    },
}

/// Why an attachment could not be fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentFailure {
    /// Not on the file server any more (expired or removed).
    Gone,
    /// Its URL names no file server Umbra knows, or no key came with it.
    Unavailable,
    /// The bytes did not match their digest or did not decrypt: not shown.
    Corrupt,
    /// Larger than the 10 MB Session clients accept.
    TooLarge,
}

/// An attachment of a stored message: what the sender said about it, and whether its bytes
/// are here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The pointer as received or sent.
    pub meta: AttachmentMeta,
    /// Where its bytes are.
    #[serde(default)]
    pub state: AttachmentState,
}

/// A reference to another message by its Session identity: author and sent timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    /// Who wrote it.
    pub author: AccountId,
    /// Its sent timestamp in milliseconds (the envelope timestamp).
    pub sent_ms: u64,
}

/// A quoted message in a reply: the reference and the quoted text as the sender sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The quoted message.
    pub target: MessageRef,
    /// Preview text of the quoted message.
    pub text: String,
}

/// A conversation: 1:1 (Note to Self included), a group or a community room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// What the conversation is keyed by.
    pub id: ConversationId,
    /// Its display name (a 1:1 peer's profile name, a group's name), if known.
    pub display_name: Option<String>,
    /// Accepted, request or blocked.
    pub state: ConversationState,
    /// Preview of the newest visible message.
    pub last_message: Option<LastMessage>,
    /// Time of the last activity (newest message's sent time, or creation), ms.
    pub last_activity_ms: u64,
    /// Incoming messages not yet read.
    pub unread_count: u32,
    /// When the user last read the conversation (ms), 0 if never.
    pub last_read_ms: u64,
    /// The disappearing-messages setting.
    pub disappearing: Disappearing,
    /// When the peer's profile (the display name) last changed, as it said
    /// (`lastProfileUpdateSeconds`, Unix seconds; 0 if never said). A received name is applied
    /// only when newer ([`profile_is_newer`](crate::message::profile_is_newer)).
    #[serde(default)]
    pub profile_updated_s: u64,
    /// The peer's profile picture as their profile last said (URL and key), if any; its
    /// bytes, once fetched, are stored apart
    /// ([`MessageDb::store_avatar`](super::MessageDb::store_avatar)).
    #[serde(default)]
    pub avatar: Option<ProfilePicture>,
    /// Whether the avatar's bytes are stored here.
    #[serde(default)]
    pub avatar_stored: bool,
    /// The name the user gave the peer (shown instead of the display name; synced as the
    /// Contacts config's nickname).
    #[serde(default)]
    pub nickname: Option<String>,
    /// The user marked the conversation unread (until they open it again; synced as the
    /// ConvoInfoVolatile unread flag).
    #[serde(default)]
    pub marked_unread: bool,
    /// Kept but not listed: messages older than a delete made on another device, fetched
    /// here afterwards (a restore). Shown again when the contact is, or a newer message
    /// comes, or the user writes.
    #[serde(default)]
    pub hidden: bool,
}

/// Summary of the newest message of a conversation (for the conversation list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastMessage {
    /// Its local id.
    pub id: MessageKey,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Its sent timestamp, ms.
    pub sent_ms: u64,
    /// The start of its text (at most [`PREVIEW_CHARS`](super::PREVIEW_CHARS) characters).
    pub preview: String,
    /// True if it was unsent (the text is gone).
    pub deleted: bool,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Local id.
    pub id: MessageKey,
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Author and sent timestamp: the message's Session identity.
    pub author: AccountId,
    /// Sent timestamp (ms, the envelope timestamp).
    pub sent_ms: u64,
    /// When this device stored it (ms).
    pub received_ms: u64,
    /// The text; empty once unsent.
    pub body: String,
    /// Storage-server hashes it was seen under (the swarm it arrived in, the recipient's
    /// swarm after sending, sync copies).
    pub storage_hashes: Vec<String>,
    /// Delivery state; `Some` exactly for outgoing messages.
    pub outbox: Option<OutboxState>,
    /// Incoming: read by this user. Outgoing: a read receipt arrived for it.
    pub read: bool,
    /// When it disappears (ms), if it does and its timer has started.
    pub expires_at_ms: Option<u64>,
    /// The message it replies to.
    pub quote: Option<Quote>,
    /// Reactions: emoji → accounts that reacted with it.
    pub reactions: BTreeMap<String, BTreeSet<AccountId>>,
    /// True once unsent by its author (text, quote and reactions are gone).
    pub deleted: bool,
    /// Content Umbra cannot show yet that this message stands for (`None` for a text).
    #[serde(default)]
    pub placeholder: Option<Placeholder>,
    /// Its attachments.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

impl Message {
    /// The message's Session identity.
    pub fn message_ref(&self) -> MessageRef {
        MessageRef {
            author: self.author,
            sent_ms: self.sent_ms,
        }
    }
}

/// A message to store, as decoded from the network or composed by the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The conversation.
    pub conversation: ConversationId,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The author.
    pub author: AccountId,
    /// Sent timestamp, ms.
    pub sent_ms: u64,
    /// Time of storing, ms.
    pub received_ms: u64,
    /// The text.
    pub body: String,
    /// The storage hash it was retrieved under, if it came from a swarm.
    pub storage_hash: Option<String>,
    /// Delivery state for outgoing messages (`None` means [`OutboxState::Pending`]; an outgoing
    /// message synced from another device passes `Some(Sent)`). Ignored for incoming ones.
    pub outbox: Option<OutboxState>,
    /// The message's own disappearing setting (from its `Content`; for a message being sent,
    /// the caller passes the conversation's setting), if any. After-send starts at `sent_ms`;
    /// after-read starts when it is read (outgoing: at `sent_ms`).
    pub disappearing: Option<Disappearing>,
    /// The message it replies to.
    pub quote: Option<Quote>,
    /// Content Umbra cannot show yet that this message stands for (`None` for a text).
    #[serde(default)]
    pub placeholder: Option<Placeholder>,
    /// Its attachments (their bytes are stored apart:
    /// [`MessageDb::store_attachment`](super::MessageDb::store_attachment)).
    #[serde(default)]
    pub attachments: Vec<AttachmentMeta>,
}

/// What [`MessageDb::insert_message`](super::MessageDb::insert_message) did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InsertOutcome {
    /// Stored under this id.
    Inserted(MessageKey),
    /// A message with the same (author, sent timestamp) or storage hash is already stored
    /// (the new hash, if any, was added to it).
    Duplicate(MessageKey),
    /// The conversation is blocked; the message was dropped.
    Blocked,
    /// The message was already deleted or expired here; it is not brought back.
    Deleted,
}

/// An incoming message that [`MessageDb::mark_read`](super::MessageDb::mark_read) marked read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMarked {
    /// Its local id.
    pub id: MessageKey,
    /// Its sent timestamp (what a read receipt carries).
    pub sent_ms: u64,
    /// When it now disappears, if reading started a timer.
    pub expires_at_ms: Option<u64>,
}

/// A message removed by [`MessageDb::sweep_expired`](super::MessageDb::sweep_expired) or
/// [`MessageDb::delete_conversation`](super::MessageDb::delete_conversation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RemovedMessage {
    /// Its conversation.
    pub conversation: ConversationId,
    /// Its local id.
    pub id: MessageKey,
}

/// Changes to a conversation; `None` fields are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationUpdate {
    /// New display name (`Some(None)` forgets it).
    pub display_name: Option<Option<String>>,
    /// New state.
    pub state: Option<ConversationState>,
    /// New disappearing setting.
    pub disappearing: Option<Disappearing>,
    /// New profile change time (Unix seconds).
    #[serde(default)]
    pub profile_updated_s: Option<u64>,
    /// New profile picture (`Some(None)` removes it, and its stored bytes).
    #[serde(default)]
    pub avatar: Option<Option<ProfilePicture>>,
    /// New nickname (`Some(None)` removes it).
    #[serde(default)]
    pub nickname: Option<Option<String>>,
    /// Marked unread, or not.
    #[serde(default)]
    pub marked_unread: Option<bool>,
    /// Hidden from the list, or not.
    #[serde(default)]
    pub hidden: Option<bool>,
}
