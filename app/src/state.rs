//! The UI state: which screen is shown and what the worker last told us. Plain data from
//! [`umbra_ipc`]; no key material (the recovery-phrase words are shown, then dropped).

use std::collections::BTreeMap;

use leptos::prelude::*;
use umbra_ipc::{
    AccountState, ConversationSummary, ErrorCode, Event, IPC_VERSION, MessageView, PathState,
    SearchHit, SecretString, Settings, Task, UploadState, patch_messages,
};

/// The screen being shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Waiting for the worker's first status.
    Loading,
    /// Another tab holds the account: this one runs no worker until the user takes over.
    OpenElsewhere,
    /// Another tab took the account over: this tab's worker was stopped.
    TakenOver,
    /// No account: create or restore.
    Welcome,
    /// A new account: its recovery phrase, to be saved by the user.
    ShowPhrase {
        /// The new Account ID.
        account_id: String,
        /// The recovery phrase words (zeroised when the screen is left).
        words: Vec<SecretString>,
    },
    /// Type a recovery phrase.
    Restore,
    /// Choose the passphrase that locks the pending account.
    ChoosePassphrase {
        /// The pending Account ID.
        account_id: String,
        /// True for a newly created account (then persistent storage is requested).
        created: bool,
    },
    /// A locked account: type the passphrase.
    Unlock,
    /// The unlocked account.
    Home {
        /// The Account ID.
        account_id: String,
    },
}

/// What the home screen of an unlocked account shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HomeView {
    /// The conversation list (and the account card).
    List,
    /// Start a conversation by Account ID.
    NewConversation,
    /// One conversation.
    Chat {
        /// The conversation reference (for a one-to-one conversation, the peer's Account ID).
        conversation: String,
    },
    /// Display name and block list.
    Settings,
}

/// What the caller of [`UiState::apply`] must do after an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// Nothing.
    Nothing,
    /// Ask the browser to keep storage (a created or restored account was just stored).
    RequestPersistence,
    /// Open this conversation again: it is on screen without its first page.
    Reopen(String),
    /// Ask for these conversations' profile pictures (stored, not shown yet).
    FetchAvatars(Vec<String>),
    /// Hand this call event to the page's WebRTC side ([`crate::call`]).
    Call(umbra_ipc::CallEvent),
}

/// The open conversation as the worker last pushed it: the first page, patched by every
/// change since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpenChat {
    /// The conversation's row (name, kind); its `conversation` names the open conversation.
    pub(crate) summary: ConversationSummary,
    /// Its latest messages, in ascending (sent time, id) order.
    pub(crate) items: Vec<MessageView>,
    /// A revision per message id, raised whenever its view changes: with the id it keys the
    /// message's row, so only changed rows are rebuilt.
    revs: BTreeMap<u64, u64>,
    /// The next revision to hand out (never reused while the chat is shown).
    next_rev: u64,
}

impl OpenChat {
    /// A freshly opened page; revisions start at `next_rev` so no row key repeats.
    pub(crate) fn new(
        summary: ConversationSummary,
        items: Vec<MessageView>,
        next_rev: u64,
    ) -> Self {
        let mut chat = OpenChat {
            summary,
            items: Vec::new(),
            revs: BTreeMap::new(),
            next_rev,
        };
        let ids: Vec<u64> = items.iter().map(|m| m.id).collect();
        chat.items = items;
        chat.bump(&ids);
        chat
    }

    /// Applies a change pushed by the worker (upserts and removed ids).
    pub(crate) fn patch(&mut self, upserts: Vec<MessageView>, removed: &[u64]) {
        let changed = patch_messages(&mut self.items, upserts, removed);
        for id in removed {
            self.revs.remove(id);
        }
        self.bump(&changed);
    }

    fn bump(&mut self, ids: &[u64]) {
        for id in ids {
            self.revs.insert(*id, self.next_rev);
            self.next_rev += 1;
        }
    }

    /// The row key of message `id`: its id and revision.
    pub(crate) fn key(&self, id: u64) -> (u64, u64) {
        (id, self.revs.get(&id).copied().unwrap_or_default())
    }

    /// The rows to show: each message with its key.
    pub(crate) fn rows(&self) -> Vec<((u64, u64), MessageView)> {
        self.items
            .iter()
            .map(|m| (self.key(m.id), m.clone()))
            .collect()
    }
}

/// Search results as the worker last sent them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SearchState {
    /// The query they answer.
    pub(crate) query: String,
    /// The conversation searched, or all.
    pub(crate) conversation: Option<String>,
    /// The hits, newest first.
    pub(crate) items: Vec<SearchHit>,
}

/// A file being sent: what the tray above the composer shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UploadItem {
    /// The conversation it goes to.
    pub(crate) conversation: String,
    /// The app's handle.
    pub(crate) upload: u64,
    /// The file name (as picked).
    pub(crate) name: String,
    /// How it goes.
    pub(crate) state: UploadState,
}

/// A picked file kept for a retry until its upload is done.
#[derive(Clone, Debug)]
pub(crate) struct PendingFile {
    /// The file name.
    pub(crate) name: String,
    /// Its MIME type.
    pub(crate) content_type: String,
    /// A voice message.
    pub(crate) voice: bool,
    /// Its bytes.
    pub(crate) bytes: Vec<u8>,
}

/// How long a typing indicator shows without news (Session's typing TTL).
pub(crate) const TYPING_SHOW_MS: u64 = 20_000;

/// Reactive UI state shared by every component (all fields are `Copy` signals).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UiState {
    /// The current screen.
    pub(crate) screen: RwSignal<Screen>,
    /// A long task running in the worker (shows the busy indicator).
    pub(crate) busy: RwSignal<Option<Task>>,
    /// The last error from the worker.
    pub(crate) error: RwSignal<Option<ErrorCode>>,
    /// The recovery phrase of the unlocked account, when the user asked to see it.
    pub(crate) shown_phrase: RwSignal<Option<Vec<SecretString>>>,
    /// True when persistent storage was denied (a notice is shown).
    pub(crate) persist_denied: RwSignal<bool>,
    /// True once the worker announced itself.
    pub(crate) worker_ready: RwSignal<bool>,
    /// What the home screen shows.
    pub(crate) home: RwSignal<HomeView>,
    /// The conversation list, latest activity first.
    pub(crate) conversations: RwSignal<Vec<ConversationSummary>>,
    /// The open conversation (`None` until the worker answers).
    pub(crate) chat: RwSignal<Option<OpenChat>>,
    /// Blocked Account IDs (each names its one-to-one conversation).
    pub(crate) blocked: RwSignal<Vec<String>>,
    /// Our display name.
    pub(crate) display_name: RwSignal<Option<String>>,
    /// The onion paths' state (`None` before the first report).
    pub(crate) paths: RwSignal<Option<PathState>>,
    /// The ONS name being looked up, and the last answer (name, Account ID).
    pub(crate) name_lookup: RwSignal<Option<String>>,
    pub(crate) name_resolved: RwSignal<Option<(String, String)>>,
    /// How requests reach the network (`None` before the first report).
    pub(crate) network: RwSignal<Option<umbra_ipc::NetworkView>>,
    /// Config sync with the account's other devices.
    pub(crate) sync: RwSignal<Option<umbra_ipc::SyncView>>,
    /// The device clock's standing (banner when far off or messages wait for the time).
    pub(crate) clock: RwSignal<umbra_ipc::ClockStatus>,
    /// Privacy and notification switches.
    pub(crate) settings: RwSignal<Settings>,
    /// The conversation someone is typing in, and until when it is shown (ms).
    pub(crate) typing: RwSignal<Option<(String, u64)>>,
    /// The last search results.
    pub(crate) search: RwSignal<Option<SearchState>>,
    /// A conversation to open (a notification was clicked).
    pub(crate) open_request: RwSignal<Option<String>>,
    /// Files being sent.
    pub(crate) uploads: RwSignal<Vec<UploadItem>>,
    /// The picked files of [`UiState::uploads`], for a retry.
    pub(crate) pending_files: StoredValue<BTreeMap<u64, PendingFile>>,
    /// Object URLs of the open conversation's attachments: (message id, index) → `blob:` URL.
    pub(crate) files: RwSignal<BTreeMap<(u64, u32), String>>,
    /// Attachments whose bytes were asked for (asked once per open conversation).
    pub(crate) files_asked: StoredValue<std::collections::BTreeSet<(u64, u32)>>,
    /// Object URLs of profile pictures: conversation reference (`""` for ours) → `blob:`.
    pub(crate) avatars: RwSignal<BTreeMap<String, String>>,
    /// Conversations whose picture was asked for.
    pub(crate) avatars_asked: StoredValue<std::collections::BTreeSet<String>>,
    /// The live call.
    pub(crate) call: RwSignal<Option<crate::ui::call::CallView>>,
    /// How the last call ended (until dismissed or the next call).
    pub(crate) call_ended: RwSignal<Option<umbra_ipc::CallEndReason>>,
}

impl UiState {
    /// The initial state.
    pub(crate) fn new() -> Self {
        UiState {
            screen: RwSignal::new(Screen::Loading),
            busy: RwSignal::new(None),
            error: RwSignal::new(None),
            shown_phrase: RwSignal::new(None),
            persist_denied: RwSignal::new(false),
            worker_ready: RwSignal::new(false),
            home: RwSignal::new(HomeView::List),
            conversations: RwSignal::new(Vec::new()),
            chat: RwSignal::new(None),
            blocked: RwSignal::new(Vec::new()),
            display_name: RwSignal::new(None),
            paths: RwSignal::new(None),
            network: RwSignal::new(None),
            sync: RwSignal::new(None),
            name_lookup: RwSignal::new(None),
            name_resolved: RwSignal::new(None),
            clock: RwSignal::new(umbra_ipc::ClockStatus::default()),
            settings: RwSignal::new(Settings::default()),
            typing: RwSignal::new(None),
            search: RwSignal::new(None),
            open_request: RwSignal::new(None),
            uploads: RwSignal::new(Vec::new()),
            pending_files: StoredValue::new(BTreeMap::new()),
            files: RwSignal::new(BTreeMap::new()),
            files_asked: StoredValue::new(Default::default()),
            avatars: RwSignal::new(BTreeMap::new()),
            avatars_asked: StoredValue::new(Default::default()),
            call: RwSignal::new(None),
            call_ended: RwSignal::new(None),
        }
    }

    /// Revokes the object URLs of the attachments shown (the conversation was left).
    pub(crate) fn forget_files(&self) {
        for url in self.files.get_untracked().values() {
            crate::browser::revoke_object_url(url);
        }
        self.files.set(BTreeMap::new());
        self.files_asked.set_value(Default::default());
    }

    /// Shows `screen` and clears transient messages.
    pub(crate) fn go(&self, screen: Screen) {
        self.error.set(None);
        self.shown_phrase.set(None);
        self.screen.set(screen);
    }

    /// Shows `view` on the home screen and clears the error line.
    pub(crate) fn go_home(&self, view: HomeView) {
        self.error.set(None);
        if !matches!(view, HomeView::Chat { .. }) {
            self.chat.set(None);
        }
        if self.home.get_untracked() != view {
            self.forget_files();
        }
        self.home.set(view);
    }

    /// Another tab took the account over (its worker is already stopped): forget what was
    /// shown and say so.
    pub(crate) fn taken_over(&self) {
        self.busy.set(None);
        self.clear_account();
        self.go(Screen::TakenOver);
    }

    /// Forgets everything shown of the account (on lock or remove).
    fn clear_account(&self) {
        self.home.set(HomeView::List);
        self.conversations.set(Vec::new());
        self.chat.set(None);
        self.blocked.set(Vec::new());
        self.display_name.set(None);
        self.paths.set(None);
        self.network.set(None);
        self.settings.set(Settings::default());
        self.typing.set(None);
        self.search.set(None);
        self.uploads.set(Vec::new());
        self.pending_files.set_value(BTreeMap::new());
        self.forget_files();
        for url in self.avatars.get_untracked().values() {
            crate::browser::revoke_object_url(url);
        }
        self.avatars.set(BTreeMap::new());
        self.avatars_asked.set_value(Default::default());
        self.call.set(None);
        self.call_ended.set(None);
        crate::browser::set_title(&crate::format::title_text(0));
    }

    /// Applies one event from the worker and says what the caller must do next.
    pub(crate) fn apply(&self, event: Event) -> FollowUp {
        match event {
            Event::Call(e) => return FollowUp::Call(e),
            Event::Ready { version } => {
                if version == IPC_VERSION {
                    self.worker_ready.set(true);
                } else {
                    self.error.set(Some(ErrorCode::BadMessage));
                }
            }
            Event::Status { state } => {
                self.busy.set(None);
                if !matches!(state, AccountState::Unlocked { .. }) {
                    self.clear_account();
                }
                self.go(match state {
                    AccountState::NoAccount => Screen::Welcome,
                    AccountState::Locked => Screen::Unlock,
                    AccountState::Unlocked { account_id } => Screen::Home { account_id },
                });
            }
            Event::Working { task } => {
                self.error.set(None);
                self.busy.set(Some(task));
            }
            Event::AccountCreated { account_id, words } => {
                self.go(Screen::ShowPhrase { account_id, words });
            }
            Event::PhraseAccepted { account_id } => {
                self.go(Screen::ChoosePassphrase {
                    account_id,
                    created: false,
                });
            }
            Event::Unlocked { account_id } => {
                self.busy.set(None);
                // A new or restored account was just stored: ask the browser to keep it.
                let created =
                    matches!(self.screen.get_untracked(), Screen::ChoosePassphrase { .. });
                self.go(Screen::Home { account_id });
                if created {
                    return FollowUp::RequestPersistence;
                }
            }
            Event::RecoveryPhrase { words } => {
                self.busy.set(None);
                self.error.set(None);
                self.shown_phrase.set(Some(words));
            }
            Event::Profile { display_name } => self.display_name.set(display_name),
            Event::Conversations { items } => {
                let unread = items.iter().map(|c| c.unread).sum();
                crate::browser::set_title(&crate::format::title_text(unread));
                let wanted: Vec<String> = items
                    .iter()
                    .filter(|c| c.has_avatar)
                    .map(|c| c.conversation.clone())
                    .filter(|c| !self.avatars_asked.with_value(|a| a.contains(c)))
                    .collect();
                self.conversations.set(items);
                if !wanted.is_empty() {
                    self.avatars_asked
                        .update_value(|a| a.extend(wanted.iter().cloned()));
                    return FollowUp::FetchAvatars(wanted);
                }
            }
            Event::Avatar {
                conversation,
                bytes,
            } => self.avatar(conversation.unwrap_or_default(), &bytes),
            Event::Messages {
                conversation,
                summary,
                items,
            } => {
                // Only the conversation on screen is kept; a late answer for another is dropped.
                if self.home.get_untracked() == (HomeView::Chat { conversation }) {
                    self.chat.update(|chat| {
                        let next_rev = chat.as_ref().map_or(0, |c| c.next_rev);
                        *chat = Some(OpenChat::new(summary, items, next_rev));
                    });
                }
            }
            Event::MessagesChanged {
                conversation,
                summary,
                upserts,
                removed,
            } => {
                // A change applies to the page it follows: the one on screen.
                let shown = self.chat.with_untracked(|chat| {
                    chat.as_ref()
                        .is_some_and(|c| c.summary.conversation == conversation)
                });
                let on_screen = HomeView::Chat {
                    conversation: conversation.clone(),
                };
                if self.home.get_untracked() == on_screen {
                    if !shown {
                        // The first page of the conversation on screen never arrived (a worker
                        // restart, a lost answer): a change cannot patch it, so ask again.
                        return FollowUp::Reopen(conversation);
                    }
                    self.chat.update(|chat| {
                        if let Some(chat) = chat {
                            if let Some(summary) = summary {
                                chat.summary = summary;
                            }
                            chat.patch(upserts, &removed);
                        }
                    });
                }
            }
            Event::BlockList { accounts } => self.blocked.set(accounts),
            Event::Paths { state } => self.paths.set(Some(state)),
            Event::Network { network } => self.network.set(Some(network)),
            Event::Sync { sync } => self.sync.set(Some(sync)),
            Event::NameResolved { name, account } => {
                self.name_lookup.set(None);
                self.name_resolved.set(Some((name, account)));
            }
            Event::Clock { clock } => self.clock.set(clock),
            Event::Settings { settings } => self.settings.set(settings),
            Event::PeerTyping {
                conversation,
                typing,
                ..
            } => {
                if typing {
                    let until = crate::browser::now_ms() + TYPING_SHOW_MS;
                    self.typing.set(Some((conversation, until)));
                } else if self
                    .typing
                    .with_untracked(|t| t.as_ref().is_some_and(|(c, _)| *c == conversation))
                {
                    self.typing.set(None);
                }
            }
            Event::Incoming {
                conversation,
                display_name,
                preview,
            } => self.notify(conversation, display_name, preview),
            Event::SearchResults {
                query,
                conversation,
                items,
            } => {
                self.search.set(Some(SearchState {
                    query,
                    conversation,
                    items,
                }));
            }
            Event::Upload {
                conversation,
                upload,
                state,
            } => self.upload_changed(conversation, upload, state),
            Event::AttachmentData {
                conversation,
                id,
                index,
                bytes,
            } => self.attachment_data(&conversation, id, index, &bytes),
            Event::Error { code } => {
                self.busy.set(None);
                self.name_lookup.set(None);
                self.error.set(Some(code));
            }
        }
        FollowUp::Nothing
    }
}

impl UiState {
    /// Shows (or, with no bytes, drops) a profile picture, typed by its first bytes; bytes
    /// that are not a picture are not shown.
    fn avatar(&self, key: String, bytes: &[u8]) {
        let url =
            crate::format::picture_type(bytes).and_then(|ty| crate::browser::object_url(bytes, ty));
        self.avatars.update(|a| {
            let old = match url {
                Some(url) => a.insert(key, url),
                None => a.remove(&key),
            };
            if let Some(old) = old {
                crate::browser::revoke_object_url(&old);
            }
        });
    }

    fn upload_changed(&self, conversation: String, upload: u64, state: UploadState) {
        if state == UploadState::Done {
            self.uploads.update(|u| u.retain(|x| x.upload != upload));
            self.pending_files.update_value(|p| {
                p.remove(&upload);
            });
            return;
        }
        let name = self
            .pending_files
            .with_value(|p| p.get(&upload).map(|f| f.name.clone()))
            .unwrap_or_default();
        self.uploads
            .update(|u| match u.iter_mut().find(|x| x.upload == upload) {
                Some(item) => item.state = state,
                None => u.push(UploadItem {
                    conversation,
                    upload,
                    name,
                    state,
                }),
            });
    }

    /// Keeps the bytes of an attachment of the open conversation as an object URL typed as
    /// the worker's view says (an allow-listed type, else `application/octet-stream`).
    fn attachment_data(&self, conversation: &str, id: u64, index: u32, bytes: &[u8]) {
        let content_type = self.chat.with_untracked(|c| {
            c.as_ref()
                .filter(|c| c.summary.conversation == conversation)
                .and_then(|c| c.items.iter().find(|m| m.id == id))
                .and_then(|m| m.attachments.iter().find(|a| a.index == index))
                .map(|a| a.content_type.clone())
        });
        let Some(content_type) = content_type else {
            return;
        };
        if let Some(url) = crate::browser::object_url(bytes, &content_type) {
            self.files.update(|f| {
                if let Some(old) = f.insert((id, index), url) {
                    crate::browser::revoke_object_url(&old);
                }
            });
        }
    }

    /// Shows a browser notification for a new message while the tab is hidden, when the user
    /// switched notifications on (the text only if they chose to show it).
    fn notify(&self, conversation: String, display_name: Option<String>, preview: String) {
        let settings = self.settings.get_untracked();
        if !settings.notifications || crate::browser::page_visible() {
            return;
        }
        let body = if settings.notification_content {
            let name = display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| crate::format::short_id(&conversation));
            format!("{name}: {preview}")
        } else {
            "New message".to_owned()
        };
        let state = *self;
        crate::browser::show_notification("Umbra", &body, &conversation.clone(), move || {
            state.open_request.set(Some(conversation.clone()));
        });
    }
}

impl Default for UiState {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use umbra_ipc::{ConversationKind, DeliveryState, Direction, DisappearingView};

    use super::*;

    fn summary() -> ConversationSummary {
        ConversationSummary {
            conversation: "05ab".into(),
            display_name: None,
            kind: ConversationKind::Accepted,
            last_preview: None,
            last_time_ms: None,
            unread: 0,
            disappearing: DisappearingView::default(),
            has_avatar: false,
            nickname: None,
            marked_unread: false,
        }
    }

    fn view(id: u64, state: DeliveryState) -> MessageView {
        MessageView {
            id,
            direction: Direction::Outgoing,
            body: format!("m{id}"),
            sent_ms: id,
            state,
            quote: None,
            reactions: vec![],
            expires_at_ms: None,
            kind: Default::default(),
            attachments: Vec::new(),
        }
    }

    fn keys(chat: &OpenChat) -> Vec<(u64, u64)> {
        chat.rows().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn test_a_patch_rekeys_only_the_changed_rows() {
        let mut chat = OpenChat::new(
            summary(),
            vec![
                view(1, DeliveryState::Sent),
                view(2, DeliveryState::Pending),
            ],
            0,
        );
        let before = keys(&chat);
        assert_eq!(before, vec![(1, 0), (2, 1)]);
        // Message 2 is sent, 3 arrives, 1 is repeated unchanged.
        chat.patch(
            vec![
                view(1, DeliveryState::Sent),
                view(2, DeliveryState::Sent),
                view(3, DeliveryState::Received),
            ],
            &[],
        );
        let after = keys(&chat);
        assert_eq!(after[0], before[0], "unchanged row keeps its key");
        assert_ne!(after[1], before[1], "changed row gets a new key");
        assert_eq!(after.iter().map(|k| k.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(chat.items[1].state, DeliveryState::Sent);
        // Removal drops the row; a fresh page continues the revisions (no key repeats).
        chat.patch(vec![], &[1]);
        assert_eq!(
            keys(&chat).iter().map(|k| k.0).collect::<Vec<_>>(),
            vec![2, 3]
        );
        let fresh = OpenChat::new(summary(), vec![view(1, DeliveryState::Sent)], chat.next_rev);
        assert!(!before.contains(&keys(&fresh)[0]));
    }

    #[test]
    fn test_a_change_without_its_page_asks_for_the_page_again() {
        let state = UiState::new();
        let changed = |conversation: &str| Event::MessagesChanged {
            conversation: conversation.into(),
            summary: None,
            upserts: vec![view(7, DeliveryState::Received)],
            removed: vec![],
        };
        // Not on screen: nothing to do.
        assert_eq!(state.apply(changed("05ab")), FollowUp::Nothing);
        // On screen, but its first page never came: ask again, keep no half page.
        state.go_home(HomeView::Chat {
            conversation: "05ab".into(),
        });
        assert_eq!(
            state.apply(changed("05ab")),
            FollowUp::Reopen("05ab".into())
        );
        assert!(state.chat.get_untracked().is_none());
        // The page arrives; the next change patches it.
        state.apply(Event::Messages {
            conversation: "05ab".into(),
            summary: summary(),
            items: vec![view(1, DeliveryState::Sent)],
        });
        assert_eq!(state.apply(changed("05ab")), FollowUp::Nothing);
        let ids: Vec<u64> = state
            .chat
            .get_untracked()
            .map(|c| c.items.iter().map(|m| m.id).collect())
            .unwrap_or_default();
        assert_eq!(ids, vec![1, 7]);
        // A change for another conversation neither patches nor reopens.
        assert_eq!(state.apply(changed("05cd")), FollowUp::Nothing);
    }
}
