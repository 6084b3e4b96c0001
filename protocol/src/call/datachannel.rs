//! The two messages of the call's negotiated data channel ([`super::DATA_CHANNEL_ID`]), as
//! desktop sends and reads them (session-desktop `ts/session/utils/calling/CallManager.ts`:
//! `sendVideoStatusViaDataChannel`, `sendHangupViaDataChannel`, `onDataChannelReceivedMessage`):
//! JSON text `{"video":true|false}` (the sender's camera is on or off) and `{"hangup":true}`.

use serde_json::Value;

/// Longest data channel message read.
pub const MAX_DATA_CHANNEL_MESSAGE_BYTES: usize = 1024;

/// One data channel message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataChannelMessage {
    /// The peer's camera is on (`true`) or off.
    Video {
        /// Whether video is sent.
        enabled: bool,
    },
    /// The peer hung up.
    Hangup,
}

impl DataChannelMessage {
    /// The JSON text to send.
    pub fn encode(&self) -> String {
        match self {
            DataChannelMessage::Video { enabled } => format!("{{\"video\":{enabled}}}"),
            DataChannelMessage::Hangup => "{\"hangup\":true}".to_owned(),
        }
    }

    /// Reads a received text. Desktop's rule: a `hangup` key (any value) is a hang-up;
    /// otherwise a boolean `video` is the camera state. Anything else (too long, not JSON,
    /// neither key): `None`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_DATA_CHANNEL_MESSAGE_BYTES {
            return None;
        }
        let v: Value = serde_json::from_str(text).ok()?;
        let o = v.as_object()?;
        if o.contains_key("hangup") {
            return Some(DataChannelMessage::Hangup);
        }
        o.get("video")?
            .as_bool()
            .map(|enabled| DataChannelMessage::Video { enabled })
    }
}
