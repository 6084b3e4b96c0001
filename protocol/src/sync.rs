//! Config sync with the account's other devices, sans-IO: the four user configs
//! ([`ConfigState`]s) pulled from and pushed to the own swarm's namespaces 2–5, and what
//! they mean for the message database (`docs/protocol.md` §10, §4.3–4.4).
//!
//! ```text
//! start:   ConfigSync::load(dumps) → subscriptions() → ClientCommand::Subscribe each
//! pull:    ClientEvent::SwarmMessages → on_messages → Some(kind) if it changed
//!          → apply(kind, db) → UI changes (+ the own display name)
//! local:   accepted / blocked / deleted / read / set_name → the configs become dirty;
//!          the caller arms a timer (PUSH_DEBOUNCE_MS) and then calls pushes()
//! push:    pushes() → ClientCommand::PushConfig each → ClientEvent::ConfigPushed
//!          → on_pushed (confirms the hash, or leaves the config to be pushed again)
//! save:    take_dumps() → seal each as a vault record (they hold the account's data)
//! ```
//!
//! What applies to the database, per config:
//! - **Contacts** → 1:1 conversations, for the contacts a merge changed (so an unrelated
//!   edit never re-applies old state over what happened since): blocked → blocked;
//!   approved → accepted (a request is accepted, a block lifted), and an approved contact
//!   that is not hidden gets a conversation if it has none; a changed nickname becomes the
//!   conversation's, a name becomes the display name of one that has none; a changed disappearing setting
//!   becomes the conversation's; a contact newly hidden (priority < 0: deleted on another
//!   device) has its conversation deleted here too ([`Applied::hidden`]). Pinned priority,
//!   notification settings and the contact's avatar are kept in the config (and pushed
//!   back unchanged), not applied.
//! - **UserProfile** → the own display name and picture (returned to the caller, which owns
//!   them).
//! - **ConvoInfoVolatile** → incoming messages sent at or before another device's last-read
//!   time are read; the unread flag marks the conversation unread (or not).
//! - **UserGroups** is kept and round-tripped only.
//!
//! Another device's data is never destroyed: every write goes through the typed views,
//! which leave keys Umbra does not know alone, and merges keep both sides' edits.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use crate::{
    address::ConversationId,
    client::{ClientCommand, ConfigPushError, Subscription, SubscriptionAuth, SwarmMessage},
    config::user_profile::ProfilePic,
    config::{
        ConfigError, ConfigKind, ConfigState, contacts, convo_info_volatile as volatile,
        user_profile,
    },
    convo::UiChange,
    identity::{AccountId, Identity},
    message::ProfilePicture,
    rpc::{self, Namespace},
    store::{
        MessageDb, MessageDbError, Store,
        messages::{
            Conversation, ConversationState, ConversationUpdate, Disappearing, DisappearingMode,
        },
    },
};

/// How long the caller waits after a local change before pushing, so that a burst of
/// changes goes out as one message per config.
pub const PUSH_DEBOUNCE_MS: u64 = 2_000;

/// Poll interval of the config namespaces: slower than the inbox's foreground cadence, so
/// four more subscriptions do not multiply the requests of an open conversation.
pub const CONFIG_POLL_MS: u64 = 5_000;

/// What the caller shows about sync (Settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Local time (ms) of the last pull that merged anything, if any.
    pub last_merge_ms: Option<u64>,
    /// Configs whose last pull, push or dump failed, and why.
    pub failures: BTreeMap<ConfigKind, SyncFailure>,
}

/// Why a config did not sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncFailure {
    /// It did not decrypt, parse, build or load.
    Config(ConfigError),
    /// The swarm did not store the push (retried by the next push).
    PushFailed,
}

/// What applying a config did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Changes for the UI.
    pub ui: Vec<UiChange>,
    /// The own display name the UserProfile config holds, if it differs from the one given.
    pub display_name: Option<String>,
    /// The own picture the UserProfile config holds (`Some(None)`: none), if it differs from
    /// the one given: the caller fetches and shows it.
    pub picture: Option<Option<ProfilePicture>>,
    /// Peers whose conversation another device deleted (their contact became hidden): the
    /// caller deletes the conversation here.
    pub hidden: Vec<AccountId>,
}

/// What the own account shows now, for [`ConfigSync::apply`] to compare the configs with.
#[derive(Clone, Copy, Debug, Default)]
pub struct Own<'a> {
    /// The own display name.
    pub display_name: Option<&'a str>,
    /// The own profile picture.
    pub picture: Option<&'a ProfilePicture>,
}

/// The contacts (and their state before) that the last merge of Contacts changed.
type ContactChanges = Vec<(Option<contacts::Contact>, contacts::Contact)>;

/// The four user configs of the account and their pushes under way.
pub struct ConfigSync {
    me: AccountId,
    configs: BTreeMap<ConfigKind, ConfigState>,
    /// Pushes under way: kind → (tag, seqno).
    in_flight: BTreeMap<ConfigKind, (u64, i64)>,
    next_tag: u64,
    status: SyncStatus,
    /// What the last merge of Contacts changed, until [`ConfigSync::apply`] takes it.
    contact_changes: Option<ContactChanges>,
    /// When (network ms) this device saw a contact become hidden (deleted here, or first
    /// seen hidden in a pulled config): messages sent before are history the user deleted.
    /// Not persisted: after a restart only new messages arrive.
    hidden_at: BTreeMap<AccountId, u64>,
}

impl core::fmt::Debug for ConfigSync {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ConfigSync(<redacted>)")
    }
}

impl ConfigSync {
    /// Empty configs (a new account, or one restored before its first pull).
    pub fn new(me: AccountId) -> Self {
        ConfigSync {
            me,
            configs: ConfigKind::ALL
                .into_iter()
                .map(|k| (k, ConfigState::new(k)))
                .collect(),
            in_flight: BTreeMap::new(),
            next_tag: 1,
            status: SyncStatus::default(),
            contact_changes: None,
            hidden_at: BTreeMap::new(),
        }
    }

    /// The configs from their dumps ([`ConfigSync::take_dumps`]); a dump that does not load
    /// is replaced by an empty config (pulled again) and reported in the status.
    pub fn load(me: AccountId, dumps: &[(ConfigKind, Vec<u8>)]) -> Self {
        let mut sync = ConfigSync::new(me);
        for (kind, dump) in dumps {
            match ConfigState::load(*kind, dump) {
                Ok(state) => {
                    sync.configs.insert(*kind, state);
                }
                Err(e) => {
                    sync.status.failures.insert(*kind, SyncFailure::Config(e));
                }
            }
        }
        sync
    }

    /// One config.
    pub fn config(&self, kind: ConfigKind) -> &ConfigState {
        &self.configs[&kind]
    }

    fn config_mut(&mut self, kind: ConfigKind) -> &mut ConfigState {
        self.configs
            .entry(kind)
            .or_insert_with(|| ConfigState::new(kind))
    }

    /// The status for Settings.
    pub fn status(&self) -> &SyncStatus {
        &self.status
    }

    /// The subscriptions to poll: namespaces 2–5 of the own swarm, signed, every
    /// [`CONFIG_POLL_MS`].
    pub fn subscriptions(&self) -> Vec<Subscription> {
        ConfigKind::ALL
            .into_iter()
            .map(|k| Subscription {
                swarm: self.me.into(),
                namespace: Namespace(k.namespace()),
                auth: SubscriptionAuth::Account,
                interval_ms: Some(CONFIG_POLL_MS),
            })
            .collect()
    }

    /// Merges messages pulled from `namespace` of the own swarm. Returns the config if its
    /// data changed (then [`ConfigSync::apply`] it). Messages that do not decrypt or parse
    /// are skipped; if none of them did, the config is reported as failed.
    pub fn on_messages(
        &mut self,
        own: &Identity,
        namespace: Namespace,
        messages: &[SwarmMessage],
        now_ms: u64,
    ) -> Option<ConfigKind> {
        let kind = ConfigKind::from_namespace(namespace.0)?;
        if messages.is_empty() {
            return None;
        }
        let pulled: Vec<(String, Vec<u8>)> = messages
            .iter()
            .map(|m| (m.hash.as_str().to_owned(), m.data.clone()))
            .collect();
        let before = (kind == ConfigKind::Contacts).then(|| {
            contacts::all(self.config(kind))
                .into_iter()
                .map(|c| (c.account_id, c))
                .collect::<BTreeMap<_, _>>()
        });
        let outcome = self.config_mut(kind).merge(own, &pulled);
        if let Some(mut before) = before
            && outcome.changed
        {
            let changes: ContactChanges = contacts::all(self.config(kind))
                .into_iter()
                .filter_map(|c| {
                    let old = before.remove(&c.account_id);
                    (old.as_ref() != Some(&c)).then_some((old, c))
                })
                .collect();
            self.contact_changes
                .get_or_insert_with(Vec::new)
                .extend(changes);
        }
        if outcome.accepted.is_empty() {
            self.status
                .failures
                .insert(kind, SyncFailure::Config(ConfigError::NoValidConfig));
        } else {
            self.status.failures.remove(&kind);
            self.status.last_merge_ms = Some(now_ms);
        }
        outcome.changed.then_some(kind)
    }

    /// Applies config `kind` to the message database (see the module documentation): for
    /// Contacts, what the merges since the last call changed (everything if there was
    /// none). `own` is what the account shows now; `now_ms` the network time.
    ///
    /// # Errors
    ///
    /// [`MessageDbError`] of the database (the changes not applied yet are applied by the
    /// next call).
    pub async fn apply<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        kind: ConfigKind,
        db: &mut MessageDb<'_, S>,
        own: Own<'_>,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Applied, MessageDbError> {
        let mut out = Applied::default();
        match kind {
            ConfigKind::UserProfile => {
                let state = self.config(kind);
                let name = user_profile::name(state).filter(|n| !n.is_empty());
                if name.is_some() && name.as_deref() != own.display_name {
                    out.display_name = name;
                }
                // Session shares a picture only with a name: no name, nothing to compare.
                if user_profile::name(state).is_some_and(|n| !n.is_empty()) {
                    let picture = user_profile::profile_pic(state).map(|p| ProfilePicture {
                        url: p.url,
                        key: p.key.to_vec(),
                    });
                    if picture.as_ref() != own.picture {
                        out.picture = Some(picture);
                    }
                }
            }
            ConfigKind::Contacts => {
                let changes = match self.contact_changes.take() {
                    Some(changes) => changes,
                    None => contacts::all(self.config(kind))
                        .into_iter()
                        .map(|c| (None, c))
                        .collect(),
                };
                for (i, (before, c)) in changes.iter().enumerate() {
                    if c.account_id == self.me {
                        continue;
                    }
                    if c.priority < 0 && before.as_ref().is_none_or(|b| b.priority >= 0) {
                        self.hidden_at.insert(c.account_id, now_ms);
                    } else if c.priority >= 0 {
                        self.hidden_at.remove(&c.account_id);
                    }
                    if let Err(e) = self
                        .apply_contact(before.as_ref(), c, db, now_ms, rng, &mut out)
                        .await
                    {
                        // Applied again by the next call.
                        self.contact_changes
                            .get_or_insert_with(Vec::new)
                            .extend(changes[i..].iter().cloned());
                        return Err(e);
                    }
                }
            }
            ConfigKind::ConvoInfoVolatile => {
                for (peer, read) in volatile::all_one_to_one(self.config(kind)) {
                    let id = ConversationId::Direct(peer);
                    let Some(conv) = db.conversation(&id).await? else {
                        continue;
                    };
                    let Ok(up_to) = u64::try_from(read.last_read_ms) else {
                        continue;
                    };
                    if up_to > conv.last_read_ms {
                        db.mark_read_up_to(&id, up_to, now_ms, rng).await?;
                        out.ui.push(UiChange::Conversation(id.clone()));
                    }
                    if read.unread != conv.marked_unread {
                        let update = ConversationUpdate {
                            marked_unread: Some(read.unread),
                            ..ConversationUpdate::default()
                        };
                        db.upsert_conversation(&id, update, conv.last_activity_ms, rng)
                            .await?;
                        out.ui.push(UiChange::Conversation(id));
                    }
                }
            }
            ConfigKind::UserGroups => {}
        }
        Ok(out)
    }

    async fn apply_contact<S: Store, R: CryptoRng + ?Sized>(
        &self,
        old: Option<&contacts::Contact>,
        c: &contacts::Contact,
        db: &mut MessageDb<'_, S>,
        now_ms: u64,
        rng: &mut R,
        out: &mut Applied,
    ) -> Result<(), MessageDbError> {
        let id = ConversationId::Direct(c.account_id);
        let conv = db.conversation(&id).await?;
        let newly_hidden = c.priority < 0 && old.is_none_or(|o| o.priority >= 0);
        if let Some(conv) = &conv
            && newly_hidden
            && old.is_some()
            && !c.blocked
            && conv.state != ConversationState::Request
        {
            out.hidden.push(c.account_id);
            return Ok(());
        }
        let mut update = ConversationUpdate::default();
        // A contact first seen hidden (a restore, or accepted and deleted elsewhere before
        // this device heard of it): a conversation old messages made here is history the
        // user deleted, kept out of the list (not deleted: a device that saw a newer message
        // may show the contact again). A contact shown again shows its conversation.
        if let Some(conv) = &conv {
            let hidden = c.priority < 0 && !c.blocked;
            if hidden && old.is_none() && !conv.hidden {
                update.hidden = Some(true);
            } else if !hidden && conv.hidden {
                update.hidden = Some(false);
            }
        }
        // A conversation made now (none here: never had, or deleted and the contact shown
        // again) takes every field; an existing one only what changed.
        let creating = conv.is_none();
        let setting = disappearing_of(c.disappearing);
        if (creating || old.is_none_or(|o| o.disappearing != c.disappearing))
            && conv
                .as_ref()
                .map_or(setting != Disappearing::OFF, |v| v.disappearing != setting)
        {
            update.disappearing = Some(setting);
        }
        let nickname = Some(c.nickname.clone()).filter(|n| !n.is_empty());
        if (creating || old.is_none_or(|o| o.nickname != c.nickname))
            && conv
                .as_ref()
                .map_or(nickname.is_some(), |v| v.nickname != nickname)
        {
            update.nickname = Some(nickname);
        }
        let name = Some(c.name.clone()).filter(|n| !n.is_empty());
        let before = match conv {
            Some(conv) => {
                let wanted = if c.blocked {
                    Some(ConversationState::Blocked)
                } else if c.approved {
                    Some(ConversationState::Accepted)
                } else if conv.state == ConversationState::Blocked {
                    // Unblocked on another device, and never accepted.
                    Some(ConversationState::Request)
                } else {
                    None
                };
                update.state = wanted.filter(|w| *w != conv.state);
                if conv.display_name.is_none() && name.is_some() {
                    update.display_name = Some(name);
                }
                Some(conv.state)
            }
            None => {
                update.state = if c.blocked {
                    Some(ConversationState::Blocked)
                } else if c.approved && c.priority >= 0 {
                    Some(ConversationState::Accepted)
                } else {
                    return Ok(());
                };
                update.display_name = Some(name);
                None
            }
        };
        if update == ConversationUpdate::default() {
            return Ok(());
        }
        let blocked_before = before == Some(ConversationState::Blocked);
        let blocked_after = update
            .state
            .map_or(blocked_before, |s| s == ConversationState::Blocked);
        let created_ms = u64::try_from(c.created)
            .ok()
            .filter(|&s| s > 0)
            .map_or(now_ms, |s| s.saturating_mul(1000));
        db.upsert_conversation(&id, update, created_ms, rng).await?;
        out.ui.push(UiChange::Conversation(id));
        if blocked_before != blocked_after {
            out.ui.push(UiChange::BlockList);
        }
        Ok(())
    }

    /// Seeds an empty Contacts config (seqno 0, nothing pulled or pushed yet) from the
    /// database: accepted 1:1 conversations become approved contacts, blocked ones blocked,
    /// so a first pull cannot undo what this device already decided. Returns whether it
    /// wrote anything.
    ///
    /// # Errors
    ///
    /// [`MessageDbError`] of the database.
    pub async fn seed_contacts<S: Store>(
        &mut self,
        db: &MessageDb<'_, S>,
    ) -> Result<bool, MessageDbError> {
        if self.config(ConfigKind::Contacts).seqno() != 0 {
            return Ok(false);
        }
        let mut wrote = false;
        for conv in db.list_conversations().await? {
            let Some(peer) = conv.id.direct().copied() else {
                continue;
            };
            if peer == self.me || conv.state == ConversationState::Request {
                continue;
            }
            let blocked = conv.state == ConversationState::Blocked;
            let created = i64::try_from(conv.last_activity_ms / 1000).unwrap_or(0);
            self.edit(ConfigKind::Contacts, |s| {
                contacts::update(s, &peer, |c| {
                    c.approved = !blocked;
                    c.blocked = blocked;
                    if c.created == 0 {
                        c.created = created;
                    }
                    if c.name.is_empty() {
                        c.name = conv.display_name.clone().unwrap_or_default();
                    }
                    if c.nickname.is_empty() {
                        c.nickname = conv.nickname.clone().unwrap_or_default();
                    }
                    c.disappearing = config_disappearing(conv.disappearing);
                })
            });
            wrote = true;
        }
        Ok(wrote)
    }

    fn edit(
        &mut self,
        kind: ConfigKind,
        f: impl FnOnce(&mut ConfigState) -> Result<(), ConfigError>,
    ) {
        if let Err(e) = f(self.config_mut(kind)) {
            self.status.failures.insert(kind, SyncFailure::Config(e));
        }
    }

    /// The user accepted `peer` (accepted a request, or wrote first). Not for the own
    /// account (Note to Self is no contact).
    pub fn accepted(&mut self, peer: &AccountId, now_ms: u64) {
        if *peer == self.me {
            return;
        }
        self.edit(ConfigKind::Contacts, |s| {
            contacts::update(s, peer, |c| {
                c.approved = true;
                c.blocked = false;
                if c.priority < 0 {
                    c.priority = 0;
                }
                if c.created == 0 {
                    c.created = i64::try_from(now_ms / 1000).unwrap_or(0);
                }
            })
        });
    }

    /// The user blocked or unblocked `peer`.
    pub fn blocked(&mut self, peer: &AccountId, blocked: bool, now_ms: u64) {
        if *peer == self.me {
            return;
        }
        self.edit(ConfigKind::Contacts, |s| {
            contacts::update(s, peer, |c| {
                c.blocked = blocked;
                if c.created == 0 {
                    c.created = i64::try_from(now_ms / 1000).unwrap_or(0);
                }
            })
        });
    }

    /// The user deleted the 1:1 conversation with `peer`: an accepted contact is hidden
    /// (kept, as Session keeps it), another one removed; its read state is removed.
    pub fn deleted(&mut self, peer: &AccountId, now_ms: u64) {
        let mut hidden = false;
        self.edit(ConfigKind::Contacts, |s| {
            match contacts::get(s, peer) {
                Some(c) if c.approved || c.blocked => {
                    contacts::update(s, peer, |c| c.priority = -1)?;
                    hidden = true;
                }
                Some(_) => {
                    contacts::erase(s, peer);
                }
                None => {}
            }
            Ok(())
        });
        self.edit(ConfigKind::ConvoInfoVolatile, |s| {
            volatile::erase(s, &volatile::Convo::OneToOne(*peer));
            Ok(())
        });
        if hidden {
            self.hidden_at.insert(*peer, now_ms);
        }
    }

    /// A message from `conv`'s peer, sent at `sent_ms` (network ms), arrived. A contact hidden
    /// when its conversation was deleted shows again, as the conversation is back
    /// (session-desktop `ConversationModel.unhideIfNeeded`, run for every incoming message) —
    /// unless the message is older than the delete as this device saw it (history fetched by
    /// a restore, or late): then its conversation is kept out of the list. Returns what makes
    /// `conv` agree with the contact (empty if nothing): a conversation deleted here or on
    /// another device and started again by this message is accepted, not a request, when the
    /// peer is an approved contact, and gets back its nickname and disappearing setting.
    pub fn message_from(&mut self, conv: &Conversation, sent_ms: u64) -> ConversationUpdate {
        let mut update = ConversationUpdate::default();
        let Some(peer) = conv.id.direct().copied().filter(|p| *p != self.me) else {
            return update;
        };
        let Some(contact) = contacts::get(self.config(ConfigKind::Contacts), &peer) else {
            return update;
        };
        if contact.priority < 0 && !contact.blocked {
            if self.hidden_at.get(&peer).is_some_and(|&at| sent_ms <= at) {
                if !conv.hidden {
                    update.hidden = Some(true);
                }
                return update;
            }
            if conv.hidden {
                update.hidden = Some(false);
            }
            self.hidden_at.remove(&peer);
            self.edit(ConfigKind::Contacts, |s| {
                contacts::update(s, &peer, |c| c.priority = 0)
            });
        }
        if conv.state == ConversationState::Request && contact.approved && !contact.blocked {
            update.state = Some(ConversationState::Accepted);
        }
        if conv.nickname.is_none() && !contact.nickname.is_empty() {
            update.nickname = Some(Some(contact.nickname.clone()));
        }
        let setting = disappearing_of(contact.disappearing);
        if conv.disappearing == Disappearing::OFF && setting != Disappearing::OFF {
            update.disappearing = Some(setting);
        }
        update
    }

    /// The user read the 1:1 conversation with `peer` up to `last_read_ms` (network ms), or
    /// marked it unread (`unread`).
    pub fn read(&mut self, peer: &AccountId, last_read_ms: u64, unread: bool, now_ms: u64) {
        let read = volatile::ReadState {
            last_read_ms: i64::try_from(last_read_ms).unwrap_or(i64::MAX),
            unread,
        };
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        self.edit(ConfigKind::ConvoInfoVolatile, |s| {
            volatile::set(s, &volatile::Convo::OneToOne(*peer), read, now)
        });
    }

    /// The disappearing setting of the 1:1 conversation with `peer` changed (set here, or
    /// by the peer).
    pub fn disappearing(&mut self, peer: &AccountId, setting: Disappearing) {
        if *peer == self.me {
            return;
        }
        let value = config_disappearing(setting);
        self.edit(ConfigKind::Contacts, |s| {
            if contacts::get(s, peer).is_none_or(|c| c.disappearing != value) {
                contacts::update(s, peer, |c| c.disappearing = value)?;
            }
            Ok(())
        });
    }

    /// The user set (or removed) the own profile picture.
    pub fn set_picture(&mut self, picture: Option<&ProfilePicture>) {
        let pic = picture.and_then(|p| {
            Some(ProfilePic {
                url: p.url.clone(),
                key: p.key.as_slice().try_into().ok()?,
            })
        });
        self.edit(ConfigKind::UserProfile, |s| {
            if user_profile::profile_pic(s) != pic {
                user_profile::set_profile_pic(s, pic.as_ref())?;
            }
            Ok(())
        });
    }

    /// The user named `peer` (`None`: removed the nickname).
    pub fn nickname(&mut self, peer: &AccountId, nickname: Option<&str>) {
        if *peer == self.me {
            return;
        }
        let value = nickname.unwrap_or("").to_owned();
        self.edit(ConfigKind::Contacts, |s| {
            if contacts::get(s, peer).is_none_or(|c| c.nickname != value) {
                contacts::update(s, peer, |c| c.nickname = value)?;
            }
            Ok(())
        });
    }

    /// The user changed the own display name (`None`: cleared).
    pub fn set_name(&mut self, name: Option<&str>) {
        self.edit(ConfigKind::UserProfile, |s| {
            user_profile::set_name(s, name.unwrap_or(""))
        });
    }

    /// Whether some config waits to be pushed and has no push under way.
    pub fn wants_push(&self) -> bool {
        self.configs
            .iter()
            .any(|(k, s)| s.needs_push() && !self.in_flight.contains_key(k))
    }

    /// The pushes to hand to the client now: one [`ClientCommand::PushConfig`] per config
    /// that needs it and has none under way.
    pub fn pushes(&mut self, own: &Identity) -> Vec<ClientCommand> {
        let mut out = Vec::new();
        for kind in ConfigKind::ALL {
            if self.in_flight.contains_key(&kind) {
                continue;
            }
            let state = self.config_mut(kind);
            if !state.needs_push() {
                continue;
            }
            match state.push(own) {
                Ok(push) => {
                    let tag = self.next_tag;
                    self.next_tag += 1;
                    self.in_flight.insert(kind, (tag, push.seqno));
                    let namespace = Namespace(kind.namespace());
                    // A message identical to one already stored (the same edit made on two
                    // devices) has that message's hash: deleting it in the same sequence
                    // would delete what was just stored.
                    let own_hash = rpc::message_hash(&self.me.into(), namespace, &push.data);
                    let obsolete = push
                        .obsolete
                        .into_iter()
                        .filter(|h| *h != own_hash)
                        .collect();
                    out.push(ClientCommand::PushConfig {
                        tag,
                        namespace,
                        data: push.data,
                        obsolete,
                    });
                }
                Err(e) => {
                    self.status.failures.insert(kind, SyncFailure::Config(e));
                }
            }
        }
        out
    }

    /// The outcome of a push ([`ClientEvent::ConfigPushed`](crate::client::ClientEvent)).
    /// Returns whether `tag` was one of these pushes. A failed push is made again by the next
    /// [`ConfigSync::pushes`].
    pub fn on_pushed(&mut self, tag: u64, result: Result<String, ConfigPushError>) -> bool {
        let Some(kind) = self
            .in_flight
            .iter()
            .find(|(_, (t, _))| *t == tag)
            .map(|(k, _)| *k)
        else {
            return false;
        };
        let Some((_, seqno)) = self.in_flight.remove(&kind) else {
            return false;
        };
        match result {
            Ok(hash) => {
                self.config_mut(kind).confirm_pushed(seqno, hash);
                self.status.failures.remove(&kind);
            }
            Err(_) => {
                self.status.failures.insert(kind, SyncFailure::PushFailed);
            }
        }
        true
    }

    /// The dumps of the configs that changed since the last call, to persist (sealed).
    pub fn take_dumps(&mut self) -> Vec<(ConfigKind, Vec<u8>)> {
        self.configs
            .iter_mut()
            .filter(|(_, s)| s.needs_dump())
            .map(|(k, s)| (*k, s.dump()))
            .collect()
    }
}

/// A config disappearing setting as the database keeps it (a timer that does not fit is
/// the longest one).
fn disappearing_of(d: contacts::Disappearing) -> Disappearing {
    let timer = |t: i64| u32::try_from(t.max(0)).unwrap_or(u32::MAX);
    match d {
        contacts::Disappearing::Off => Disappearing::OFF,
        contacts::Disappearing::AfterSend(t) if t > 0 => Disappearing {
            mode: DisappearingMode::AfterSend,
            timer_s: timer(t),
        },
        contacts::Disappearing::AfterRead(t) if t > 0 => Disappearing {
            mode: DisappearingMode::AfterRead,
            timer_s: timer(t),
        },
        _ => Disappearing::OFF,
    }
}

/// The database's disappearing setting as the Contacts config writes it.
fn config_disappearing(d: Disappearing) -> contacts::Disappearing {
    match (d.mode, i64::from(d.timer_s)) {
        (DisappearingMode::AfterSend, t) if t > 0 => contacts::Disappearing::AfterSend(t),
        (DisappearingMode::AfterRead, t) if t > 0 => contacts::Disappearing::AfterRead(t),
        _ => contacts::Disappearing::Off,
    }
}
