//! The conversation list: accepted conversations and message requests, each row with the
//! peer's name (or short Account ID), the last message's preview and time, and an unread badge.

use leptos::prelude::*;
use umbra_ipc::{Command, ConversationKind, ConversationSummary};

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
    let peer = c.peer.clone();
    let open = move |_| {
        state.go_home(HomeView::Chat { peer: peer.clone() });
        worker.send(Command::OpenConversation { peer: peer.clone() });
    };
    let time = c.last_time_ms.map(|ms| {
        view! { <time class="when" datetime=browser::iso_time(ms)>{browser::local_time(ms, true)}</time> }
    });
    let badge = (c.unread > 0).then(|| {
        let n = c.unread.min(99).to_string();
        let words = format::unread_text(c.unread);
        view! {
            <span class="badge" aria-hidden="true">{n}</span>
            <span class="sr-only">{format!(", {words}")}</span>
        }
    });
    view! {
        <li>
            <button type="button" class="row" on:click=open>
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
