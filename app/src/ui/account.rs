//! The account card of the home screen: the Account ID (text, copy button, QR code), the
//! recovery phrase on request, lock, and removing the account from this browser.

use leptos::prelude::*;
use umbra_ipc::{AccountCommand, Command};

use crate::{browser::copy_text, qr, state::UiState, worker_client::use_worker};

/// The unlocked account.
#[component]
pub(crate) fn AccountCard(account_id: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let copied = RwSignal::new(None::<bool>);
    let id_for_copy = account_id.clone();
    let copy = move |_| copy_text(id_for_copy.clone(), move |ok| copied.set(Some(ok)));
    let qr_view = qr::svg_path(&account_id).map(|(size, d)| {
        let view_box = format!("0 0 {size} {size}");
        view! {
            <svg class="qr" role="img" aria-label="QR code of your Account ID" viewBox=view_box
                xmlns="http://www.w3.org/2000/svg">
                <rect class="qr-bg" x="0" y="0" width=size height=size></rect>
                <path class="qr-fg" d=d></path>
            </svg>
        }
    });
    let (w1, w2) = (worker, worker);
    view! {
        <section aria-labelledby="home-title">
            <h1 id="home-title">"Your account"</h1>
            <h2 id="account-id-title">"Account ID"</h2>
            <p class="account-id mono"><output aria-label="Account ID">{account_id}</output></p>
            <div class="actions">
                <button type="button" on:click=copy>"Copy"</button>
                <span role="status" class="small">
                    {move || match copied.get() {
                        Some(true) => "Copied",
                        Some(false) => "Copy failed; select the text instead",
                        None => "",
                    }}
                </span>
            </div>
            {qr_view}
            {move || state.persist_denied.get().then(|| view! {
                <p role="status" class="notice">
                    "This browser did not grant persistent storage, so it may delete your account data when space runs low. Keep your recovery phrase safe."
                </p>
            })}
            <div class="actions">
                {move || match state.shown_phrase.get() {
                    None => {
                        let w = w1;
                        view! {
                            <button type="button" class="secondary" on:click=move |_| w.send(Command::Account(AccountCommand::ShowRecoveryPhrase))>
                                "Show recovery phrase"
                            </button>
                        }.into_any()
                    }
                    Some(words) => view! {
                        <div>
                            <ol class="words" aria-label="Recovery phrase">
                                {words.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                            </ol>
                            <button type="button" class="secondary" on:click=move |_| state.shown_phrase.set(None)>
                                "Hide recovery phrase"
                            </button>
                        </div>
                    }.into_any(),
                }}
            </div>
            <div class="actions">
                <button type="button" on:click=move |_| w2.relaunch(state)>"Lock"</button>
            </div>
            <RemoveAccount/>
        </section>
    }
}

/// "Remove this account from this browser", behind a confirmation dialog. Works locked or
/// unlocked (a forgotten passphrase leaves only this and a restore from the phrase).
#[component]
pub(crate) fn RemoveAccount() -> impl IntoView {
    let worker = use_worker();
    let confirm_remove = RwSignal::new(false);
    view! {
        <div class="actions">
            <button type="button" class="danger" on:click=move |_| confirm_remove.set(true)>
                "Remove this account from this browser"
            </button>
        </div>
        {move || confirm_remove.get().then(|| view! {
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="remove-title"
                aria-describedby="remove-desc">
                <h2 id="remove-title">"Remove this account?"</h2>
                <p id="remove-desc">
                    "Everything Umbra stored in this browser will be deleted. Without your recovery phrase the account is lost."
                </p>
                <div class="actions">
                    <button type="button" class="danger" on:click=move |_| {
                        confirm_remove.set(false);
                        worker.send(Command::Account(AccountCommand::Remove));
                    }>"Remove account"</button>
                    <button type="button" class="secondary" on:click=move |_| confirm_remove.set(false)>
                        "Cancel"
                    </button>
                </div>
            </div>
        })}
    }
}
