//! Start a conversation: type (or paste) an Account ID, validated here before it goes to the
//! worker; or scan its QR code where the browser has `BarcodeDetector`.

use leptos::{ev::SubmitEvent, html, prelude::*};
use umbra_ipc::{Command, ConversationOp};
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
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match format::parse_account_id(&text.get_untracked()) {
            Ok(peer) => {
                invalid.set(None);
                // A one-to-one conversation is named by the peer's Account ID.
                state.go_home(HomeView::Chat {
                    conversation: peer.clone(),
                });
                worker.send(Command::conversation(peer, ConversationOp::Open));
            }
            Err(code) => invalid.set(Some(code.message())),
        }
    };
    view! {
        <section aria-labelledby="new-title">
            <h1 id="new-title">"New conversation"</h1>
            <form on:submit=submit novalidate>
                <label for="new-peer">"Account ID"</label>
                <textarea id="new-peer" rows="3" autocomplete="off" autocapitalize="none" spellcheck="false"
                    class="mono" aria-describedby="new-peer-hint"
                    aria-invalid=move || if invalid.get().is_some() { "true" } else { "false" }
                    bind:value=text></textarea>
                <p id="new-peer-hint" class="small">"66 characters starting with 05."</p>
                {move || invalid.get().map(|m| view! { <p role="alert" class="error">{m}</p> })}
                <div class="actions">
                    <button type="submit">"Start conversation"</button>
                    <button type="button" class="secondary" on:click=move |_| state.go_home(HomeView::List)>
                        "Back"
                    </button>
                </div>
            </form>
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
