//! Message semantics, incoming side: [`classify`] turns a decoded, authenticated
//! [`Incoming`] into one typed [`Event`] — text, reaction, read receipt, typing indicator,
//! unsend, disappearing-setting change, message-request response, sync copy, screenshot
//! notice — or [`Event::Unsupported`] for what Umbra cannot show yet (calls, group and
//! community invitations, unknown kinds), with the text that came
//! along, so the conversation can show a placeholder instead of dropping it silently.
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
    AttachmentMeta, DisappearingSetting, Incoming, MessageError, MessageId,
    attachments::read_pointers,
    limits::Side,
    proto::{
        Content, DataExtractionType, DataMessage, LokiProfile, Quote, Reaction, ReactionAction,
        ReceiptType, TypingAction,
    },
};
use crate::identity::AccountId;

/// A display name as carried in `LokiProfile.displayName`: non-blank, at most
/// [`MAX_DISPLAY_NAME_BYTES`](super::MAX_DISPLAY_NAME_BYTES) bytes (a longer received one is
/// cut to that), with when it last changed (`LokiProfile.lastProfileUpdateSeconds`, 0 when
/// unknown).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    display_name: String,
    updated_s: u64,
    picture: Option<ProfilePicture>,
}

/// A profile picture as a profile carries it: where the encrypted picture is
/// (`LokiProfile.profilePicture`) and the key that opens it (`profileKey`, 32 bytes).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProfilePicture {
    /// The download URL (a file server URL).
    pub url: String,
    /// The profile key (AES-256-GCM).
    pub key: Vec<u8>,
}

impl core::fmt::Debug for ProfilePicture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ProfilePicture(<redacted>)")
    }
}

impl Profile {
    /// A profile to send with the given display name (change time unknown: 0; see
    /// [`Profile::updated_at`]).
    ///
    /// # Errors
    ///
    /// [`MessageError::InvalidOutgoing`]`(`[`Field::DisplayName`](super::Field::DisplayName)`)`
    /// if the name is blank or longer than 100 bytes.
    pub fn new(display_name: &str) -> Result<Profile, MessageError> {
        Side::Outgoing.check_display_name(display_name)?;
        Ok(Profile {
            display_name: display_name.to_owned(),
            updated_s: 0,
            picture: None,
        })
    }

    /// This profile with (or without) a picture.
    pub fn with_picture(self, picture: Option<ProfilePicture>) -> Profile {
        Profile { picture, ..self }
    }

    /// The profile picture, if the profile has one.
    pub fn picture(&self) -> Option<&ProfilePicture> {
        self.picture.as_ref()
    }

    /// This profile, last changed at `updated_s` (Unix seconds; 0 for unknown). Sent as
    /// `lastProfileUpdateSeconds`, which receivers compare before they apply a name
    /// (session-desktop `ts/models/profile.ts`, `shouldApplyChange`).
    pub fn updated_at(self, updated_s: u64) -> Profile {
        Profile { updated_s, ..self }
    }

    /// The display name (untrusted text when received: render as text only).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// When the profile last changed, Unix seconds (0: not sent, an older client).
    pub fn updated_s(&self) -> u64 {
        self.updated_s
    }

    /// The `LokiProfile` carrying this profile (`lastProfileUpdateSeconds` only when known).
    pub(super) fn to_proto(&self) -> LokiProfile {
        LokiProfile {
            display_name: Some(self.display_name.clone()),
            profile_picture: self.picture.as_ref().map(|p| p.url.clone()),
            last_profile_update_seconds: Some(self.updated_s).filter(|&s| s != 0),
        }
    }

    /// The `profileKey` sent next to this profile (only with a picture).
    pub(super) fn key_proto(&self) -> Option<Vec<u8>> {
        self.picture.as_ref().map(|p| p.key.clone())
    }

    /// Reads a received `LokiProfile`; `None` if it has no (or a blank) display name. A name
    /// over [`MAX_DISPLAY_NAME_BYTES`](super::MAX_DISPLAY_NAME_BYTES) is cut at a character
    /// boundary, as libsession's `set_name_truncated` (`utf8_truncate`,
    /// `src/config/user_profile.cpp`) stores it: the message is kept.
    fn from_proto(profile: Option<&LokiProfile>, key: Option<&[u8]>) -> Option<Profile> {
        let profile = profile?;
        // A picture needs both its URL and a 32-byte key; anything else is no picture.
        let picture = match (profile.profile_picture.as_deref(), key) {
            (Some(url), Some(key))
                if !url.is_empty()
                    && url.len() <= super::MAX_URL_BYTES
                    && key.len() == crate::attachment::profile::PROFILE_KEY_BYTES =>
            {
                Some(ProfilePicture {
                    url: url.to_owned(),
                    key: key.to_vec(),
                })
            }
            _ => None,
        };
        let name = profile
            .display_name
            .as_deref()
            .filter(|name| !name.trim().is_empty())?;
        let name = truncate_utf8(name, super::MAX_DISPLAY_NAME_BYTES);
        Some(Profile {
            display_name: name.to_owned(),
            updated_s: profile.last_profile_update_seconds.unwrap_or(0),
            picture,
        })
    }
}

/// Whether a received profile changed at `incoming_s` replaces the stored one changed at
/// `stored_s` (both Unix seconds, 0 = unknown), as session-desktop's `shouldApplyChange`
/// (`ts/models/profile.ts`) decides for a 1:1 contact: when it is newer, or when both are 0
/// (the transition rule for clients that send no timestamp).
pub fn profile_is_newer(incoming_s: u64, stored_s: u64) -> bool {
    (incoming_s == 0 && stored_s == 0) || stored_s < incoming_s
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

/// Kinds of incoming content Umbra does not handle yet. The user content among them is kept
/// as a placeholder in the conversation ([`UnsupportedKind::is_user_content`]), so nothing a
/// peer sent disappears silently; control and config kinds stay invisible.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnsupportedKind {
    /// An invitation to a community.
    CommunityInvitation {
        /// The community's name (untrusted, cut at 100 bytes).
        name: String,
    },
    /// An invitation to a group (`groupUpdateMessage.inviteMessage`, or a promotion to admin).
    GroupInvitation {
        /// The group's name (untrusted, cut at 100 bytes).
        name: String,
    },
    /// Another group control message (not user content; groups are not supported yet).
    GroupControl,
    /// A config message wrapped for old clients (not user content).
    SharedConfig,
    /// Nothing Umbra recognises (empty content, or a kind added after this version).
    Unknown,
}

impl UnsupportedKind {
    /// Whether this is something a person sent to read (kept as a placeholder message), not
    /// a control or config message.
    pub fn is_user_content(&self) -> bool {
        !matches!(
            self,
            UnsupportedKind::GroupControl | UnsupportedKind::SharedConfig
        )
    }
}

/// Longest call id accepted (a UUID has 36 characters); a call message with a longer one
/// is malformed.
pub const MAX_CALL_ID_BYTES: usize = 64;

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
        /// Its attachments (files, images, voice messages); then `body` may be empty.
        attachments: Vec<AttachmentMeta>,
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
    /// Call signalling (any `CallMessage`): for [`crate::call::Calls`], never stored as it
    /// is (the conversation's call entries are written from the calls' outcomes).
    Call(crate::call::CallSignal),
    /// Content Umbra cannot show yet.
    Unsupported {
        /// What it is.
        what: UnsupportedKind,
        /// The text that came with it. Untrusted, size-checked like a body.
        text: Option<String>,
        /// The sender's profile, if sent along.
        profile: Option<Profile>,
        /// The message's own disappearing setting (off when it has none or an invalid one).
        expiry: DisappearingSetting,
    },
}

/// Classifies an authenticated incoming message for the own account `own`.
///
/// # Errors
///
/// - [`MessageError::ForeignSyncTarget`]: a sync copy not sent by `own`.
/// - [`MessageError::ForeignUnsend`]: an unsend request for another author's message.
/// - [`MessageError::InvalidIncoming`]: a body, quote, emoji, timer or receipt list over its
///   limit, or a zero message reference. (A display name over its limit is cut, not refused.)
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
    if let Some(call) = &content.call_message {
        return crate::call::CallSignal::from_proto(call)
            .map(Event::Call)
            .map_err(|_| MessageError::Malformed {
                what: "call message",
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
            profile: Profile::from_proto(
                response.profile.as_ref(),
                response.profile_key.as_deref(),
            ),
        });
    }
    let what = if content.shared_config_message.is_some() {
        UnsupportedKind::SharedConfig
    } else {
        UnsupportedKind::Unknown
    };
    Ok(unsupported(what, None, None, content))
}

/// An [`Event::Unsupported`] with the content's own disappearing setting (off if invalid:
/// a placeholder is never dropped for its timer).
fn unsupported(
    what: UnsupportedKind,
    text: Option<String>,
    profile: Option<Profile>,
    content: &Content,
) -> Event {
    Event::Unsupported {
        what,
        text,
        profile,
        expiry: DisappearingSetting::from_content_fields(
            content.expiration_type,
            content.expiration_timer,
        )
        .unwrap_or_default(),
    }
}

/// A group or community name as shown in a placeholder: cut at
/// [`MAX_DISPLAY_NAME_BYTES`](super::MAX_DISPLAY_NAME_BYTES) at a character boundary.
fn invitation_name(name: Option<&str>) -> String {
    truncate_utf8(
        name.unwrap_or_default().trim(),
        super::MAX_DISPLAY_NAME_BYTES,
    )
    .to_owned()
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
    let profile = || Profile::from_proto(data.profile.as_ref(), data.profile_key.as_deref());
    if !data.attachments.is_empty() {
        // The text is the body, else the attachments' own captions (older clients).
        let body = match data.body.as_deref().filter(|b| !b.trim().is_empty()) {
            Some(body) => body.to_owned(),
            None => data
                .attachments
                .iter()
                .filter_map(|a| a.caption.as_deref())
                .filter(|c| !c.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        };
        if !body.is_empty() {
            Side::Incoming.check_body(&body)?;
        }
        return Ok(Event::Text {
            body,
            quote: data.quote.as_ref().map(QuoteRef::from_proto).transpose()?,
            profile: profile(),
            expiry: DisappearingSetting::from_content_fields(
                content.expiration_type,
                content.expiration_timer,
            )?,
            attachments: read_pointers(&data.attachments),
        });
    }
    if let Some(invitation) = &data.open_group_invitation {
        let what = UnsupportedKind::CommunityInvitation {
            name: invitation_name(Some(&invitation.name)),
        };
        return Ok(unsupported(what, None, profile(), content));
    }
    if let Some(group) = &data.group_update_message {
        let what = match group
            .invite_message
            .as_ref()
            .or(group.promote_message.as_ref())
        {
            Some(invite) => UnsupportedKind::GroupInvitation {
                name: invitation_name(invite.name.as_deref()),
            },
            None => UnsupportedKind::GroupControl,
        };
        return Ok(unsupported(what, None, profile(), content));
    }
    let Some(body) = data.body.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(unsupported(
            UnsupportedKind::Unknown,
            None,
            profile(),
            content,
        ));
    };
    Side::Incoming.check_body(body)?;
    Ok(Event::Text {
        body: body.to_owned(),
        quote: data.quote.as_ref().map(QuoteRef::from_proto).transpose()?,
        profile: Profile::from_proto(data.profile.as_ref(), data.profile_key.as_deref()),
        expiry: DisappearingSetting::from_content_fields(
            content.expiration_type,
            content.expiration_timer,
        )?,
        attachments: Vec::new(),
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
        profile: Profile::from_proto(data.profile.as_ref(), data.profile_key.as_deref()),
    })
}

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Parses an Account ID (66 hex characters) from a message field.
fn parse_account(hex: &str, what: &'static str) -> Result<AccountId, MessageError> {
    hex.parse().map_err(|_| MessageError::Malformed { what })
}
