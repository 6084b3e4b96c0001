//! Message semantics, outgoing side: builds the [`Content`] of each kind of 1:1 message the
//! way Session desktop does, together with the storage TTL to send it with.
//!
//! | kind | Content | disappearing fields | TTL |
//! | --- | --- | --- | --- |
//! | text | `dataMessage{body, quote, profile}` | yes | timer if after-send, else 14 d |
//! | reaction | `dataMessage{reaction{id, author, emoji, action}, profile}` | yes | same |
//! | expiration update | `dataMessage{flags = 2}` + new type/timer | yes (the new ones) | same |
//! | read receipt | `receiptMessage{READ, timestamps}` | no | 14 d |
//! | typing | `typingMessage{timestamp, action}` | no | 20 s |
//! | unsend | `unsendRequest{timestamp, author}` | no | 14 d |
//! | request accept | `messageRequestResponse{isApproved, profile}` | no | 14 d |
//!
//! Every Content also carries `sigTimestamp = sent timestamp`, as desktop sets it. A sync copy
//! ([`sync_copy`]) is the same Content with `dataMessage.syncTarget`, sent to the own swarm.
//! Pure: the sent timestamp is a parameter; encryption is [`Outgoing::encode`].
//!
//! Spec: docs/protocol.md §5.4, §5.5, §9; desktop `ts/session/messages/outgoing/*`.

use rand_core::CryptoRng;

use super::{
    AttachmentMeta, DEFAULT_TTL_MS, DisappearingSetting, Field, MessageError, MessageId,
    TYPING_TTL_MS, encode_for_1o1,
    limits::Side,
    proto::{
        Content, DataMessage, MessageRequestResponse, Reaction, ReceiptMessage, ReceiptType,
        TypingAction, TypingMessage, UnsendRequest,
    },
    semantics::{Profile, QuoteRef, ReactionChange},
};
use crate::identity::{AccountId, Identity};

/// A composed message: the Content, its sent timestamp (the envelope timestamp, which is
/// also the message's identity) and the storage TTL to `store` it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The message.
    pub content: Content,
    /// Sent timestamp (ms): pass it as the envelope timestamp.
    pub sent_timestamp_ms: u64,
    /// Storage TTL (ms) for the `store` request.
    pub ttl_ms: u64,
}

impl Outgoing {
    /// Encrypts and wraps this message from `sender` to `recipient` (the own Account ID for a
    /// sync copy): [`encode_for_1o1`] with this message's sent timestamp.
    ///
    /// # Errors
    ///
    /// The errors of [`encode_for_1o1`].
    pub fn encode<R: CryptoRng + ?Sized>(
        &self,
        sender: &Identity,
        recipient: &AccountId,
        rng: &mut R,
    ) -> Result<Vec<u8>, MessageError> {
        encode_for_1o1(
            sender,
            recipient,
            &self.content,
            self.sent_timestamp_ms,
            rng,
        )
    }
}

/// The user's switches for optional notices. Off means the notice is not sent at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendPrefs {
    /// Send read receipts.
    pub read_receipts: bool,
    /// Send typing indicators.
    pub typing_indicators: bool,
}

/// A text message to compose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextDraft {
    /// The text: not blank, at most [`MAX_OUTGOING_BODY_CHARS`](super::MAX_OUTGOING_BODY_CHARS).
    pub body: String,
    /// The message replied to.
    pub quote: Option<QuoteRef>,
    /// The own profile to send along.
    pub profile: Option<Profile>,
    /// The conversation's disappearing setting (must be one Session offers).
    pub disappearing: DisappearingSetting,
    /// Attachments, already uploaded (at most [`MAX_ATTACHMENTS`](super::MAX_ATTACHMENTS));
    /// with any, the body may be empty.
    pub attachments: Vec<AttachmentMeta>,
}

/// A Content with `sigTimestamp` set, as desktop builds every one.
fn base_content(sent_ms: u64) -> Content {
    Content {
        sig_timestamp: Some(sent_ms),
        ..Content::default()
    }
}

/// A disappearing-capable message: `data` with the setting's type/timer and matching TTL.
fn expirable(data: DataMessage, setting: DisappearingSetting, sent_ms: u64) -> Outgoing {
    let (mode, timer) = setting.to_content_fields();
    Outgoing {
        content: Content {
            data_message: Some(data),
            expiration_type: Some(mode as i32),
            expiration_timer: Some(timer),
            ..base_content(sent_ms)
        },
        sent_timestamp_ms: sent_ms,
        ttl_ms: setting.storage_ttl_ms(),
    }
}

/// Composes a visible text message.
///
/// # Errors
///
/// [`MessageError::InvalidOutgoing`] with [`Field::Body`] (blank or too long),
/// [`Field::QuoteText`], [`Field::TargetTimestamp`] (quote of timestamp 0) or
/// [`Field::Timer`] (a setting Session does not offer).
pub fn compose_text(draft: &TextDraft, sent_ms: u64) -> Result<Outgoing, MessageError> {
    if draft.attachments.len() > super::MAX_ATTACHMENTS {
        return Err(MessageError::InvalidOutgoing(Field::Attachments));
    }
    if draft.attachments.is_empty() || !draft.body.is_empty() {
        Side::Outgoing.check_body(&draft.body)?;
    }
    if let Some(quote) = &draft.quote {
        Side::Outgoing.check_target_timestamp(quote.target.sent_timestamp_ms)?;
        if let Some(text) = &quote.text {
            Side::Outgoing.check_quote_text(text)?;
        }
    }
    let setting = draft.disappearing.check_outgoing()?;
    let data = DataMessage {
        body: Some(draft.body.clone()).filter(|b| !b.is_empty()),
        attachments: draft
            .attachments
            .iter()
            .map(AttachmentMeta::to_proto)
            .collect(),
        quote: draft.quote.as_ref().map(QuoteRef::to_proto),
        profile: draft.profile.as_ref().map(Profile::to_proto),
        profile_key: draft.profile.as_ref().and_then(Profile::key_proto),
        ..DataMessage::default()
    };
    Ok(expirable(data, setting, sent_ms))
}

/// Composes an emoji reaction to (or its removal from) the message `target`.
///
/// # Errors
///
/// [`MessageError::InvalidOutgoing`] with [`Field::Emoji`], [`Field::TargetTimestamp`] or
/// [`Field::Timer`].
pub fn compose_reaction(
    target: &MessageId,
    emoji: &str,
    change: ReactionChange,
    profile: Option<&Profile>,
    disappearing: DisappearingSetting,
    sent_ms: u64,
) -> Result<Outgoing, MessageError> {
    Side::Outgoing.check_emoji(emoji)?;
    Side::Outgoing.check_target_timestamp(target.sent_timestamp_ms)?;
    let setting = disappearing.check_outgoing()?;
    let data = DataMessage {
        reaction: Some(Reaction {
            id: target.sent_timestamp_ms,
            author: target.author.to_string(),
            emoji: Some(emoji.to_owned()),
            action: change.to_proto() as i32,
        }),
        profile: profile.map(Profile::to_proto),
        profile_key: profile.and_then(Profile::key_proto),
        ..DataMessage::default()
    };
    Ok(expirable(data, setting, sent_ms))
}

/// Composes the announcement of a new disappearing-messages setting for the conversation
/// (`flags = EXPIRATION_TIMER_UPDATE` with the new type/timer). Sent with the new setting's
/// TTL, as desktop does.
///
/// # Errors
///
/// [`MessageError::InvalidOutgoing`]`(`[`Field::Timer`]`)` for a setting Session does not
/// offer.
pub fn compose_expiration_update(
    setting: DisappearingSetting,
    sent_ms: u64,
) -> Result<Outgoing, MessageError> {
    let setting = setting.check_outgoing()?;
    let data = DataMessage {
        flags: Some(DataMessage::FLAG_EXPIRATION_TIMER_UPDATE),
        ..DataMessage::default()
    };
    Ok(expirable(data, setting, sent_ms))
}

/// Composes a read receipt for the received messages with these sent timestamps, or `None`
/// if the user switched read receipts off.
///
/// # Errors
///
/// [`MessageError::InvalidOutgoing`] with [`Field::ReceiptTimestamps`] (none, or more than
/// [`MAX_RECEIPT_TIMESTAMPS`](super::MAX_RECEIPT_TIMESTAMPS): split them) or
/// [`Field::TargetTimestamp`] (a zero timestamp).
pub fn compose_read_receipt(
    prefs: &SendPrefs,
    timestamps: &[u64],
    sent_ms: u64,
) -> Result<Option<Outgoing>, MessageError> {
    if !prefs.read_receipts {
        return Ok(None);
    }
    Side::Outgoing.check_receipt_timestamps(timestamps)?;
    Ok(Some(Outgoing {
        content: Content {
            receipt_message: Some(ReceiptMessage {
                r#type: ReceiptType::Read as i32,
                timestamp: timestamps.to_vec(),
            }),
            ..base_content(sent_ms)
        },
        sent_timestamp_ms: sent_ms,
        ttl_ms: DEFAULT_TTL_MS,
    }))
}

/// Composes a typing indicator (STARTED or STOPPED, stamped `sent_ms`), or `None` if the
/// user switched typing indicators off.
pub fn compose_typing(prefs: &SendPrefs, started: bool, sent_ms: u64) -> Option<Outgoing> {
    if !prefs.typing_indicators {
        return None;
    }
    let action = if started {
        TypingAction::Started
    } else {
        TypingAction::Stopped
    };
    Some(Outgoing {
        content: Content {
            typing_message: Some(TypingMessage {
                timestamp: sent_ms,
                action: action as i32,
            }),
            ..base_content(sent_ms)
        },
        sent_timestamp_ms: sent_ms,
        ttl_ms: TYPING_TTL_MS,
    })
}

/// Composes a request to delete the own message `target` everywhere ("unsend"). Send it to
/// the other party and to the own swarm, and delete the stored copies by hash.
///
/// # Errors
///
/// [`MessageError::InvalidOutgoing`] with [`Field::UnsendAuthor`] if `target` was not
/// written by `own` (receivers reject those), or [`Field::TargetTimestamp`].
pub fn compose_unsend(
    own: &AccountId,
    target: &MessageId,
    sent_ms: u64,
) -> Result<Outgoing, MessageError> {
    if target.author != *own {
        return Err(MessageError::InvalidOutgoing(Field::UnsendAuthor));
    }
    Side::Outgoing.check_target_timestamp(target.sent_timestamp_ms)?;
    Ok(Outgoing {
        content: Content {
            unsend_request: Some(UnsendRequest {
                timestamp: target.sent_timestamp_ms,
                author: target.author.to_string(),
            }),
            ..base_content(sent_ms)
        },
        sent_timestamp_ms: sent_ms,
        ttl_ms: DEFAULT_TTL_MS,
    })
}

/// Composes the acceptance of a message request (`isApproved = true`, with the own profile).
/// Desktop sends nothing on decline.
pub fn compose_request_accept(profile: Option<&Profile>, sent_ms: u64) -> Outgoing {
    Outgoing {
        content: Content {
            message_request_response: Some(MessageRequestResponse {
                is_approved: true,
                profile_key: profile.and_then(Profile::key_proto),
                profile: profile.map(Profile::to_proto),
            }),
            ..base_content(sent_ms)
        },
        sent_timestamp_ms: sent_ms,
        ttl_ms: DEFAULT_TTL_MS,
    }
}

/// The sync copy of `original`, sent to conversation `to`: the same Content, sent timestamp
/// and TTL, with `dataMessage.syncTarget = to`. Encode it to the own Account ID.
///
/// # Errors
///
/// [`MessageError::InvalidOutgoing`]`(`[`Field::SyncTarget`]`)` if `original` has no
/// `dataMessage` (receipts, typing, unsend and request responses are not synced this way).
pub fn sync_copy(original: &Outgoing, to: &AccountId) -> Result<Outgoing, MessageError> {
    let mut copy = original.clone();
    let data = copy
        .content
        .data_message
        .as_mut()
        .ok_or(MessageError::InvalidOutgoing(Field::SyncTarget))?;
    data.sync_target = Some(to.to_string());
    Ok(copy)
}
