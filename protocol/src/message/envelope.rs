//! Message layer, envelope part: building the storage `data` of a 1:1 message and decoding it.
//!
//! ```text
//! content_bytes = Content.encode()
//! enc           = encrypt_for_recipient(sender, Y, pad(content_bytes))
//! envelope      = Envelope{ type 6, timestamp = sent ms, sourceDevice 1, content = enc,
//!                           proSig = 64-byte decoy }
//! data          = WebSocketMessage{ type REQUEST, request{ verb "", path "", body = envelope,
//!                                                        requestId 0 } }
//! ```
//!
//! Decoding accepts WebSocketMessage-wrapped and bare envelopes, with or without `proSig`, with
//! `source` absent, empty or 66 characters. The sender is taken only from the signed key inside
//! the ciphertext; `source` is never trusted. The envelope timestamp is bound to the signed
//! `Content.sigTimestamp` when the sender set one ([`decode_envelope`]).
//!
//! Spec: docs/protocol.md §5.3, §5.5, §10 (config wrapping).

use blake2::{Blake2b, digest::Digest, digest::consts::U32};
use curve25519_dalek::{EdwardsPoint, Scalar};
use prost::Message as _;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{
    MAX_MESSAGE_DATA_LEN, MessageError,
    padding::{pad_message, unpad_message},
    proto::{
        Content, Envelope, EnvelopeType, SharedConfigKind, SharedConfigMessage, WebSocketMessage,
        WebSocketMessageType, WebSocketRequestMessage,
    },
    seal::{decrypt_incoming, encrypt_for_recipient, encrypt_for_recipient_deterministic},
};
use crate::identity::{AccountId, Identity};

/// `sourceDevice` value libsession puts on 1:1 envelopes.
const SOURCE_DEVICE: u32 = 1;

/// Length of an Ed25519 signature (the `proSig` field).
const PRO_SIG_LEN: usize = 64;

/// The identity of a message across devices: its authenticated author and the sender's
/// timestamp. Quotes, reactions and unsend requests refer to messages by this pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    /// The authenticated sender.
    pub author: AccountId,
    /// The envelope's sent timestamp (ms).
    pub sent_timestamp_ms: u64,
}

/// A decoded, decrypted and authenticated incoming 1:1 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The sender, derived from the Ed25519 key that signed the content. Never from `source`.
    pub sender: AccountId,
    /// The sender's Ed25519 public key.
    pub sender_ed25519: [u8; 32],
    /// The envelope's sent timestamp (ms). Like in every Session client it is an outer,
    /// unauthenticated field: clamp it before ordering by it.
    pub sent_timestamp_ms: u64,
    /// The envelope's server timestamp (ms), if any.
    pub server_timestamp_ms: Option<u64>,
    /// The decrypted, unpadded content.
    pub content: Content,
    /// BLAKE2b-256 of the envelope's encrypted `content`. Every delivery of the same sealed
    /// message has the same value, whatever the outer fields say, so it is the key for dropping
    /// replays and duplicates delivered by several swarm nodes.
    pub ciphertext_hash: [u8; 32],
}

impl Incoming {
    /// The message's identity (`sender`, `sent_timestamp_ms`).
    pub fn message_id(&self) -> MessageId {
        MessageId {
            author: self.sender,
            sent_timestamp_ms: self.sent_timestamp_ms,
        }
    }

    /// The conversation a sync copy belongs to (`dataMessage.syncTarget`), checked.
    ///
    /// Returns `Ok(None)` for ordinary messages. A sync target is honoured only when the
    /// authenticated sender is `own` (a copy sent by another of the user's devices).
    ///
    /// # Errors
    ///
    /// [`MessageError::ForeignSyncTarget`] if someone else sent a sync target (it would let a
    /// contact plant messages "sent by you" in another conversation);
    /// [`MessageError::Malformed`] if the target is not an Account ID.
    pub fn sync_target(&self, own: &AccountId) -> Result<Option<AccountId>, MessageError> {
        let Some(target) = self
            .content
            .data_message
            .as_ref()
            .and_then(|dm| dm.sync_target.as_deref())
            .filter(|t| !t.is_empty())
        else {
            return Ok(None);
        };
        if self.sender != *own {
            return Err(MessageError::ForeignSyncTarget);
        }
        target
            .parse()
            .map(Some)
            .map_err(|_| MessageError::Malformed {
                what: "sync target",
            })
    }

    /// The message an unsend request asks to delete, checked.
    ///
    /// Returns `Ok(None)` if this is not an unsend request.
    ///
    /// # Errors
    ///
    /// [`MessageError::ForeignUnsend`] if the request names an author other than the
    /// authenticated sender (only authors may unsend their messages);
    /// [`MessageError::Malformed`] if the author is not an Account ID.
    pub fn unsend_target(&self) -> Result<Option<MessageId>, MessageError> {
        let Some(unsend) = self.content.unsend_request.as_ref() else {
            return Ok(None);
        };
        let author: AccountId = unsend.author.parse().map_err(|_| MessageError::Malformed {
            what: "unsend author",
        })?;
        if author != self.sender {
            return Err(MessageError::ForeignUnsend);
        }
        Ok(Some(MessageId {
            author,
            sent_timestamp_ms: unsend.timestamp,
        }))
    }
}

/// Wraps an envelope as libsession does: `WebSocketMessage{REQUEST, request{verb "", path "",
/// body = envelope, requestId 0}}`, serialized.
pub fn wrap_envelope(envelope: &Envelope) -> Vec<u8> {
    WebSocketMessage {
        r#type: Some(WebSocketMessageType::Request as i32),
        request: Some(WebSocketRequestMessage {
            verb: Some(String::new()),
            path: Some(String::new()),
            body: Some(envelope.encode_to_vec()),
            request_id: Some(0),
            headers: Vec::new(),
        }),
    }
    .encode_to_vec()
}

/// Parses storage `data` into an [`Envelope`]: either a `WebSocketMessage` whose request body
/// is the envelope, or a bare envelope. Checks sizes and the shape of the outer fields
/// (`timestamp` present, `source` empty or 66 characters, `proSig` 64 bytes if present); does
/// not decrypt.
///
/// # Errors
///
/// [`MessageError::IncomingTooLarge`], [`MessageError::Malformed`].
pub fn unwrap_envelope(data: &[u8]) -> Result<Envelope, MessageError> {
    if data.len() > MAX_MESSAGE_DATA_LEN {
        return Err(MessageError::IncomingTooLarge);
    }
    // A bare envelope starts with its required type (6 or 7) in field 1, where a
    // WebSocketMessage has its own type (REQUEST = 1); use that to tell them apart.
    let wrapped_body = WebSocketMessage::decode(data)
        .ok()
        .filter(|ws| {
            ws.r#type
                .and_then(|t| EnvelopeType::try_from(t).ok())
                .is_none()
        })
        .and_then(|ws| ws.request)
        .and_then(|request| request.body);
    let envelope = match wrapped_body {
        Some(body) => Envelope::decode(body.as_slice()),
        None => Envelope::decode(data),
    }
    .map_err(|_| MessageError::Malformed { what: "envelope" })?;

    if envelope.timestamp == 0 {
        return Err(MessageError::Malformed {
            what: "envelope timestamp",
        });
    }
    if let Some(source) = &envelope.source
        && !source.is_empty()
        && source.len() != 66
    {
        return Err(MessageError::Malformed {
            what: "envelope source",
        });
    }
    if let Some(pro_sig) = &envelope.pro_sig
        && pro_sig.len() != PRO_SIG_LEN
    {
        return Err(MessageError::Malformed {
            what: "envelope pro signature",
        });
    }
    Ok(envelope)
}

/// A decoy `proSig` as current libsession attaches when the sender has no Session Pro key:
/// `R = r·B` for a random scalar `r`, followed by a second random scalar. It verifies against
/// nothing; it only makes Pro and non-Pro envelopes look alike.
fn decoy_pro_sig<R: CryptoRng + ?Sized>(rng: &mut R) -> Vec<u8> {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut());
    let r = Scalar::from_bytes_mod_order_wide(&wide);
    rng.fill_bytes(wide.as_mut());
    let s = Scalar::from_bytes_mod_order_wide(&wide);
    let mut sig = Vec::with_capacity(PRO_SIG_LEN);
    sig.extend_from_slice(EdwardsPoint::mul_base(&r).compress().as_bytes());
    sig.extend_from_slice(s.as_bytes());
    sig
}

/// Builds the storage `data` (before base64) of a 1:1 message from `sender` to `recipient`:
/// pads and encrypts `content`, puts it in an envelope (type `SESSION_MESSAGE`,
/// `sent_timestamp_ms`, `sourceDevice` 1, decoy `proSig`) and wraps that in a
/// `WebSocketMessage`. For a sync copy, pass the own Account ID as `recipient` and set
/// `dataMessage.syncTarget`.
///
/// # Errors
///
/// [`MessageError::OutgoingTooLarge`] if the result exceeds [`MAX_MESSAGE_DATA_LEN`];
/// [`MessageError::InvalidRecipientKey`] for an unusable recipient key.
pub fn encode_for_1o1<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient: &AccountId,
    content: &Content,
    sent_timestamp_ms: u64,
    rng: &mut R,
) -> Result<Vec<u8>, MessageError> {
    let padded = pad_message(&content.encode_to_vec());
    if padded.len() > MAX_MESSAGE_DATA_LEN {
        return Err(MessageError::OutgoingTooLarge);
    }
    let encrypted = encrypt_for_recipient(sender, &recipient.x25519_public(), &padded, rng)?;
    let envelope = Envelope {
        r#type: EnvelopeType::SessionMessage as i32,
        source: None,
        timestamp: sent_timestamp_ms,
        source_device: Some(SOURCE_DEVICE),
        content: Some(encrypted),
        server_timestamp: None,
        pro_sig: Some(decoy_pro_sig(rng)),
    };
    let data = wrap_envelope(&envelope);
    if data.len() > MAX_MESSAGE_DATA_LEN {
        return Err(MessageError::OutgoingTooLarge);
    }
    Ok(data)
}

/// Decodes, decrypts and authenticates storage `data` (after base64) received in the own
/// account's swarm (namespace 0).
///
/// # Errors
///
/// [`MessageError::IncomingTooLarge`], [`MessageError::Malformed`] (bad protobuf, missing
/// content, bad outer fields, a `sigTimestamp` that differs from the envelope timestamp),
/// [`MessageError::UnsupportedEnvelopeType`] (legacy group
/// message), and the errors of [`decrypt_incoming`].
pub fn decode_envelope(own: &Identity, data: &[u8]) -> Result<Incoming, MessageError> {
    let envelope = unwrap_envelope(data)?;
    if envelope.r#type == EnvelopeType::ClosedGroupMessage as i32 {
        return Err(MessageError::UnsupportedEnvelopeType);
    }
    let ciphertext = envelope.content.as_deref().ok_or(MessageError::Malformed {
        what: "envelope content",
    })?;
    let decrypted = decrypt_incoming(own, ciphertext)?;
    let content = Content::decode(unpad_message(&decrypted.plaintext))
        .map_err(|_| MessageError::Malformed { what: "content" })?;
    check_sig_timestamp(&content, envelope.timestamp)?;
    let mut ciphertext_hash = [0u8; 32];
    ciphertext_hash.copy_from_slice(&Blake2b::<U32>::digest(ciphertext));
    Ok(Incoming {
        sender: decrypted.sender,
        sender_ed25519: decrypted.sender_ed25519,
        sent_timestamp_ms: envelope.timestamp,
        server_timestamp_ms: envelope.server_timestamp,
        content,
        ciphertext_hash,
    })
}

/// Binds the unauthenticated envelope timestamp to the signed content: a 1:1 message whose
/// `Content.sigTimestamp` is set and differs from `Envelope.timestamp` is dropped, as
/// session-desktop's `shouldProcessContentMessage` (`ts/receiver/common.ts`) does. An absent
/// or zero `sigTimestamp` is a legacy sender and is accepted, as there. (Communities allow
/// six hours of difference; they do not come through here.)
///
/// # Errors
///
/// [`MessageError::Malformed`]` { what: "signature timestamp" }` on a mismatch.
fn check_sig_timestamp(content: &Content, envelope_timestamp_ms: u64) -> Result<(), MessageError> {
    match content.sig_timestamp {
        Some(sig) if sig != 0 && sig != envelope_timestamp_ms => Err(MessageError::Malformed {
            what: "signature timestamp",
        }),
        _ => Ok(()),
    }
}

/// Wraps an encrypted config message for old clients exactly as libsession's
/// `protos::wrap_config` does: `Content{sharedConfigMessage{kind, seqno, data}} ‖ 0x80`,
/// deterministically encrypted to the own account, in an envelope (type 6, timestamp 1) in a
/// `WebSocketMessage`. `data` is the output of the config layer's encryption.
///
/// # Errors
///
/// [`MessageError::OutgoingTooLarge`] if the result exceeds [`MAX_MESSAGE_DATA_LEN`].
pub fn wrap_shared_config(
    own: &Identity,
    kind: SharedConfigKind,
    seqno: i64,
    data: &[u8],
) -> Result<Vec<u8>, MessageError> {
    let content = Content {
        shared_config_message: Some(SharedConfigMessage {
            kind: kind as i32,
            seqno,
            data: data.to_vec(),
        }),
        ..Content::default()
    };
    let mut plaintext = content.encode_to_vec();
    plaintext.push(0x80);
    let encrypted = encrypt_for_recipient_deterministic(own, &own.x25519_public(), &plaintext)?;
    let envelope = Envelope {
        r#type: EnvelopeType::SessionMessage as i32,
        timestamp: 1,
        content: Some(encrypted),
        ..Envelope::default()
    };
    let out = wrap_envelope(&envelope);
    if out.len() > MAX_MESSAGE_DATA_LEN {
        return Err(MessageError::OutgoingTooLarge);
    }
    Ok(out)
}

/// Undoes [`wrap_shared_config`] (one level): unwraps, decrypts with the own key, requires the
/// own account as signer and returns the `SharedConfigMessage`.
///
/// # Errors
///
/// The errors of [`decode_envelope`], plus [`MessageError::ForeignConfig`] if someone other
/// than the own account signed it and [`MessageError::Malformed`] if the content carries no
/// config message.
pub fn unwrap_shared_config(
    own: &Identity,
    data: &[u8],
) -> Result<SharedConfigMessage, MessageError> {
    let incoming = decode_envelope(own, data)?;
    if incoming.sender != own.account_id() {
        return Err(MessageError::ForeignConfig);
    }
    incoming
        .content
        .shared_config_message
        .ok_or(MessageError::Malformed {
            what: "shared config message",
        })
}
