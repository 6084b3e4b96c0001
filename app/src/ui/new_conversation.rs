//! Start a conversation: type (or paste) an Account ID, validated here before it goes to the
//! worker, or an ONS name, which the worker resolves through several nodes and which is
//! shown with its Account ID for confirmation before anything is written; or scan a QR code
//! where the browser has `BarcodeDetector`.

use leptos::{ev::SubmitEvent, html, prelude::*};
use umbra_ipc::{Command, ConversationOp, ConversationsCommand};
use wasm_bindgen_futures::spawn_local;

use crate::{
    browser, format,
    state::{HomeView, UiState},
    worker_client::use_worker,
};

/// The "New conversation" form.
#[component]
pub(crate) fn NewConversation() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let text = RwSignal::new(String::new());
    let invalid = RwSignal::new(None::<String>);
    let open = move |peer: String| {
        // A one-to-one conversation is named by the peer's Account ID.
        state.name_resolved.set(None);
        state.go_home(HomeView::Chat {
            conversation: peer.clone(),
        });
        worker.send(Command::conversation(peer, ConversationOp::Open));
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.name_resolved.set(None);
        match format::parse_peer(&text.get_untracked()) {
            Ok(format::PeerInput::Account(peer)) => {
                invalid.set(None);
                open(peer);
            }
            Ok(format::PeerInput::Name(name)) => {
                invalid.set(None);
                state.error.set(None);
                state.name_lookup.set(Some(name.clone()));
                worker.send(Command::Conversations(ConversationsCommand::ResolveName {
                    name,
                }));
            }
            Err(code) => invalid.set(Some(code.message())),
        }
    };
    // The resolved name, shown with its Account ID until the user confirms.
    let resolved = move || {
        let typed = text.get().trim().to_ascii_lowercase();
        state
            .name_resolved
            .get()
            .filter(|(name, _)| *name == typed)
            .map(|(name, account)| {
                let peer = account.clone();
                view! {
                    <div role="region" aria-label="Name found" class="resolved">
                        <p>{format!("{name} is the account")}</p>
                        <p class="mono" aria-label="Resolved Account ID">{account}</p>
                        <div class="actions">
                            <button type="button" on:click=move |_| open(peer.clone())>"Message this account"</button>
                        </div>
                    </div>
                }
            })
    };
    view! {
        <section aria-labelledby="new-title">
            <h1 id="new-title">"New conversation"</h1>
            <form on:submit=submit novalidate>
                <label for="new-peer">"Account ID or ONS name"</label>
                <textarea id="new-peer" rows="3" autocomplete="off" autocapitalize="none" spellcheck="false"
                    class="mono" aria-describedby="new-peer-hint"
                    aria-invalid=move || if invalid.get().is_some() { "true" } else { "false" }
                    bind:value=text></textarea>
                <p id="new-peer-hint" class="small">"An Account ID has 66 characters starting with 05; a name is what someone registered in Session."</p>
                {move || invalid.get().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                {move || state.name_lookup.get().map(|n| view! {
                    <p role="status" aria-label="Looking up the name">{format!("Looking up {n}…")}</p>
                })}
                <div class="actions">
                    <button type="submit">"Start conversation"</button>
                    <button type="button" class="secondary" on:click=move |_| state.go_home(HomeView::List)>
                        "Back"
                    </button>
                </div>
            </form>
            {resolved}
            {browser::barcode_detector_available().then(|| view! { <Scanner text/> })}
        </section>
    }
}

/// Reads an Account ID from a QR code through the camera into `text`.
#[component]
fn Scanner(text: RwSignal<String>) -> impl IntoView {
    let scanning = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let video = NodeRef::<html::Video>::new();
    let start = move |_| {
        failed.set(false);
        scanning.set(true);
    };
    Effect::new(move |_| {
        if !scanning.get() {
            return;
        }
        let Some(el) = video.get() else { return };
        spawn_local(async move {
            let keep_going = move || scanning.try_get_untracked().unwrap_or(false);
            let found =
                browser::scan_qr(el, |t| format::parse_account_id(t).is_ok(), keep_going).await;
            match found {
                Some(id) => {
                    text.try_set(id);
                }
                None => {
                    if keep_going() {
                        failed.try_set(true);
                    }
                }
            }
            scanning.try_set(false);
        });
    });
    view! {
        <div class="scanner">
            {move || if scanning.get() {
                view! {
                    <video node_ref=video class="camera" aria-label="Camera" autoplay=true muted=true playsinline=true></video>
                    <button type="button" class="secondary" on:click=move |_| scanning.set(false)>"Stop scanning"</button>
                }.into_any()
            } else {
                view! { <button type="button" class="secondary" on:click=start>"Scan QR code"</button> }.into_any()
            }}
            {move || failed.get().then(|| view! {
                <p role="alert" class="error">"The camera is not available; type the Account ID instead."</p>
            })}
        </div>
    }
}
