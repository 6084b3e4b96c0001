//! Requests from the app to the worker, nested by domain: the account, this page, the
//! conversation list, one conversation, and the settings. Adding a command means adding a
//! variant to one of these enums and its arm to that enum's `Debug` (the compiler points at
//! it), and a sample to the round-trip test.
//!
//! Wire form (JSON): the domain in `cmd`, the operation in `op`, the operation's fields next
//! to them, e.g. `{"cmd":"account","op":"unlock","passphrase":"…"}` or
//! `{"cmd":"conversation","conversation":"05…","op":"send_text","body":"hi"}`.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    CallCommand, SecretString,
    messaging::{DisappearingView, Settings},
};

/// A request from the app (UI thread) to the worker.
///
/// The worker answers every command with one or more [`Event`](crate::Event)s; commands are
/// handled one at a time in the order they arrive. Only user-typed input (a passphrase, a
/// recovery phrase) crosses in this direction; the worker never hands key material back
/// except recovery-phrase words for display.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// The stored account: create, restore, unlock, lock, remove, profile.
    Account(AccountCommand),
    /// This page's state as the worker should know it.
    App(AppCommand),
    /// The conversation list, and what spans every conversation.
    Conversations(ConversationsCommand),
    /// One conversation.
    Conversation {
        /// The conversation reference: the string form of a conversation id (`05…` for a
        /// one-to-one conversation, the peer's Account ID). The worker parses it once and
        /// answers [`ErrorCode::InvalidConversationId`](crate::ErrorCode::InvalidConversationId)
        /// if it is not one, [`ErrorCode::UnsupportedConversation`](crate::ErrorCode::UnsupportedConversation)
        /// for a kind it cannot open yet (groups, communities).
        conversation: String,
        /// What to do in it.
        #[serde(flatten)]
        op: ConversationOp,
    },
    /// The privacy and notification settings.
    Settings(SettingsCommand),
    /// How the worker reaches the network (bridges).
    Network(NetworkCommand),
    /// Voice and video calls.
    Call(CallCommand),
}

/// Commands about the route to the network.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NetworkCommand {
    /// Ask for the route; answered with [`Event::Network`](crate::Event::Network).
    Get,
    /// Use these bridges of the user's own before the bundle's (empty: the bundle's only);
    /// saved in the vault. Answered with [`Event::Network`](crate::Event::Network), or
    /// [`ErrorCode::InvalidBridge`](crate::ErrorCode::InvalidBridge).
    SetBridges {
        /// Base URLs (`https://host[:port][/prefix]`).
        bridges: Vec<String>,
    },
}

/// Commands about the stored account.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AccountCommand {
    /// Ask for the current [`AccountState`](crate::AccountState); answered with
    /// [`Event::Status`](crate::Event::Status).
    Status,
    /// Generate a new account seed and keep it pending in worker memory. Answered with
    /// [`Event::AccountCreated`](crate::Event::AccountCreated) (words + Account ID for
    /// display). Nothing is stored yet.
    Create,
    /// Decode a recovery phrase (13 or 25 words) and keep the seed pending. Answered with
    /// [`Event::PhraseAccepted`](crate::Event::PhraseAccepted) or an error naming what is
    /// wrong.
    Restore {
        /// The phrase as typed by the user.
        phrase: SecretString,
    },
    /// Lock the pending seed (from create or restore) under `passphrase` and store it.
    /// Answered with [`Event::Working`](crate::Event::Working) then
    /// [`Event::Unlocked`](crate::Event::Unlocked), or an error:
    /// [`ErrorCode::WeakPassphrase`](crate::ErrorCode::WeakPassphrase) (nothing stored, the
    /// seed stays pending) when [`strength::estimate`](crate::strength::estimate) does not
    /// accept it.
    SetPassphrase {
        /// The chosen passphrase.
        passphrase: SecretString,
    },
    /// Forget the pending seed (the user went back to the welcome screen).
    CancelPending,
    /// Unlock the stored account. Answered with [`Event::Working`](crate::Event::Working)
    /// then [`Event::Unlocked`](crate::Event::Unlocked) or an error
    /// [`ErrorCode::WrongPassphrase`](crate::ErrorCode::WrongPassphrase).
    Unlock {
        /// The passphrase as typed by the user.
        passphrase: SecretString,
    },
    /// Drop every key from worker memory. Answered with [`Event::Status`](crate::Event::Status).
    Lock,
    /// Delete the account and its database from this browser, locked or unlocked, once
    /// `passphrase` opens the stored vault. Answered with
    /// [`Event::Working`](crate::Event::Working) then [`Event::Status`](crate::Event::Status),
    /// or [`ErrorCode::WrongPassphrase`](crate::ErrorCode::WrongPassphrase) (nothing deleted).
    Remove {
        /// The account's passphrase, typed again.
        passphrase: SecretString,
    },
    /// Show the recovery phrase of the unlocked account once `passphrase` opens its vault.
    /// Answered with [`Event::Working`](crate::Event::Working) then
    /// [`Event::RecoveryPhrase`](crate::Event::RecoveryPhrase), or
    /// [`ErrorCode::WrongPassphrase`](crate::ErrorCode::WrongPassphrase).
    ShowRecoveryPhrase {
        /// The account's passphrase, typed again.
        passphrase: SecretString,
    },
    /// Set our display name, sent with our messages as Session does. Answered with
    /// [`Event::Profile`](crate::Event::Profile).
    SetDisplayName {
        /// The name (at most 100 bytes).
        name: String,
    },
    /// Set our profile picture (any picture the browser decodes: it is cropped to a square,
    /// re-encoded, encrypted with a new profile key and uploaded, as Session does), or remove
    /// it (no bytes). Answered with [`Event::Avatar`](crate::Event::Avatar) for `None`, or an
    /// error.
    SetAvatar {
        /// The picture's MIME type.
        #[serde(default)]
        content_type: String,
        /// The picture (not in the JSON); empty removes it.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
}

/// Commands about this page.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AppCommand {
    /// Tell the worker whether the page is visible, to poll fast (visible) or slowly (hidden).
    /// Answered with [`Event::Paths`](crate::Event::Paths) when unlocked, else
    /// [`Event::Status`](crate::Event::Status).
    SetForeground {
        /// Whether the page is visible.
        visible: bool,
    },
}

/// Commands about the conversation list and about every conversation at once.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ConversationsCommand {
    /// Ask for the conversation list; answered with
    /// [`Event::Conversations`](crate::Event::Conversations) (also pushed whenever it changes).
    List,
    /// Close the open conversation (back to the list).
    Close,
    /// Search the decrypted local messages of every conversation (nothing is sent to the
    /// network). Answered with [`Event::SearchResults`](crate::Event::SearchResults).
    Search {
        /// The text to find (case-insensitive).
        query: String,
    },
    /// Ask for the block list; answered with [`Event::BlockList`](crate::Event::BlockList).
    ListBlocked,
    /// Resolve an ONS name (several nodes must agree); answered with
    /// [`Event::NameResolved`](crate::Event::NameResolved), or an error
    /// ([`ErrorCode::InvalidName`](crate::ErrorCode::InvalidName),
    /// [`ErrorCode::NameNotFound`](crate::ErrorCode::NameNotFound),
    /// [`ErrorCode::NameDisputed`](crate::ErrorCode::NameDisputed),
    /// [`ErrorCode::NameLookupFailed`](crate::ErrorCode::NameLookupFailed)).
    ResolveName {
        /// The name as typed.
        name: String,
    },
}

/// What to do in one conversation ([`Command::Conversation`]). Message ids are the local ids
/// of [`MessageView::id`](crate::MessageView::id).
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ConversationOp {
    /// Open the conversation (starting it if new): the worker answers with
    /// [`Event::Messages`](crate::Event::Messages), then pushes
    /// [`Event::MessagesChanged`](crate::Event::MessagesChanged) while it stays open, marks
    /// incoming messages read and polls fast.
    Open,
    /// Send a text message. It enters the durable outbox at once
    /// ([`DeliveryState::Pending`](crate::DeliveryState::Pending)).
    SendText {
        /// The text.
        body: String,
        /// Local id of the message this one replies to (quoted as Session does).
        #[serde(default)]
        reply_to: Option<u64>,
    },
    /// Add our `emoji` reaction to message `id`, or remove it if we already reacted with it.
    React {
        /// The message's local id.
        id: u64,
        /// The emoji.
        emoji: String,
    },
    /// Delete message `id` from this browser only ("delete for me").
    DeleteForMe {
        /// The message's local id.
        id: u64,
    },
    /// Delete our message `id` for everyone: an UnsendRequest to the peer and to our other
    /// devices, the swarm copies deleted, and the local copy removed.
    /// [`ErrorCode::NotOwnMessage`](crate::ErrorCode::NotOwnMessage) for a message of the
    /// peer.
    Unsend {
        /// The message's local id.
        id: u64,
    },
    /// Change the disappearing-messages setting; the peer is told as Session does (an
    /// expiration-timer update). [`ErrorCode::InvalidTimer`](crate::ErrorCode::InvalidTimer)
    /// for a timer not offered for its mode ([`offered_timers_s`](crate::offered_timers_s),
    /// Session's lists; any timer with mode off is taken as off).
    SetDisappearing {
        /// The new setting.
        setting: DisappearingView,
    },
    /// We started (`true`) or stopped typing. Sent to the peer only when typing indicators
    /// are on.
    Typing {
        /// Started or stopped.
        started: bool,
    },
    /// Search this conversation's decrypted local messages. Answered with
    /// [`Event::SearchResults`](crate::Event::SearchResults).
    Search {
        /// The text to find (case-insensitive).
        query: String,
    },
    /// Send a file (an image, a voice message, any file) with an optional caption. The bytes
    /// travel beside the JSON ([`Command::bytes_mut`]). The worker answers with
    /// [`Event::Upload`](crate::Event::Upload) states for `upload`; once uploaded, the message
    /// enters the outbox like a text.
    SendFile {
        /// The app's handle for this upload (for progress, cancel and retry).
        upload: u64,
        /// The file name (shown to the peer).
        name: String,
        /// The MIME type the browser gave.
        content_type: String,
        /// Send as a voice message.
        #[serde(default)]
        voice: bool,
        /// Caption text (may be empty).
        #[serde(default)]
        caption: String,
        /// Local id of the message this one replies to.
        #[serde(default)]
        reply_to: Option<u64>,
        /// The file's bytes (not in the JSON).
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// Stop upload `upload`: nothing is sent.
    CancelUpload {
        /// The upload's handle.
        upload: u64,
    },
    /// Download the attachments of message `id` now (a message request's, or after a
    /// failure).
    DownloadAttachments {
        /// The message's local id.
        id: u64,
    },
    /// Read attachment `index` of message `id`: answered with
    /// [`Event::AttachmentData`](crate::Event::AttachmentData).
    OpenAttachment {
        /// The message's local id.
        id: u64,
        /// Which attachment.
        index: u32,
    },
    /// The peer's profile picture: answered with [`Event::Avatar`](crate::Event::Avatar).
    GetAvatar,
    /// Retry a failed outgoing message.
    RetrySend {
        /// The message's local id.
        id: u64,
    },
    /// Accept a message request.
    AcceptRequest,
    /// Delete the conversation and its messages from this browser.
    Delete,
    /// Block the conversation: for a one-to-one conversation, its peer's messages are
    /// dropped unseen.
    Block,
    /// Unblock it. A blocked Account ID of [`Event::BlockList`](crate::Event::BlockList) is
    /// the reference of its one-to-one conversation.
    Unblock,
    /// Name the peer (shown instead of their display name, synced to the other devices);
    /// an empty name removes the nickname.
    SetNickname {
        /// The nickname (untrusted text; at most 100 characters, as a display name).
        nickname: String,
    },
    /// Mark it unread until it is opened again (synced to the other devices).
    MarkUnread,
}

/// Commands about the settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SettingsCommand {
    /// Ask for the settings; answered with [`Event::Settings`](crate::Event::Settings).
    Get,
    /// Save the settings; answered with [`Event::Settings`](crate::Event::Settings).
    Set {
        /// The new settings.
        settings: Settings,
    },
}

impl Command {
    /// `op` in the conversation named by `conversation`.
    pub fn conversation(conversation: impl Into<String>, op: ConversationOp) -> Command {
        Command::Conversation {
            conversation: conversation.into(),
            op,
        }
    }

    /// The binary payload carried beside the JSON, if this command has one (the app moves it
    /// out before posting; the worker puts it back after decoding).
    pub fn bytes_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Command::Conversation {
                op: ConversationOp::SendFile { bytes, .. },
                ..
            }
            | Command::Account(AccountCommand::SetAvatar { bytes, .. }) => Some(bytes),
            _ => None,
        }
    }
}

impl fmt::Debug for Command {
    /// Redacts secrets and user data: conversation references are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Account(c) => write!(f, "Account({c:?})"),
            Command::App(c) => write!(f, "App({c:?})"),
            Command::Conversations(c) => write!(f, "Conversations({c:?})"),
            Command::Conversation { op, .. } => write!(f, "Conversation(<redacted>, {op:?})"),
            Command::Settings(c) => write!(f, "Settings({c:?})"),
            Command::Network(c) => write!(f, "Network({c:?})"),
            Command::Call(c) => write!(f, "Call({c:?})"),
        }
    }
}

impl fmt::Debug for AccountCommand {
    /// Redacts passphrases, phrases and names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountCommand::Status => "Status",
            AccountCommand::Create => "Create",
            AccountCommand::Restore { .. } => "Restore(<redacted>)",
            AccountCommand::SetPassphrase { .. } => "SetPassphrase(<redacted>)",
            AccountCommand::CancelPending => "CancelPending",
            AccountCommand::Unlock { .. } => "Unlock(<redacted>)",
            AccountCommand::Lock => "Lock",
            AccountCommand::Remove { .. } => "Remove(<redacted>)",
            AccountCommand::ShowRecoveryPhrase { .. } => "ShowRecoveryPhrase(<redacted>)",
            AccountCommand::SetDisplayName { .. } => "SetDisplayName(<redacted>)",
            AccountCommand::SetAvatar { .. } => "SetAvatar(<redacted>)",
        })
    }
}

impl fmt::Debug for ConversationsCommand {
    /// Redacts search queries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConversationsCommand::List => "List",
            ConversationsCommand::Close => "Close",
            ConversationsCommand::Search { .. } => "Search(<redacted>)",
            ConversationsCommand::ListBlocked => "ListBlocked",
            ConversationsCommand::ResolveName { .. } => "ResolveName(<redacted>)",
        })
    }
}

impl fmt::Debug for ConversationOp {
    /// Names the operation only: texts, emoji, queries and message ids are user data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConversationOp::Open => "Open",
            ConversationOp::SendText { .. } => "SendText(<redacted>)",
            ConversationOp::React { .. } => "React(<redacted>)",
            ConversationOp::DeleteForMe { .. } => "DeleteForMe(<redacted>)",
            ConversationOp::Unsend { .. } => "Unsend(<redacted>)",
            ConversationOp::SetDisappearing { .. } => "SetDisappearing(<redacted>)",
            ConversationOp::Typing { .. } => "Typing(<redacted>)",
            ConversationOp::Search { .. } => "Search(<redacted>)",
            ConversationOp::RetrySend { .. } => "RetrySend(<redacted>)",
            ConversationOp::SetNickname { .. } => "SetNickname(<redacted>)",
            ConversationOp::MarkUnread => "MarkUnread",
            ConversationOp::SendFile { .. } => "SendFile(<redacted>)",
            ConversationOp::CancelUpload { .. } => "CancelUpload",
            ConversationOp::GetAvatar => "GetAvatar",
            ConversationOp::DownloadAttachments { .. } => "DownloadAttachments(<redacted>)",
            ConversationOp::OpenAttachment { .. } => "OpenAttachment(<redacted>)",
            ConversationOp::AcceptRequest => "AcceptRequest",
            ConversationOp::Delete => "Delete",
            ConversationOp::Block => "Block",
            ConversationOp::Unblock => "Unblock",
        })
    }
}

/// Encodes a command for `postMessage` (a JSON string).
pub fn encode_command(cmd: &Command) -> String {
    serde_json::to_string(cmd).unwrap_or_default()
}

/// Decodes a command received by the worker.
pub fn decode_command(text: &str) -> Result<Command, crate::DecodeError> {
    serde_json::from_str(text).map_err(|_| crate::DecodeError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::DisappearingMode;

    const PEER: &str = "05abcdef";

    fn conv(op: ConversationOp) -> Command {
        Command::conversation(PEER, op)
    }

    /// One sample of every command, with secret-looking text in every text field.
    fn every_command() -> Vec<Command> {
        use AccountCommand as A;
        use ConversationOp as O;
        use ConversationsCommand as L;
        vec![
            Command::Account(A::Status),
            Command::Account(A::Create),
            Command::Account(A::Restore {
                phrase: "zygote secret words".into(),
            }),
            Command::Account(A::SetPassphrase {
                passphrase: "hunter2".into(),
            }),
            Command::Account(A::CancelPending),
            Command::Account(A::Unlock {
                passphrase: "hunter2".into(),
            }),
            Command::Account(A::Lock),
            Command::Account(A::Remove {
                passphrase: "hunter2".into(),
            }),
            Command::Account(A::ShowRecoveryPhrase {
                passphrase: "hunter2".into(),
            }),
            Command::Account(A::SetDisplayName {
                name: "secret name".into(),
            }),
            Command::App(AppCommand::SetForeground { visible: false }),
            Command::Conversations(L::List),
            Command::Conversations(L::Close),
            Command::Conversations(L::Search {
                query: "secret query".into(),
            }),
            Command::Conversations(L::ListBlocked),
            Command::Conversations(L::ResolveName {
                name: "alice".into(),
            }),
            conv(O::Open),
            conv(O::SendText {
                body: "secret words".into(),
                reply_to: Some(3),
            }),
            conv(O::React {
                id: 3,
                emoji: "👍".into(),
            }),
            conv(O::DeleteForMe { id: 3 }),
            conv(O::Unsend { id: 3 }),
            conv(O::SetDisappearing {
                setting: DisappearingView {
                    mode: DisappearingMode::AfterRead,
                    timer_s: 300,
                },
            }),
            conv(O::Typing { started: true }),
            conv(O::Search {
                query: "secret query".into(),
            }),
            conv(O::RetrySend { id: 7 }),
            conv(O::SetNickname {
                nickname: "Bobby".into(),
            }),
            conv(O::MarkUnread),
            conv(O::SendFile {
                upload: 1,
                name: "secret.pdf".into(),
                content_type: "application/pdf".into(),
                voice: false,
                caption: "secret caption".into(),
                reply_to: None,
                bytes: Vec::new(),
            }),
            conv(O::CancelUpload { upload: 1 }),
            conv(O::GetAvatar),
            Command::Account(A::SetAvatar {
                content_type: "image/png".into(),
                bytes: Vec::new(),
            }),
            conv(O::DownloadAttachments { id: 3 }),
            conv(O::OpenAttachment { id: 3, index: 0 }),
            conv(O::AcceptRequest),
            conv(O::Delete),
            conv(O::Block),
            conv(O::Unblock),
            Command::Network(NetworkCommand::Get),
            Command::Network(NetworkCommand::SetBridges {
                bridges: vec!["https://bridge.example".into()],
            }),
            Command::Call(CallCommand::HangUp { call: "c".into() }),
            Command::Settings(SettingsCommand::Get),
            Command::Settings(SettingsCommand::Set {
                settings: Settings {
                    read_receipts: true,
                    ..Settings::default()
                },
            }),
        ]
    }

    /// The position of `cmd`'s variant among all commands. The match is exhaustive: a new
    /// variant does not compile until it has a number here, and [`VARIANTS`] grows with it.
    fn variant(cmd: &Command) -> usize {
        use AccountCommand as A;
        use ConversationOp as O;
        use ConversationsCommand as L;
        match cmd {
            Command::Account(c) => match c {
                A::Status => 0,
                A::Create => 1,
                A::Restore { .. } => 2,
                A::SetPassphrase { .. } => 3,
                A::CancelPending => 4,
                A::Unlock { .. } => 5,
                A::Lock => 6,
                A::Remove { .. } => 7,
                A::ShowRecoveryPhrase { .. } => 8,
                A::SetDisplayName { .. } => 9,
                A::SetAvatar { .. } => 37,
            },
            Command::App(AppCommand::SetForeground { .. }) => 10,
            Command::Conversations(c) => match c {
                L::List => 11,
                L::Close => 12,
                L::Search { .. } => 13,
                L::ListBlocked => 14,
                L::ResolveName { .. } => 32,
            },
            Command::Conversation { op, .. } => match op {
                O::Open => 15,
                O::SendText { .. } => 16,
                O::React { .. } => 17,
                O::DeleteForMe { .. } => 18,
                O::Unsend { .. } => 19,
                O::SetDisappearing { .. } => 20,
                O::Typing { .. } => 21,
                O::Search { .. } => 22,
                O::RetrySend { .. } => 23,
                O::AcceptRequest => 24,
                O::Delete => 25,
                O::Block => 26,
                O::Unblock => 27,
                O::SendFile { .. } => 33,
                O::CancelUpload { .. } => 34,
                O::DownloadAttachments { .. } => 35,
                O::OpenAttachment { .. } => 36,
                O::GetAvatar => 38,
                O::SetNickname { .. } => 39,
                O::MarkUnread => 40,
            },
            Command::Settings(c) => match c {
                SettingsCommand::Get => 28,
                SettingsCommand::Set { .. } => 29,
            },
            Command::Network(c) => match c {
                NetworkCommand::Get => 30,
                NetworkCommand::SetBridges { .. } => 31,
            },
            Command::Call(_) => 41,
        }
    }

    /// How many command variants exist (one more than the highest number in [`variant`]).
    const VARIANTS: usize = 42;

    /// A file's bytes never go into the JSON: they travel beside it and are put back.
    #[test]
    fn test_file_bytes_travel_beside_the_json() {
        let mut cmd = conv(ConversationOp::SendFile {
            upload: 9,
            name: "a.png".into(),
            content_type: "image/png".into(),
            voice: false,
            caption: String::new(),
            reply_to: None,
            bytes: b"PNGSECRETBYTES".to_vec(),
        });
        let bytes = std::mem::take(cmd.bytes_mut().expect("has bytes"));
        let text = encode_command(&cmd);
        assert!(
            !text.contains("PNGSECRET") && !text.contains("bytes"),
            "{text}"
        );
        let mut back = decode_command(&text).expect("decode");
        *back.bytes_mut().expect("has bytes") = bytes;
        assert!(matches!(back, Command::Conversation {
            op: ConversationOp::SendFile { ref bytes, upload: 9, .. }, ..
        } if bytes == b"PNGSECRETBYTES"));
        assert!(conv(ConversationOp::Open).bytes_mut().is_none());
    }

    #[test]
    fn test_every_command_round_trips() {
        let cmds = every_command();
        let mut seen = [false; VARIANTS];
        for cmd in cmds {
            seen[variant(&cmd)] = true;
            let text = encode_command(&cmd);
            assert_eq!(decode_command(&text), Ok(cmd), "{text}");
        }
        let missing: Vec<usize> = (0..VARIANTS).filter(|&i| !seen[i]).collect();
        assert!(missing.is_empty(), "no sample for variants {missing:?}");
    }

    #[test]
    fn test_debug_redacts_secrets_and_user_data() {
        for cmd in every_command() {
            let dbg = format!("{cmd:?}");
            for secret in ["hunter2", "zygote", "secret", PEER, "👍"] {
                assert!(!dbg.contains(secret), "{dbg} shows {secret}");
            }
        }
        assert_eq!(
            format!(
                "{:?}",
                Command::Account(AccountCommand::Unlock {
                    passphrase: "x".into()
                })
            ),
            "Account(Unlock(<redacted>))"
        );
        assert_eq!(
            format!("{:?}", conv(ConversationOp::Open)),
            "Conversation(<redacted>, Open)"
        );
        assert_eq!(
            format!(
                "{:?}",
                Command::App(AppCommand::SetForeground { visible: true })
            ),
            "App(SetForeground { visible: true })"
        );
    }

    #[test]
    fn test_wire_shape_is_domain_then_op() {
        assert_eq!(
            encode_command(&Command::Account(AccountCommand::Unlock {
                passphrase: "pw".into()
            })),
            r#"{"cmd":"account","op":"unlock","passphrase":"pw"}"#
        );
        assert_eq!(
            encode_command(&Command::Conversations(ConversationsCommand::List)),
            r#"{"cmd":"conversations","op":"list"}"#
        );
        let text = encode_command(&conv(ConversationOp::SendText {
            body: "hi".into(),
            reply_to: None,
        }));
        assert_eq!(
            text,
            r#"{"cmd":"conversation","conversation":"05abcdef","op":"send_text","body":"hi","reply_to":null}"#
        );
        // What the JavaScript helpers send: no `reply_to`, fields in any order.
        assert_eq!(
            decode_command(
                r#"{"op":"send_text","body":"hi","cmd":"conversation","conversation":"05abcdef"}"#
            ),
            Ok(conv(ConversationOp::SendText {
                body: "hi".into(),
                reply_to: None
            }))
        );
        let text = encode_command(&conv(ConversationOp::SetDisappearing {
            setting: DisappearingView {
                mode: DisappearingMode::AfterSend,
                timer_s: 3600,
            },
        }));
        assert!(
            text.contains(r#""setting":{"mode":"after_send","timer_s":3600}"#),
            "{text}"
        );
    }

    #[test]
    fn test_malformed_commands_are_rejected() {
        for bad in [
            r#"{"cmd":"format_disk"}"#,
            r#"{"cmd":"account","op":"format_disk"}"#,
            r#"{"cmd":"account"}"#,
            // The flat form of earlier versions.
            r#"{"cmd":"open_conversation","peer":"05ab"}"#,
            r#"{"cmd":"conversation","op":"open"}"#,
            r#"{"cmd":"conversation","conversation":"05ab","op":"react","id":"x","emoji":"a"}"#,
            r#"{"cmd":"conversation","conversation":5,"op":"open"}"#,
            "not json",
        ] {
            assert_eq!(decode_command(bad), Err(crate::DecodeError), "{bad}");
        }
    }
}
