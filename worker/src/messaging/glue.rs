//! The glue between the reactor and the rules: the client's clock as [`Clock`], the
//! [`convo!`] macro that runs one rule with an [`Io`] over IndexedDB, the error codes the app
//! sees, and the sealed JSON records.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use umbra_ipc::{ErrorCode, Settings};
use umbra_protocol::{
    address::{LocalMs, NetMs},
    client::{Client, ClientError},
    convo::{Clock, ConvoError},
    message::SendPrefs,
    store::{MessageDbError, UnlockedVault, client_state::ClientStateError},
};
use zeroize::Zeroizing;

use super::Cx;
pub(super) use crate::driver::store_error;
use crate::store::StepStore;

/// The client's clock and sent-timestamp allocator, as the conversation rules see them.
pub(super) struct ClientClock<'a> {
    pub(super) client: &'a mut Client,
    /// Local time of the input being handled (ms).
    pub(super) now_ms: u64,
}

impl Clock for ClientClock<'_> {
    fn now(&self) -> NetMs {
        NetMs(self.client.network_time_ms(self.now_ms))
    }

    fn allocate_sent_ms(&mut self) -> NetMs {
        // The account's one allocator: unique, increasing, and recorded as seen so our own
        // copies never come back as new. Its record is a `Persist` action, drained (and
        // written) before the request that carries the message.
        self.client.allocate_sent_ms(LocalMs(self.now_ms))
    }
}

/// Runs `Conversations::$method` with an [`Io`] over the IndexedDB store and the client's
/// clock (arguments are evaluated first).
macro_rules! convo {
    ($m:expr, $cx:expr, $method:ident ( $($arg:expr),* $(,)? )) => {{
        let mut clock = $crate::messaging::glue::ClientClock {
            client: &mut $m.client,
            now_ms: $crate::net::now_ms(),
        };
        let mut io = umbra_protocol::convo::Io {
            db: umbra_protocol::store::MessageDb::new($cx.store, $cx.vault),
            clock: &mut clock,
            rng: &mut *$cx.rng,
        };
        $m.convo.$method(&mut io, $($arg),*).await
    }};
}

pub(super) fn client_state_error(e: ClientStateError) -> ErrorCode {
    match e {
        ClientStateError::Store(s) => store_error(s),
        ClientStateError::Corrupted => ErrorCode::Corrupted,
        ClientStateError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
    }
}

pub(crate) fn db_error(e: MessageDbError) -> ErrorCode {
    match e {
        MessageDbError::Store(s) => store_error(s),
        MessageDbError::Corrupted => ErrorCode::Corrupted,
        // Written by a newer Umbra: nothing is lost, this version cannot read it.
        MessageDbError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
        MessageDbError::UpgradeRequired
        | MessageDbError::NoSuchConversation
        | MessageDbError::NoSuchMessage
        | MessageDbError::NotOutgoing
        | MessageDbError::WrongAuthor
        | MessageDbError::Encode => ErrorCode::Internal,
    }
}

/// The app's code for a conversation-rule error.
pub(crate) fn convo_error(e: ConvoError) -> ErrorCode {
    match e {
        ConvoError::InvalidMessage => ErrorCode::InvalidMessage,
        ConvoError::NoSuchMessage => ErrorCode::NoSuchMessage,
        ConvoError::NotOwnMessage => ErrorCode::NotOwnMessage,
        ConvoError::InvalidReaction => ErrorCode::InvalidReaction,
        ConvoError::InvalidTimer => ErrorCode::InvalidTimer,
        ConvoError::InvalidDisplayName => ErrorCode::InvalidDisplayName,
        ConvoError::UnsupportedConversation => ErrorCode::UnsupportedConversation,
        ConvoError::Bug => ErrorCode::Internal,
        ConvoError::Db(e) => db_error(e),
    }
}

pub(super) fn client_error(e: &ClientError) -> ErrorCode {
    match e {
        ClientError::EmptyMessage => ErrorCode::InvalidMessage,
        _ => ErrorCode::Internal,
    }
}

pub(super) fn prefs_of(settings: &Settings) -> SendPrefs {
    SendPrefs {
        read_receipts: settings.read_receipts,
        typing_indicators: settings.typing_indicators,
    }
}

pub(super) async fn load_json<T: for<'de> Deserialize<'de>>(
    store: &StepStore,
    vault: &UnlockedVault,
    name: &str,
) -> Result<Option<T>, ErrorCode> {
    let bytes = vault.get_record(store, name).await.map_err(store_error)?;
    // A record that decrypts but does not parse (older layout) is ignored, not fatal.
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

pub(super) async fn save_json<T: Serialize, R: CryptoRng>(
    cx: &mut Cx<'_, R>,
    name: &str,
    value: &T,
) -> Result<(), ErrorCode> {
    let bytes = Zeroizing::new(serde_json::to_vec(value).map_err(|_| ErrorCode::Internal)?);
    cx.vault
        .put_record(cx.store, name, &bytes, cx.rng)
        .await
        .map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_a_newer_database_is_named_not_called_corrupted() {
        assert_eq!(
            db_error(MessageDbError::UnsupportedVersion { found: 9 }),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(db_error(MessageDbError::Corrupted), ErrorCode::Corrupted);
        assert_eq!(
            convo_error(ConvoError::UnsupportedConversation),
            ErrorCode::UnsupportedConversation
        );
    }
}
