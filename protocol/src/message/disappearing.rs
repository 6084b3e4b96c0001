//! Disappearing messages (docs/protocol.md §9): the per-conversation / per-message setting,
//! the timers Session offers, the storage TTL a message is sent with, the local expiry of a
//! sent, received or read message, and the string signed by the `expire` request that
//! shortens the swarm copies of a message once it has been read.
//!
//! - The setting travels on every disappearing message in `Content.expirationType` +
//!   `Content.expirationTimer` (seconds); a change of setting is a `DataMessage` with
//!   `flags = EXPIRATION_TIMER_UPDATE` carrying the new pair.
//! - Delete-after-send: stored with `ttl = timer` so the swarm deletes it; expires locally at
//!   `sent + timer`.
//! - Delete-after-read: stored with the default TTL (14 days); expires locally at
//!   `read + timer`, and the reader shortens its own swarm copies with a signed `expire`.
//!
//! Timers offered (Session desktop `timerOptions.ts`, same on mobile): after-read 5 min, 1 h,
//! 12 h, 1 day, 1 week, 2 weeks; after-send 12 h, 1 day, 1 week, 2 weeks. Session has no
//! 4-week option. Incoming timers are accepted from 1 s to 30 days (debug builds of other
//! clients send 10 s, 30 s, 1 min), since rejecting them would lose the message; a timer over
//! 14 days still never stores anything for longer than 14 days ([`cap_storage_ttl_ms`]).

use super::{Field, MessageError, proto::ExpirationType};

/// One minute in seconds.
const MINUTE: u32 = 60;
/// One hour in seconds.
const HOUR: u32 = 60 * MINUTE;
/// One day in seconds.
const DAY: u32 = 24 * HOUR;
/// One week in seconds.
const WEEK: u32 = 7 * DAY;

/// Timers (seconds) offered for delete-after-read: 5 min, 1 h, 12 h, 1 d, 1 w, 2 w, exactly
/// Session's list (session-desktop `ts/session/disappearing_messages/timerOptions.ts`,
/// `DELETE_AFTER_READ` without its debug-build values).
pub const AFTER_READ_TIMERS: [u32; 6] = [5 * MINUTE, HOUR, 12 * HOUR, DAY, WEEK, 2 * WEEK];

/// Timers (seconds) offered for delete-after-send: 12 h, 1 d, 1 w, 2 w, exactly Session's list
/// (`timerOptions.ts`, `DELETE_AFTER_SEND`). Session has no 4-week option: a peer that adopts
/// a 28-day timer stores with `ttl = timer`, which nodes refuse above the 14-day namespace-0
/// maximum.
pub const AFTER_SEND_TIMERS: [u32; 4] = [12 * HOUR, DAY, WEEK, 2 * WEEK];

/// Longest timer accepted on incoming messages (30 days, the longest expiry a swarm keeps).
pub const MAX_INCOMING_TIMER_SECS: u32 = 30 * DAY;

/// Storage TTL of ordinary content (14 days; desktop `TTL_DEFAULT.CONTENT_MESSAGE`). It is
/// also the longest TTL namespace 0 accepts (`Namespace::DEFAULT.max_ttl_ms()`), so no store of
/// a 1:1 message or its sync copy asks for more ([`cap_storage_ttl_ms`]).
pub const DEFAULT_TTL_MS: u64 = 14 * 24 * 60 * 60 * 1000;

/// `ttl_ms` capped at the namespace-0 maximum ([`DEFAULT_TTL_MS`], 14 days): a timer above it
/// (a peer may pick up to 30 days) still disappears locally on time, but its swarm copy is
/// stored for at most 14 days, which every node accepts.
pub fn cap_storage_ttl_ms(ttl_ms: u64) -> u64 {
    ttl_ms.min(DEFAULT_TTL_MS)
}

/// Storage TTL of typing indicators (20 s; desktop `TTL_DEFAULT.TYPING_MESSAGE`).
pub const TYPING_TTL_MS: u64 = 20 * 1000;

/// A conversation's (or one message's) disappearing-messages setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DisappearingSetting {
    /// Messages do not disappear.
    #[default]
    Off,
    /// Messages disappear this many seconds after they were sent.
    AfterSend(u32),
    /// Messages disappear this many seconds after they were read.
    AfterRead(u32),
}

impl DisappearingSetting {
    /// The timer in seconds, `None` when off.
    pub fn timer_secs(self) -> Option<u32> {
        match self {
            DisappearingSetting::Off => None,
            DisappearingSetting::AfterSend(secs) | DisappearingSetting::AfterRead(secs) => {
                Some(secs)
            }
        }
    }

    /// Whether this is one of the settings Session offers (Off, or a timer from
    /// [`AFTER_SEND_TIMERS`] / [`AFTER_READ_TIMERS`] for its mode).
    pub fn is_offered(self) -> bool {
        match self {
            DisappearingSetting::Off => true,
            DisappearingSetting::AfterSend(secs) => AFTER_SEND_TIMERS.contains(&secs),
            DisappearingSetting::AfterRead(secs) => AFTER_READ_TIMERS.contains(&secs),
        }
    }

    /// The offered setting nearest to this one, in the same mode: what an older Umbra's
    /// stored choice (4 weeks, or 5 min / 1 h after send) becomes in the timer menu. A tie
    /// goes to the shorter timer. Off stays off.
    pub fn nearest_offered(self) -> Self {
        let nearest = |offered: &[u32], secs: u32| {
            offered
                .iter()
                .copied()
                .min_by_key(|&t| t.abs_diff(secs))
                .unwrap_or(secs)
        };
        match self {
            DisappearingSetting::Off => DisappearingSetting::Off,
            DisappearingSetting::AfterSend(secs) => {
                DisappearingSetting::AfterSend(nearest(&AFTER_SEND_TIMERS, secs))
            }
            DisappearingSetting::AfterRead(secs) => {
                DisappearingSetting::AfterRead(nearest(&AFTER_READ_TIMERS, secs))
            }
        }
    }

    /// Checks a setting the user chose before it is sent.
    ///
    /// # Errors
    ///
    /// [`MessageError::InvalidOutgoing`]`(`[`Field::Timer`]`)` if the setting is not one Session
    /// offers ([`DisappearingSetting::is_offered`]).
    pub fn check_outgoing(self) -> Result<Self, MessageError> {
        if self.is_offered() {
            Ok(self)
        } else {
            Err(MessageError::InvalidOutgoing(Field::Timer))
        }
    }

    /// The `(Content.expirationType, Content.expirationTimer)` pair for this setting, as
    /// desktop sends it on disappearing-capable messages: Off is `(UNKNOWN, 0)`.
    pub fn to_content_fields(self) -> (ExpirationType, u32) {
        match self {
            DisappearingSetting::Off => (ExpirationType::Unknown, 0),
            DisappearingSetting::AfterSend(secs) => (ExpirationType::DeleteAfterSend, secs),
            DisappearingSetting::AfterRead(secs) => (ExpirationType::DeleteAfterRead, secs),
        }
    }

    /// Reads the setting from received `Content.expirationType` / `expirationTimer`.
    ///
    /// An absent, `UNKNOWN` or unrecognised type, or a zero timer, means Off (a legacy timer
    /// without a type is ignored, as current Session clients do).
    ///
    /// # Errors
    ///
    /// [`MessageError::InvalidIncoming`]`(`[`Field::Timer`]`)` for a timer longer than
    /// [`MAX_INCOMING_TIMER_SECS`].
    pub fn from_content_fields(
        expiration_type: Option<i32>,
        expiration_timer: Option<u32>,
    ) -> Result<Self, MessageError> {
        let secs = expiration_timer.unwrap_or(0);
        let mode = expiration_type.and_then(|t| ExpirationType::try_from(t).ok());
        let setting = match mode {
            _ if secs == 0 => DisappearingSetting::Off,
            Some(ExpirationType::DeleteAfterSend) => DisappearingSetting::AfterSend(secs),
            Some(ExpirationType::DeleteAfterRead) => DisappearingSetting::AfterRead(secs),
            Some(ExpirationType::Unknown) | None => DisappearingSetting::Off,
        };
        if setting != DisappearingSetting::Off && secs > MAX_INCOMING_TIMER_SECS {
            return Err(MessageError::InvalidIncoming(Field::Timer));
        }
        Ok(setting)
    }

    /// Storage TTL (ms) of a disappearing-capable message sent with this setting:
    /// delete-after-send stores for the timer, everything else for [`DEFAULT_TTL_MS`]; never
    /// more than the namespace-0 maximum ([`cap_storage_ttl_ms`]).
    pub fn storage_ttl_ms(self) -> u64 {
        match self {
            DisappearingSetting::AfterSend(secs) if secs > 0 => {
                cap_storage_ttl_ms(u64::from(secs).saturating_mul(1000))
            }
            _ => DEFAULT_TTL_MS,
        }
    }

    /// Local expiry (ms) of a message this account sent at `sent_ms`.
    ///
    /// The sender has read its own message, so both modes count from the send time.
    pub fn outgoing_expiry_ms(self, sent_ms: u64) -> Option<u64> {
        self.timer_secs().map(|secs| add_secs(sent_ms, secs))
    }

    /// Local expiry (ms) of a received message.
    ///
    /// Delete-after-send counts from the claimed send time, but never from later than
    /// `now_ms` (the envelope timestamp is unauthenticated). Delete-after-read counts from
    /// `read_at_ms` (also clamped to `now_ms`) and is `None` while unread.
    pub fn incoming_expiry_ms(
        self,
        sent_ms: u64,
        read_at_ms: Option<u64>,
        now_ms: u64,
    ) -> Option<u64> {
        match self {
            DisappearingSetting::Off => None,
            DisappearingSetting::AfterSend(secs) => Some(add_secs(sent_ms.min(now_ms), secs)),
            DisappearingSetting::AfterRead(secs) => {
                read_at_ms.map(|read| add_secs(read.min(now_ms), secs))
            }
        }
    }

    /// For a delete-after-read message seen in the own swarm: the expiry another of the
    /// user's devices already set by reading it, if any.
    ///
    /// `stored_ms` is the message's `timestamp` and `swarm_expiry_ms` its `expiration`, both
    /// from `retrieve`. An unshortened copy expires [`DEFAULT_TTL_MS`] after it was stored;
    /// an expiry more than a minute earlier (store clock tolerance) means a device shortened
    /// it on reading, and that expiry is the local one too.
    pub fn expiry_read_elsewhere_ms(self, stored_ms: u64, swarm_expiry_ms: u64) -> Option<u64> {
        const TOLERANCE_MS: u64 = 60 * 1000;
        match self {
            DisappearingSetting::AfterRead(_)
                if swarm_expiry_ms.saturating_add(TOLERANCE_MS)
                    < stored_ms.saturating_add(DEFAULT_TTL_MS) =>
            {
                Some(swarm_expiry_ms)
            }
            _ => None,
        }
    }
}

/// `ms + secs·1000`, saturating.
fn add_secs(ms: u64, secs: u32) -> u64 {
    ms.saturating_add(u64::from(secs).saturating_mul(1000))
}

/// The new swarm expiry (ms) of a delete-after-read message read at `read_at_ms`:
/// `read_at_ms + timer`. `None` if `setting` is not delete-after-read.
pub fn after_read_swarm_expiry_ms(setting: DisappearingSetting, read_at_ms: u64) -> Option<u64> {
    match setting {
        DisappearingSetting::AfterRead(secs) => Some(add_secs(read_at_ms, secs)),
        _ => None,
    }
}

/// The bytes to sign for the `expire` request that shortens the own swarm copies of read
/// delete-after-read messages (§4.4): `"expire" ‖ "shorten" ‖ expiry ‖ hash0 ‖ hash1 …`, with
/// the expiry in decimal milliseconds and the hashes as sent in `messages`, in order.
pub fn expire_shorten_signature_message<S: AsRef<str>>(expiry_ms: u64, hashes: &[S]) -> Vec<u8> {
    let mut out = format!("expireshorten{expiry_ms}").into_bytes();
    for hash in hashes {
        out.extend_from_slice(hash.as_ref().as_bytes());
    }
    out
}
