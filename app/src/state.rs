//! The UI state: which screen is shown and what the worker last told us. Plain data from
//! [`umbra_ipc`]; no key material (the recovery-phrase words are shown, then dropped).

use leptos::prelude::*;
use umbra_ipc::{
    AccountState, ConversationSummary, ErrorCode, Event, IPC_VERSION, MessageView, PathState,
    SearchHit, Settings, Task,
};

/// The screen being shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Waiting for the worker's first status.
    Loading,
    /// No account: create or restore.
    Welcome,
    /// A new account: its recovery phrase, to be saved by the user.
    ShowPhrase {
        /// The new Account ID.
        account_id: String,
        /// The recovery phrase words.
        words: Vec<String>,
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
        /// The peer's Account ID.
        peer: String,
    },
    /// Display name and block list.
    Settings,
}

/// The open conversation as the worker last pushed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpenChat {
    /// The conversation's row (name, kind).
    pub(crate) conversation: ConversationSummary,
    /// Its latest messages, oldest first.
    pub(crate) items: Vec<MessageView>,
}

/// Search results as the worker last sent them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SearchState {
    /// The query they answer.
    pub(crate) query: String,
    /// The conversation searched, or all.
    pub(crate) peer: Option<String>,
    /// The hits, newest first.
    pub(crate) items: Vec<SearchHit>,
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
    pub(crate) shown_phrase: RwSignal<Option<Vec<String>>>,
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
    /// Blocked Account IDs.
    pub(crate) blocked: RwSignal<Vec<String>>,
    /// Our display name.
    pub(crate) display_name: RwSignal<Option<String>>,
    /// The onion paths' state (`None` before the first report).
    pub(crate) paths: RwSignal<Option<PathState>>,
    /// Privacy and notification switches.
    pub(crate) settings: RwSignal<Settings>,
    /// The peer typing in the open conversation, and until when it is shown (ms).
    pub(crate) typing: RwSignal<Option<(String, u64)>>,
    /// The last search results.
    pub(crate) search: RwSignal<Option<SearchState>>,
    /// A conversation to open (a notification was clicked).
    pub(crate) open_request: RwSignal<Option<String>>,
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
            settings: RwSignal::new(Settings::default()),
            typing: RwSignal::new(None),
            search: RwSignal::new(None),
            open_request: RwSignal::new(None),
        }
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
        self.home.set(view);
    }

    /// Forgets everything shown of the account (on lock or remove).
    fn clear_account(&self) {
        self.home.set(HomeView::List);
        self.conversations.set(Vec::new());
        self.chat.set(None);
        self.blocked.set(Vec::new());
        self.display_name.set(None);
        self.paths.set(None);
        self.settings.set(Settings::default());
        self.typing.set(None);
        self.search.set(None);
        crate::browser::set_title(&crate::format::title_text(0));
    }

    /// Applies one event from the worker. Returns true if persistent storage should now be
    /// requested (a created or restored account was just stored).
    pub(crate) fn apply(&self, event: Event) -> bool {
        match event {
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
                return created;
            }
            Event::RecoveryPhrase { words } => self.shown_phrase.set(Some(words)),
            Event::Profile { display_name } => self.display_name.set(display_name),
            Event::Conversations { items } => {
                let unread = items.iter().map(|c| c.unread).sum();
                crate::browser::set_title(&crate::format::title_text(unread));
                self.conversations.set(items);
            }
            Event::Messages {
                peer,
                conversation,
                items,
            } => {
                // Only the conversation on screen is kept; a late answer for another is dropped.
                if self.home.get_untracked() == (HomeView::Chat { peer }) {
                    self.chat.set(Some(OpenChat {
                        conversation,
                        items,
                    }));
                }
            }
            Event::BlockList { items } => self.blocked.set(items),
            Event::Paths { state } => self.paths.set(Some(state)),
            Event::Settings { settings } => self.settings.set(settings),
            Event::PeerTyping { peer, typing } => {
                if typing {
                    let until = crate::browser::now_ms() + TYPING_SHOW_MS;
                    self.typing.set(Some((peer, until)));
                } else if self
                    .typing
                    .with_untracked(|t| t.as_ref().is_some_and(|(p, _)| *p == peer))
                {
                    self.typing.set(None);
                }
            }
            Event::Incoming {
                peer,
                display_name,
                preview,
            } => self.notify(peer, display_name, preview),
            Event::SearchResults { query, peer, items } => {
                self.search.set(Some(SearchState { query, peer, items }));
            }
            Event::Error { code } => {
                self.busy.set(None);
                self.error.set(Some(code));
            }
        }
        false
    }
}

impl UiState {
    /// Shows a browser notification for a new message while the tab is hidden, when the user
    /// switched notifications on (the text only if they chose to show it).
    fn notify(&self, peer: String, display_name: Option<String>, preview: String) {
        let settings = self.settings.get_untracked();
        if !settings.notifications || crate::browser::page_visible() {
            return;
        }
        let body = if settings.notification_content {
            let name = display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| crate::format::short_id(&peer));
            format!("{name}: {preview}")
        } else {
            "New message".to_owned()
        };
        let state = *self;
        crate::browser::show_notification("Umbra", &body, &peer.clone(), move || {
            state.open_request.set(Some(peer.clone()));
        });
    }
}

impl Default for UiState {
    fn default() -> Self {
        Self::new()
    }
}
