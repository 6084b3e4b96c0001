//! The conversation rules, sans-IO: what a received message, a client event or a user intent
//! *means* for the stored conversations, and what must happen next.
//!
//! [`Conversations`] takes
//! - client events ([`Conversations::on_received`] for `ClientEvent::MessageReceived`,
//!   [`Conversations::on_outbox_changed`] for the client's outbox entries,
//!   [`Conversations::on_sync_copy_stored`] for `ClientEvent::SyncCopyStored`), and
//! - user intents (send a text, retry, react, delete for me, unsend, set the disappearing
//!   timer, typing, open / close / visibility (reading), accept, block, delete a conversation,
//!   display name, settings),
//!
//! applies them to the [`MessageDb`] it is handed ([`Io`]), and returns [`Effect`]s: commands
//! for the network client ([`Effect::Client`]), changes the UI must show ([`Effect::Ui`]),
//! and the earliest local expiry to wake up for ([`Effect::ArmExpiry`]).
//!
//! It is async only because [`MessageDb`] is; it never touches the network, a clock or an
//! RNG of its own: network time and sent timestamps come from [`Clock`], randomness (record
//! nonces) from the caller. So every rule is testable natively against
//! [`MemoryStore`](crate::store::MemoryStore) (`protocol/tests/convo.rs`).
//!
//! # What it is not
//! - Not the network client: delivery, retries, dedup, the outbox and sent timestamps belong
//!   to [`crate::client::Client`]; convo only asks for them ([`Effect::Client`],
//!   [`Clock::allocate_sent_ms`]).
//! - Not a view layer: [`UiChange`] says *what* changed (a conversation, the block list, a
//!   typing indicator, a notification); reading the rows to show is the caller's job, and no
//!   `umbra_ipc` type appears here.
//! - Not storage: records, their encryption and write order are [`MessageDb`]'s.
//!
//! # One authority per fact
//! - **Outbox.** The client's outbox is the only authority on delivery. The database records an
//!   outgoing message's state only from the client's outbox entries
//!   ([`Conversations::on_outbox_changed`]). Crash order for a new text: the message is first
//!   inserted into the database as `Pending` (it gets its local id there), then handed to the
//!   client ([`Effect::Client`] `Send`), whose outbox entry the caller persists before any
//!   request carries it. A page closed between the two leaves a `Pending` message the client
//!   does not know: [`Conversations::resume`] (at start, the only reconciliation) hands exactly
//!   those to the client again; nothing is lost, and nothing is sent twice because a message the
//!   client knows is skipped (and a repeat with the same sent timestamp is dropped by
//!   receivers). When the client reports a state, the caller writes it to the database *before*
//!   the client's snapshot, so a crash in between re-sends (harmless, same timestamp) rather
//!   than resuming twice.
//! - **Dedup.** The client's seen set (storage hashes and (sender, sent timestamp)) is the one
//!   dedup authority: it drops a repeat before `MessageReceived` and is persisted before the
//!   event; the message database keeps no seen set of its own. Every control convo applies is
//!   idempotent (reactions set, unsend tombstones, receipts mark read, settings overwrite), so a
//!   repeat after a crash is harmless. The database's own tombstones keep deleted messages
//!   deleted.
//! - **Sent timestamps.** Only [`Clock::allocate_sent_ms`] hands them out; the caller backs it
//!   with the client's allocator.
//! - **Local ids.** The client's [`LocalId`] is the one kind of outbox id: a text is
//!   `LocalId::Message` with its database key ([`text_local_id`], [`text_key`]), every other
//!   kind `LocalId::Control { kind, sent }`. Their string forms are the ones persisted
//!   outboxes already hold (`"42"`, `"react/<sent ms>"`, …).
//!
//! # Conversations
//! Everything is keyed by [`ConversationId`], as in the [`MessageDb`]. Only 1:1
//! conversations ([`ConversationId::Direct`]) have rules for what is sent yet: an intent that
//! sends something into a conversation of another kind (a text, a reaction, an unsend, a
//! timer, typing, accepting) fails with [`ConvoError::UnsupportedConversation`]; the local
//! ones (open and read, delete for me, delete the conversation) work for any kind. A stored
//! record of another kind is left alone where a rule would have to send for it (its pending
//! texts in [`Conversations::resume`], an unsend from our other devices), never a panic.
//! Received messages and the client's outbox are 1:1 only, so what they touch is `Direct`.

mod intents;
mod receive;

use rand_core::CryptoRng;

use crate::address::{ConversationId, NetMs};
use crate::client::{ClientCommand, ControlKind, LocalId};
use crate::error::ErrorKind;
use crate::identity::AccountId;
use crate::message::{
    DisappearingSetting, MAX_DISPLAY_NAME_BYTES, Outgoing, Profile, ProfilePicture, SendPrefs,
};
use crate::store::messages::{Disappearing, DisappearingMode, MessageKey};
use crate::store::{MessageDb, MessageDbError, Store};

pub use intents::{MAX_BODY_CHARS, offered_setting};

/// Longest preview handed to the UI for a notification, in characters.
pub const NOTIFY_PREVIEW_CHARS: usize = 100;

/// Network time and sent timestamps, as the client knows them.
pub trait Clock {
    /// Network time now.
    fn now(&self) -> NetMs;
    /// A fresh sent timestamp (network time), unique (and later than the ones before while
    /// the clock is sane): with the author it identifies a message. The worker backs it with
    /// [`Client::allocate_sent_ms`](crate::client::Client::allocate_sent_ms), the one
    /// allocator of the account.
    fn allocate_sent_ms(&mut self) -> NetMs;
}

/// What one call works with: the message database, the clock and randomness.
pub struct Io<'a, S: Store, R: CryptoRng + ?Sized> {
    /// The unlocked account's message database.
    pub db: MessageDb<'a, S>,
    /// Network time and sent timestamps.
    pub clock: &'a mut dyn Clock,
    /// Randomness (record nonces).
    pub rng: &'a mut R,
}

impl<S: Store, R: CryptoRng + ?Sized> core::fmt::Debug for Io<'_, S, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Io(<redacted>)")
    }
}

/// What the caller must do after a call, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
// Values pass once through a short list; boxing the large variant buys nothing here.
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    /// Hand this command to the network client.
    Client(ClientCommand),
    /// Show this change.
    Ui(UiChange),
    /// A stored message now disappears at this network time: wake up then and call
    /// [`Conversations::sweep`] ([`Conversations::next_expiry`] is the earliest).
    ArmExpiry(NetMs),
}

/// A change the UI must show. The caller reads what to display from the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiChange {
    /// A conversation (its row, its messages, or both) changed or was created.
    Conversation(ConversationId),
    /// A conversation and its messages were deleted.
    ConversationRemoved(ConversationId),
    /// The list of blocked accounts changed.
    BlockList,
    /// The peer started or stopped typing.
    Typing {
        /// Who.
        peer: AccountId,
        /// Started (`true`) or stopped.
        typing: bool,
    },
    /// A new message from a peer, for a notification.
    Incoming {
        /// The conversation.
        conversation: ConversationId,
        /// The peer's display name, if known.
        display_name: Option<String>,
        /// The start of the text (at most [`NOTIFY_PREVIEW_CHARS`] characters).
        preview: String,
    },
    /// A peer's profile picture changed (or went): fetch the new one, if any.
    Avatar(ConversationId),
    /// A message with attachments was stored: their bytes are still on the file server (the
    /// caller fetches them now, or when the user asks: not before a request is accepted).
    Attachments {
        /// The conversation.
        conversation: ConversationId,
        /// The message.
        message: MessageKey,
    },
    /// Something failed while handling client events (the rest was still handled).
    Error(ConvoError),
}

/// Why a conversation operation failed. Carries no message text or Account IDs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvoError {
    /// The text is blank or too long.
    #[error("invalid message text")]
    InvalidMessage,
    /// No such (live) message in that conversation.
    #[error("no such message")]
    NoSuchMessage,
    /// Only our own messages can be unsent.
    #[error("not our own message")]
    NotOwnMessage,
    /// The emoji is not acceptable.
    #[error("invalid reaction")]
    InvalidReaction,
    /// The disappearing timer is not one that is offered.
    #[error("invalid disappearing timer")]
    InvalidTimer,
    /// The display name is too long.
    #[error("invalid display name")]
    InvalidDisplayName,
    /// The conversation is not a 1:1 conversation, the only kind with rules yet.
    #[error("unsupported kind of conversation")]
    UnsupportedConversation,
    /// An internal inconsistency (a bug), e.g. a fresh sent timestamp found stored.
    #[error("internal error")]
    Bug,
    /// The message database failed.
    #[error("message database: {0}")]
    Db(#[from] MessageDbError),
}

impl ConvoError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConvoError::Db(e) => e.kind(),
            ConvoError::Bug => ErrorKind::Bug,
            _ => ErrorKind::BadApiUsage,
        }
    }
}

/// The result of an intent: the effects to carry out, or why nothing was done.
pub type Outcome = Result<Vec<Effect>, ConvoError>;

/// The conversation state of one unlocked account that is not in the database: who we are,
/// the user's switches, which conversation is open and visible, the earliest expiry.
#[derive(Clone, Debug)]
pub struct Conversations {
    me: AccountId,
    prefs: SendPrefs,
    profile: Option<Profile>,
    /// Our profile picture (kept without a display name too; sent only with one).
    picture: Option<ProfilePicture>,
    open: Option<ConversationId>,
    visible: bool,
    next_expiry: Option<NetMs>,
}

impl Conversations {
    /// The rules for account `me`, with read receipts and typing indicators as `prefs` say
    /// and `display_name` sent along with our messages. Nothing is open; the page is hidden.
    pub fn new(me: AccountId, prefs: SendPrefs, display_name: Option<&str>) -> Conversations {
        Conversations {
            me,
            prefs,
            profile: display_name.and_then(|n| Profile::new(n).ok()),
            picture: None,
            open: None,
            visible: false,
            next_expiry: None,
        }
    }

    /// The own account.
    pub fn me(&self) -> AccountId {
        self.me
    }

    /// The open conversation, if any.
    pub fn open_conversation(&self) -> Option<&ConversationId> {
        self.open.as_ref()
    }

    /// Whether the page is visible.
    pub fn visible(&self) -> bool {
        self.visible
    }

    /// The earliest known expiry of a stored message (network time).
    pub fn next_expiry(&self) -> Option<NetMs> {
        self.next_expiry
    }

    /// The user's read-receipt and typing switches.
    pub fn prefs(&self) -> SendPrefs {
        self.prefs
    }

    /// Changes the user's switches (takes effect for the next receipt or indicator).
    pub fn set_prefs(&mut self, prefs: SendPrefs) {
        self.prefs = prefs;
    }

    /// The profile sent along with our messages.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// Sets when our display name last changed (Unix seconds, as persisted with the name):
    /// sent as `lastProfileUpdateSeconds` with it.
    pub fn with_profile_updated_s(mut self, updated_s: u64) -> Conversations {
        self.profile = self.profile.map(|p| p.updated_at(updated_s));
        self
    }

    /// Sets our profile picture as persisted (sent with the display name, when there is one).
    pub fn with_picture(mut self, picture: Option<ProfilePicture>) -> Conversations {
        self.profile = self.profile.map(|p| p.with_picture(picture.clone()));
        self.picture = picture;
        self
    }

    /// Our profile picture, set with or without a display name (Session sends a picture
    /// only in a profile that has a name).
    pub fn picture(&self) -> Option<&ProfilePicture> {
        self.picture.as_ref()
    }

    /// Changes our profile picture (uploaded already; `None` removes it), changed at
    /// `updated_s` (network time, Unix seconds: persist it with the profile). Peers apply it
    /// with the next message, as they apply a new name.
    pub fn set_picture(&mut self, picture: Option<ProfilePicture>, updated_s: u64) {
        self.profile = self
            .profile
            .take()
            .map(|p| p.with_picture(picture.clone()).updated_at(updated_s));
        self.picture = picture;
    }

    /// Changes the display name sent with our messages (`name` as
    /// [`checked_display_name`] returns it), changed at `updated_s` (network time, Unix
    /// seconds: persist it with the name); the client is told too. Session peers apply a name
    /// only when its `lastProfileUpdateSeconds` is newer than the one they hold
    /// (session-desktop `ts/models/profile.ts`).
    pub fn set_display_name(&mut self, name: Option<String>, updated_s: u64) -> Vec<Effect> {
        let picture = self.picture.clone();
        self.profile = name
            .as_deref()
            .and_then(|n| Profile::new(n).ok())
            .map(|p| p.with_picture(picture).updated_at(updated_s));
        vec![Effect::Client(ClientCommand::SetDisplayName(name))]
    }

    fn note_expiry(&mut self, at: Option<u64>, effects: &mut Vec<Effect>) {
        let Some(at) = at.map(NetMs) else { return };
        if self.next_expiry.is_none_or(|t| at < t) {
            self.next_expiry = Some(at);
            effects.push(Effect::ArmExpiry(at));
        }
    }
}

/// The peer of a 1:1 conversation, the only kind the rules handle yet.
///
/// # Errors
///
/// [`ConvoError::UnsupportedConversation`] for a group or a community room.
fn direct(conversation: &ConversationId) -> Result<AccountId, ConvoError> {
    conversation
        .direct()
        .copied()
        .ok_or(ConvoError::UnsupportedConversation)
}

/// The client outbox id of our text stored under `key`: [`LocalId::Message`], string form
/// `"<key>"` (what persisted outboxes hold).
pub fn text_local_id(key: MessageKey) -> LocalId {
    LocalId::Message(key.0)
}

/// The key of the stored text an outbox id sends; `None` for every other id (controls, sync
/// copies, labels).
pub fn text_key(local_id: &LocalId) -> Option<MessageKey> {
    match local_id {
        LocalId::Message(key) => Some(MessageKey(*key)),
        _ => None,
    }
}

/// The outbox id of a control message of `kind` sent at `sent`.
fn control(kind: ControlKind, sent: NetMs) -> LocalId {
    LocalId::Control { kind, sent }
}

/// Checks and trims a display name the user typed: `None` for blank (no name), at most
/// [`MAX_DISPLAY_NAME_BYTES`] bytes, bidi controls removed ([`is_bidi_control`]).
///
/// # Errors
///
/// [`ConvoError::InvalidDisplayName`] if the trimmed name is longer.
pub fn checked_display_name(name: &str) -> Result<Option<String>, ConvoError> {
    let name = name.trim();
    if name.len() > MAX_DISPLAY_NAME_BYTES {
        return Err(ConvoError::InvalidDisplayName);
    }
    Ok(clip_name(name))
}

/// Names are stored without bidi controls (the message layer's definition).
pub use crate::message::is_bidi_control;

/// A display name as stored: bidi controls removed, trimmed, cut to
/// [`MAX_DISPLAY_NAME_BYTES`] at a character boundary; `None` if blank.
fn clip_name(name: &str) -> Option<String> {
    let name: String = name.chars().filter(|&c| !is_bidi_control(c)).collect();
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut end = name.len().min(MAX_DISPLAY_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Some(name[..end].to_owned())
}

/// The wire form of a stored setting.
pub fn wire_of(d: Disappearing) -> DisappearingSetting {
    if !d.is_on() {
        return DisappearingSetting::Off;
    }
    match d.mode {
        DisappearingMode::Off => DisappearingSetting::Off,
        DisappearingMode::AfterRead => DisappearingSetting::AfterRead(d.timer_s),
        DisappearingMode::AfterSend => DisappearingSetting::AfterSend(d.timer_s),
    }
}

/// The stored form of a received setting.
pub fn stored_of(s: DisappearingSetting) -> Disappearing {
    match s {
        DisappearingSetting::Off => Disappearing::OFF,
        DisappearingSetting::AfterRead(timer_s) => Disappearing {
            mode: DisappearingMode::AfterRead,
            timer_s,
        },
        DisappearingSetting::AfterSend(timer_s) => Disappearing {
            mode: DisappearingMode::AfterSend,
            timer_s,
        },
    }
}

/// `o` with the disappearing `setting`: its Content fields and storage TTL, as the compose
/// functions set them. Used instead of their own check because a conversation's setting may
/// come from the peer, who may pick any timer up to 30 days (not only the offered ones), and
/// our messages follow the conversation's setting.
pub fn with_setting(mut o: Outgoing, setting: DisappearingSetting) -> Outgoing {
    let (mode, timer) = setting.to_content_fields();
    o.content.expiration_type = Some(mode as i32);
    o.content.expiration_timer = Some(timer);
    o.ttl_ms = setting.storage_ttl_ms();
    o
}
