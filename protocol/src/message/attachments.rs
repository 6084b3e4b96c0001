//! Attachments as a message carries them: the `AttachmentPointer`s of a `DataMessage`
//! (docs/protocol.md §5.4), read from a peer into [`AttachmentMeta`] with every field bounded,
//! and written back for sending. The file itself is fetched, checked and decrypted by
//! [`crate::attachment`]; nothing here trusts the pointer's claims (size, type, name) beyond
//! display: the digest is checked before the bytes are shown, and the type and name are
//! display text only.

use serde::{Deserialize, Serialize};

use super::proto::AttachmentPointer;
use super::semantics::truncate_utf8;

/// Most attachments kept from one message (desktop sends at most 32; more is noise).
pub const MAX_ATTACHMENTS: usize = 32;
/// Longest URL kept (a file server URL with a `#…` fragment is about 120 characters).
pub const MAX_URL_BYTES: usize = 2_048;
/// Longest MIME type kept.
pub const MAX_CONTENT_TYPE_BYTES: usize = 128;
/// Longest file name kept (in bytes, cut at a character boundary).
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Longest caption kept (bytes).
pub const MAX_CAPTION_BYTES: usize = 2_000;
/// Longest key material kept: 64 bytes for the legacy format (AES key ‖ MAC key), 32 for the
/// deterministic one.
pub const MAX_KEY_BYTES: usize = 64;

/// One attachment of a message, as the sender described it. Untrusted: `content_type`,
/// `file_name` and `caption` are display text only; `size`, `width`, `height` are claims.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// Where the encrypted file is (a file server URL, possibly with a `#…` fragment).
    pub url: String,
    /// The legacy numeric id desktop still sends (0 if none).
    #[serde(default)]
    pub server_id: u64,
    /// Decryption key material (64 bytes legacy, 32 deterministic); empty if the pointer had
    /// none (the file cannot be opened).
    pub key: Vec<u8>,
    /// SHA-256 of the encrypted blob (legacy format), if sent.
    pub digest: Option<Vec<u8>>,
    /// Plaintext size in bytes as claimed (0 if not sent).
    pub size: u32,
    /// MIME type as claimed.
    pub content_type: Option<String>,
    /// File name as sent.
    pub file_name: Option<String>,
    /// Flagged as a voice message.
    pub voice: bool,
    /// Image or video width, as claimed.
    pub width: Option<u32>,
    /// Image or video height, as claimed.
    pub height: Option<u32>,
    /// The attachment's own caption.
    pub caption: Option<String>,
}

impl core::fmt::Debug for AttachmentMeta {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentMeta")
            .field("size", &self.size)
            .field("content_type", &self.content_type)
            .field("voice", &self.voice)
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .finish_non_exhaustive()
    }
}

fn bounded(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| truncate_utf8(s.trim(), max))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AttachmentMeta {
    /// Reads a received pointer: strings are trimmed and cut to their limits, an oversized
    /// key or digest is dropped (the file then cannot be opened: a clear error on download,
    /// never a panic). Never fails, so a message with a broken pointer still shows.
    pub fn from_proto(p: &AttachmentPointer) -> AttachmentMeta {
        let url = p.url.as_deref().unwrap_or_default();
        AttachmentMeta {
            url: if url.len() <= MAX_URL_BYTES {
                url.to_owned()
            } else {
                String::new()
            },
            server_id: p.id,
            key: p
                .key
                .clone()
                .filter(|k| k.len() <= MAX_KEY_BYTES)
                .unwrap_or_default(),
            digest: p.digest.clone().filter(|d| d.len() == 32),
            size: p.size.unwrap_or(0),
            content_type: bounded(p.content_type.as_deref(), MAX_CONTENT_TYPE_BYTES),
            file_name: bounded(p.file_name.as_deref(), MAX_FILE_NAME_BYTES),
            voice: p.flags.unwrap_or(0) & AttachmentPointer::FLAG_VOICE_MESSAGE != 0,
            width: p.width.filter(|&w| w != 0),
            height: p.height.filter(|&h| h != 0),
            caption: bounded(p.caption.as_deref(), MAX_CAPTION_BYTES),
        }
    }

    /// The pointer to send: every field a Session client reads (docs/protocol.md §5.4, §8).
    pub fn to_proto(&self) -> AttachmentPointer {
        AttachmentPointer {
            id: self.server_id,
            content_type: self.content_type.clone(),
            key: Some(self.key.clone()),
            size: Some(self.size),
            digest: self.digest.clone(),
            file_name: self.file_name.clone(),
            flags: self.voice.then_some(AttachmentPointer::FLAG_VOICE_MESSAGE),
            width: self.width,
            height: self.height,
            caption: self.caption.clone(),
            url: Some(self.url.clone()),
        }
    }

    /// A one-word kind for previews and quotes: "Voice message", "Photo", "Video", "Audio",
    /// else "File" (from the claimed type; display only).
    pub fn summary(&self) -> &'static str {
        let ty = self.content_type.as_deref().unwrap_or_default();
        if self.voice {
            "Voice message"
        } else if ty.starts_with("image/") {
            "Photo"
        } else if ty.starts_with("video/") {
            "Video"
        } else if ty.starts_with("audio/") {
            "Audio"
        } else {
            "File"
        }
    }
}

/// The attachments of a received `DataMessage`, at most [`MAX_ATTACHMENTS`].
pub(super) fn read_pointers(pointers: &[AttachmentPointer]) -> Vec<AttachmentMeta> {
    pointers
        .iter()
        .take(MAX_ATTACHMENTS)
        .map(AttachmentMeta::from_proto)
        .collect()
}
