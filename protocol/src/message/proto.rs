//! Message layer, wire part: the proto2 messages Session clients exchange
//! (`SessionProtos.proto` / `SignalService.proto` and `WebSocketResources.proto`), as
//! hand-written [`prost`] structs. Field numbers follow docs/protocol.md §5.4 exactly.
//!
//! - `required` fields are plain (non-`Option`) fields, so they are always encoded; a required
//!   field missing on decode reads as its default value.
//! - Fields are declared in field-number order, so encoding matches the C++ serializer byte for
//!   byte.
//! - Unknown fields (Pro proofs, legacy group fields, future additions) are skipped on decode;
//!   unknown enum values are kept as the raw `i32`.
//! - Enums are top-level types named after their message (`EnvelopeType`, `TypingAction`, …).
//! - `Debug` never prints key material: profile keys and attachment keys/digests show only
//!   their length.
//!
//! Spec: docs/protocol.md §5.4, §5.5, §9.

use core::fmt;

/// `Envelope.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum EnvelopeType {
    /// A 1:1 (or sync / note-to-self) message whose `content` is sealed to the recipient.
    SessionMessage = 6,
    /// A legacy closed-group message (deprecated; not handled by Umbra).
    ClosedGroupMessage = 7,
}

/// The envelope stored in a swarm: sender timestamp plus the encrypted, padded `Content`.
///
/// Only `content` is authenticated (by the signature inside it). `source`, `timestamp`,
/// `sourceDevice` and `serverTimestamp` are outer, unauthenticated fields.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Envelope {
    /// Envelope type ([`EnvelopeType`]); required.
    #[prost(enumeration = "EnvelopeType", required, tag = "1")]
    pub r#type: i32,
    /// Claimed sender (66 hex characters or empty); unauthenticated and ignored for 1:1.
    /// Declared as bytes (same wire format as proto2 `string`) so invalid UTF-8 in this ignored
    /// field cannot make a message undecodable.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub source: Option<Vec<u8>>,
    /// Sender's timestamp in milliseconds; required. Identifies the message (with the sender).
    #[prost(uint64, required, tag = "5")]
    pub timestamp: u64,
    /// Sender's device number (libsession sends 1).
    #[prost(uint32, optional, tag = "7")]
    pub source_device: Option<u32>,
    /// The encrypted, padded, serialized [`Content`].
    #[prost(bytes = "vec", optional, tag = "8")]
    pub content: Option<Vec<u8>>,
    /// Timestamp set by a server (communities); milliseconds.
    #[prost(uint64, optional, tag = "10")]
    pub server_timestamp: Option<u64>,
    /// Session Pro signature over `content` (64 bytes; a decoy when the sender has no Pro key).
    #[prost(bytes = "vec", optional, tag = "11")]
    pub pro_sig: Option<Vec<u8>>,
}

/// `WebSocketMessage.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WebSocketMessageType {
    /// Unset.
    Unknown = 0,
    /// A request; the only kind used to wrap envelopes.
    Request = 1,
    /// A response (unused in storage data).
    Response = 2,
}

/// The request half of a [`WebSocketMessage`]; `body` carries the serialized [`Envelope`].
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WebSocketRequestMessage {
    /// HTTP-like verb; libsession sends `""` (old desktop `"PUT"`). Ignored by receivers.
    #[prost(string, optional, tag = "1")]
    pub verb: Option<String>,
    /// HTTP-like path; libsession sends `""` (old desktop `"/api/v1/message"`). Ignored.
    #[prost(string, optional, tag = "2")]
    pub path: Option<String>,
    /// The serialized [`Envelope`].
    #[prost(bytes = "vec", optional, tag = "3")]
    pub body: Option<Vec<u8>>,
    /// Request id; libsession sends 0.
    #[prost(uint64, optional, tag = "4")]
    pub request_id: Option<u64>,
    /// Headers (unused).
    #[prost(string, repeated, tag = "5")]
    pub headers: Vec<String>,
}

/// Outer wrapper of 1:1 envelopes in storage `data` (a legacy of Signal's websocket transport).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WebSocketMessage {
    /// [`WebSocketMessageType`]; `Request` when wrapping an envelope.
    #[prost(enumeration = "WebSocketMessageType", optional, tag = "1")]
    pub r#type: Option<i32>,
    /// The request carrying the envelope.
    #[prost(message, optional, tag = "2")]
    pub request: Option<WebSocketRequestMessage>,
}

/// `Content.ExpirationType`: the disappearing-message mode of this message (§9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ExpirationType {
    /// Not disappearing / unknown.
    Unknown = 0,
    /// The timer starts when the recipient reads the message.
    DeleteAfterRead = 1,
    /// The timer starts when the message is sent.
    DeleteAfterSend = 2,
}

/// The decrypted, unpadded payload of an envelope. Exactly one of the message fields is
/// normally set.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Content {
    /// A visible message (text, attachments, quote, reaction, profile, …).
    #[prost(message, optional, tag = "1")]
    pub data_message: Option<DataMessage>,
    /// Call signalling (WebRTC); typed and run by [`crate::call`].
    #[prost(message, optional, tag = "3")]
    pub call_message: Option<CallMessage>,
    /// Read receipts.
    #[prost(message, optional, tag = "5")]
    pub receipt_message: Option<ReceiptMessage>,
    /// Typing indicator.
    #[prost(message, optional, tag = "6")]
    pub typing_message: Option<TypingMessage>,
    /// Screenshot / media-saved notification.
    #[prost(message, optional, tag = "8")]
    pub data_extraction_notification: Option<DataExtractionNotification>,
    /// Request to delete an earlier message ("unsend"; desktop calls it `unsendMessage`).
    #[prost(message, optional, tag = "9")]
    pub unsend_request: Option<UnsendRequest>,
    /// Acceptance of a message request.
    #[prost(message, optional, tag = "10")]
    pub message_request_response: Option<MessageRequestResponse>,
    /// A config message wrapped for old clients (only inside config wrapping, §10).
    #[prost(message, optional, tag = "11")]
    pub shared_config_message: Option<SharedConfigMessage>,
    /// Disappearing mode ([`ExpirationType`]).
    #[prost(enumeration = "ExpirationType", optional, tag = "12")]
    pub expiration_type: Option<i32>,
    /// Disappearing timer in seconds.
    #[prost(uint32, optional, tag = "13")]
    pub expiration_timer: Option<u32>,
    /// The sent timestamp (ms), inside the signed content: a 1:1 message is dropped when it is
    /// set (non-zero) and differs from `Envelope.timestamp` (desktop `ts/receiver/common.ts`).
    #[prost(uint64, optional, tag = "15")]
    pub sig_timestamp: Option<u64>,
}

/// A visible message.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct DataMessage {
    /// Message text.
    #[prost(string, optional, tag = "1")]
    pub body: Option<String>,
    /// Attachments (files uploaded to the file server).
    #[prost(message, repeated, tag = "2")]
    pub attachments: Vec<AttachmentPointer>,
    /// Bit flags, see [`DataMessage::FLAG_EXPIRATION_TIMER_UPDATE`].
    #[prost(uint32, optional, tag = "4")]
    pub flags: Option<u32>,
    /// The sender's 32-byte avatar key (AES-256-GCM).
    #[prost(bytes = "vec", optional, tag = "6")]
    pub profile_key: Option<Vec<u8>>,
    /// The message this one replies to.
    #[prost(message, optional, tag = "8")]
    pub quote: Option<Quote>,
    /// Link previews.
    #[prost(message, repeated, tag = "10")]
    pub preview: Vec<Preview>,
    /// An emoji reaction to another message.
    #[prost(message, optional, tag = "11")]
    pub reaction: Option<Reaction>,
    /// The sender's display name and avatar URL.
    #[prost(message, optional, tag = "101")]
    pub profile: Option<LokiProfile>,
    /// An invitation to a community.
    #[prost(message, optional, tag = "102")]
    pub open_group_invitation: Option<OpenGroupInvitation>,
    /// On sync copies (sent by the user's own device to itself): the conversation the message
    /// was really sent to. Meaningful only when the authenticated sender is the own account.
    #[prost(string, optional, tag = "105")]
    pub sync_target: Option<String>,
    /// The sender refuses message requests from community members.
    #[prost(bool, optional, tag = "106")]
    pub blocks_community_message_requests: Option<bool>,
    /// A group control message (invitation, promotion, …); decoded only as far as Umbra
    /// shows it.
    #[prost(message, optional, tag = "120")]
    pub group_update_message: Option<GroupUpdateMessage>,
}

/// `Debug` stand-in for key bytes: shows only whether and how many bytes are present.
struct Redacted<'a>(&'a Option<Vec<u8>>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => write!(f, "Some(<{} bytes redacted>)", bytes.len()),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for DataMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataMessage")
            .field("body", &self.body)
            .field("attachments", &self.attachments)
            .field("flags", &self.flags)
            .field("profile_key", &Redacted(&self.profile_key))
            .field("quote", &self.quote)
            .field("preview", &self.preview)
            .field("reaction", &self.reaction)
            .field("profile", &self.profile)
            .field("open_group_invitation", &self.open_group_invitation)
            .field("sync_target", &self.sync_target)
            .field(
                "blocks_community_message_requests",
                &self.blocks_community_message_requests,
            )
            .field("group_update_message", &self.group_update_message)
            .finish()
    }
}

impl DataMessage {
    /// `flags` bit: this message announces a change of the disappearing-messages setting
    /// (carried in `Content.expirationType` / `expirationTimer`).
    pub const FLAG_EXPIRATION_TIMER_UPDATE: u32 = 2;
}

/// `DataMessage.Quote`: a reference to the replied-to message.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Quote {
    /// Sent timestamp (ms) of the quoted message; required.
    #[prost(uint64, required, tag = "1")]
    pub id: u64,
    /// Account ID (hex) of the quoted message's author; required.
    #[prost(string, required, tag = "2")]
    pub author: String,
    /// Quoted text (legacy: older clients send it, current desktop does not; receivers look
    /// the quoted message up by `id` and `author`).
    #[prost(string, optional, tag = "3")]
    pub text: Option<String>,
}

/// `DataMessage.Preview`: a link preview.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Preview {
    /// The previewed URL; required.
    #[prost(string, required, tag = "1")]
    pub url: String,
    /// Page title.
    #[prost(string, optional, tag = "2")]
    pub title: Option<String>,
    /// Preview image.
    #[prost(message, optional, tag = "3")]
    pub image: Option<AttachmentPointer>,
}

/// `DataMessage.Reaction.Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ReactionAction {
    /// Add the reaction.
    React = 0,
    /// Remove the reaction.
    Remove = 1,
}

/// `DataMessage.Reaction`: an emoji reaction to a message.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Reaction {
    /// Sent timestamp (ms) of the reacted-to message; required.
    #[prost(uint64, required, tag = "1")]
    pub id: u64,
    /// Account ID (hex) of the reacted-to message's author; required.
    #[prost(string, required, tag = "2")]
    pub author: String,
    /// The emoji.
    #[prost(string, optional, tag = "3")]
    pub emoji: Option<String>,
    /// [`ReactionAction`]; required.
    #[prost(enumeration = "ReactionAction", required, tag = "4")]
    pub action: i32,
}

/// `DataMessage.LokiProfile`: display name and avatar location.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LokiProfile {
    /// Display name.
    #[prost(string, optional, tag = "1")]
    pub display_name: Option<String>,
    /// Avatar download URL (decrypt with `DataMessage.profileKey`).
    #[prost(string, optional, tag = "2")]
    pub profile_picture: Option<String>,
    /// When the profile last changed (seconds); newer clients only.
    #[prost(uint64, optional, tag = "3")]
    pub last_profile_update_seconds: Option<u64>,
}

/// `DataMessage.OpenGroupInvitation`: an invitation to a community.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct OpenGroupInvitation {
    /// Community URL (with room and `?public_key=`); required.
    #[prost(string, required, tag = "1")]
    pub url: String,
    /// Community name; required. (Field 3: field 2 is unused.)
    #[prost(string, required, tag = "3")]
    pub name: String,
}

/// `DataMessage.groupUpdateMessage` (session-desktop `protos/SignalService.proto`): one of
/// several group control messages. Umbra has no groups yet; only the two that reach a 1:1
/// conversation and concern the user are read (the rest is skipped as unknown fields).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GroupUpdateMessage {
    /// An invitation to join a group.
    #[prost(message, optional, tag = "1")]
    pub invite_message: Option<GroupUpdateInvite>,
    /// A promotion to group admin (carries the group's key seed, never logged or kept).
    #[prost(message, optional, tag = "4")]
    pub promote_message: Option<GroupUpdateInvite>,
}

/// The part of `GroupUpdateInviteMessage` / `GroupUpdatePromoteMessage` Umbra reads: the
/// group's name (field 2 in both). Their keys, signatures and auth data are not decoded.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GroupUpdateInvite {
    /// The group's name (untrusted text).
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
}

/// A file attachment stored on the file server.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct AttachmentPointer {
    /// Legacy numeric id (`deprecated_id`); required, send 0 if unknown.
    #[prost(fixed64, required, tag = "1")]
    pub id: u64,
    /// MIME type.
    #[prost(string, optional, tag = "2")]
    pub content_type: Option<String>,
    /// Decryption key material.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub key: Option<Vec<u8>>,
    /// Plaintext size in bytes.
    #[prost(uint32, optional, tag = "4")]
    pub size: Option<u32>,
    /// Digest of the encrypted file.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub digest: Option<Vec<u8>>,
    /// Original file name.
    #[prost(string, optional, tag = "7")]
    pub file_name: Option<String>,
    /// Bit flags, see [`AttachmentPointer::FLAG_VOICE_MESSAGE`].
    #[prost(uint32, optional, tag = "8")]
    pub flags: Option<u32>,
    /// Image/video width.
    #[prost(uint32, optional, tag = "9")]
    pub width: Option<u32>,
    /// Image/video height.
    #[prost(uint32, optional, tag = "10")]
    pub height: Option<u32>,
    /// Caption.
    #[prost(string, optional, tag = "11")]
    pub caption: Option<String>,
    /// Download URL (may carry a `#p=…&d` fragment).
    #[prost(string, optional, tag = "101")]
    pub url: Option<String>,
}

impl fmt::Debug for AttachmentPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentPointer")
            .field("id", &self.id)
            .field("content_type", &self.content_type)
            .field("key", &Redacted(&self.key))
            .field("size", &self.size)
            .field("digest", &Redacted(&self.digest))
            .field("file_name", &self.file_name)
            .field("flags", &self.flags)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("caption", &self.caption)
            .field("url", &self.url)
            .finish()
    }
}

impl AttachmentPointer {
    /// `flags` bit: the attachment is a voice message.
    pub const FLAG_VOICE_MESSAGE: u32 = 1;
}

/// `TypingMessage.Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum TypingAction {
    /// The sender started typing.
    Started = 0,
    /// The sender stopped typing.
    Stopped = 1,
}

/// Typing indicator.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TypingMessage {
    /// When (ms); required.
    #[prost(uint64, required, tag = "1")]
    pub timestamp: u64,
    /// [`TypingAction`]; required.
    #[prost(enumeration = "TypingAction", required, tag = "2")]
    pub action: i32,
}

/// `ReceiptMessage.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ReceiptType {
    /// Read receipt (the only type in Session's schema).
    Read = 1,
}

/// Read receipts for one or more messages.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ReceiptMessage {
    /// [`ReceiptType`]; required.
    #[prost(enumeration = "ReceiptType", required, tag = "1")]
    pub r#type: i32,
    /// Sent timestamps (ms) of the messages that were read (proto2: not packed).
    #[prost(uint64, repeated, packed = "false", tag = "2")]
    pub timestamp: Vec<u64>,
}

/// Request to delete an earlier message (`Unsend` in desktop's proto).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct UnsendRequest {
    /// Sent timestamp (ms) of the message to delete; required.
    #[prost(uint64, required, tag = "1")]
    pub timestamp: u64,
    /// Account ID (hex) of that message's author; required. Must equal the authenticated sender.
    #[prost(string, required, tag = "2")]
    pub author: String,
}

/// Reply to a message request.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct MessageRequestResponse {
    /// Whether the request was accepted; required.
    #[prost(bool, required, tag = "1")]
    pub is_approved: bool,
    /// The responder's avatar key.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub profile_key: Option<Vec<u8>>,
    /// The responder's profile.
    #[prost(message, optional, tag = "3")]
    pub profile: Option<LokiProfile>,
}

impl fmt::Debug for MessageRequestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageRequestResponse")
            .field("is_approved", &self.is_approved)
            .field("profile_key", &Redacted(&self.profile_key))
            .field("profile", &self.profile)
            .finish()
    }
}

/// `DataExtractionNotification.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataExtractionType {
    /// A screenshot was taken.
    Screenshot = 1,
    /// An attachment was saved.
    MediaSaved = 2,
}

/// Notification that the recipient took a screenshot or saved media.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DataExtractionNotification {
    /// [`DataExtractionType`]; required.
    #[prost(enumeration = "DataExtractionType", required, tag = "1")]
    pub r#type: i32,
    /// When (ms).
    #[prost(uint64, optional, tag = "2")]
    pub timestamp: Option<u64>,
}

/// `CallMessage.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CallMessageType {
    /// Announces an incoming call (listed first, as in the schema: the proto2 default).
    PreOffer = 6,
    /// Offer.
    Offer = 1,
    /// Answer.
    Answer = 2,
    /// Provisional answer.
    ProvisionalAnswer = 3,
    /// ICE candidates.
    IceCandidates = 4,
    /// Hang up.
    EndCall = 5,
}

/// Call signalling.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CallMessage {
    /// [`CallMessageType`]; required.
    #[prost(enumeration = "CallMessageType", required, tag = "1")]
    pub r#type: i32,
    /// SDP blobs.
    #[prost(string, repeated, tag = "2")]
    pub sdps: Vec<String>,
    /// SDP m-line indexes (proto2: not packed).
    #[prost(uint32, repeated, packed = "false", tag = "3")]
    pub sdp_m_line_indexes: Vec<u32>,
    /// SDP mids.
    #[prost(string, repeated, tag = "4")]
    pub sdp_mids: Vec<String>,
    /// Call id; required.
    #[prost(string, required, tag = "5")]
    pub uuid: String,
}

/// `SharedConfigMessage.Kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SharedConfigKind {
    /// UserProfile config (namespace 2).
    UserProfile = 1,
    /// Contacts config (namespace 3).
    Contacts = 2,
    /// ConvoInfoVolatile config (namespace 4).
    ConvoInfoVolatile = 3,
    /// UserGroups config (namespace 5).
    UserGroups = 4,
}

/// A config message wrapped for old clients (§10).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SharedConfigMessage {
    /// [`SharedConfigKind`]; required.
    #[prost(enumeration = "SharedConfigKind", required, tag = "1")]
    pub kind: i32,
    /// Config sequence number; required.
    #[prost(int64, required, tag = "2")]
    pub seqno: i64,
    /// The encrypted config; required.
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
}
