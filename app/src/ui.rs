//! The screens. Each one renders [`UiState`](crate::state::UiState) and sends
//! [`umbra_ipc::Command`]s; none holds key material. Untrusted or user text is always a text
//! node (never `inner_html`).

mod account;
mod chat;
mod conversations;
mod home;
mod new_conversation;
mod onboarding;
mod settings;
mod unlock;

use leptos::prelude::*;
use umbra_ipc::{AccountCommand, AppCommand, Command, PathState, Task};

use crate::{
    state::{Screen, UiState},
    worker_client::WorkerClient,
};

/// The root component: spawns the worker, then shows the screen for the current state.
#[component]
pub(crate) fn App() -> impl IntoView {
    let state = UiState::new();
    provide_context(state);
    match WorkerClient::spawn(state) {
        Ok(client) => {
            client.send(Command::Account(AccountCommand::Status));
            provide_context(client);
            crate::browser::on_visibility_change(move |visible| {
                if matches!(state.screen.get_untracked(), Screen::Home { .. }) {
                    client.send(Command::App(AppCommand::SetForeground { visible }));
                }
            });
        }
        Err(_) => state.error.set(Some(umbra_ipc::ErrorCode::Internal)),
    }
    let screen = move || match state.screen.get() {
        Screen::Loading => {
            view! { <p role="status" class="loading">"Starting Umbra…"</p> }.into_any()
        }
        Screen::Welcome => view! { <onboarding::Welcome/> }.into_any(),
        Screen::ShowPhrase { account_id, words } => {
            view! { <onboarding::ShowPhrase account_id words/> }.into_any()
        }
        Screen::Restore => view! { <onboarding::Restore/> }.into_any(),
        Screen::ChoosePassphrase { account_id, .. } => {
            view! { <onboarding::ChoosePassphrase account_id/> }.into_any()
        }
        Screen::Unlock => view! { <unlock::Unlock/> }.into_any(),
        Screen::Home { account_id } => view! { <home::Home account_id/> }.into_any(),
    };
    view! {
        <header class="bar">
            <span class="brand">"Umbra"</span>
            {move || matches!(state.screen.get(), Screen::Home { .. }).then(|| view! { <PathStatus/> })}
        </header>
        <main class="screen">
            {screen}
            <Busy/>
            <ErrorMessage/>
        </main>
    }
}

/// The onion path indicator, like Session's: a coloured dot and its words.
#[component]
fn PathStatus() -> impl IntoView {
    let state = expect_context::<UiState>();
    let class = move || match state.paths.get() {
        None | Some(PathState::Building) => "path building",
        Some(PathState::Connected) => "path connected",
        Some(PathState::Failing) => "path failing",
    };
    view! {
        <span class=class role="status" aria-label="Network status">
            <span class="dot" aria-hidden="true"></span>
            <span class="path-text">{move || crate::format::path_text(state.paths.get())}</span>
        </span>
    }
}

/// The busy indicator shown while the worker runs Argon2id.
#[component]
fn Busy() -> impl IntoView {
    let state = expect_context::<UiState>();
    move || {
        state.busy.get().map(|task| {
            let text = match task {
                Task::CreatingVault => "Locking your account with your passphrase…",
                Task::Unlocking => "Unlocking…",
                Task::CheckingPassphrase => "Checking your passphrase…",
            };
            view! {
                <div class="busy" role="progressbar" aria-label="Working" aria-busy="true" aria-valuetext=text>
                    <span class="spinner" aria-hidden="true"></span>
                    <span>{text}</span>
                </div>
            }
        })
    }
}

/// The last worker error, named for the user.
#[component]
fn ErrorMessage() -> impl IntoView {
    let state = expect_context::<UiState>();
    move || {
        state
            .error
            .get()
            .map(|code| view! { <p role="alert" class="error">{code.message()}</p> })
    }
}

/// True while a long task runs (buttons are disabled).
fn is_busy(state: UiState) -> bool {
    state.busy.get().is_some()
}
