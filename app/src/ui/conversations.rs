//! The conversation list: accepted conversations and message requests, each row with the
//! peer's name (or short Account ID), the last message's preview and time, and an unread badge;
//! a search over all local messages; and a one-time offer to turn on notifications.

use leptos::prelude::*;
use umbra_ipc::{
    Command, ConversationKind, ConversationOp, ConversationSummary, ConversationsCommand,
    Direction, SettingsCommand,
};

use crate::{
    browser, format,
    state::{HomeView, UiState},
    worker_client::use_worker,
};

/// The list of conversations and message requests, with "New conversation" and "Settings".
#[component]
pub(crate) fn ConversationList() -> impl IntoView {
    let state = expect_context::<UiState>();
    let rows = move |kind: ConversationKind| {
        state.conversations.with(|items| {
            items
                .iter()
                .filter(|c| c.kind == kind)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let requests = move || {
        let items = rows(ConversationKind::Request);
        (!items.is_empty()).then(|| {
            view! {
                <h2 id="requests-title">"Message requests"</h2>
                <ul class="conversations" aria-labelledby="requests-title">
                    {items.into_iter().map(|c| view! { <Row c/> }).collect_view()}
                </ul>
            }
        })
    };
    let accepted = move || {
        let items = rows(ConversationKind::Accepted);
        if items.is_empty() {
            view! { <p class="small">"No conversations yet. Start one with someone's Account ID."</p> }
                .into_any()
        } else {
            view! {
                <ul class="conversations" aria-labelledby="conversations-title">
                    {items.into_iter().map(|c| view! { <Row c/> }).collect_view()}
                </ul>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="conversations-title">
            <h1 id="conversations-title">"Conversations"</h1>
            <div class="actions">
                <button type="button" on:click=move |_| state.go_home(HomeView::NewConversation)>
                    "New conversation"
                </button>
                <button type="button" class="secondary" on:click=move |_| state.go_home(HomeView::Settings)>
                    "Settings"
                </button>
            </div>
            <NotificationOffer/>
            <SearchBox conversation=None/>
            {requests}
            {accepted}
        </section>
    }
}

/// One row: a button opening the conversation.
#[component]
fn Row(c: ConversationSummary) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let name = format::conversation_name(&c);
    let conversation = c.conversation.clone();
    let open = move |_| {
        state.go_home(HomeView::Chat {
            conversation: conversation.clone(),
        });
        worker.send(Command::conversation(
            conversation.clone(),
            ConversationOp::Open,
        ));
    };
    let time = c.last_time_ms.map(|ms| {
        view! { <time class="when" datetime=browser::iso_time(ms)>{browser::local_time(ms, true)}</time> }
    });
    let badge = (c.unread > 0 || c.marked_unread).then(|| {
        // Marked unread with nothing new: a dot, as Session shows it.
        let n = if c.unread > 0 {
            c.unread.min(99).to_string()
        } else {
            "•".into()
        };
        let words = if c.unread > 0 {
            format::unread_text(c.unread)
        } else {
            "marked unread".into()
        };
        view! {
            <span class="badge" aria-hidden="true">{n}</span>
            <span class="sr-only">{format!(", {words}")}</span>
        }
    });
    let avatar_name = Signal::stored(name.clone());
    view! {
        <li>
            <button type="button" class="row with-avatar" on:click=open>
                <super::attachments::Avatar key=c.conversation.clone() name=avatar_name label=String::new()/>
                <span class="row-top">
                    <span class="name">{name}</span>
                    {time}
                </span>
                <span class="row-bottom">
                    <span class="preview">{c.last_preview.unwrap_or_default()}</span>
                    {badge}
                </span>
            </button>
        </li>
    }
}

/// The search box and its results: `conversation` limits the search to one. Searching
/// reads the decrypted local store in the worker; nothing goes to the network.
#[component]
pub(crate) fn SearchBox(conversation: Option<String>) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let query = RwSignal::new(String::new());
    let (label, id) = match conversation {
        Some(_) => ("Search this conversation", "search-one"),
        None => ("Search messages", "search-all"),
    };
    let c = conversation.clone();
    let on_input = move |ev| {
        let q = event_target_value(&ev);
        query.set(q.clone());
        if q.trim().is_empty() {
            state.search.set(None);
        } else {
            worker.send(match &c {
                Some(c) => Command::conversation(c.clone(), ConversationOp::Search { query: q }),
                None => Command::Conversations(ConversationsCommand::Search { query: q }),
            });
        }
    };
    let results = move || {
        let q = query.get();
        if q.trim().is_empty() {
            return None;
        }
        let found = state
            .search
            .get()
            .filter(|s| s.query == q && s.conversation == conversation);
        let items = found.map(|s| s.items).unwrap_or_default();
        let names = state.conversations.get();
        Some(view! {
            <ul class="search-results" aria-label="Search results">
                {if items.is_empty() {
                    view! { <li class="small">"No messages found."</li> }.into_any()
                } else {
                    items.into_iter().map(|hit| {
                        let who = names.iter().find(|c| c.conversation == hit.conversation)
                            .map(format::conversation_name)
                            .or(hit.display_name.clone())
                            .unwrap_or_else(|| format::short_id(&hit.conversation));
                        let author = if hit.direction == Direction::Outgoing { "You".to_owned() } else { who.clone() };
                        let target = hit.conversation.clone();
                        let open = move |_| {
                            state.search.set(None);
                            state.go_home(HomeView::Chat { conversation: target.clone() });
                            worker.send(Command::conversation(target.clone(), ConversationOp::Open));
                        };
                        view! {
                            <li>
                                <button type="button" class="row" on:click=open>
                                    <span class="row-top">
                                        <span class="name">{who}</span>
                                        <time class="when" datetime=browser::iso_time(hit.sent_ms)>{browser::local_time(hit.sent_ms, true)}</time>
                                    </span>
                                    <span class="preview">{format!("{author}: ")}{hit.body}</span>
                                </button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
        })
    };
    view! {
        <div class="search">
            <input type="search" id=id aria-label=label placeholder=label autocomplete="off"
                prop:value=move || query.get() on:input=on_input/>
            {results}
        </div>
    }
}

/// Key of the "not now" answer to the notification offer (a UI preference, not a secret).
const OFFER_DISMISSED: &str = "umbra.notification-offer-dismissed";

/// A one-time offer to turn notifications on, shown when the browser has not been asked yet.
#[component]
fn NotificationOffer() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let dismissed = RwSignal::new(browser::pref(OFFER_DISMISSED).is_some());
    let show = move || {
        !dismissed.get()
            && !state.settings.get().notifications
            && !state.conversations.with(Vec::is_empty)
            && browser::notification_permission() == "default"
    };
    let enable = move |_| {
        browser::request_notification_permission(move |granted| {
            dismissed.set(true);
            browser::set_pref(OFFER_DISMISSED, "1");
            if granted {
                let mut s = state.settings.get_untracked();
                s.notifications = true;
                state.settings.set(s);
                worker.send(Command::Settings(SettingsCommand::Set { settings: s }));
            }
        });
    };
    let not_now = move |_| {
        dismissed.set(true);
        browser::set_pref(OFFER_DISMISSED, "1");
    };
    move || {
        show().then(|| view! {
            <div class="banner" role="region" aria-label="Notifications">
                <p>"Get notified of new messages while Umbra is in the background? Message text stays hidden unless you choose to show it."</p>
                <div class="actions">
                    <button type="button" on:click=enable>"Enable notifications"</button>
                    <button type="button" class="secondary" on:click=not_now>"Not now"</button>
                </div>
            </div>
        })
    }
}
