//! Settings: our display name, read receipts, typing indicators, notifications, the block
//! list (Unblock) and the route to the network (the user's own bridges).

use leptos::{ev::SubmitEvent, prelude::*};
use umbra_ipc::{
    AccountCommand, Command, ConversationOp, ConversationsCommand, NetworkCommand,
    Settings as SettingsValue, SettingsCommand,
};

use crate::{
    format,
    state::{HomeView, UiState},
    worker_client::use_worker,
};

/// Display name and blocked contacts.
#[component]
pub(crate) fn Settings() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    worker.send(Command::Conversations(ConversationsCommand::ListBlocked));
    // Fresh settings and sync status.
    worker.send(Command::Settings(SettingsCommand::Get));
    let name = RwSignal::new(state.display_name.get_untracked().unwrap_or_default());
    let saved = RwSignal::new(false);
    // Show the stored name when the worker reports it.
    Effect::new(move |_| {
        if let Some(n) = state.display_name.get() {
            name.set(n);
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(true);
        worker.send(Command::Account(AccountCommand::SetDisplayName {
            name: name.get_untracked().trim().to_owned(),
        }));
    };
    let blocked = move || {
        let items = state.blocked.get();
        if items.is_empty() {
            view! { <p class="small">"No one is blocked."</p> }.into_any()
        } else {
            view! {
                <ul class="blocked" aria-labelledby="blocked-title">
                    {items.into_iter().map(|account| {
                        let label = format!("Unblock {}", format::short_id(&account));
                        // A blocked account names its one-to-one conversation.
                        let p = account.clone();
                        view! {
                            <li>
                                <span class="mono">{format::short_id(&account)}</span>
                                <button type="button" class="secondary" aria-label=label
                                    on:click=move |_| worker.send(Command::conversation(p.clone(), ConversationOp::Unblock))>
                                    "Unblock"
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }
    };
    view! {
        <section aria-labelledby="settings-title">
            <h1 id="settings-title">"Settings"</h1>
            <form on:submit=submit>
                <label for="display-name">"Display name"</label>
                <input id="display-name" type="text" maxlength="100" autocomplete="nickname" bind:value=name/>
                <p class="small">"Sent with your messages, as Session does."</p>
                <div class="actions">
                    <button type="submit">"Save name"</button>
                    <span role="status" class="small">
                        {move || (saved.get() && state.display_name.get().is_some()).then_some("Saved")}
                    </span>
                </div>
            </form>
            <super::attachments::ProfilePictureSetting/>
            <h2 id="privacy-title">"Privacy and notifications"</h2>
            <Switches/>
            <h2 id="blocked-title">"Blocked contacts"</h2>
            {blocked}
            <h2 id="sync-title">"Your other devices"</h2>
            <SyncStatus/>
            <h2 id="network-title">"Network"</h2>
            <Bridges/>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| state.go_home(HomeView::List)>
                    "Back"
                </button>
            </div>
        </section>
    }
}

/// When the account's configs (profile, contacts, read state) last came in from its other
/// devices, and any that does not sync now.
#[component]
fn SyncStatus() -> impl IntoView {
    let state = expect_context::<UiState>();
    let text = move || match state.sync.get().and_then(|s| s.last_merge_ms) {
        Some(ms) => format!(
            "Last synced with your other devices at {}.",
            crate::browser::local_time(ms, true)
        ),
        None => "Nothing synced from other devices yet.".into(),
    };
    let failures = move || state.sync.get().map(|s| s.failures).unwrap_or_default();
    view! {
        <p class="small" role="status" aria-label="Sync status">{text}</p>
        <p class="small">"Your name, picture, contacts, blocks and read state stay in step with Session on your other devices."</p>
        {move || {
            let items = failures();
            (!items.is_empty()).then(|| view! {
                <ul class="error" aria-label="Sync problems">
                    {items.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
                </ul>
            })
        }}
    }
}

/// The privacy and notification checkboxes. Each change is saved at once; turning
/// notifications on asks the browser's permission (this click is the user gesture).
#[component]
fn Switches() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let denied = RwSignal::new(false);
    let save = move |settings: SettingsValue| {
        state.settings.set(settings);
        worker.send(Command::Settings(SettingsCommand::Set { settings }));
    };
    let check = move |label: &'static str,
                      id: &'static str,
                      get: fn(&SettingsValue) -> bool,
                      set: fn(&mut SettingsValue, bool)| {
        view! {
            <div class="check">
                <input type="checkbox" id=id
                    prop:checked=move || get(&state.settings.get())
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        let mut s = state.settings.get_untracked();
                        set(&mut s, on);
                        if id == "notifications" && on && crate::browser::notification_permission() != "granted" {
                            crate::browser::request_notification_permission(move |granted| {
                                denied.set(!granted);
                                let mut s = state.settings.get_untracked();
                                s.notifications = granted;
                                save(s);
                            });
                            return;
                        }
                        save(s);
                    }/>
                <label for=id>{label}</label>
            </div>
        }
    };
    view! {
        {check("Send read receipts", "read-receipts", |s| s.read_receipts, |s, v| s.read_receipts = v)}
        <p class="small">"Off: others do not learn when you read their messages."</p>
        {check("Send typing indicators", "typing-indicators", |s| s.typing_indicators, |s, v| s.typing_indicators = v)}
        {check("Notifications for new messages", "notifications", |s| s.notifications, |s, v| s.notifications = v)}
        {check("Show name and text in notifications", "notification-content", |s| s.notification_content, |s, v| s.notification_content = v)}
        <p class="small">"Notifications appear while Umbra's tab is in the background. Without the name and text they only say \"New message\"."</p>
        {check("Voice and video calls", "calls", |s| s.calls, |s, v| s.calls = v)}
        <p class="small">"Off: calls to you show as missed and the caller learns nothing. On: you can call your contacts and they can call you. The call's sound and video always go through a relay (TURN) server: the other side never sees your IP address, but the relay server does, as it would see any connection from you."</p>
        {move || denied.get().then(|| view! {
            <p role="alert" class="error">"The browser did not allow notifications. Allow them in the site settings to turn them on."</p>
        })}
    }
}

/// The route in use and the user's own bridges (one address per line, tried before the
/// bundle's). The worker checks the addresses; a bad one is refused with an error.
#[component]
fn Bridges() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    worker.send(Command::Network(NetworkCommand::Get));
    let text = RwSignal::new(String::new());
    // Show the stored bridges when the worker reports them.
    Effect::new(move |_| {
        if let Some(n) = state.network.get() {
            text.set(n.own_bridges.join("\n"));
        }
    });
    let route = move || match state.network.get() {
        None => "Connecting…".to_owned(),
        Some(n) => match n.bridge {
            Some(b) => format!("Through the bridge {b} ({} network)", n.network),
            None => format!("Directly to the nodes ({} network)", n.network),
        },
    };
    let bundle = move || {
        let list = state
            .network
            .get()
            .map(|n| n.bundle_bridges)
            .unwrap_or_default();
        (!list.is_empty()).then(|| {
            view! {
                <p class="small">"Bridges of this installation: "
                    <span class="mono">{list.join(", ")}</span>
                </p>
            }
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let bridges = text
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        worker.send(Command::Network(NetworkCommand::SetBridges { bridges }));
    };
    view! {
        <p role="status" aria-label="Route">{route}</p>
        {bundle}
        <form on:submit=submit>
            <label for="own-bridges">"Your own bridges (one address per line)"</label>
            <textarea id="own-bridges" rows="3" spellcheck="false" autocomplete="off"
                placeholder="https://bridge.example.org"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <p class="small">"A bridge passes your encrypted onion requests to Session's network. It sees your IP address and your first node, never who you write to or what."</p>
            <div class="actions">
                <button type="submit">"Save bridges"</button>
            </div>
        </form>
    }
}
