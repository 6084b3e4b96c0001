//! The screens. Each one renders [`UiState`](crate::state::UiState) and sends
//! [`umbra_ipc::Command`]s; none holds key material. Untrusted or user text is always a text
//! node (never `inner_html`). The root also decides which tab runs the worker: the one
//! holding the account lock ([`crate::browser::request_account_lock`]).

mod account;
mod attachments;
pub(crate) mod call;
mod chat;
mod conversations;
mod home;
mod new_conversation;
mod onboarding;
mod settings;
mod unlock;

use leptos::prelude::*;
use umbra_ipc::{AppCommand, Command, PathState, Task};

use crate::{
    state::{Screen, UiState},
    worker_client::WorkerClient,
};

/// The root component: takes the account lock, spawns the worker once it holds it, then
/// shows the screen for the current state.
#[component]
pub(crate) fn App() -> impl IntoView {
    let state = UiState::new();
    provide_context(state);
    let client = WorkerClient::new();
    provide_context(client);
    crate::browser::on_visibility_change(move |visible| {
        if matches!(state.screen.get_untracked(), Screen::Home { .. }) {
            client.send(Command::App(AppCommand::SetForeground { visible }));
        }
    });
    take_account(state, client, false);
    let screen = move || match state.screen.get() {
        Screen::Loading => {
            view! { <p role="status" class="loading">"Starting Umbra…"</p> }.into_any()
        }
        Screen::OpenElsewhere => view! { <OtherTab taken_over=false/> }.into_any(),
        Screen::TakenOver => view! { <OtherTab taken_over=true/> }.into_any(),
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
            {move || matches!(state.screen.get(), Screen::Home { .. }).then(|| view! { <ClockBanner/> })}
            {screen}
            {move || matches!(state.screen.get(), Screen::Home { .. }).then(|| view! { <call::CallLayer/> })}
            <Busy/>
            <ErrorMessage/>
        </main>
    }
}

/// Asks for the account lock (taking it from another tab with `steal`): the worker starts
/// when this tab holds it and stops when another tab takes it.
fn take_account(state: UiState, client: WorkerClient, steal: bool) {
    crate::browser::request_account_lock(
        steal,
        crate::browser::LockEvents {
            granted: Box::new(move || client.start(state)),
            waiting: Box::new(move || state.go(Screen::OpenElsewhere)),
            lost: Box::new(move || {
                client.stop();
                state.taken_over();
            }),
        },
    );
}

/// The account is used by another tab (or was just taken over by one): only one tab may run
/// a worker on the account database. "Use here" takes it.
#[component]
fn OtherTab(taken_over: bool) -> impl IntoView {
    let state = expect_context::<UiState>();
    let client = crate::worker_client::use_worker();
    let (title, text) = if taken_over {
        (
            "Umbra was opened in another tab",
            "This tab stopped so that only one tab uses your account. Use Umbra here to stop the other tab instead.",
        )
    } else {
        (
            "Umbra is open in another tab",
            "Only one tab can use your account at a time. Use Umbra here to stop the other tab, or close this one.",
        )
    };
    let use_here = move |_| {
        state.go(Screen::Loading);
        take_account(state, client, true);
    };
    view! {
        <section role="region" aria-labelledby="other-tab-title">
            <h1 id="other-tab-title">{title}</h1>
            <p role="status">{text}</p>
            <div class="actions">
                <button type="button" on:click=use_here>"Use here"</button>
            </div>
        </section>
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
            {move || crate::format::route_text(state.network.get().as_ref()).map(|r| view! {
                <span class="route-text small">{format!(" · {r}")}</span>
            })}
        </span>
    }
}

/// The clock warning: an alert when the device clock is far off, a status while messages
/// wait for the network time (the text is ours, never from the network).
#[component]
fn ClockBanner() -> impl IntoView {
    let state = expect_context::<UiState>();
    move || {
        crate::format::clock_banner(&state.clock.get()).map(|(role, text)| {
            view! { <p role=role class="clock-banner" aria-label="Device clock">{text}</p> }
        })
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
