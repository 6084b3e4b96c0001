//! Onboarding screens: welcome, the new recovery phrase, restoring from a phrase, and choosing
//! the passphrase (with the live strength verdict of [`umbra_ipc::strength`], which the
//! worker enforces).

use leptos::{ev::SubmitEvent, prelude::*};
use umbra_ipc::{AccountCommand, Command, SecretString};

use super::is_busy;
use crate::{
    state::{Screen, UiState},
    worker_client::use_worker,
};

/// No account yet: create one or restore one.
#[component]
pub(crate) fn Welcome() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let create = move |_| worker.send(Command::Account(AccountCommand::Create));
    view! {
        <section aria-labelledby="welcome-title">
            <h1 id="welcome-title">"Welcome to Umbra"</h1>
            <p>"Private messaging on the Session network. Your keys stay in this browser."</p>
            <div class="actions">
                <button type="button" on:click=create>"Create account"</button>
                <button type="button" class="secondary" on:click=move |_| state.go(Screen::Restore)>
                    "Restore account"
                </button>
            </div>
        </section>
    }
}

/// The new account's recovery phrase; the user confirms they saved it.
#[component]
pub(crate) fn ShowPhrase(account_id: String, words: Vec<SecretString>) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let saved = RwSignal::new(false);
    let items = words
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let w = w.expose().to_owned();
            view! { <li><span class="n" aria-hidden="true">{i + 1}". "</span>{w}</li> }
        })
        .collect_view();
    let id = account_id.clone();
    let next = move |_| {
        state.go(Screen::ChoosePassphrase {
            account_id: id.clone(),
            created: true,
        })
    };
    view! {
        <section aria-labelledby="phrase-title">
            <h1 id="phrase-title">"Your recovery phrase"</h1>
            <p>"Write these 13 words down and keep them safe. They are the only way to restore your account."</p>
            <ol class="words" aria-label="Recovery phrase">{items}</ol>
            <p class="small">"Account ID: " <span class="mono">{account_id}</span></p>
            <label class="check">
                <input type="checkbox" bind:checked=saved/>
                " I have saved my recovery phrase"
            </label>
            <div class="actions">
                <button type="button" disabled=move || !saved.get() on:click=next>"Continue"</button>
                <button type="button" class="secondary" on:click=move |_| worker.send(Command::Account(AccountCommand::CancelPending))>
                    "Back"
                </button>
            </div>
        </section>
    }
}

/// Restore from a 13- or 25-word phrase.
#[component]
pub(crate) fn Restore() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let phrase = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        worker.send(Command::Account(AccountCommand::Restore {
            phrase: phrase.get_untracked().into(),
        }));
    };
    view! {
        <section aria-labelledby="restore-title">
            <h1 id="restore-title">"Restore account"</h1>
            <form on:submit=submit>
                <label for="phrase">"Recovery phrase"</label>
                <textarea id="phrase" rows="4" autocomplete="off" autocapitalize="none" spellcheck="false"
                    bind:value=phrase></textarea>
                <p class="small">"13 or 25 words, separated by spaces."</p>
                <div class="actions">
                    <button type="submit" disabled=move || is_busy(state)>"Restore"</button>
                    <button type="button" class="secondary" on:click=move |_| state.go(Screen::Welcome)>
                        "Back"
                    </button>
                </div>
            </form>
        </section>
    }
}

/// The live hint under the passphrase field: the same verdict the worker enforces.
fn strength(pw: &str) -> String {
    if pw.is_empty() {
        return "Strength: choose a passphrase".to_owned();
    }
    umbra_ipc::estimate_strength(pw).summary()
}

/// Choose (and confirm) the passphrase that locks the pending account in this browser.
#[component]
pub(crate) fn ChoosePassphrase(account_id: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let pw = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let mismatch = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pw.get_untracked() != confirm.get_untracked() {
            mismatch.set(true);
            return;
        }
        mismatch.set(false);
        worker.send(Command::Account(AccountCommand::SetPassphrase {
            passphrase: pw.get_untracked().into(),
        }));
    };
    view! {
        <section aria-labelledby="pass-title">
            <h1 id="pass-title">"Choose a passphrase"</h1>
            <p>"It locks your account in this browser. Account ID: " <span class="mono">{account_id}</span></p>
            <p class="small">
                "Anyone who copies this browser's data can try passphrases against it offline, so Umbra asks for one that is hard to guess: four or more random words, or a long mix of characters. Common passwords, names with years, keyboard rows and repeats are refused."
            </p>
            <form on:submit=submit>
                <label for="new-pass">"Passphrase"</label>
                <input id="new-pass" type="password" autocomplete="new-password" aria-describedby="pass-hint"
                    bind:value=pw/>
                <p id="pass-hint" class="small" aria-live="polite">{move || strength(&pw.get())}</p>
                <label for="confirm-pass">"Confirm passphrase"</label>
                <input id="confirm-pass" type="password" autocomplete="new-password" bind:value=confirm/>
                {move || mismatch.get().then(|| view! { <p role="alert" class="error">"Passphrases do not match"</p> })}
                <div class="actions">
                    <button type="submit" disabled=move || is_busy(state)>"Continue"</button>
                    <button type="button" class="secondary" disabled=move || is_busy(state)
                        on:click=move |_| worker.send(Command::Account(AccountCommand::CancelPending))>
                        "Cancel"
                    </button>
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::strength;

    #[test]
    fn test_strength_hint_is_the_enforced_verdict() {
        assert!(strength("").contains("choose"));
        assert!(strength("abc").contains("too weak"));
        assert!(strength("password1").contains("most common passwords"));
        assert!(strength("qwertyuiop[]").contains("Rows of keys"));
        assert_eq!(strength("kq7#mzp2w"), "Strength: good");
        assert_eq!(strength("correct horse battery staple"), "Strength: strong");
    }
}
