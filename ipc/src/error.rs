//! Stable error codes crossing the boundary, each with a safe English sentence.

use serde::{Deserialize, Serialize};

use crate::strength::Weakness;

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
    /// The passphrase is too easy to guess
    /// ([`strength::estimate`](crate::strength::estimate) scores it below
    /// [`strength::MIN_SCORE`](crate::strength::MIN_SCORE)).
    WeakPassphrase {
        /// The biggest reason.
        weakness: Weakness,
    },
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
    /// Not a name Session allows (letters, digits, `_` and `-`, at most 64).
    InvalidName,
    /// No account has this ONS name.
    NameNotFound,
    /// The nodes asked gave different answers for the name: it is not used.
    NameDisputed,
    /// The name could not be looked up (the network did not answer).
    NameLookupFailed,
    /// A bridge address is not an `http://` or `https://` URL of a host (or too many were
    /// given).
    InvalidBridge,
    /// The text is not a conversation reference (an Account ID `05…`, a group id `03…` or a
    /// community room URL).
    InvalidConversationId,
    /// A well-formed conversation reference of a kind this version cannot open yet (a group
    /// or a community).
    UnsupportedConversation,
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
    /// The file is larger than the 10 MB Session clients accept.
    FileTooLarge,
    /// The file could not be read or prepared (an image that does not decode).
    InvalidFile,
    /// The file could not be uploaded (the file server did not answer or refused it).
    UploadFailed,
    /// The attachment could not be downloaded (gone, unreachable).
    DownloadFailed,
    /// The attachment's bytes do not match what the sender said (wrong digest or key): not
    /// shown.
    AttachmentCorrupt,
    /// The microphone could not be used (no permission, or none present).
    MicrophoneUnavailable,
    /// Browser storage (IndexedDB) failed.
    Storage,
    /// Browser storage is full.
    StorageFull,
    /// Calls are off in the settings.
    CallsDisabled,
    /// Another call is in progress.
    CallBusy,
    /// No such call, or not in a state for that.
    CallUnavailable,
    /// Too many messages wait for the network time (no node has answered yet).
    WaitingForNetworkTime,
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
            ErrorCode::WeakPassphrase { weakness } => {
                format!(
                    "This passphrase is too easy to guess. {}",
                    weakness.message()
                )
            }
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
            ErrorCode::InvalidName => {
                "Not an Account ID or a name: a name has letters, digits, _ and - only".into()
            }
            ErrorCode::NameNotFound => "No account has this name".into(),
            ErrorCode::NameDisputed => {
                "The network gave different answers for this name, so it was not used".into()
            }
            ErrorCode::NameLookupFailed => {
                "The name could not be looked up; check the connection and try again".into()
            }
            ErrorCode::InvalidBridge => {
                "Not a bridge address: it must start with https:// (or http:// on this computer)"
                    .into()
            }
            ErrorCode::InvalidConversationId => "Not a conversation".into(),
            ErrorCode::UnsupportedConversation => {
                "This kind of conversation is not supported yet".into()
            }
            ErrorCode::InvalidMessage => "The message is empty or too long".into(),
            ErrorCode::InvalidDisplayName => "The display name is too long".into(),
            ErrorCode::NotOwnMessage => "Only your own messages can be deleted for everyone".into(),
            ErrorCode::NoSuchMessage => "That message no longer exists".into(),
            ErrorCode::InvalidTimer => "Choose one of the offered timers".into(),
            ErrorCode::InvalidReaction => "That reaction cannot be sent".into(),
            ErrorCode::FileTooLarge => "Files can be at most 10 MB".into(),
            ErrorCode::InvalidFile => "This file could not be read".into(),
            ErrorCode::UploadFailed => "The file could not be uploaded; try again".into(),
            ErrorCode::DownloadFailed => "The attachment could not be downloaded".into(),
            ErrorCode::AttachmentCorrupt => {
                "The attachment is damaged or was changed, so it is not shown".into()
            }
            ErrorCode::MicrophoneUnavailable => {
                "The microphone cannot be used; allow it in the browser's site settings".into()
            }
            ErrorCode::CallsDisabled => {
                "Calls are off: turn on voice and video calls in Settings".into()
            }
            ErrorCode::CallBusy => "Another call is in progress".into(),
            ErrorCode::CallUnavailable => "That call is over".into(),
            ErrorCode::Storage => "Browser storage failed".into(),
            ErrorCode::StorageFull => "Browser storage is full".into(),
            ErrorCode::WaitingForNetworkTime => {
                "Too many messages are waiting for the network; connect and try again".into()
            }
            ErrorCode::BadMessage => "Internal message error; reload the page".into(),
            ErrorCode::Internal => "Internal error".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            ErrorCode::UnsupportedConversation
                .message()
                .contains("not supported")
        );
    }

    #[test]
    fn test_new_codes_have_stable_names() {
        for (code, text) in [
            (
                ErrorCode::InvalidConversationId,
                r#"{"code":"invalid_conversation_id"}"#,
            ),
            (
                ErrorCode::UnsupportedConversation,
                r#"{"code":"unsupported_conversation"}"#,
            ),
            (
                ErrorCode::InvalidAccountId,
                r#"{"code":"invalid_account_id"}"#,
            ),
            (
                ErrorCode::WeakPassphrase {
                    weakness: Weakness::KeyboardRun,
                },
                r#"{"code":"weak_passphrase","weakness":"keyboard_run"}"#,
            ),
        ] {
            assert_eq!(serde_json::to_string(&code).ok().as_deref(), Some(text));
        }
    }
}
