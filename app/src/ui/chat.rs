//! One conversation: message bubbles (incoming and outgoing, with times and the delivery state
//! of outgoing ones, Retry when failed), the request banner (Accept / Delete / Block), and the
//! composer (Enter sends, Shift+Enter starts a new line). Message text is a text node.

use leptos::{ev::KeyboardEvent, ev::SubmitEvent, html, prelude::*};
use umbra_ipc::{Command, ConversationKind, DeliveryState, Direction, MessageView};

use crate::{
    browser, format,
    state::{HomeView, UiState},
    worker_client::use_worker,
};

/// The open conversation with `peer`.
#[component]
pub(crate) fn Chat(peer: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let title = move || {
        state.chat.with(|c| {
            c.as_ref()
                .map(|c| format::conversation_name(&c.conversation))
        })
    };
    let short = format::short_id(&peer);
    let heading = move || title().unwrap_or_else(|| short.clone());
    // A memo, so the banner and the composer (with its typed text) are rebuilt only when the
    // kind changes, not on every pushed message.
    let kind = Memo::new(move |_| state.chat.with(|c| c.as_ref().map(|c| c.conversation.kind)));
    let back = move |_| {
        worker.send(Command::CloseConversation);
        state.go_home(HomeView::List);
    };
    let log = NodeRef::<html::Div>::new();
    // Scroll to the newest message whenever the list changes.
    Effect::new(move |_| {
        let count = state.chat.with(|c| c.as_ref().map_or(0, |c| c.items.len()));
        if let Some(el) = log.get() {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
        count
    });
    let p1 = peer.clone();
    let messages = move || {
        let items = state
            .chat
            .with(|c| c.as_ref().map(|c| c.items.clone()).unwrap_or_default());
        let peer = p1.clone();
        items
            .into_iter()
            .map(|m| view! { <Bubble m peer=peer.clone()/> })
            .collect_view()
    };
    let p2 = peer.clone();
    let banner = move || match kind.get() {
        Some(ConversationKind::Request) => {
            Some(view! { <RequestBanner peer=p2.clone()/> }.into_any())
        }
        Some(ConversationKind::Blocked) => {
            let p = p2.clone();
            Some(view! {
                <div class="banner" role="region" aria-label="Blocked">
                    <p>"You blocked this person. Their messages are not shown."</p>
                    <button type="button" on:click=move |_| worker.send(Command::Unblock { peer: p.clone() })>
                        "Unblock"
                    </button>
                </div>
            }.into_any())
        }
        _ => None,
    };
    let p3 = peer.clone();
    let composer = move || {
        matches!(kind.get(), None | Some(ConversationKind::Accepted))
            .then(|| view! { <Composer peer=p3.clone()/> })
    };
    view! {
        <section class="chat" aria-labelledby="chat-title">
            <div class="chat-head">
                <button type="button" class="secondary back" aria-label="Back to conversations" on:click=back>
                    "←"
                </button>
                <h1 id="chat-title">{heading}</h1>
            </div>
            <p class="small mono peer-id" aria-label="Their Account ID">{peer.clone()}</p>
            {banner}
            <div class="log" role="log" aria-label="Messages" node_ref=log>
                <ol class="messages">{messages}</ol>
            </div>
            {composer}
        </section>
    }
}

/// One message bubble.
#[component]
fn Bubble(m: MessageView, peer: String) -> impl IntoView {
    let worker = use_worker();
    let outgoing = m.direction == Direction::Outgoing;
    let class = if outgoing {
        "bubble outgoing"
    } else {
        "bubble incoming"
    };
    let who = if outgoing { "You" } else { "They" };
    let state_text =
        format::delivery_text(m.state).map(|t| view! { <span class="state">{t}</span> });
    let id = m.id;
    let retry = (outgoing && m.state == DeliveryState::Failed).then(|| {
        view! {
            <button type="button" class="retry" on:click=move |_| worker.send(Command::RetrySend { peer: peer.clone(), id })>
                "Retry"
            </button>
        }
    });
    view! {
        <li class=class>
            <span class="sr-only">{format!("{who}: ")}</span>
            <p class="body">{m.body}</p>
            <span class="meta">
                <time datetime=browser::iso_time(m.sent_ms)>{browser::local_time(m.sent_ms, false)}</time>
                {state_text}
                {retry}
            </span>
        </li>
    }
}

/// A message request: Accept, Delete or Block.
#[component]
fn RequestBanner(peer: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let (a, d, b) = (peer.clone(), peer.clone(), peer);
    view! {
        <div class="banner" role="region" aria-label="Message request">
            <p>"This person is not in your conversations yet. Accept to reply."</p>
            <div class="actions">
                <button type="button" on:click=move |_| worker.send(Command::AcceptRequest { peer: a.clone() })>
                    "Accept"
                </button>
                <button type="button" class="secondary" on:click=move |_| {
                    worker.send(Command::DeleteConversation { peer: d.clone() });
                    worker.send(Command::CloseConversation);
                    state.go_home(HomeView::List);
                }>"Delete"</button>
                <button type="button" class="danger" on:click=move |_| {
                    worker.send(Command::Block { peer: b.clone() });
                    worker.send(Command::CloseConversation);
                    state.go_home(HomeView::List);
                }>"Block"</button>
            </div>
        </div>
    }
}

/// The message box: Enter sends, Shift+Enter adds a line.
#[component]
fn Composer(peer: String) -> impl IntoView {
    let worker = use_worker();
    let text = RwSignal::new(String::new());
    let send = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        text.set(String::new());
        worker.send(Command::SendText {
            peer: peer.clone(),
            body,
            reply_to: None,
        });
    };
    let send2 = send.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send2();
    };
    let keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <form class="composer" on:submit=submit>
            <textarea rows="2" aria-label="Message" placeholder="Message" bind:value=text on:keydown=keydown></textarea>
            <button type="submit">"Send"</button>
        </form>
    }
}
