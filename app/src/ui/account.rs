//! The account card of the home screen: the Account ID (text, copy button, QR code), the
//! recovery phrase on request, lock, and removing the account from this browser. Showing the
//! phrase and removing the account ask for the passphrase again, in a dialog; the worker
//! checks it.

use leptos::{ev::SubmitEvent, prelude::*};
use umbra_ipc::{AccountCommand, Command, SecretString};

use super::is_busy;
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
    let asking = RwSignal::new(false);
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
                    None => view! {
                        <button type="button" class="secondary" on:click=move |_| asking.set(true)>
                            "Show recovery phrase"
                        </button>
                    }.into_any(),
                    Some(words) => view! {
                        <div>
                            <ol class="words" aria-label="Recovery phrase">
                                {words.iter().map(|w| view! { <li>{w.expose().to_owned()}</li> }).collect_view()}
                            </ol>
                            <button type="button" class="secondary" on:click=move |_| {
                                asking.set(false);
                                state.shown_phrase.set(None);
                            }>
                                "Hide recovery phrase"
                            </button>
                        </div>
                    }.into_any(),
                }}
            </div>
            {move || (asking.get() && state.shown_phrase.with(Option::is_none)).then(|| view! {
                <PassphraseDialog id="show-phrase" title="Show the recovery phrase?"
                    text="Type your passphrase again. Anyone who sees the recovery phrase can take over your account."
                    confirm="Show recovery phrase" danger=false
                    on_confirm=move |passphrase| worker.send(Command::Account(AccountCommand::ShowRecoveryPhrase { passphrase }))
                    on_cancel=move || asking.set(false)/>
            })}
            <div class="actions">
                <button type="button" on:click=move |_| worker.relaunch(state)>"Lock"</button>
            </div>
            <RemoveAccount/>
        </section>
    }
}

/// "Remove this account from this browser", behind a dialog that asks for the passphrase.
/// Works locked or unlocked; the dialog stays open until the worker answers (a wrong
/// passphrase is named and nothing is deleted).
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
            <PassphraseDialog id="remove" title="Remove this account?"
                text="Everything Umbra stored in this browser will be deleted. Without your recovery phrase the account is lost. Type your passphrase to confirm."
                confirm="Remove account" danger=true
                on_confirm=move |passphrase| worker.send(Command::Account(AccountCommand::Remove { passphrase }))
                on_cancel=move || confirm_remove.set(false)/>
        })}
    }
}

/// A dialog that asks for the passphrase before a sensitive action. The field is cleared as
/// soon as the passphrase is sent.
#[component]
fn PassphraseDialog(
    id: &'static str,
    title: &'static str,
    text: &'static str,
    confirm: &'static str,
    danger: bool,
    on_confirm: impl Fn(SecretString) + 'static,
    on_cancel: impl Fn() + 'static,
) -> impl IntoView {
    let state = expect_context::<UiState>();
    let pw = RwSignal::new(String::new());
    let (title_id, desc_id, field_id) = (
        format!("{id}-title"),
        format!("{id}-desc"),
        format!("{id}-pass"),
    );
    let (labelled_by, described_by, label_for) =
        (title_id.clone(), desc_id.clone(), field_id.clone());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let passphrase = SecretString::from(pw.get_untracked());
        pw.set(String::new());
        on_confirm(passphrase);
    };
    view! {
        <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby=labelled_by
            aria-describedby=described_by>
            <h2 id=title_id>{title}</h2>
            <p id=desc_id>{text}</p>
            <form on:submit=submit>
                <label for=label_for>"Passphrase"</label>
                <input id=field_id type="password" autocomplete="current-password" bind:value=pw/>
                <div class="actions">
                    <button type="submit" class=if danger { "danger" } else { "" }
                        disabled=move || is_busy(state)>{confirm}</button>
                    <button type="button" class="secondary" on:click=move |_| on_cancel()>
                        "Cancel"
                    </button>
                </div>
            </form>
        </div>
    }
}
