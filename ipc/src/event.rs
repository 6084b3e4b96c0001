//! Messages from the worker to the app: display data only.

use serde::{Deserialize, Serialize};

use crate::{
    CallEvent, ErrorCode, SecretString,
    messaging::{
        ConversationSummary, MessageView, NetworkView, PathState, SearchHit, Settings, SyncView,
    },
};

/// Whether this browser holds an account and whether it is unlocked.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountState {
    /// No account is stored.
    NoAccount,
    /// An account is stored and locked.
    Locked,
    /// An account is unlocked.
    Unlocked {
        /// The Account ID (66 hex characters).
        account_id: String,
    },
}

/// A long task the worker has started; the app shows a busy indicator until the next event.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Running the passphrase key derivation (Argon2id) to create the store.
    CreatingVault,
    /// Running the passphrase key derivation (Argon2id) to unlock.
    Unlocking,
    /// Running the passphrase key derivation (Argon2id) to check the passphrase typed again
    /// before showing the recovery phrase or removing the account.
    CheckingPassphrase,
}

/// The device clock as the worker sees it against the network's time.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
pub struct ClockStatus {
    /// Network minus device time (ms); `None` until a node has told the time.
    pub offset_ms: Option<i64>,
    /// The device clock is far off (more than a minute): the app warns. Umbra keeps
    /// working on network time.
    pub far_off: bool,
    /// Messages waiting for the network time before they are sent (only before a node
    /// ever answered on this device).
    pub waiting: u32,
}

/// A message from the worker to the app. Carries display data only.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The worker's wasm is loaded and it accepts commands. Sent once, first.
    Ready {
        /// The worker's [`IPC_VERSION`](crate::IPC_VERSION).
        version: u32,
    },
    /// The current state (answer to [`AccountCommand::Status`](crate::AccountCommand::Status), [`AccountCommand::Lock`](crate::AccountCommand::Lock),
    /// [`AccountCommand::Remove`](crate::AccountCommand::Remove)).
    Status {
        /// The account state.
        state: AccountState,
    },
    /// A long task started.
    Working {
        /// Which task.
        task: Task,
    },
    /// A new account was generated and is pending (not stored until a passphrase is set).
    AccountCreated {
        /// The Account ID (66 hex characters).
        account_id: String,
        /// The recovery phrase words, for display only; the app must not keep them.
        words: Vec<SecretString>,
    },
    /// A recovery phrase was accepted; its account is pending a passphrase.
    PhraseAccepted {
        /// The Account ID (66 hex characters).
        account_id: String,
    },
    /// The account is unlocked.
    Unlocked {
        /// The Account ID (66 hex characters).
        account_id: String,
    },
    /// The recovery phrase of the unlocked account, for display only.
    RecoveryPhrase {
        /// The words.
        words: Vec<SecretString>,
    },
    /// Our display name.
    Profile {
        /// The name, if set.
        display_name: Option<String>,
    },
    /// The conversation list, latest activity first (answer to
    /// [`ConversationsCommand::List`](crate::ConversationsCommand::List), and pushed on every change).
    Conversations {
        /// The rows.
        items: Vec<ConversationSummary>,
    },
    /// The whole page of the conversation that was just opened (answer to
    /// [`ConversationOp::Open`](crate::ConversationOp::Open)): its latest messages in ascending (`sent_ms`, `id`) order.
    /// Replaces what the app shows; later changes come as [`Event::MessagesChanged`].
    Messages {
        /// The conversation reference.
        conversation: String,
        /// The conversation's row (name, kind).
        summary: ConversationSummary,
        /// The latest messages, in ascending (`sent_ms`, `id`) order.
        items: Vec<MessageView>,
    },
    /// What changed in the open conversation's page since the last [`Event::Messages`] or
    /// [`Event::MessagesChanged`] for it: apply with [`patch_messages`](crate::patch_messages).
    MessagesChanged {
        /// The conversation reference.
        conversation: String,
        /// The conversation's row, when it changed.
        #[serde(default)]
        summary: Option<ConversationSummary>,
        /// New or changed messages, in ascending (`sent_ms`, `id`) order: a message with a
        /// known id replaces it, one with a new id is inserted in that order.
        upserts: Vec<MessageView>,
        /// Local ids of messages no longer on the page (deleted, expired, or pushed out by
        /// newer ones).
        removed: Vec<u64>,
    },
    /// The block list (answer to [`ConversationsCommand::ListBlocked`](crate::ConversationsCommand::ListBlocked)).
    BlockList {
        /// Blocked Account IDs (each is the reference of its one-to-one conversation).
        accounts: Vec<String>,
    },
    /// The settings (answer to [`SettingsCommand::Get`](crate::SettingsCommand::Get) and [`SettingsCommand::Set`](crate::SettingsCommand::Set); also
    /// sent once after unlock).
    Settings {
        /// The settings.
        settings: Settings,
    },
    /// Someone started or stopped typing (shown for at most 20 s without a new event).
    PeerTyping {
        /// The conversation reference.
        conversation: String,
        /// The Account ID of who is typing.
        sender: String,
        /// Started or stopped.
        typing: bool,
    },
    /// A new visible message arrived. The app shows a browser notification when the tab is
    /// hidden and notifications are on (the text only when `notification_content` is on).
    Incoming {
        /// The conversation reference.
        conversation: String,
        /// The sender's display name, if known (untrusted text).
        display_name: Option<String>,
        /// A short preview (untrusted text).
        preview: String,
    },
    /// Search results (answer to [`ConversationsCommand::Search`](crate::ConversationsCommand::Search) and
    /// [`ConversationOp::Search`](crate::ConversationOp::Search)), newest first.
    SearchResults {
        /// The query they answer.
        query: String,
        /// The conversation searched, or `None` for all.
        conversation: Option<String>,
        /// The hits.
        items: Vec<SearchHit>,
    },
    /// An ONS name resolved (answer to
    /// [`ConversationsCommand::ResolveName`](crate::ConversationsCommand::ResolveName)):
    /// every node asked agrees. Show the Account ID for confirmation before writing.
    NameResolved {
        /// The name, lower-case.
        name: String,
        /// Its Account ID.
        account: String,
    },
    /// How requests reach the network (answer to
    /// [`NetworkCommand`](crate::NetworkCommand); also sent after unlock and whenever the
    /// bridge in use changes).
    Network {
        /// The route.
        network: NetworkView,
    },
    /// Config sync with the other devices (answer to
    /// [`SettingsCommand::Get`](crate::SettingsCommand::Get); also sent when it changes).
    Sync {
        /// The status.
        sync: SyncView,
    },
    /// The onion paths changed state.
    Paths {
        /// The new state.
        state: PathState,
    },
    /// The device clock's standing changed (far off, or messages waiting for the time).
    Clock {
        /// The new standing.
        clock: ClockStatus,
    },
    /// How an upload of [`ConversationOp::SendFile`](crate::ConversationOp::SendFile) goes.
    Upload {
        /// The conversation reference.
        conversation: String,
        /// The app's handle.
        upload: u64,
        /// Its state.
        state: UploadState,
    },
    /// A profile picture: ours (`conversation` `None`) or a peer's; no bytes means none.
    /// Typed by its first bytes (JPEG, PNG, WebP or GIF) by the app; never rendered as HTML.
    Avatar {
        /// The conversation whose peer it is, or `None` for ours.
        conversation: Option<String>,
        /// The picture (not in the JSON); empty: no picture.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The bytes of an attachment (answer to
    /// [`ConversationOp::OpenAttachment`](crate::ConversationOp::OpenAttachment)); the bytes
    /// travel beside the JSON ([`Event::bytes_mut`]). Never render them as HTML.
    AttachmentData {
        /// The conversation reference.
        conversation: String,
        /// The message's local id.
        id: u64,
        /// Which attachment.
        index: u32,
        /// The bytes (not in the JSON).
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// About a call.
    Call(CallEvent),
    /// A command failed.
    Error {
        /// What failed; the app picks the text from the code and never parses strings.
        code: ErrorCode,
    },
}

/// The state of an upload.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UploadState {
    /// Being re-encoded (images: their metadata removed) and encrypted.
    Preparing,
    /// Encrypted, on its way to the file server through an onion path (`bytes` encrypted).
    Uploading {
        /// Encrypted size in bytes.
        bytes: u64,
    },
    /// Uploaded; the message is in the outbox.
    Done,
    /// Failed; the app may send the same file again.
    Failed {
        /// Why.
        code: ErrorCode,
    },
}

impl Event {
    /// The binary payload carried beside the JSON, if this event has one.
    pub fn bytes_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Event::AttachmentData { bytes, .. } | Event::Avatar { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// Encodes an event for `postMessage` (a JSON string).
pub fn encode_event(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Decodes an event received by the app.
pub fn decode_event(text: &str) -> Result<Event, crate::DecodeError> {
    serde_json::from_str(text).map_err(|_| crate::DecodeError)
}
