//! Size limits on the user-visible text a message carries, and the checks shared by
//! [`compose`](super::compose) (outgoing: the caller's input) and
//! [`classify`](super::classify) (incoming: a peer's data).
//!
//! Untrusted text is data, never markup: these checks only bound sizes and reject control
//! characters where Session never puts them (emoji). Rendering stays the UI's job (text nodes).
//!
//! Sources for the numbers: desktop `Constants.CONVERSATION.MAX_MESSAGE_CHAR_COUNT_STANDARD`
//! (2,000) / `_PRO` (10,000), libsession `contacts::MAX_NAME_LENGTH` (100 bytes), Session's
//! reaction limits (one emoji: the longest standard ZWJ sequences have 10 code points).

use core::fmt;

use super::MessageError;

/// Longest body (in Unicode scalar values) Umbra sends: Session's standard (non-Pro) limit.
pub const MAX_OUTGOING_BODY_CHARS: usize = 2_000;

/// Longest body (in Unicode scalar values) accepted from a peer: Session Pro's limit.
pub const MAX_INCOMING_BODY_CHARS: usize = 10_000;

/// Longest display name, in UTF-8 bytes (libsession `MAX_NAME_LENGTH`).
pub const MAX_DISPLAY_NAME_BYTES: usize = 100;

/// Longest reaction emoji, in Unicode scalar values (the longest standard emoji ZWJ
/// sequences have 10; at most 48 bytes).
pub const MAX_EMOJI_CHARS: usize = 12;

/// Most timestamps in one read receipt.
pub const MAX_RECEIPT_TIMESTAMPS: usize = 2_048;

/// The part of a message that broke a limit (see [`MessageError::InvalidOutgoing`] and
/// [`MessageError::InvalidIncoming`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The text body: empty, or longer than the body limit.
    Body,
    /// Quoted text longer than the body limit.
    QuoteText,
    /// A reaction emoji: empty, too long, or containing whitespace/control characters.
    Emoji,
    /// A display name: empty or longer than [`MAX_DISPLAY_NAME_BYTES`].
    DisplayName,
    /// A disappearing-messages timer outside the allowed values/range.
    Timer,
    /// A read receipt's timestamp list: empty or longer than [`MAX_RECEIPT_TIMESTAMPS`].
    ReceiptTimestamps,
    /// A referenced message's sent timestamp of 0.
    TargetTimestamp,
    /// An unsend request for a message not authored by the own account.
    UnsendAuthor,
    /// A sync copy of content that has no `dataMessage` to carry `syncTarget`.
    SyncTarget,
    /// More attachments than [`MAX_ATTACHMENTS`](super::MAX_ATTACHMENTS).
    Attachments,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Body => "body",
            Field::QuoteText => "quote text",
            Field::Emoji => "emoji",
            Field::DisplayName => "display name",
            Field::Timer => "timer",
            Field::ReceiptTimestamps => "receipt timestamps",
            Field::TargetTimestamp => "target timestamp",
            Field::UnsendAuthor => "unsend author",
            Field::SyncTarget => "sync target",
            Field::Attachments => "attachments",
        })
    }
}

/// Which side a check is for: decides the error variant and the body limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// The caller's input for a message to send.
    Outgoing,
    /// A peer's data.
    Incoming,
}

impl Side {
    /// The error for `field` on this side.
    pub(super) fn error(self, field: Field) -> MessageError {
        match self {
            Side::Outgoing => MessageError::InvalidOutgoing(field),
            Side::Incoming => MessageError::InvalidIncoming(field),
        }
    }

    /// The body limit on this side.
    fn max_body_chars(self) -> usize {
        match self {
            Side::Outgoing => MAX_OUTGOING_BODY_CHARS,
            Side::Incoming => MAX_INCOMING_BODY_CHARS,
        }
    }

    /// Checks a text body: not blank, at most the body limit.
    pub(super) fn check_body(self, body: &str) -> Result<(), MessageError> {
        if body.trim().is_empty() || exceeds_chars(body, self.max_body_chars()) {
            return Err(self.error(Field::Body));
        }
        Ok(())
    }

    /// Checks quoted text: at most the body limit (may be empty).
    pub(super) fn check_quote_text(self, text: &str) -> Result<(), MessageError> {
        if exceeds_chars(text, self.max_body_chars()) {
            return Err(self.error(Field::QuoteText));
        }
        Ok(())
    }

    /// Checks a reaction emoji: non-empty, bounded, no whitespace, control or bidi-control
    /// characters (emoji sequences only need ZWJ, variation selectors and tag characters).
    pub(super) fn check_emoji(self, emoji: &str) -> Result<(), MessageError> {
        if emoji.is_empty()
            || exceeds_chars(emoji, MAX_EMOJI_CHARS)
            || emoji
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || is_bidi_control(c))
        {
            return Err(self.error(Field::Emoji));
        }
        Ok(())
    }

    /// Checks a display name: not blank, at most [`MAX_DISPLAY_NAME_BYTES`].
    pub(super) fn check_display_name(self, name: &str) -> Result<(), MessageError> {
        if name.trim().is_empty() || name.len() > MAX_DISPLAY_NAME_BYTES {
            return Err(self.error(Field::DisplayName));
        }
        Ok(())
    }

    /// Checks a read receipt's timestamps: 1 to [`MAX_RECEIPT_TIMESTAMPS`], none zero.
    pub(super) fn check_receipt_timestamps(self, timestamps: &[u64]) -> Result<(), MessageError> {
        if timestamps.is_empty() || timestamps.len() > MAX_RECEIPT_TIMESTAMPS {
            return Err(self.error(Field::ReceiptTimestamps));
        }
        if timestamps.contains(&0) {
            return Err(self.error(Field::TargetTimestamp));
        }
        Ok(())
    }

    /// Checks the sent timestamp of a referenced message (quote, reaction, unsend).
    pub(super) fn check_target_timestamp(self, sent_ms: u64) -> Result<(), MessageError> {
        if sent_ms == 0 {
            return Err(self.error(Field::TargetTimestamp));
        }
        Ok(())
    }
}

/// Whether `c` is a bidirectional-text control (U+202A–U+202E embeddings and overrides,
/// U+2066–U+2069 isolates, U+200E / U+200F marks, U+061C Arabic letter mark). In a display
/// name they can reverse what follows and fake another name (names are stored without
/// them, `convo`); an emoji with one is refused.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `text` has more than `max` Unicode scalar values (stops counting early).
fn exceeds_chars(text: &str, max: usize) -> bool {
    // Each char is at least one byte, so a short string cannot exceed the limit.
    text.len() > max && text.chars().nth(max).is_some()
}
