#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod messaging;

use serde::{Deserialize, Serialize};

pub use messaging::{
    ConversationKind, ConversationSummary, DISAPPEARING_TIMERS_S, DeliveryState, Direction,
    DisappearingMode, DisappearingView, MessageView, PathState, QuoteView, ReactionView, SearchHit,
    Settings,
};

/// Version of this contract. The worker announces it in [`Event::Ready`]; the app refuses to
/// talk to a worker with another version (a stale worker script after an update).
pub const IPC_VERSION: u32 = 1;

/// A request from the app (UI thread) to the worker.
///
/// The worker answers every command with one or more [`Event`]s; commands are handled one at a
/// time in the order they arrive. Only user-typed input (a passphrase, a recovery phrase)
/// crosses in this direction; the worker never hands key material back except
/// [`Event::RecoveryPhrase`] / [`Event::AccountCreated`] words for display.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Ask for the current [`AccountState`]; answered with [`Event::Status`].
    Status,
    /// Generate a new account seed and keep it pending in worker memory. Answered with
    /// [`Event::AccountCreated`] (words + Account ID for display). Nothing is stored yet.
    CreateAccount,
    /// Decode a recovery phrase (13 or 25 words) and keep the seed pending. Answered with
    /// [`Event::PhraseAccepted`] or an [`Event::Error`] naming what is wrong.
    RestoreAccount {
        /// The phrase as typed by the user.
        phrase: String,
    },
    /// Lock the pending seed (from create or restore) under `passphrase` and store it.
    /// Answered with [`Event::Working`] then [`Event::Unlocked`] (or an error).
    SetPassphrase {
        /// The chosen passphrase.
        passphrase: String,
    },
    /// Forget the pending seed (the user went back to the welcome screen).
    CancelPending,
    /// Unlock the stored account. Answered with [`Event::Working`] then [`Event::Unlocked`] or
    /// [`Event::Error`] with [`ErrorCode::WrongPassphrase`].
    Unlock {
        /// The passphrase as typed by the user.
        passphrase: String,
    },
    /// Drop every key from worker memory. Answered with [`Event::Status`].
    Lock,
    /// Delete the account and its database from this browser. Answered with [`Event::Status`].
    RemoveAccount,
    /// Show the recovery phrase of the unlocked account. Answered with [`Event::RecoveryPhrase`].
    ShowRecoveryPhrase,
    /// Set our display name, sent with our messages as Session does. Answered with
    /// [`Event::Profile`].
    SetDisplayName {
        /// The name (at most 100 bytes).
        name: String,
    },
    /// Ask for the conversation list; answered with [`Event::Conversations`] (also pushed
    /// whenever it changes).
    ListConversations,
    /// Open a conversation (starting it if new): the worker answers with [`Event::Messages`],
    /// pushes updates while it stays open, marks incoming messages read and polls fast.
    /// Answered with [`Event::Error`] `InvalidAccountId` if `peer` is not `05` + 64 hex.
    OpenConversation {
        /// The peer's Account ID.
        peer: String,
    },
    /// Close the open conversation (back to the list).
    CloseConversation,
    /// Send a text message. It enters the durable outbox at once ([`DeliveryState::Pending`]).
    SendText {
        /// The peer's Account ID.
        peer: String,
        /// The text.
        body: String,
        /// Local id of the message this one replies to (quoted as Session does).
        #[serde(default)]
        reply_to: Option<u64>,
    },
    /// Add our `emoji` reaction to message `id`, or remove it if we already reacted with it.
    React {
        /// The peer's Account ID.
        peer: String,
        /// The message's local id.
        id: u64,
        /// The emoji.
        emoji: String,
    },
    /// Delete message `id` from this browser only ("delete for me").
    DeleteForMe {
        /// The peer's Account ID.
        peer: String,
        /// The message's local id.
        id: u64,
    },
    /// Delete our message `id` for everyone: an UnsendRequest to the peer and to our other
    /// devices, the swarm copies deleted, and the local copy removed.
    /// [`ErrorCode::NotOwnMessage`] for a message of the peer.
    Unsend {
        /// The peer's Account ID.
        peer: String,
        /// The message's local id.
        id: u64,
    },
    /// Change the conversation's disappearing-messages setting; the peer is told as Session
    /// does (an expiration-timer update). [`ErrorCode::InvalidTimer`] for a timer not in
    /// [`DISAPPEARING_TIMERS_S`] (any timer with mode off is taken as off).
    SetDisappearing {
        /// The peer's Account ID.
        peer: String,
        /// The new setting.
        setting: DisappearingView,
    },
    /// We started (`true`) or stopped typing in `peer`'s conversation. Sent to the peer only
    /// when typing indicators are on.
    Typing {
        /// The peer's Account ID.
        peer: String,
        /// Started or stopped.
        started: bool,
    },
    /// Ask for the settings; answered with [`Event::Settings`].
    GetSettings,
    /// Save the settings; answered with [`Event::Settings`].
    SetSettings {
        /// The new settings.
        settings: Settings,
    },
    /// Search the decrypted local messages (nothing is sent to the network): in `peer`'s
    /// conversation, or in all when `None`. Answered with [`Event::SearchResults`].
    Search {
        /// The text to find (case-insensitive).
        query: String,
        /// One conversation, or all.
        #[serde(default)]
        peer: Option<String>,
    },
    /// Retry a failed outgoing message.
    RetrySend {
        /// The peer's Account ID.
        peer: String,
        /// The message's local id.
        id: u64,
    },
    /// Accept a message request.
    AcceptRequest {
        /// The peer's Account ID.
        peer: String,
    },
    /// Delete a conversation and its messages from this browser.
    DeleteConversation {
        /// The peer's Account ID.
        peer: String,
    },
    /// Block a peer: their messages are dropped unseen.
    Block {
        /// The peer's Account ID.
        peer: String,
    },
    /// Unblock a peer.
    Unblock {
        /// The peer's Account ID.
        peer: String,
    },
    /// Ask for the block list; answered with [`Event::BlockList`].
    ListBlocked,
    /// Tell the worker whether the page is visible, to poll fast (visible) or slowly (hidden).
    SetForeground {
        /// Whether the page is visible.
        visible: bool,
    },
}

impl core::fmt::Debug for Command {
    /// Redacts passphrases and phrases.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match self {
            Command::Status => "Status",
            Command::CreateAccount => "CreateAccount",
            Command::RestoreAccount { .. } => "RestoreAccount(<redacted>)",
            Command::SetPassphrase { .. } => "SetPassphrase(<redacted>)",
            Command::CancelPending => "CancelPending",
            Command::Unlock { .. } => "Unlock(<redacted>)",
            Command::Lock => "Lock",
            Command::RemoveAccount => "RemoveAccount",
            Command::ShowRecoveryPhrase => "ShowRecoveryPhrase",
            Command::SetDisplayName { .. } => "SetDisplayName(<redacted>)",
            Command::ListConversations => "ListConversations",
            Command::OpenConversation { .. } => "OpenConversation(<redacted>)",
            Command::CloseConversation => "CloseConversation",
            Command::SendText { .. } => "SendText(<redacted>)",
            Command::React { .. } => "React(<redacted>)",
            Command::DeleteForMe { .. } => "DeleteForMe(<redacted>)",
            Command::Unsend { .. } => "Unsend(<redacted>)",
            Command::SetDisappearing { .. } => "SetDisappearing(<redacted>)",
            Command::Typing { .. } => "Typing(<redacted>)",
            Command::GetSettings => "GetSettings",
            Command::SetSettings { .. } => "SetSettings",
            Command::Search { .. } => "Search(<redacted>)",
            Command::RetrySend { .. } => "RetrySend(<redacted>)",
            Command::AcceptRequest { .. } => "AcceptRequest(<redacted>)",
            Command::DeleteConversation { .. } => "DeleteConversation(<redacted>)",
            Command::Block { .. } => "Block(<redacted>)",
            Command::Unblock { .. } => "Unblock(<redacted>)",
            Command::ListBlocked => "ListBlocked",
            Command::SetForeground { visible } => {
                return write!(f, "SetForeground({visible})");
            }
        };
        f.write_str(name)
    }
}

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
}

/// A message from the worker to the app. Carries display data only.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The worker's wasm is loaded and it accepts commands. Sent once, first.
    Ready {
        /// The worker's [`IPC_VERSION`].
        version: u32,
    },
    /// The current state (answer to [`Command::Status`], [`Command::Lock`],
    /// [`Command::RemoveAccount`]).
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
        words: Vec<String>,
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
        words: Vec<String>,
    },
    /// Our display name.
    Profile {
        /// The name, if set.
        display_name: Option<String>,
    },
    /// The conversation list, latest activity first (answer to [`Command::ListConversations`],
    /// and pushed on every change).
    Conversations {
        /// The rows.
        items: Vec<ConversationSummary>,
    },
    /// The messages of the open conversation, oldest first (answer to
    /// [`Command::OpenConversation`], and pushed on every change while it is open).
    Messages {
        /// The peer's Account ID.
        peer: String,
        /// The conversation's row (name, kind).
        conversation: ConversationSummary,
        /// The latest messages, oldest first.
        items: Vec<MessageView>,
    },
    /// The block list (answer to [`Command::ListBlocked`]).
    BlockList {
        /// Blocked Account IDs.
        items: Vec<String>,
    },
    /// The settings (answer to [`Command::GetSettings`] and [`Command::SetSettings`]; also
    /// sent once after unlock).
    Settings {
        /// The settings.
        settings: Settings,
    },
    /// The peer started or stopped typing (shown for at most 20 s without a new event).
    PeerTyping {
        /// The peer's Account ID.
        peer: String,
        /// Started or stopped.
        typing: bool,
    },
    /// A new visible message arrived. The app shows a browser notification when the tab is
    /// hidden and notifications are on (the text only when `notification_content` is on).
    Incoming {
        /// The peer's Account ID.
        peer: String,
        /// The peer's display name, if known (untrusted text).
        display_name: Option<String>,
        /// A short preview (untrusted text).
        preview: String,
    },
    /// Search results (answer to [`Command::Search`]), newest first.
    SearchResults {
        /// The query they answer.
        query: String,
        /// The conversation searched, or `None` for all.
        peer: Option<String>,
        /// The hits.
        items: Vec<SearchHit>,
    },
    /// The onion paths changed state.
    Paths {
        /// The new state.
        state: PathState,
    },
    /// A command failed.
    Error {
        /// What failed; the app picks the text from the code and never parses strings.
        code: ErrorCode,
    },
}

/// Stable error codes crossing the boundary. Carry positions and counts, never user data.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ErrorCode {
    /// The passphrase does not unlock the store.
    WrongPassphrase,
    /// The store exists but does not decrypt or verify (tampered or damaged).
    Corrupted,
    /// The store was written by a newer version of Umbra.
    UnsupportedVersion,
    /// There is no account (unlock without one).
    NoAccount,
    /// An account already exists in this browser.
    AccountExists,
    /// The command needs an unlocked account.
    NotUnlocked,
    /// The command needs a pending account (create or restore first).
    NothingPending,
    /// The passphrase is empty.
    EmptyPassphrase,
    /// The recovery phrase does not have 13 or 25 words.
    PhraseWrongWordCount {
        /// How many words were found.
        found: usize,
    },
    /// A word of the recovery phrase is not in the word list.
    PhraseUnknownWord {
        /// 1-based position of the word.
        position: usize,
    },
    /// The recovery phrase's checksum word does not match.
    PhraseChecksumMismatch,
    /// A group of words does not encode valid bytes.
    PhraseInvalidWords {
        /// 1-based position of the first word of the group.
        position: usize,
    },
    /// The text is not an Account ID (`05` followed by 64 hex characters).
    InvalidAccountId,
    /// The message is empty or too long.
    InvalidMessage,
    /// The display name is too long (over 100 bytes).
    InvalidDisplayName,
    /// Only our own messages can be deleted for everyone.
    NotOwnMessage,
    /// The message no longer exists.
    NoSuchMessage,
    /// Not a disappearing-messages timer Session offers.
    InvalidTimer,
    /// The emoji is empty or too long.
    InvalidReaction,
    /// Browser storage (IndexedDB) failed.
    Storage,
    /// Browser storage is full.
    StorageFull,
    /// The app sent a message the worker could not read (version skew).
    BadMessage,
    /// An internal error.
    Internal,
}

impl ErrorCode {
    /// A short English sentence for the user. Contains no user data beyond positions/counts.
    pub fn message(&self) -> String {
        match self {
            ErrorCode::WrongPassphrase => "Wrong passphrase".into(),
            ErrorCode::Corrupted => "The stored account is damaged and cannot be opened".into(),
            ErrorCode::UnsupportedVersion => {
                "The stored account was saved by a newer version of Umbra".into()
            }
            ErrorCode::NoAccount => "There is no account in this browser".into(),
            ErrorCode::AccountExists => "An account already exists in this browser".into(),
            ErrorCode::NotUnlocked => "Unlock your account first".into(),
            ErrorCode::NothingPending => "Create or restore an account first".into(),
            ErrorCode::EmptyPassphrase => "Choose a passphrase".into(),
            ErrorCode::PhraseWrongWordCount { found } => {
                format!("Wrong word count: a recovery phrase has 13 or 25 words, not {found}")
            }
            ErrorCode::PhraseUnknownWord { position } => {
                format!("Unknown word: word {position} is not a recovery phrase word")
            }
            ErrorCode::PhraseChecksumMismatch => {
                "Checksum mismatch: check the words of your recovery phrase".into()
            }
            ErrorCode::PhraseInvalidWords { position } => {
                format!("Invalid words: the words from position {position} do not fit together")
            }
            ErrorCode::InvalidAccountId => {
                "Not an Account ID: it must be 05 followed by 64 hexadecimal characters".into()
            }
            ErrorCode::InvalidMessage => "The message is empty or too long".into(),
            ErrorCode::InvalidDisplayName => "The display name is too long".into(),
            ErrorCode::NotOwnMessage => "Only your own messages can be deleted for everyone".into(),
            ErrorCode::NoSuchMessage => "That message no longer exists".into(),
            ErrorCode::InvalidTimer => "Choose one of the offered timers".into(),
            ErrorCode::InvalidReaction => "That reaction cannot be sent".into(),
            ErrorCode::Storage => "Browser storage failed".into(),
            ErrorCode::StorageFull => "Browser storage is full".into(),
            ErrorCode::BadMessage => "Internal message error; reload the page".into(),
            ErrorCode::Internal => "Internal error".into(),
        }
    }
}

/// Encodes a command for `postMessage` (a JSON string).
pub fn encode_command(cmd: &Command) -> String {
    serde_json::to_string(cmd).unwrap_or_default()
}

/// Decodes a command received by the worker.
pub fn decode_command(text: &str) -> Result<Command, DecodeError> {
    serde_json::from_str(text).map_err(|_| DecodeError)
}

/// Encodes an event for `postMessage` (a JSON string).
pub fn encode_event(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Decodes an event received by the app.
pub fn decode_event(text: &str) -> Result<Event, DecodeError> {
    serde_json::from_str(text).map_err(|_| DecodeError)
}

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

    #[test]
    fn test_command_round_trip() {
        let cmds = [
            Command::Status,
            Command::CreateAccount,
            Command::RestoreAccount {
                phrase: "a b c".into(),
            },
            Command::SetPassphrase {
                passphrase: "pw".into(),
            },
            Command::CancelPending,
            Command::Unlock {
                passphrase: "pw".into(),
            },
            Command::Lock,
            Command::RemoveAccount,
            Command::ShowRecoveryPhrase,
            Command::SetDisplayName { name: "A".into() },
            Command::ListConversations,
            Command::OpenConversation {
                peer: "05ab".into(),
            },
            Command::CloseConversation,
            Command::SendText {
                peer: "05ab".into(),
                body: "hi".into(),
                reply_to: Some(3),
            },
            Command::React {
                peer: "05ab".into(),
                id: 3,
                emoji: "👍".into(),
            },
            Command::DeleteForMe {
                peer: "05ab".into(),
                id: 3,
            },
            Command::Unsend {
                peer: "05ab".into(),
                id: 3,
            },
            Command::SetDisappearing {
                peer: "05ab".into(),
                setting: DisappearingView {
                    mode: DisappearingMode::AfterRead,
                    timer_s: 300,
                },
            },
            Command::Typing {
                peer: "05ab".into(),
                started: true,
            },
            Command::GetSettings,
            Command::SetSettings {
                settings: Settings {
                    read_receipts: true,
                    ..Settings::default()
                },
            },
            Command::Search {
                query: "hi".into(),
                peer: None,
            },
            Command::RetrySend {
                peer: "05ab".into(),
                id: 7,
            },
            Command::AcceptRequest {
                peer: "05ab".into(),
            },
            Command::DeleteConversation {
                peer: "05ab".into(),
            },
            Command::Block {
                peer: "05ab".into(),
            },
            Command::Unblock {
                peer: "05ab".into(),
            },
            Command::ListBlocked,
            Command::SetForeground { visible: false },
        ];
        for cmd in cmds {
            assert_eq!(decode_command(&encode_command(&cmd)), Ok(cmd));
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
            encode_event(&Event::Ready { version: 1 }),
            r#"{"event":"ready","version":1}"#
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
    fn test_debug_redacts_secrets() {
        let dbg = format!(
            "{:?}",
            Command::Unlock {
                passphrase: "hunter2".into()
            }
        );
        assert!(!dbg.contains("hunter2"));
        let dbg = format!(
            "{:?}",
            Command::RestoreAccount {
                phrase: "zygote".into()
            }
        );
        assert!(!dbg.contains("zygote"));
    }

    #[test]
    fn test_messaging_wire_shape_and_redaction() {
        let ev = Event::Messages {
            peer: "05ab".into(),
            conversation: ConversationSummary {
                peer: "05ab".into(),
                display_name: None,
                kind: ConversationKind::Request,
                last_preview: Some("<b>hi</b>".into()),
                last_time_ms: Some(5),
                unread: 1,
                disappearing: DisappearingView::default(),
            },
            items: vec![MessageView {
                id: 1,
                direction: Direction::Incoming,
                body: "<b>hi</b>".into(),
                sent_ms: 5,
                state: DeliveryState::Received,
                quote: None,
                reactions: vec![],
                expires_at_ms: None,
            }],
        };
        let text = encode_event(&ev);
        assert!(text.starts_with(r#"{"event":"messages","peer":"05ab","#));
        assert!(text.contains(r#""kind":"request""#));
        assert!(text.contains(r#""state":"received""#));
        assert_eq!(decode_event(&text), Ok(ev));
        let dbg = format!(
            "{:?}",
            Command::SendText {
                peer: "05ab".into(),
                body: "secret words".into(),
                reply_to: None,
            }
        );
        assert!(!dbg.contains("secret") && !dbg.contains("05ab"));
    }

    #[test]
    fn test_older_send_text_without_reply_still_decodes() {
        // An app from before replies sends no `reply_to`.
        let cmd = decode_command(r#"{"cmd":"send_text","peer":"05ab","body":"hi"}"#);
        assert_eq!(
            cmd,
            Ok(Command::SendText {
                peer: "05ab".into(),
                body: "hi".into(),
                reply_to: None
            })
        );
        let text = encode_command(&Command::SetDisappearing {
            peer: "05ab".into(),
            setting: DisappearingView {
                mode: DisappearingMode::AfterSend,
                timer_s: 3600,
            },
        });
        assert!(
            text.contains(r#""mode":"after_send","timer_s":3600"#),
            "{text}"
        );
    }

    #[test]
    fn test_garbage_is_rejected() {
        assert_eq!(
            decode_command("{\"cmd\":\"format_disk\"}"),
            Err(DecodeError)
        );
        assert_eq!(decode_command("not json"), Err(DecodeError));
        assert_eq!(decode_event("{\"event\":\"unlocked\"}"), Err(DecodeError));
    }

    #[test]
    fn test_error_messages_name_the_problem() {
        assert_eq!(ErrorCode::WrongPassphrase.message(), "Wrong passphrase");
        assert!(
            ErrorCode::PhraseUnknownWord { position: 4 }
                .message()
                .contains("word 4")
        );
        assert!(
            ErrorCode::PhraseWrongWordCount { found: 12 }
                .message()
                .contains("12")
        );
        assert!(
            ErrorCode::PhraseChecksumMismatch
                .message()
                .starts_with("Checksum mismatch")
        );
    }
}
