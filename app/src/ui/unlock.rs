//! The unlock screen: the stored account is locked until its passphrase is typed.

use leptos::{ev::SubmitEvent, prelude::*};
use umbra_ipc::{AccountCommand, Command};

use super::is_busy;
use crate::{state::UiState, worker_client::use_worker};

/// Type the passphrase to unlock the stored account.
#[component]
pub(crate) fn Unlock() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let pw = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let passphrase = pw.get_untracked();
        pw.set(String::new());
        worker.send(Command::Account(AccountCommand::Unlock {
            passphrase: passphrase.into(),
        }));
    };
    view! {
        <section aria-labelledby="unlock-title">
            <h1 id="unlock-title">"Unlock Umbra"</h1>
            <form on:submit=submit>
                <label for="unlock-pass">"Passphrase"</label>
                <input id="unlock-pass" type="password" autocomplete="current-password" bind:value=pw/>
                <div class="actions">
                    <button type="submit" disabled=move || is_busy(state)>"Unlock"</button>
                </div>
            </form>
            <p class="small">"Forgot your passphrase? Removing the account needs it too. Clear this site's data in the browser's settings, then restore the account from your recovery phrase."</p>
            <super::account::RemoveAccount/>
        </section>
    }
}
