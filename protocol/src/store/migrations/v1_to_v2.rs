//! Schema 1 → 2: conversations keyed by [`ConversationId`] instead of a peer's Account ID.
//!
//! Schema 1 names its records `msgdb/v1/conversations`, `msgdb/v1/index/<peer 05… hex>`,
//! `msgdb/v1/message/<key>` and `msgdb/v1/seen`; a conversation has a `peer` and a message
//! content a `conversation`, both Account IDs. Schema 2 renames every record to `msgdb/v2/…`
//! (so every record gets a new keyed-hash id), keys indexes by the conversation id's string
//! form, holds a [`ConversationId`] in `Conversation::id` and in each content, and stamps every
//! record `v: 2`. Every schema-1 conversation becomes a [`ConversationId::Direct`] one. Message
//! keys, timestamps, states, hashes and the key counter carry over unchanged, so the client's
//! outbox entries (which name messages by key) still match. The schema-1 seen set is not
//! carried over (the network client's dedup is the one dedup authority, see
//! [`crate::store::messages`]); it is deleted with the other schema-1 records.
//!
//! Steps: read the schema-1 conversation list and indexes (plus any index of a
//! peer with no listed conversation, which schema 1 creates for a message unsent before it
//! arrived; found by opening unknown records and checking their id against the index name of
//! each author they mention); write the schema-2 contents (chunked), then one batch of the
//! conversation list, the indexes, the deletion of those unlisted schema-1
//! indexes (their copies are written, and a later run could not find them again) and the
//! marker (the commit point, see [`super`]); only then delete every other schema-1 record, the
//! conversation list last, so a crashed delete is found and finished by
//! [`v1_leftover_deletes`].

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;
use serde::Deserialize;

use super::{CHUNK, Result, SchemaRecord, write_chunked};
use crate::address::ConversationId;
use crate::identity::AccountId;
use crate::store::messages::records::{
    CONVERSATIONS, ContentRecord, ConversationsRecord, EntryState, FORMAT, IndexEntry, IndexRecord,
    index_name, message_name,
};
use crate::store::messages::{
    Conversation, ConversationState, Direction, Disappearing, LastMessage, MessageDbError,
    MessageKey, OutboxState, Quote, delete_record_op, load_record, seal_record,
};
use crate::store::{BatchOp, RECORD_ID_PREFIX, Store, StoreError, UnlockedVault};

const V1: u8 = 1;
const V1_CONVERSATIONS: &str = "msgdb/v1/conversations";
const V1_SEEN: &str = "msgdb/v1/seen";

/// Schema 1 hands out message keys in order, saving the counter after the contents; an
/// interrupted insert batch can leave contents just above the saved counter. Leftover
/// contents are deleted up to this far above it.
const KEY_LOOKAHEAD: u64 = 64;

fn v1_index_name(peer: &AccountId) -> String {
    format!("msgdb/v1/index/{peer}")
}

fn v1_message_name(key: u64) -> String {
    format!("msgdb/v1/message/{key}")
}

// ---- schema-1 records, frozen as they were written -----------------------------------------
// Leaf values (states, settings, quotes, the last-message summary) are read with today's model
// types, whose serialized form has not changed since schema 1; a later change to one of them
// must freeze its schema-1 form here.

#[derive(Deserialize)]
struct ConversationsV1 {
    v: u8,
    next_id: u64,
    conversations: Vec<ConversationV1>,
}

#[derive(Deserialize)]
struct ConversationV1 {
    peer: AccountId,
    display_name: Option<String>,
    state: ConversationState,
    last_message: Option<LastMessage>,
    last_activity_ms: u64,
    unread_count: u32,
    last_read_ms: u64,
    disappearing: Disappearing,
}

#[derive(Deserialize)]
struct IndexV1 {
    v: u8,
    entries: Vec<EntryV1>,
}

#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
enum EntryStateV1 {
    Live,
    Unsent,
    Removed,
}

#[derive(Deserialize)]
struct EntryV1 {
    id: u64,
    author: AccountId,
    sent_ms: u64,
    direction: Direction,
    hashes: Vec<String>,
    read: bool,
    expires_at_ms: Option<u64>,
    read_timer_s: Option<u32>,
    outbox: Option<OutboxState>,
    state: EntryStateV1,
}

#[derive(Deserialize)]
struct ContentV1 {
    v: u8,
    received_ms: u64,
    body: String,
    quote: Option<Quote>,
    reactions: BTreeMap<String, BTreeSet<AccountId>>,
}

impl Drop for ContentV1 {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

/// The schema-1 seen set; only its version is read (its hashes are not carried over).
#[derive(Deserialize)]
struct SeenV1 {
    v: u8,
}

fn check_v1(v: u8) -> Result<()> {
    if v == V1 {
        Ok(())
    } else {
        Err(MessageDbError::UnsupportedVersion { found: v })
    }
}

// ---- conversions -----------------------------------------------------------------------------

fn conversation_v2(c: ConversationV1) -> Conversation {
    Conversation {
        id: ConversationId::Direct(c.peer),
        display_name: c.display_name,
        state: c.state,
        last_message: c.last_message,
        last_activity_ms: c.last_activity_ms,
        unread_count: c.unread_count,
        last_read_ms: c.last_read_ms,
        disappearing: c.disappearing,
        profile_updated_s: 0,
        avatar: None,
        avatar_stored: false,
        nickname: None,
        marked_unread: false,
        hidden: false,
    }
}

fn entry_v2(e: EntryV1) -> IndexEntry {
    IndexEntry {
        id: MessageKey(e.id),
        author: e.author,
        sent_ms: e.sent_ms,
        direction: e.direction,
        hashes: e.hashes,
        read: e.read,
        expires_at_ms: e.expires_at_ms,
        read_timer_s: e.read_timer_s,
        outbox: e.outbox,
        state: match e.state {
            EntryStateV1::Live => EntryState::Live,
            EntryStateV1::Unsent => EntryState::Unsent,
            EntryStateV1::Removed => EntryState::Removed,
        },
        files: Vec::new(),
    }
}

fn content_v2(conversation: &ConversationId, c: &ContentV1) -> ContentRecord {
    ContentRecord {
        v: FORMAT,
        conversation: conversation.clone(),
        received_ms: c.received_ms,
        body: c.body.clone(),
        quote: c.quote.clone(),
        reactions: c.reactions.clone(),
        placeholder: None,
        attachments: Vec::new(),
    }
}

// ---- reading schema 1 ------------------------------------------------------------------------

/// True if any schema-1 record that a schema-1 store always has is present (no decryption).
pub(super) async fn has_v1_records<S: Store>(store: &S, vault: &UnlockedVault) -> Result<bool> {
    for name in [V1_CONVERSATIONS, V1_SEEN] {
        if store.get(&vault.record_storage_id(name)).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn load_conversations_v1<S: Store>(
    store: &S,
    vault: &UnlockedVault,
) -> Result<Option<ConversationsV1>> {
    let rec: Option<ConversationsV1> = load_record(store, vault, V1_CONVERSATIONS).await?;
    if let Some(rec) = &rec {
        check_v1(rec.v)?;
    }
    Ok(rec)
}

/// The peers whose schema-1 index is listed: every conversation's, deduplicated, in order.
fn listed_peers(convs: &ConversationsV1) -> Vec<AccountId> {
    let mut seen = BTreeSet::new();
    convs
        .conversations
        .iter()
        .map(|c| c.peer)
        .filter(|p| seen.insert(*p))
        .collect()
}

/// Storage ids of records whose kind is already known (so [`unlisted_indexes`] need not open
/// them): the schema-1 and schema-2 names derivable from the conversation list and counter.
fn known_ids(vault: &UnlockedVault, peers: &[AccountId], next_id: u64) -> BTreeSet<String> {
    let mut names = vec![
        V1_CONVERSATIONS.to_owned(),
        V1_SEEN.to_owned(),
        CONVERSATIONS.to_owned(),
        super::V2_SEEN.to_owned(),
        super::SCHEMA.to_owned(),
    ];
    for p in peers {
        names.push(v1_index_name(p));
        names.push(index_name(&ConversationId::Direct(*p)));
    }
    for key in 1..next_id.saturating_add(KEY_LOOKAHEAD) {
        names.push(v1_message_name(key));
        names.push(message_name(MessageKey(key)));
    }
    names.iter().map(|n| vault.record_storage_id(n)).collect()
}

/// Schema-1 indexes of peers with no listed conversation (tombstones of messages unsent
/// before they arrived), with their storage ids. A record counts only if it opens, parses as
/// a schema-1 index, and its id is the index name of an author it mentions: nothing else can
/// match.
async fn unlisted_indexes<S: Store>(
    store: &S,
    vault: &UnlockedVault,
    known: &BTreeSet<String>,
) -> Result<Vec<(AccountId, IndexV1, String)>> {
    let mut ids = store.ids().await?;
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        if !id.starts_with(RECORD_ID_PREFIX) || known.contains(&id) {
            continue;
        }
        let Some(sealed) = store.get(&id).await? else {
            continue;
        };
        let Ok(plain) = vault.store_key().open(&id, &sealed) else {
            continue;
        };
        let Ok(index) = serde_json::from_slice::<IndexV1>(&plain) else {
            continue;
        };
        if index.v != V1 {
            continue;
        }
        let authors: BTreeSet<AccountId> = index.entries.iter().map(|e| e.author).collect();
        if let Some(peer) = authors
            .into_iter()
            .find(|a| vault.record_storage_id(&v1_index_name(a)) == id)
        {
            out.push((peer, index, id));
        }
    }
    Ok(out)
}

// ---- the step ----------------------------------------------------------------------------------

/// Upgrades a schema-1 store to schema 2 (see the module docs). Idempotent.
pub(super) async fn run<S: Store, R: CryptoRng + ?Sized>(
    store: &S,
    vault: &UnlockedVault,
    rng: &mut R,
) -> Result<()> {
    let convs = load_conversations_v1(store, vault).await?;
    // Not carried over, but a seen set of an unknown format stops the step all the same.
    let seen: Option<SeenV1> = load_record(store, vault, V1_SEEN).await?;
    if let Some(seen) = &seen {
        check_v1(seen.v)?;
    }
    let next_id = convs.as_ref().map_or(1, |c| c.next_id);
    let peers = convs.as_ref().map(listed_peers).unwrap_or_default();

    let mut indexes: Vec<(AccountId, IndexV1)> = Vec::new();
    for peer in &peers {
        if let Some(index) = load_record::<S, IndexV1>(store, vault, &v1_index_name(peer)).await? {
            check_v1(index.v)?;
            indexes.push((*peer, index));
        }
    }
    let known = known_ids(vault, &peers, next_id);
    let mut unlisted_ids = Vec::new();
    for (peer, index, id) in unlisted_indexes(store, vault, &known).await? {
        indexes.push((peer, index));
        unlisted_ids.push(id);
    }

    // Contents first (chunked): nothing points at them until the indexes are written.
    let mut ops: Vec<BatchOp> = Vec::new();
    for (peer, index) in &indexes {
        let conversation = ConversationId::Direct(*peer);
        for e in index
            .entries
            .iter()
            .filter(|e| e.state != EntryStateV1::Removed)
        {
            let content: ContentV1 = load_record(store, vault, &v1_message_name(e.id))
                .await?
                .ok_or(MessageDbError::Corrupted)?;
            check_v1(content.v)?;
            let v2 = content_v2(&conversation, &content);
            ops.push(seal_record(
                vault,
                &message_name(MessageKey(e.id)),
                &v2,
                rng,
            )?);
            if ops.len() >= CHUNK {
                store.write_batch(&ops).await?;
                ops.clear();
            }
        }
    }

    // Then, in one batch: the conversation list, the indexes and the marker.
    let list = ConversationsRecord {
        v: FORMAT,
        next_id,
        conversations: convs
            .map(|c| c.conversations.into_iter().map(conversation_v2).collect())
            .unwrap_or_default(),
    };
    ops.push(seal_record(vault, CONVERSATIONS, &list, rng)?);
    for (peer, index) in indexes {
        let v2 = IndexRecord {
            v: FORMAT,
            entries: index.entries.into_iter().map(entry_v2).collect(),
        };
        ops.push(seal_record(
            vault,
            &index_name(&ConversationId::Direct(peer)),
            &v2,
            rng,
        )?);
    }
    // Unlisted indexes are only found by this scan, so they are deleted before the marker,
    // after their schema-2 copies: a run interrupted between the two leaves the copy, which
    // the next run does not touch.
    ops.extend(unlisted_ids.into_iter().map(|id| BatchOp::Delete { id }));
    ops.push(seal_record(
        vault,
        super::SCHEMA,
        &SchemaRecord { version: FORMAT },
        rng,
    )?);
    store.write_batch(&ops).await?;

    write_chunked(store, &v1_leftover_deletes(store, vault).await?).await
}

/// The deletions of every schema-1 record that is left (after [`run`] committed): contents,
/// indexes and the seen set, then the conversation list, which names the rest. No RNG
/// needed; nothing (two reads, no decryption) once done.
pub(super) async fn v1_leftover_deletes<S: Store>(
    store: &S,
    vault: &UnlockedVault,
) -> Result<Vec<BatchOp>> {
    if !has_v1_records(store, vault).await? {
        return Ok(Vec::new());
    }
    // A list that no longer opens cannot name the rest; it is deleted all the same.
    let convs = match load_conversations_v1(store, vault).await {
        Ok(c) => c,
        Err(MessageDbError::Store(
            e @ (StoreError::Backend { .. } | StoreError::QuotaExceeded),
        )) => {
            return Err(e.into());
        }
        Err(_) => None,
    };
    let next_id = convs.as_ref().map_or(1, |c| c.next_id);
    let peers = convs.as_ref().map(listed_peers).unwrap_or_default();
    let mut ops: Vec<BatchOp> = (1..next_id.saturating_add(KEY_LOOKAHEAD))
        .map(|key| delete_record_op(vault, &v1_message_name(key)))
        .collect();
    ops.extend(
        peers
            .iter()
            .map(|p| delete_record_op(vault, &v1_index_name(p))),
    );
    ops.push(delete_record_op(vault, V1_SEEN));
    ops.push(delete_record_op(vault, V1_CONVERSATIONS));
    Ok(ops)
}
