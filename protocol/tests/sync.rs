//! Config sync between two devices of one account (`umbra_protocol::sync`), natively: each
//! device has its own message database (`MemoryStore`) and configs; the own swarm's config
//! namespaces are an in-memory list of stored messages that pushes write (store + delete of
//! the superseded hashes) and pulls read from a per-device position.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::address::{ConversationId, StorageHash};
use umbra_protocol::client::{ClientCommand, SubscriptionAuth, SwarmMessage};
use umbra_protocol::config::{ConfigKind, DictValue, contacts, user_profile};
use umbra_protocol::convo::UiChange;
use umbra_protocol::identity::{AccountId, Identity, Seed};
use umbra_protocol::message::ProfilePicture;
use umbra_protocol::rpc::{self, Namespace};
use umbra_protocol::store::messages::{
    Conversation, ConversationState, Direction, InsertOutcome, MessageDb, NewMessage,
};
use umbra_protocol::store::messages::{ConversationUpdate, Disappearing, DisappearingMode};
use umbra_protocol::store::{MemoryStore, UnlockedVault, Vault};
use umbra_protocol::sync::{ConfigSync, Own, SyncFailure};

const T0: u64 = 1_800_000_000_000;

fn account_seed() -> Seed {
    Seed::from_entropy(&[1; 16]).expect("16 bytes")
}

fn peer(n: u8) -> AccountId {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16 bytes")).account_id()
}

/// The own swarm's config namespaces: (namespace, hash, data) in store order.
#[derive(Default)]
struct Swarm {
    stored: Vec<(i16, String, Vec<u8>)>,
}

impl Swarm {
    /// Carries out a push as the storage server does; returns (tag, hash).
    fn push(&mut self, me: &AccountId, cmd: ClientCommand) -> (u64, String) {
        let ClientCommand::PushConfig {
            tag,
            namespace,
            data,
            obsolete,
        } = cmd
        else {
            panic!("not a push: {cmd:?}");
        };
        let hash = rpc::message_hash(&(*me).into(), namespace, &data);
        self.stored.push((namespace.0, hash.clone(), data));
        self.stored.retain(|(_, h, _)| !obsolete.contains(h));
        (tag, hash)
    }
}

struct Device {
    store: MemoryStore,
    vault: UnlockedVault,
    identity: Identity,
    rng: ChaCha20Rng,
    sync: ConfigSync,
    /// Hashes already handed to `on_messages`, per namespace (the client's last hash).
    seen: BTreeMap<i16, Vec<String>>,
    display_name: Option<String>,
    picture: Option<ProfilePicture>,
    /// Conversations the configs said to delete (`Applied::hidden`).
    hidden: Vec<AccountId>,
    ui: Vec<UiChange>,
}

impl Device {
    fn new(rng_seed: u64) -> Device {
        let store = MemoryStore::new();
        let seed = account_seed();
        let mut rng = ChaCha20Rng::seed_from_u64(rng_seed);
        let vault = block_on(Vault::create_insecure_for_tests(
            &store, "pw", &seed, &mut rng,
        ))
        .expect("vault");
        let identity = Identity::from_seed(&seed);
        let sync = ConfigSync::new(identity.account_id());
        Device {
            store,
            vault,
            identity,
            rng,
            sync,
            seen: BTreeMap::new(),
            display_name: None,
            picture: None,
            hidden: Vec::new(),
            ui: Vec::new(),
        }
    }

    fn db(&self) -> MessageDb<'_, MemoryStore> {
        MessageDb::new(&self.store, &self.vault)
    }

    /// Pushes every dirty config into the swarm and confirms it.
    fn push(&mut self, swarm: &mut Swarm) {
        let me = self.identity.account_id();
        for cmd in self.sync.pushes(&self.identity) {
            let (tag, hash) = swarm.push(&me, cmd);
            assert!(self.sync.on_pushed(tag, Ok(hash)));
        }
    }

    /// Pulls the new messages of every namespace, merges and applies them.
    fn pull(&mut self, swarm: &Swarm, now_ms: u64) {
        for kind in ConfigKind::ALL {
            let ns = kind.namespace();
            let seen = self.seen.entry(ns).or_default();
            let new: Vec<SwarmMessage> = swarm
                .stored
                .iter()
                .filter(|(n, h, _)| *n == ns && !seen.contains(h))
                .map(|(_, h, d)| SwarmMessage {
                    hash: StorageHash(h.clone()),
                    data: d.clone(),
                    expiration_ms: None,
                })
                .collect();
            seen.extend(new.iter().map(|m| m.hash.as_str().to_owned()));
            let changed = self
                .sync
                .on_messages(&self.identity, Namespace(ns), &new, now_ms);
            if let Some(kind) = changed {
                let mut db = MessageDb::new(&self.store, &self.vault);
                let own = Own {
                    display_name: self.display_name.as_deref(),
                    picture: self.picture.as_ref(),
                };
                let applied = block_on(self.sync.apply(kind, &mut db, own, now_ms, &mut self.rng))
                    .expect("apply");
                if let Some(name) = applied.display_name {
                    self.display_name = Some(name);
                }
                if let Some(picture) = applied.picture {
                    self.picture = picture;
                }
                for peer in &applied.hidden {
                    block_on(db.delete_conversation(&ConversationId::Direct(*peer), &mut self.rng))
                        .expect("delete");
                }
                self.hidden.extend(applied.hidden);
                self.ui.extend(applied.ui);
            }
        }
    }

    fn incoming(&mut self, from: AccountId, sent_ms: u64, body: &str) {
        let mut db = MessageDb::new(&self.store, &self.vault);
        let msg = NewMessage {
            conversation: ConversationId::Direct(from),
            direction: Direction::Incoming,
            author: from,
            sent_ms,
            received_ms: sent_ms,
            body: body.into(),
            storage_hash: Some(format!("h{sent_ms}")),
            outbox: None,
            disappearing: None,
            quote: None,
            placeholder: None,
            attachments: Vec::new(),
        };
        let outcome = block_on(db.insert_message(msg, &mut self.rng)).expect("insert");
        assert!(matches!(outcome, InsertOutcome::Inserted(_)));
    }

    fn state_of(&self, peer: AccountId) -> Option<ConversationState> {
        block_on(self.db().conversation(&ConversationId::Direct(peer)))
            .expect("read")
            .map(|c| c.state)
    }

    fn disappearing_of(&self, peer: AccountId) -> Option<Disappearing> {
        block_on(self.db().conversation(&ConversationId::Direct(peer)))
            .expect("read")
            .map(|c| c.disappearing)
    }

    fn set_disappearing(&mut self, peer: AccountId, setting: Disappearing) {
        let update = ConversationUpdate {
            disappearing: Some(setting),
            ..ConversationUpdate::default()
        };
        let mut db = MessageDb::new(&self.store, &self.vault);
        block_on(db.upsert_conversation(&ConversationId::Direct(peer), update, T0, &mut self.rng))
            .expect("upsert");
        self.sync.disappearing(&peer, setting);
    }

    fn conversation(&self, peer: AccountId) -> Conversation {
        block_on(self.db().conversation(&ConversationId::Direct(peer)))
            .expect("read")
            .expect("conversation")
    }

    fn update(&mut self, peer: AccountId, update: ConversationUpdate) {
        let mut db = MessageDb::new(&self.store, &self.vault);
        block_on(db.upsert_conversation(&ConversationId::Direct(peer), update, T0, &mut self.rng))
            .expect("upsert");
    }

    fn unread(&self, peer: AccountId) -> u32 {
        block_on(self.db().conversation(&ConversationId::Direct(peer)))
            .expect("read")
            .map_or(0, |c| c.unread_count)
    }
}

#[test]
fn subscriptions_are_the_four_config_namespaces_of_the_own_swarm() {
    let d = Device::new(1);
    let subs = d.sync.subscriptions();
    let me = d.identity.account_id();
    assert_eq!(
        subs.iter().map(|s| s.namespace.0).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    assert!(
        subs.iter()
            .all(|s| s.swarm == me.into() && s.auth == SubscriptionAuth::Account)
    );
}

#[test]
fn a_fresh_device_gets_name_contacts_blocks_and_read_state() {
    let (bob, carol, dave) = (peer(2), peer(3), peer(4));
    let mut swarm = Swarm::default();
    let mut phone = Device::new(1);
    let mut laptop = Device::new(2);
    // The laptop already has Bob's request (two messages) and Dave's accepted chat.
    laptop.incoming(bob, T0, "hi");
    laptop.incoming(bob, T0 + 1_000, "there");
    laptop.incoming(bob, T0 + 60_000, "later");
    assert_eq!(laptop.state_of(bob), Some(ConversationState::Request));

    phone.sync.set_name(Some("Alice"));
    phone.sync.accepted(&bob, T0);
    phone.sync.blocked(&carol, true, T0);
    phone.sync.accepted(&dave, T0);
    phone.sync.read(&bob, T0 + 1_000, false, T0 + 2_000);
    phone.push(&mut swarm);
    assert!(!phone.sync.wants_push());

    laptop.pull(&swarm, T0 + 3_000);
    assert_eq!(laptop.display_name.as_deref(), Some("Alice"));
    assert_eq!(laptop.state_of(bob), Some(ConversationState::Accepted));
    assert_eq!(laptop.state_of(carol), Some(ConversationState::Blocked));
    assert_eq!(laptop.state_of(dave), Some(ConversationState::Accepted));
    // Read on the phone up to the second message: the third stays unread.
    assert_eq!(laptop.unread(bob), 1);
    assert!(laptop.ui.contains(&UiChange::BlockList));
    assert!(
        laptop
            .ui
            .contains(&UiChange::Conversation(ConversationId::Direct(bob)))
    );
    assert_eq!(
        block_on(laptop.db().blocked()).expect("blocked"),
        vec![carol]
    );
    // Applying again changes nothing more.
    let n = laptop.ui.len();
    laptop.pull(&swarm, T0 + 4_000);
    assert_eq!(laptop.ui.len(), n);
}

#[test]
fn concurrent_edits_on_two_devices_both_survive_and_converge() {
    let (bob, carol, erin) = (peer(2), peer(3), peer(5));
    let mut swarm = Swarm::default();
    let mut a = Device::new(1);
    let mut b = Device::new(2);
    a.sync.accepted(&bob, T0);
    a.push(&mut swarm);
    b.pull(&swarm, T0);
    // Both edit before seeing the other's change.
    a.sync.blocked(&carol, true, T0 + 1);
    b.sync.accepted(&erin, T0 + 1);
    b.sync.set_name(Some("Alice B"));
    a.push(&mut swarm);
    b.push(&mut swarm);
    for _ in 0..3 {
        a.pull(&swarm, T0 + 10);
        a.push(&mut swarm);
        b.pull(&swarm, T0 + 10);
        b.push(&mut swarm);
    }
    for d in [&a, &b] {
        let contacts_cfg = d.sync.config(ConfigKind::Contacts);
        assert_eq!(
            contacts::get(contacts_cfg, &bob).map(|c| c.approved),
            Some(true)
        );
        assert_eq!(
            contacts::get(contacts_cfg, &carol).map(|c| c.blocked),
            Some(true)
        );
        assert_eq!(
            contacts::get(contacts_cfg, &erin).map(|c| c.approved),
            Some(true)
        );
        assert!(!d.sync.wants_push());
    }
    assert_eq!(
        (
            a.sync.config(ConfigKind::Contacts).seqno(),
            a.sync.config(ConfigKind::Contacts).data()
        ),
        (
            b.sync.config(ConfigKind::Contacts).seqno(),
            b.sync.config(ConfigKind::Contacts).data()
        )
    );
    assert_eq!(a.state_of(erin), Some(ConversationState::Accepted));
    assert_eq!(b.state_of(carol), Some(ConversationState::Blocked));
    assert_eq!(a.display_name.as_deref(), Some("Alice B"));
    assert_eq!(
        user_profile::name(a.sync.config(ConfigKind::UserProfile)).as_deref(),
        Some("Alice B")
    );
    // Superseded messages were deleted: one message per config namespace in use.
    for ns in [2, 3] {
        assert_eq!(swarm.stored.iter().filter(|(n, ..)| *n == ns).count(), 1);
    }
}

#[test]
fn another_clients_unknown_keys_survive_our_changes() {
    let bob = peer(2);
    let frank = peer(6);
    let mut swarm = Swarm::default();
    let mut session = Device::new(1);
    let mut umbra = Device::new(2);
    // "Session" writes a contact with a key Umbra does not know, and a top-level one.
    session.sync.accepted(&bob, T0);
    let mut cfg = session.sync.config(ConfigKind::Contacts).clone();
    cfg.set(
        &[b"c", bob.as_bytes(), b"~future"],
        DictValue::from("keep me"),
    )
    .unwrap();
    cfg.set(&[b"zz"], DictValue::from(7)).unwrap();
    let push = cfg.push(&session.identity).unwrap();
    let me = session.identity.account_id();
    let (_, hash) = swarm.push(
        &me,
        ClientCommand::PushConfig {
            tag: 99,
            namespace: Namespace(3),
            data: push.data,
            obsolete: push.obsolete,
        },
    );
    cfg.confirm_pushed(push.seqno, hash);

    umbra.pull(&swarm, T0);
    umbra.sync.blocked(&frank, true, T0);
    umbra.sync.deleted(&bob, T0);
    umbra.push(&mut swarm);
    let mut after = umbra_protocol::config::ConfigState::new(ConfigKind::Contacts);
    let pulled: Vec<(String, Vec<u8>)> = swarm
        .stored
        .iter()
        .filter(|(n, ..)| *n == 3)
        .map(|(_, h, d)| (h.clone(), d.clone()))
        .collect();
    after.merge(&session.identity, &pulled);
    assert_eq!(
        after.get(&[b"c", bob.as_bytes(), b"~future"]),
        Some(&DictValue::from("keep me"))
    );
    assert_eq!(after.get(&[b"zz"]), Some(&DictValue::from(7)));
    // Deleting Bob's conversation hid the accepted contact instead of erasing it.
    assert_eq!(contacts::get(&after, &bob).map(|c| c.priority), Some(-1));
    assert_eq!(contacts::get(&after, &frank).map(|c| c.blocked), Some(true));
}

#[test]
fn dumps_reload_and_a_bad_dump_is_reported_not_fatal() {
    let bob = peer(2);
    let mut swarm = Swarm::default();
    let mut a = Device::new(1);
    a.sync.accepted(&bob, T0);
    let dumps = a.sync.take_dumps();
    assert!(dumps.iter().any(|(k, _)| *k == ConfigKind::Contacts));
    assert!(a.sync.take_dumps().is_empty());
    // Reloaded before pushing: still dirty, pushed after the restart.
    let me = a.identity.account_id();
    a.sync = ConfigSync::load(me, &dumps);
    assert!(a.sync.wants_push());
    a.push(&mut swarm);
    assert_eq!(swarm.stored.len(), 1);
    let mut bad = dumps.clone();
    bad.push((ConfigKind::UserProfile, b"garbage".to_vec()));
    let s = ConfigSync::load(me, &bad);
    assert!(matches!(
        s.status().failures.get(&ConfigKind::UserProfile),
        Some(SyncFailure::Config(_))
    ));
    assert_eq!(
        contacts::get(s.config(ConfigKind::Contacts), &bob).map(|c| c.approved),
        Some(true)
    );
}

#[test]
fn a_failed_push_is_made_again_and_garbage_pulls_are_reported() {
    let bob = peer(2);
    let mut swarm = Swarm::default();
    let mut a = Device::new(1);
    a.sync.accepted(&bob, T0);
    let cmds = a.sync.pushes(&a.identity);
    assert_eq!(cmds.len(), 1);
    assert!(!a.sync.wants_push());
    let ClientCommand::PushConfig { tag, .. } = cmds[0] else {
        panic!()
    };
    assert!(
        a.sync
            .on_pushed(tag, Err(umbra_protocol::client::ConfigPushError::Failed))
    );
    assert_eq!(
        a.sync.status().failures.get(&ConfigKind::Contacts),
        Some(&SyncFailure::PushFailed)
    );
    assert!(a.sync.wants_push());
    a.push(&mut swarm);
    assert!(a.sync.status().failures.is_empty());
    // A message that is no config of ours: reported, nothing else stops.
    let junk = SwarmMessage {
        hash: StorageHash("junk".into()),
        data: vec![1, 2, 3],
        expiration_ms: None,
    };
    assert_eq!(
        a.sync.on_messages(&a.identity, Namespace(4), &[junk], T0),
        None
    );
    assert!(
        a.sync
            .status()
            .failures
            .contains_key(&ConfigKind::ConvoInfoVolatile)
    );
    assert!(!a.sync.status().failures.contains_key(&ConfigKind::Contacts));
}

#[test]
fn note_to_self_is_no_contact() {
    let mut a = Device::new(1);
    let me = a.identity.account_id();
    a.sync.accepted(&me, T0);
    a.sync.blocked(&me, true, T0);
    assert!(!a.sync.wants_push());
    assert!(contacts::get(a.sync.config(ConfigKind::Contacts), &me).is_none());
}

#[test]
fn seeding_keeps_this_devices_accepts_and_blocks() {
    let (bob, carol) = (peer(2), peer(3));
    let mut a = Device::new(1);
    a.incoming(bob, T0, "hi");
    a.incoming(carol, T0, "spam");
    {
        let mut db = MessageDb::new(&a.store, &a.vault);
        block_on(db.accept(&ConversationId::Direct(bob), &mut a.rng)).unwrap();
        block_on(db.block(&carol, T0, &mut a.rng)).unwrap();
    }
    let db = MessageDb::new(&a.store, &a.vault);
    assert!(block_on(a.sync.seed_contacts(&db)).unwrap());
    let cfg = a.sync.config(ConfigKind::Contacts);
    assert_eq!(contacts::get(cfg, &bob).map(|c| c.approved), Some(true));
    assert_eq!(contacts::get(cfg, &carol).map(|c| c.blocked), Some(true));
    assert!(a.sync.wants_push());
}

const ONE_DAY: Disappearing = Disappearing {
    mode: DisappearingMode::AfterSend,
    timer_s: 86_400,
};

#[test]
fn the_own_picture_syncs_and_its_removal_too() {
    let mut swarm = Swarm::default();
    let mut phone = Device::new(1);
    let mut laptop = Device::new(2);
    let picture = ProfilePicture {
        url: "http://files.example/file/abc".into(),
        key: vec![7; 32],
    };
    phone.sync.set_name(Some("Alice"));
    phone.sync.set_picture(Some(&picture));
    phone.push(&mut swarm);
    let data = phone.sync.config(ConfigKind::UserProfile);
    let pic = user_profile::profile_pic(data).expect("the config holds the picture");
    assert_eq!((pic.url.as_str(), pic.key), (picture.url.as_str(), [7; 32]));
    laptop.pull(&swarm, T0);
    assert_eq!(laptop.picture.as_ref(), Some(&picture));
    // Pulled again: the same picture is not fetched again.
    let mut db = MessageDb::new(&laptop.store, &laptop.vault);
    let own = Own {
        display_name: Some("Alice"),
        picture: Some(&picture),
    };
    let again =
        block_on(
            laptop
                .sync
                .apply(ConfigKind::UserProfile, &mut db, own, T0, &mut laptop.rng),
        )
        .expect("apply");
    assert_eq!(again.picture, None);
    // A key that is not 32 bytes is no picture Session can open: not written.
    phone.sync.set_picture(Some(&ProfilePicture {
        url: "http://x/file/1".into(),
        key: vec![1; 5],
    }));
    assert!(user_profile::profile_pic(phone.sync.config(ConfigKind::UserProfile)).is_none());
    phone.sync.set_picture(None);
    phone.push(&mut swarm);
    laptop.pull(&swarm, T0 + 1_000);
    assert_eq!(laptop.picture, None);
}

#[test]
fn disappearing_settings_sync_both_ways_and_unrelated_edits_do_not_undo_later_ones() {
    let (bob, carol) = (peer(2), peer(3));
    let mut swarm = Swarm::default();
    let mut a = Device::new(1);
    let mut b = Device::new(2);
    a.sync.accepted(&bob, T0);
    a.set_disappearing(bob, ONE_DAY);
    a.push(&mut swarm);
    b.pull(&swarm, T0);
    assert_eq!(b.disappearing_of(bob), Some(ONE_DAY));
    assert_eq!(
        contacts::get(b.sync.config(ConfigKind::Contacts), &bob).map(|c| c.disappearing),
        Some(contacts::Disappearing::AfterSend(86_400))
    );
    // Bob turns it off in a control message the laptop alone saw (its database changes, the
    // config does not); the phone then blocks Carol: the laptop applies the block, and not
    // Bob's old setting again.
    let mut db = MessageDb::new(&b.store, &b.vault);
    let off = ConversationUpdate {
        disappearing: Some(Disappearing::OFF),
        ..ConversationUpdate::default()
    };
    block_on(db.upsert_conversation(&ConversationId::Direct(bob), off, T0, &mut b.rng))
        .expect("upsert");
    a.sync.blocked(&carol, true, T0 + 1);
    a.push(&mut swarm);
    b.pull(&swarm, T0 + 2);
    assert_eq!(b.state_of(carol), Some(ConversationState::Blocked));
    assert_eq!(b.disappearing_of(bob), Some(Disappearing::OFF));
    // The laptop changes it back to after-read: the phone follows.
    let after_read = Disappearing {
        mode: DisappearingMode::AfterRead,
        timer_s: 300,
    };
    b.set_disappearing(bob, after_read);
    b.push(&mut swarm);
    a.pull(&swarm, T0 + 3);
    assert_eq!(a.disappearing_of(bob), Some(after_read));
}

#[test]
fn a_conversation_deleted_on_one_device_goes_on_the_other_and_a_nickname_applies() {
    let (bob, carol) = (peer(2), peer(3));
    let mut swarm = Swarm::default();
    let mut a = Device::new(1);
    let mut b = Device::new(2);
    a.sync.accepted(&bob, T0);
    a.sync.accepted(&carol, T0);
    a.push(&mut swarm);
    b.pull(&swarm, T0);
    b.incoming(bob, T0 + 5, "hi");
    assert_eq!(b.state_of(bob), Some(ConversationState::Accepted));
    // Deleted on the phone: hidden in Contacts, gone from the laptop.
    a.sync.deleted(&bob, T0);
    a.push(&mut swarm);
    b.pull(&swarm, T0 + 10);
    assert_eq!(b.hidden, vec![bob]);
    assert_eq!(b.state_of(bob), None);
    assert_eq!(
        b.state_of(carol),
        Some(ConversationState::Accepted),
        "the other contact stays"
    );
    // Carol's own name is known here; another device sets a nickname for her (written as
    // another client would): the laptop keeps both (the app shows the nickname).
    let named = ConversationUpdate {
        display_name: Some(Some("Carol".into())),
        ..ConversationUpdate::default()
    };
    let mut db = MessageDb::new(&b.store, &b.vault);
    block_on(db.upsert_conversation(&ConversationId::Direct(carol), named, T0, &mut b.rng))
        .expect("upsert");
    let mut other = Device::new(3);
    other.pull(&swarm, T0 + 12);
    let mut edited = other.sync.config(ConfigKind::Contacts).clone();
    contacts::update(&mut edited, &carol, |c| c.nickname = "Caz".into()).expect("update");
    let push = edited.push(&other.identity).expect("push");
    swarm.stored.push((3, "nick".into(), push.data));
    b.pull(&swarm, T0 + 13);
    let conv = block_on(b.db().conversation(&ConversationId::Direct(carol)))
        .expect("read")
        .expect("carol");
    assert_eq!(conv.nickname.as_deref(), Some("Caz"));
    assert_eq!(
        conv.display_name.as_deref(),
        Some("Carol"),
        "her own name is kept"
    );
    // A pull that changes nothing hides nothing more.
    let n = b.hidden.len();
    b.pull(&swarm, T0 + 14);
    assert_eq!(b.hidden.len(), n);
}

#[test]
fn a_message_after_a_delete_shows_the_contact_again_and_a_second_delete_syncs_too() {
    let bob = peer(2);
    let mut swarm = Swarm::default();
    let mut a = Device::new(1);
    let mut b = Device::new(2);
    a.sync.accepted(&bob, T0);
    a.sync.nickname(&bob, Some("Bobby"));
    a.push(&mut swarm);
    b.pull(&swarm, T0);
    a.sync.deleted(&bob, T0);
    a.push(&mut swarm);
    b.pull(&swarm, T0 + 10);
    assert_eq!(b.state_of(bob), None);
    // Bob writes again: each device starts a new conversation (a request in the database).
    a.incoming(bob, T0 + 20, "again");
    b.incoming(bob, T0 + 20, "again");
    assert_eq!(a.state_of(bob), Some(ConversationState::Request));
    // The device that sees it unhides Bob and, told he is an approved contact with a
    // nickname (set before the delete), makes the new conversation his again (as the worker does).
    let update = a.sync.message_from(&a.conversation(bob), T0 + 20);
    assert_eq!(
        update.hidden, None,
        "newer than the delete: nothing to hide"
    );
    assert_eq!(update.state, Some(ConversationState::Accepted));
    assert_eq!(update.nickname, Some(Some("Bobby".into())));
    a.update(bob, update);
    a.push(&mut swarm);
    // The other device got the message too (and does the same), then pulls.
    let update = b.sync.message_from(&b.conversation(bob), T0 + 20);
    b.update(bob, update);
    b.pull(&swarm, T0 + 30);
    let conv = b.conversation(bob);
    assert_eq!(
        conv.state,
        ConversationState::Accepted,
        "visible again: no request on the other device either"
    );
    assert_eq!(conv.nickname.as_deref(), Some("Bobby"));
    assert_eq!(
        b.sync.message_from(&conv, T0 + 20),
        ConversationUpdate::default()
    );
    // Both unhid Bob from the same config: the same message, stored already by the first
    // device, so nothing is pushed (pushing it would list its own hash as obsolete).
    assert!(!b.sync.wants_push(), "the same edit is stored already");
    let stored = swarm.stored.len();
    b.push(&mut swarm);
    assert_eq!(swarm.stored.len(), stored);
    assert!(!a.sync.wants_push(), "nothing to unhide any more");
    // A third device that pulls the unhidden contact before Bob's message arrives there
    // makes his conversation itself, with everything the contact says.
    let mut c = Device::new(3);
    c.pull(&swarm, T0 + 45);
    let conv = c.conversation(bob);
    assert_eq!(conv.state, ConversationState::Accepted);
    assert_eq!(conv.nickname.as_deref(), Some("Bobby"));
    // Deleted again, on the other device now: it goes on the first one too.
    b.sync.deleted(&bob, T0 + 40);
    b.push(&mut swarm);
    a.pull(&swarm, T0 + 40);
    assert_eq!(a.hidden, vec![bob]);
    assert_eq!(a.state_of(bob), None);
    // A restore gets the history: Bob's old message is kept out of the list, whichever
    // comes first, the config or the message (kept, not deleted: another device may have
    // seen a newer one and show him again).
    let mut d = Device::new(4);
    d.incoming(bob, T0 + 20, "again");
    d.pull(&swarm, T0 + 60);
    assert!(d.hidden.is_empty(), "not deleted");
    assert!(d.conversation(bob).hidden, "first seen hidden: not listed");
    let mut e = Device::new(5);
    e.pull(&swarm, T0 + 60);
    e.incoming(bob, T0 + 20, "again");
    let update = e.sync.message_from(&e.conversation(bob), T0 + 20);
    assert_eq!(update.hidden, Some(true));
    assert_eq!(update.state, None, "nothing else for history");
    assert!(!e.sync.wants_push(), "old history unhides nothing");
    e.update(bob, update);
    // A message sent after the delete shows him, and tells the other devices.
    e.incoming(bob, T0 + 70, "new");
    let update = e.sync.message_from(&e.conversation(bob), T0 + 70);
    assert_eq!(update.hidden, Some(false));
    assert!(e.sync.wants_push());
    e.update(bob, update);
    assert!(!e.conversation(bob).hidden);
    e.push(&mut swarm);
    d.pull(&swarm, T0 + 80);
    assert!(!d.conversation(bob).hidden, "shown again with the contact");
    // A stranger is no contact: nothing changes and their conversation stays a request.
    a.incoming(peer(9), T0 + 50, "hi");
    let stranger = a.conversation(peer(9));
    assert_eq!(
        a.sync.message_from(&stranger, T0 + 50),
        ConversationUpdate::default()
    );
    assert!(!a.sync.wants_push());
}

#[test]
fn the_unread_flag_syncs_and_opening_clears_it() {
    let bob = peer(2);
    let mut swarm = Swarm::default();
    let mut phone = Device::new(1);
    let mut laptop = Device::new(2);
    laptop.incoming(bob, T0, "hi");
    phone.incoming(bob, T0, "hi");
    let marked = |d: &Device| {
        block_on(d.db().conversation(&ConversationId::Direct(bob)))
            .expect("read")
            .expect("bob")
            .marked_unread
    };
    // Read, then marked unread on the phone: read and marked unread on the laptop.
    phone.sync.read(&bob, T0, true, T0 + 10);
    phone.push(&mut swarm);
    laptop.pull(&swarm, T0 + 20);
    assert!(marked(&laptop));
    assert_eq!(laptop.unread(bob), 0);
    // Opened on the laptop (read whole): the flag goes, and the phone follows.
    let mut db = MessageDb::new(&laptop.store, &laptop.vault);
    block_on(db.mark_read(&ConversationId::Direct(bob), T0 + 30, &mut laptop.rng)).expect("read");
    assert!(!marked(&laptop));
    laptop.sync.read(&bob, T0 + 30, false, T0 + 30);
    laptop.push(&mut swarm);
    let mut db = MessageDb::new(&phone.store, &phone.vault);
    let update = ConversationUpdate {
        marked_unread: Some(true),
        ..ConversationUpdate::default()
    };
    block_on(db.upsert_conversation(&ConversationId::Direct(bob), update, T0, &mut phone.rng))
        .expect("upsert");
    phone.pull(&swarm, T0 + 40);
    assert!(!marked(&phone));
}
