//! Config sync in the worker (`umbra_protocol::sync`): the account's four user configs are
//! loaded from sealed vault records at start, their namespaces (2–5 of the own swarm) are
//! subscribed to, what is pulled is merged and applied to the message database, and local
//! changes are pushed [`PUSH_DEBOUNCE_MS`] after the last one (the messenger's one timer).
//! Dumps are written as sealed vault records in the same step as what they describe.

use rand_core::CryptoRng;
use umbra_ipc::{ErrorCode, Event, SyncView};
use umbra_protocol::{
    client::{ClientCommand, ConfigPushError, Subscription, SwarmMessage},
    config::ConfigKind,
    identity::AccountId,
    store::messages::{ConversationUpdate, Disappearing},
    store::{MessageDb, UnlockedVault},
    sync::{ConfigSync, Own, PUSH_DEBOUNCE_MS, SyncFailure},
};
use zeroize::Zeroizing;

use super::{Cx, Messenger, db_error, dm, glue::store_error};
use crate::{net, store::StepStore};

/// Vault record of a config's dump: this prefix and the namespace (`worker/v1/config/3`).
pub const CONFIG_RECORD_PREFIX: &str = "worker/v1/config/";

fn record_name(kind: ConfigKind) -> String {
    format!("{CONFIG_RECORD_PREFIX}{}", kind.namespace())
}

/// The configs of `me` from their vault records (a record that does not load is replaced by
/// an empty config, pulled again, and reported in the sync status).
pub(super) async fn load_sync(
    store: &StepStore,
    vault: &UnlockedVault,
    me: AccountId,
) -> Result<ConfigSync, ErrorCode> {
    let mut dumps = Vec::new();
    for kind in ConfigKind::ALL {
        if let Some(bytes) = vault
            .get_record(store, &record_name(kind))
            .await
            .map_err(store_error)?
        {
            dumps.push((kind, bytes.to_vec()));
        }
    }
    Ok(ConfigSync::load(me, &dumps))
}

impl Messenger {
    /// At start: seeds empty configs from what this device knows, subscribes to the config
    /// namespaces and schedules a push of what waits.
    pub(super) async fn start_sync<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let db = MessageDb::new(cx.store, cx.vault);
        match self.sync.seed_contacts(&db).await {
            Ok(_) => {}
            Err(e) => (cx.post)(&Event::Error { code: db_error(e) }),
        }
        if self.sync.config(ConfigKind::UserProfile).seqno() == 0
            && let Some(name) = self.display_name.clone()
        {
            self.sync.set_name(Some(&name));
            self.sync.set_picture(self.convo.picture());
        }
        let now = net::now_ms();
        let subs: Vec<Subscription> = self.sync.subscriptions();
        for sub in subs {
            let cmd = ClientCommand::Subscribe(sub);
            if let Err(e) = self
                .client
                .handle_command(cmd, cx.vault.identity(), now, cx.rng)
            {
                (cx.post)(&Event::Error {
                    code: super::client_error(&e),
                });
            }
        }
        self.configs_edited(cx).await;
    }

    /// A local change touched the configs: push after the debounce (the timer is re-armed).
    pub(super) fn sync_changed(&mut self) {
        if self.sync.wants_push() && self.sync_push_at.is_none() {
            self.sync_push_at = Some(net::now_ms() + PUSH_DEBOUNCE_MS);
            self.arm_timer();
        }
    }

    /// When the debounced push is due (local ms), if one is scheduled.
    pub(super) fn sync_push_due(&self) -> Option<u64> {
        self.sync_push_at
    }

    /// Hands the due pushes to the client (called from the timer).
    pub(super) async fn push_configs_if_due<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let now = net::now_ms();
        if self.sync_push_at.is_none_or(|at| at > now) {
            return;
        }
        self.sync_push_at = None;
        if !self.client.clock_synced() {
            // The store must be signed with the network time: try again later.
            self.sync_push_at = Some(now + PUSH_DEBOUNCE_MS);
            return;
        }
        for cmd in self.sync.pushes(cx.vault.identity()) {
            if let Err(e) = self
                .client
                .handle_command(cmd, cx.vault.identity(), now, cx.rng)
            {
                (cx.post)(&Event::Error {
                    code: super::client_error(&e),
                });
            }
        }
        // The configs are now waiting for their confirmation: saved with this step.
        self.save_dumps(cx).await;
    }

    /// Messages pulled from a subscription: merged (config namespaces of the own swarm
    /// only) and applied.
    pub(super) async fn on_swarm_messages<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        subscription: Subscription,
        messages: Vec<SwarmMessage>,
    ) {
        let me = cx.vault.account_id();
        if subscription.swarm != me.into() {
            return;
        }
        let now = net::now_ms();
        let changed =
            self.sync
                .on_messages(cx.vault.identity(), subscription.namespace, &messages, now);
        if let Some(kind) = changed {
            let net_now = self.client.network_time_ms(now);
            let mut db = MessageDb::new(cx.store, cx.vault);
            let own = Own {
                display_name: self.display_name.as_deref(),
                picture: self.convo.picture(),
            };
            let applied = self.sync.apply(kind, &mut db, own, net_now, cx.rng).await;
            match applied {
                Ok(applied) => {
                    for change in applied.ui {
                        self.show(cx, change);
                    }
                    if let Some(name) = applied.display_name
                        && let Err(code) = self.set_display_name(cx, &name).await
                    {
                        (cx.post)(&Event::Error { code });
                    }
                    if let Some(picture) = applied.picture {
                        self.own_picture_synced(cx, picture).await;
                    }
                    for peer in applied.hidden {
                        // Deleted on another device: deleted here (not written back).
                        let outcome = convo!(self, cx, delete_conversation(&dm(peer)));
                        if let Err(code) = self.apply(cx, outcome) {
                            (cx.post)(&Event::Error { code });
                        }
                    }
                }
                Err(e) => (cx.post)(&Event::Error { code: db_error(e) }),
            }
        }
        // A merge of two branches must be pushed.
        self.configs_edited(cx).await;
        self.post_sync(cx);
    }

    /// The outcome of a config push.
    pub(super) async fn on_config_pushed<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        tag: u64,
        result: Result<String, ConfigPushError>,
    ) {
        if self.sync.on_pushed(tag, result) {
            self.configs_edited(cx).await;
            self.post_sync(cx);
        }
    }

    /// The configs changed (a local edit, a merge, a confirmed push): a push is scheduled if
    /// one is due and the changed dumps are staged with this step.
    async fn configs_edited<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        self.sync_changed();
        self.save_dumps(cx).await;
    }

    /// Stages the dumps of the configs that changed.
    async fn save_dumps<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        for (kind, dump) in self.sync.take_dumps() {
            let dump = Zeroizing::new(dump);
            if let Err(e) = cx
                .vault
                .put_record(cx.store, &record_name(kind), &dump, cx.rng)
                .await
            {
                (cx.post)(&Event::Error {
                    code: store_error(e),
                });
            }
        }
    }

    /// Sets the own display name and records it in the UserProfile config.
    pub async fn set_display_name_synced<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        name: &str,
    ) -> Result<(), ErrorCode> {
        self.set_display_name(cx, name).await?;
        let name = self.display_name.clone();
        self.sync.set_name(name.as_deref());
        self.configs_edited(cx).await;
        Ok(())
    }

    /// The user accepted, blocked or unblocked `peer`, or deleted the conversation
    /// (`None`): recorded in the Contacts config.
    pub(super) async fn sync_contact<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        change: ContactChange,
    ) {
        let now = self.client.network_time_ms(net::now_ms());
        match change {
            ContactChange::Accepted => self.sync.accepted(&peer, now),
            ContactChange::Blocked(b) => self.sync.blocked(&peer, b, now),
            ContactChange::Deleted => self.sync.deleted(&peer, now),
        }
        self.configs_edited(cx).await;
    }

    /// Messages came from these peers: a contact hidden when its conversation was deleted
    /// shows again (history older than the delete is kept out of the list instead), and a
    /// conversation started again by the message (deleted here, or on another device) agrees
    /// with the contact: accepted, not a request, for an approved contact, with its nickname
    /// and disappearing setting (`ConfigSync::message_from`).
    pub(super) async fn sync_heard_from<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        if self.heard_from.is_empty() {
            return;
        }
        for peer in core::mem::take(&mut self.heard_from) {
            let mut db = MessageDb::new(cx.store, cx.vault);
            let Ok(Some(conv)) = db.conversation(&dm(peer)).await else {
                continue;
            };
            // The newest message's time: if older than the delete, all of it is history.
            let update = self.sync.message_from(&conv, conv.last_activity_ms);
            if update == ConversationUpdate::default() {
                continue;
            }
            match db
                .upsert_conversation(&dm(peer), update, conv.last_activity_ms, cx.rng)
                .await
            {
                Ok(_) => self.mark_dirty(peer),
                Err(e) => (cx.post)(&Event::Error { code: db_error(e) }),
            }
        }
        self.configs_edited(cx).await;
    }

    /// Posts the sync status if it changed since it was last posted.
    pub(super) fn post_sync<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let status = self.sync.status();
        let view = SyncView {
            last_merge_ms: status.last_merge_ms,
            failures: status
                .failures
                .iter()
                .map(|(kind, failure)| {
                    let why = match failure {
                        SyncFailure::Config(e) => e.to_string(),
                        SyncFailure::PushFailed => "not stored by the network yet".into(),
                    };
                    format!("{}: {why}", config_name(*kind))
                })
                .collect(),
        };
        if self.sync_posted.as_ref() != Some(&view) {
            (cx.post)(&Event::Sync { sync: view.clone() });
            self.sync_posted = Some(view);
        }
    }

    /// The disappearing setting of `peer`'s conversation changed here: recorded in the
    /// Contacts config.
    pub(super) async fn sync_disappearing<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        setting: Disappearing,
    ) {
        self.sync.disappearing(&peer, setting);
        self.configs_edited(cx).await;
    }

    /// The user named `peer` here: recorded in the Contacts config.
    pub(super) async fn sync_nickname<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        nickname: Option<&str>,
    ) {
        self.sync.nickname(&peer, nickname);
        self.configs_edited(cx).await;
    }

    /// The own picture changed here (set, or removed): recorded in the UserProfile config.
    pub(super) async fn sync_picture<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        self.sync.set_picture(self.convo.picture());
        self.configs_edited(cx).await;
    }

    /// `peer`'s conversation may have been read (or marked unread): its last-read time and
    /// unread flag go into the ConvoInfoVolatile config.
    pub(super) async fn sync_read<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>, peer: AccountId) {
        let db = MessageDb::new(cx.store, cx.vault);
        let Ok(Some(conv)) = db.conversation(&dm(peer)).await else {
            return;
        };
        if conv.last_read_ms == 0 && !conv.marked_unread {
            return;
        }
        let now = self.client.network_time_ms(net::now_ms());
        self.sync
            .read(&peer, conv.last_read_ms, conv.marked_unread, now);
        self.configs_edited(cx).await;
    }
}

/// How Settings names a config.
fn config_name(kind: ConfigKind) -> &'static str {
    match kind {
        ConfigKind::UserProfile => "Profile",
        ConfigKind::Contacts => "Contacts",
        ConfigKind::ConvoInfoVolatile => "Read state",
        ConfigKind::UserGroups => "Groups and communities",
    }
}

/// A change of a contact the configs record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ContactChange {
    /// Accepted (a request, or written to first).
    Accepted,
    /// Blocked (`true`) or unblocked.
    Blocked(bool),
    /// The conversation was deleted.
    Deleted,
}
