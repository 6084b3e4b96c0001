//! Message semantics, incoming side: [`classify`] turns a decoded, authenticated
//! [`Incoming`] into one typed [`Event`] — text, reaction, read receipt, typing indicator,
//! unsend, disappearing-setting change, message-request response, sync copy, screenshot
//! notice — or [`Event::Unsupported`] for what Umbra cannot show yet (calls, attachments),
//! so the UI can still say "unsupported message" instead of dropping it silently.
//!
//! Everything in the content is the peer's data: sizes are capped ([`super::limits`]),
//! references are parsed into [`MessageId`]s, and the two permission rules are enforced here:
//! only the author may unsend a message, and only the own account may send sync copies.
//!
//! Which part of a `Content` counts when several are set follows desktop's order:
//! `dataMessage` first, then receipt, typing, call, data extraction, unsend, request response.
//!
//! Spec: docs/protocol.md §5.4, §5.5, §9.

use super::{
    DisappearingSetting, Incoming, MessageError, MessageId,
    limits::Side,
    proto::{
        Content, DataExtractionType, DataMessage, LokiProfile, Quote, Reaction, ReactionAction,
        ReceiptType, TypingAction,
    },
};
use crate::identity::AccountId;

/// A display name as carried in `LokiProfile.displayName`: non-blank, at most
/// [`MAX_DISPLAY_NAME_BYTES`](super::MAX_DISPLAY_NAME_BYTES) bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    display_name: String,
}

impl Profile {
    /// A profile to send with the given display name.
    ///
    /// # Errors
    ///
    /// [`MessageError::InvalidOutgoing`]`(`[`Field::DisplayName`](super::Field::DisplayName)`)`
    /// if the name is blank or longer than 100 bytes.
    pub fn new(display_name: &str) -> Result<Profile, MessageError> {
        Side::Outgoing.check_display_name(display_name)?;
        Ok(Profile {
            display_name: display_name.to_owned(),
        })
    }

    /// The display name (untrusted text when received: render as text only).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The `LokiProfile` carrying this profile.
    pub(super) fn to_proto(&self) -> LokiProfile {
        LokiProfile {
            display_name: Some(self.display_name.clone()),
            ..LokiProfile::default()
        }
    }

    /// Reads a received `LokiProfile`; `None` if it has no (or a blank) display name.
    fn from_proto(profile: Option<&LokiProfile>) -> Result<Option<Profile>, MessageError> {
        let Some(name) = profile
            .and_then(|p| p.display_name.as_deref())
            .filter(|name| !name.trim().is_empty())
        else {
            return Ok(None);
        };
        Side::Incoming.check_display_name(name)?;
        Ok(Some(Profile {
            display_name: name.to_owned(),
        }))
    }
}

/// A reply's reference to the quoted message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuoteRef {
    /// The quoted message: its author and sent timestamp.
    pub target: MessageId,
    /// The quoted text, as older clients send it (current desktop sends none; look the
    /// message up by `target` instead).
    pub text: Option<String>,
}

impl QuoteRef {
    /// The `DataMessage.Quote` for this reference.
    pub(super) fn to_proto(&self) -> Quote {
        Quote {
            id: self.target.sent_timestamp_ms,
            author: self.target.author.to_string(),
            text: self.text.clone(),
        }
    }

    /// Checks and reads a received quote.
    fn from_proto(quote: &Quote) -> Result<QuoteRef, MessageError> {
        Side::Incoming.check_target_timestamp(quote.id)?;
        if let Some(text) = &quote.text {
            Side::Incoming.check_quote_text(text)?;
        }
        Ok(QuoteRef {
            target: MessageId {
                author: parse_account(&quote.author, "quote author")?,
                sent_timestamp_ms: quote.id,
            },
            text: quote.text.clone().filter(|t| !t.is_empty()),
        })
    }
}

/// Whether a reaction is added or taken back (`Reaction.Action` REACT / REMOVE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReactionChange {
    /// Add the emoji (REACT).
    Add,
    /// Remove the emoji (REMOVE).
    Remove,
}

impl ReactionChange {
    /// The wire action.
    pub(super) fn to_proto(self) -> ReactionAction {
        match self {
            ReactionChange::Add => ReactionAction::React,
            ReactionChange::Remove => ReactionAction::Remove,
        }
    }
}

/// What a data-extraction notification reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataExtractionKind {
    /// The other side took a screenshot.
    Screenshot,
    /// The other side saved an attachment.
    MediaSaved,
}

/// Kinds of incoming content Umbra does not handle yet; shown as "unsupported message".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsupportedKind {
    /// Call signalling.
    Call,
    /// A message with attachments (files, images, voice).
    Attachments,
    /// An invitation to a community.
    CommunityInvitation,
    /// A config message wrapped for old clients.
    SharedConfig,
    /// Nothing Umbra recognises (empty content, or a kind added after this version).
    Unknown,
}

/// The meaning of one incoming message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A visible text message.
    Text {
        /// The text (untrusted: render as text only).
        body: String,
        /// The message this one replies to.
        quote: Option<QuoteRef>,
        /// The sender's profile, if sent along.
        profile: Option<Profile>,
        /// The message's own disappearing setting.
        expiry: DisappearingSetting,
    },
    /// An emoji reaction added to or removed from a message.
    Reaction {
        /// The message reacted to.
        target: MessageId,
        /// The emoji (untrusted, size-checked).
        emoji: String,
        /// Added or removed.
        change: ReactionChange,
        /// The sender's profile, if sent along.
        profile: Option<Profile>,
    },
    /// The sender read the messages with these sent timestamps (messages of the receiver).
    ReadReceipt {
        /// Sent timestamps (ms) of the read messages.
        timestamps: Vec<u64>,
    },
    /// The sender started or stopped typing.
    Typing {
        /// `true` for STARTED, `false` for STOPPED.
        started: bool,
    },
    /// The sender deleted one of its own messages for everyone.
    Unsend {
        /// The message to delete; its author is always the sender.
        target: MessageId,
    },
    /// The sender changed the conversation's disappearing-messages setting.
    ExpirationUpdate {
        /// The new setting.
        setting: DisappearingSetting,
    },
    /// The sender answered a message request of the receiver.
    RequestResponse {
        /// Whether the request was accepted.
        approved: bool,
        /// The sender's profile, if sent along.
        profile: Option<Profile>,
    },
    /// A copy of a message another device of the own account sent to `to`.
    SyncedOutgoing {
        /// The conversation the message was really sent to.
        to: AccountId,
        /// What was sent.
        inner: Box<Event>,
    },
    /// The sender took a screenshot or saved media.
    DataExtraction {
        /// Which.
        kind: DataExtractionKind,
    },
    /// Content Umbra cannot show yet.
    Unsupported {
        /// What it is.
        what: UnsupportedKind,
    },
}

/// Classifies an authenticated incoming message for the own account `own`.
///
/// # Errors
///
/// - [`MessageError::ForeignSyncTarget`]: a sync copy not sent by `own`.
/// - [`MessageError::ForeignUnsend`]: an unsend request for another author's message.
/// - [`MessageError::InvalidIncoming`]: a body, quote, emoji, display name, timer or receipt
///   list over its limit, or a zero message reference.
/// - [`MessageError::Malformed`]: an unparsable Account ID or an unknown required enum value.
pub fn classify(incoming: &Incoming, own: &AccountId) -> Result<Event, MessageError> {
    let content = &incoming.content;
    if let Some(data) = &content.data_message {
        // Checked first: a sync target from anyone else is an attack, whatever it carries.
        let sync_target = incoming.sync_target(own)?;
        let event = classify_data_message(data, content)?;
        return Ok(match sync_target {
            Some(to) => Event::SyncedOutgoing {
                to,
                inner: Box::new(event),
            },
            None => event,
        });
    }
    if let Some(receipt) = &content.receipt_message {
        if receipt.r#type != ReceiptType::Read as i32 {
            return Err(MessageError::Malformed {
                what: "receipt type",
            });
        }
        Side::Incoming.check_receipt_timestamps(&receipt.timestamp)?;
        return Ok(Event::ReadReceipt {
            timestamps: receipt.timestamp.clone(),
        });
    }
    if let Some(typing) = &content.typing_message {
        let started = match TypingAction::try_from(typing.action) {
            Ok(TypingAction::Started) => true,
            Ok(TypingAction::Stopped) => false,
            Err(_) => {
                return Err(MessageError::Malformed {
                    what: "typing action",
                });
            }
        };
        return Ok(Event::Typing { started });
    }
    if content.call_message.is_some() {
        return Ok(Event::Unsupported {
            what: UnsupportedKind::Call,
        });
    }
    if let Some(notice) = &content.data_extraction_notification {
        let kind = match DataExtractionType::try_from(notice.r#type) {
            Ok(DataExtractionType::Screenshot) => DataExtractionKind::Screenshot,
            Ok(DataExtractionType::MediaSaved) => DataExtractionKind::MediaSaved,
            Err(_) => {
                return Err(MessageError::Malformed {
                    what: "data extraction type",
                });
            }
        };
        return Ok(Event::DataExtraction { kind });
    }
    if let Some(target) = incoming.unsend_target()? {
        Side::Incoming.check_target_timestamp(target.sent_timestamp_ms)?;
        return Ok(Event::Unsend { target });
    }
    if let Some(response) = &content.message_request_response {
        return Ok(Event::RequestResponse {
            approved: response.is_approved,
            profile: Profile::from_proto(response.profile.as_ref())?,
        });
    }
    let what = if content.shared_config_message.is_some() {
        UnsupportedKind::SharedConfig
    } else {
        UnsupportedKind::Unknown
    };
    Ok(Event::Unsupported { what })
}

/// Classifies a `dataMessage` (without its sync target).
fn classify_data_message(data: &DataMessage, content: &Content) -> Result<Event, MessageError> {
    if data.flags.unwrap_or(0) & DataMessage::FLAG_EXPIRATION_TIMER_UPDATE != 0 {
        return Ok(Event::ExpirationUpdate {
            setting: DisappearingSetting::from_content_fields(
                content.expiration_type,
                content.expiration_timer,
            )?,
        });
    }
    if let Some(reaction) = &data.reaction {
        return classify_reaction(reaction, data);
    }
    if !data.attachments.is_empty() {
        return Ok(Event::Unsupported {
            what: UnsupportedKind::Attachments,
        });
    }
    if data.open_group_invitation.is_some() {
        return Ok(Event::Unsupported {
            what: UnsupportedKind::CommunityInvitation,
        });
    }
    let Some(body) = data.body.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(Event::Unsupported {
            what: UnsupportedKind::Unknown,
        });
    };
    Side::Incoming.check_body(body)?;
    Ok(Event::Text {
        body: body.to_owned(),
        quote: data.quote.as_ref().map(QuoteRef::from_proto).transpose()?,
        profile: Profile::from_proto(data.profile.as_ref())?,
        expiry: DisappearingSetting::from_content_fields(
            content.expiration_type,
            content.expiration_timer,
        )?,
    })
}

/// Classifies a `dataMessage.reaction`.
fn classify_reaction(reaction: &Reaction, data: &DataMessage) -> Result<Event, MessageError> {
    let change = match ReactionAction::try_from(reaction.action) {
        Ok(ReactionAction::React) => ReactionChange::Add,
        Ok(ReactionAction::Remove) => ReactionChange::Remove,
        Err(_) => {
            return Err(MessageError::Malformed {
                what: "reaction action",
            });
        }
    };
    let emoji = reaction.emoji.as_deref().unwrap_or_default();
    Side::Incoming.check_emoji(emoji)?;
    Side::Incoming.check_target_timestamp(reaction.id)?;
    Ok(Event::Reaction {
        target: MessageId {
            author: parse_account(&reaction.author, "reaction author")?,
            sent_timestamp_ms: reaction.id,
        },
        emoji: emoji.to_owned(),
        change,
        profile: Profile::from_proto(data.profile.as_ref())?,
    })
}

/// Parses an Account ID (66 hex characters) from a message field.
fn parse_account(hex: &str, what: &'static str) -> Result<AccountId, MessageError> {
    hex.parse().map_err(|_| MessageError::Malformed { what })
}
