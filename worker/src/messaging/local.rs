//! The commands [`Messenger`] answers from local records alone, sending nothing that means
//! anything to the conversation rules: the conversation list and the open conversation's
//! messages, the block list, the profile and settings records, and search (which decrypts
//! the local store only; nothing goes to the network).

use std::collections::BTreeMap;

use rand_core::CryptoRng;
use umbra_ipc::{
    ConversationKind, ConversationSummary, Direction as IpcDirection, ErrorCode, Event,
    NetworkView, SearchHit, Settings,
};
use umbra_protocol::client::RouteInfo;
use umbra_protocol::{
    address::ConversationId,
    convo,
    identity::AccountId,
    store::{
        MessageDb,
        messages::{Direction, Message},
    },
};

use super::{
    BRIDGES_RECORD, Cx, MAX_SEARCH_RESULTS, Messenger, PAGE, PROFILE_RECORD, Profile,
    SETTINGS_RECORD, convo_error, db_error, dm, message_view, prefs_of, save_json, summary, view,
};

impl Messenger {
    /// Posts the conversation list.
    pub async fn post_conversations<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
    ) -> Result<(), ErrorCode> {
        let list = MessageDb::new(cx.store, cx.vault)
            .list_conversations()
            .await
            .map_err(db_error)?;
        self.dirty_list = false;
        (cx.post)(&Event::Conversations {
            items: list.iter().filter(|c| !c.hidden).map(summary).collect(),
        });
        Ok(())
    }

    /// Posts the messages of `peer`'s conversation (a fresh conversation has an empty one):
    /// the whole page after [`Messenger::open`], then only what changed
    /// ([`crate::views`]).
    pub async fn post_messages<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: &AccountId,
    ) -> Result<(), ErrorCode> {
        let db = MessageDb::new(cx.store, cx.vault);
        let id = dm(*peer);
        let conversation = match db.conversation(&id).await.map_err(db_error)? {
            Some(c) => summary(&c),
            None => ConversationSummary {
                conversation: peer.to_string(),
                display_name: None,
                kind: ConversationKind::Accepted,
                last_preview: None,
                last_time_ms: None,
                unread: 0,
                disappearing: Default::default(),
                has_avatar: false,
                nickname: None,
                marked_unread: false,
            },
        };
        let list: Vec<Message> = db
            .list_messages(&id, PAGE, 0)
            .await
            .map_err(db_error)?
            .into_iter()
            .filter(|m| !m.deleted)
            .collect();
        let mut targets: view::QuoteTargets = list
            .iter()
            .map(|m| ((m.author, m.sent_ms), view::quote_target(m)))
            .collect();
        // Quoted messages older than the page.
        for q in list.iter().filter_map(|m| m.quote.as_ref()) {
            let key = (q.target.author, q.target.sent_ms);
            if targets.contains_key(&key) {
                continue;
            }
            if let Some(found) = db
                .find_message(&id, &q.target)
                .await
                .map_err(db_error)?
                .filter(|m| !m.deleted)
            {
                targets.insert(key, view::quote_target(&found));
            }
        }
        let me = cx.vault.account_id();
        let items = list
            .iter()
            .map(|m| {
                let mut v = message_view(m, &me, &targets);
                for a in &mut v.attachments {
                    if self.files.downloading.contains(&(m.id, a.index as usize)) {
                        a.availability = umbra_ipc::AttachmentAvailability::Downloading;
                    }
                }
                v
            })
            .collect();
        self.dirty_peers.remove(peer);
        if let Some(event) = self.page.update(peer.to_string(), conversation, items) {
            (cx.post)(&event);
        }
        Ok(())
    }

    /// Posts the block list.
    pub async fn post_blocked<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
    ) -> Result<(), ErrorCode> {
        let list = MessageDb::new(cx.store, cx.vault)
            .blocked()
            .await
            .map_err(db_error)?;
        (cx.post)(&Event::BlockList {
            accounts: list.iter().map(ToString::to_string).collect(),
        });
        Ok(())
    }

    /// Sets the display name sent with our messages (empty clears it) and posts
    /// [`Event::Profile`].
    pub async fn set_display_name<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        name: &str,
    ) -> Result<(), ErrorCode> {
        let display_name = convo::checked_display_name(name).map_err(convo_error)?;
        // Network time: Session peers compare it with the one they hold (profile.ts).
        let updated_s = self.client.network_time_ms(crate::net::now_ms()) / 1000;
        save_json(
            cx,
            PROFILE_RECORD,
            &Profile {
                display_name: display_name.clone(),
                updated_s,
                picture: self.convo.picture().cloned(),
            },
        )
        .await?;
        self.display_name = display_name.clone();
        let effects = self.convo.set_display_name(display_name.clone(), updated_s);
        self.apply_effects(cx, effects);
        (cx.post)(&Event::Profile { display_name });
        Ok(())
    }

    /// Posts the settings.
    pub fn post_settings<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) -> Result<(), ErrorCode> {
        (cx.post)(&Event::Settings {
            settings: self.settings,
        });
        self.sync_posted = None;
        self.post_sync(cx);
        Ok(())
    }

    /// Starts resolving an ONS name through the network; answered with
    /// [`Event::NameResolved`] or an error when the client reports back.
    pub async fn resolve_name<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        name: &str,
    ) -> Result<(), ErrorCode> {
        self.ons_tag += 1;
        let cmd = umbra_protocol::client::ClientCommand::ResolveOns {
            tag: self.ons_tag,
            name: name.to_owned(),
        };
        self.client
            .handle_command(cmd, cx.vault.identity(), crate::net::now_ms(), cx.rng)
            .map_err(|e| super::client_error(&e))?;
        self.run_actions(cx).await;
        Ok(())
    }

    /// Posts how requests reach the network.
    pub fn post_network<R: CryptoRng>(&self, cx: &mut Cx<'_, R>) {
        let bridge = match self.client.route_info() {
            RouteInfo::Direct => None,
            RouteInfo::Bridge(url) => Some(url),
        };
        (cx.post)(&Event::Network {
            network: NetworkView {
                network: self.network.network.name().into(),
                bridge,
                own_bridges: self.own_bridges.clone(),
                bundle_bridges: self.network.bridges.clone(),
            },
        });
    }

    /// Uses the user's own `bridges` before the bundle's (saved sealed in the vault) and
    /// posts the route. [`ErrorCode::InvalidBridge`] for an address that is not one; nothing
    /// changes then.
    pub async fn set_bridges<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        bridges: &[String],
    ) -> Result<(), ErrorCode> {
        let own = crate::network::check_bridges(bridges).ok_or(ErrorCode::InvalidBridge)?;
        save_json(cx, BRIDGES_RECORD, &own).await?;
        let config = self.network.client_config(&own);
        self.own_bridges = own;
        self.client.set_bridges(config.bridges);
        // (The client reports the change as an action; the route is posted now as well, so
        // the answer never waits for the next drain.)
        self.post_network(cx);
        self.run_actions(cx).await;
        Ok(())
    }

    /// Saves the settings (sealed in the vault) and posts them.
    pub async fn set_settings<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        settings: Settings,
    ) -> Result<(), ErrorCode> {
        save_json(cx, SETTINGS_RECORD, &settings).await?;
        self.settings = settings;
        self.convo.set_prefs(prefs_of(&settings));
        self.set_calls_enabled(settings.calls);
        self.post_settings(cx)
    }

    /// Searches the local messages (one conversation or all) and posts the hits, newest
    /// first. Nothing is sent to the network.
    pub async fn search<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        query: String,
        peer: Option<AccountId>,
    ) -> Result<(), ErrorCode> {
        let db = MessageDb::new(cx.store, cx.vault);
        let needle = query.trim();
        let hits = if needle.is_empty() {
            Vec::new()
        } else {
            db.search(needle, peer.map(dm).as_ref())
                .await
                .map_err(db_error)?
        };
        let names: BTreeMap<ConversationId, Option<String>> = db
            .list_conversations()
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|c| (c.id, c.display_name))
            .collect();
        let items = hits
            .into_iter()
            .filter(|m| !m.deleted)
            .take(MAX_SEARCH_RESULTS)
            .map(|m| SearchHit {
                conversation: m.conversation.to_string(),
                display_name: names.get(&m.conversation).cloned().flatten(),
                id: m.id.0,
                direction: match m.direction {
                    Direction::Incoming => IpcDirection::Incoming,
                    Direction::Outgoing => IpcDirection::Outgoing,
                },
                body: m.body,
                sent_ms: m.sent_ms,
            })
            .collect();
        (cx.post)(&Event::SearchResults {
            query,
            conversation: peer.map(|p| p.to_string()),
            items,
        });
        Ok(())
    }
}
