//! The call screens: the call buttons of a conversation, the incoming-call dialog, the in-call
//! view (peer, duration, mute, camera, devices, end) with the remote media, and the line that
//! says how the last call ended. The WebRTC side is [`crate::call`].

use leptos::prelude::*;
use umbra_ipc::{CallCommand, CallEndReason, CallEvent, CallPhase, Command};

use crate::{browser, format, state::UiState, worker_client::use_worker};

/// The live call as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallView {
    /// The call id.
    pub(crate) call: String,
    /// The peer's conversation reference.
    pub(crate) peer: String,
    /// We called.
    pub(crate) outgoing: bool,
    /// Where it is.
    pub(crate) phase: CallPhase,
    /// When it connected (ms, this page's clock).
    pub(crate) connected_at: Option<u64>,
    /// The microphone is muted.
    pub(crate) muted: bool,
    /// Our camera is on.
    pub(crate) camera: bool,
    /// The peer's camera is on.
    pub(crate) remote_video: bool,
}

/// Updates the shown call for a worker event (before the WebRTC side handles it).
pub(crate) fn show(state: UiState, event: &CallEvent) {
    match event {
        CallEvent::Phase {
            call,
            peer,
            outgoing,
            phase,
        } => {
            if *phase == CallPhase::Ringing && !*outgoing {
                notify_incoming(state, peer);
            }
            state.call_ended.set(None);
            state.call.update(|c| match c {
                Some(v) if v.call == *call => {
                    v.phase = *phase;
                    if *phase == CallPhase::Connected && v.connected_at.is_none() {
                        v.connected_at = Some(browser::now_ms());
                    }
                }
                _ => {
                    *c = Some(CallView {
                        call: call.clone(),
                        peer: peer.clone(),
                        outgoing: *outgoing,
                        phase: *phase,
                        connected_at: (*phase == CallPhase::Connected).then(browser::now_ms),
                        muted: false,
                        camera: false,
                        remote_video: false,
                    });
                }
            });
        }
        CallEvent::Ended { call, reason }
            if state
                .call
                .with_untracked(|c| c.as_ref().is_some_and(|v| v.call == *call)) =>
        {
            state.call.set(None);
            state.call_ended.set(Some(*reason));
        }
        _ => {}
    }
}

/// The peer turned their camera on or off (data channel).
pub(crate) fn remote_video(state: UiState, on: bool) {
    state.call.update(|c| {
        if let Some(v) = c {
            v.remote_video = on;
        }
    });
}

/// Our camera is on or off.
pub(crate) fn set_camera(state: UiState, on: bool) {
    state.call.update(|c| {
        if let Some(v) = c {
            v.camera = on;
        }
    });
}

fn peer_name(state: UiState, peer: &str) -> String {
    state.conversations.with_untracked(|list| {
        list.iter()
            .find(|c| c.conversation == peer)
            .map_or_else(|| format::short_id(peer), format::conversation_name)
    })
}

fn notify_incoming(state: UiState, peer: &str) {
    let settings = state.settings.get_untracked();
    if !settings.notifications || browser::page_visible() {
        return;
    }
    let body = if settings.notification_content {
        format!(
            "Incoming call from {}",
            format::strip_bidi(&peer_name(state, peer))
        )
    } else {
        "Incoming call".to_owned()
    };
    browser::show_notification("Umbra", &body, "call", || {
        if let Some(w) = web_sys::window() {
            let _ = w.focus();
        }
    });
}

fn ended_text(reason: CallEndReason) -> &'static str {
    match reason {
        CallEndReason::HungUp => "Call ended",
        CallEndReason::RemoteEnded => "Call ended by the other side",
        CallEndReason::Declined => "Call declined",
        CallEndReason::NoAnswer => "Call ended: no answer",
        CallEndReason::ConnectionFailed => "Call ended: the connection failed",
        CallEndReason::HandledElsewhere => "Call handled on another device",
    }
}

/// The voice and video call buttons of a conversation's header (disabled, with the reason,
/// while calls are off).
#[component]
pub(crate) fn CallButtons(conversation: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let off = move || !state.settings.get().calls;
    let busy = move || state.call.with(Option::is_some);
    let p = conversation.clone();
    view! {
        <button type="button" class="secondary" aria-label="Voice call"
            aria-describedby="calls-off" disabled=move || off() || busy()
            on:click=move |_| crate::call::start(worker, p.clone(), false)>"Voice call"</button>
        <button type="button" class="secondary" aria-label="Video call"
            aria-describedby="calls-off" disabled=move || off() || busy()
            on:click=move |_| crate::call::start(worker, conversation.clone(), true)>"Video call"</button>
        {move || off().then(|| view! {
            <p id="calls-off" class="small">"Calls are off. Turn on voice and video calls in Settings."</p>
        })}
    }
}

/// The incoming-call dialog, the in-call view and how the last call ended.
#[component]
pub(crate) fn CallLayer() -> impl IntoView {
    let state = expect_context::<UiState>();
    // Memos: the views are rebuilt only when the call changes, not on every update of it
    // (the remote media elements keep their stream).
    let ringing = Memo::new(move |_| {
        state.call.with(|c| {
            c.as_ref()
                .filter(|v| !v.outgoing && v.phase == CallPhase::Ringing)
                .map(|v| v.call.clone())
        })
    });
    let in_call = Memo::new(move |_| {
        state.call.with(|c| {
            c.as_ref()
                .filter(|v| v.outgoing || v.phase != CallPhase::Ringing)
                .map(|v| v.call.clone())
        })
    });
    view! {
        {move || ringing.get().map(|call| view! { <IncomingCall call/> })}
        {move || in_call.get().map(|call| view! { <InCall call/> })}
        {move || state.call_ended.get().map(|r| view! {
            <p class="call-ended" role="status" aria-label="Call status">
                {ended_text(r)}
                " "
                <button type="button" class="secondary" on:click=move |_| state.call_ended.set(None)>"Dismiss"</button>
            </p>
        })}
    }
}

#[component]
fn IncomingCall(call: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let peer = state
        .call
        .with_untracked(|c| c.as_ref().map(|v| v.peer.clone()))
        .unwrap_or_default();
    let name = peer_name(state, &peer);
    let c2 = call.clone();
    view! {
        <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="incoming-call-title">
            <h2 id="incoming-call-title">"Incoming call"</h2>
            <p>{format!("{} is calling you.", format::strip_bidi(&name))}</p>
            <div class="actions">
                <button type="button" on:click=move |_| {
                    worker.send(Command::Call(CallCommand::Accept { call: call.clone() }));
                }>"Accept"</button>
                <button type="button" class="danger" on:click=move |_| {
                    worker.send(Command::Call(CallCommand::Decline { call: c2.clone() }));
                }>"Decline"</button>
            </div>
        </div>
    }
}

#[component]
fn InCall(call: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let now = RwSignal::new(browser::now_ms());
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(browser::now_ms()),
        std::time::Duration::from_millis(500),
    ) {
        on_cleanup(move || handle.clear());
    }
    let view_of = move || state.call.get();
    let name = {
        let peer = state
            .call
            .with_untracked(|c| c.as_ref().map(|v| v.peer.clone()))
            .unwrap_or_default();
        format::strip_bidi(&peer_name(state, &peer))
    };
    let status = move || {
        let Some(v) = view_of() else {
            return String::new();
        };
        match (v.phase, v.connected_at) {
            (CallPhase::Connected, Some(at)) => {
                format!(
                    "Connected · {}",
                    format::elapsed_text(now.get().saturating_sub(at))
                )
            }
            (CallPhase::Dialing, _) => "Calling…".into(),
            (CallPhase::Ringing, _) => "Ringing…".into(),
            _ => "Connecting…".into(),
        }
    };
    let muted = move || view_of().is_some_and(|v| v.muted);
    let camera = move || view_of().is_some_and(|v| v.camera);
    let remote_video = move || view_of().is_some_and(|v| v.remote_video);
    let toggle_mute = move |_| {
        let m = !muted();
        crate::call::set_muted(m);
        state.call.update(|c| {
            if let Some(v) = c {
                v.muted = m;
            }
        });
    };
    let toggle_camera = move |_| {
        let on = !camera();
        wasm_bindgen_futures::spawn_local(async move {
            if crate::call::set_camera(on, None).await.is_ok() {
                set_camera(state, on);
            }
        });
    };
    let devices = RwSignal::new(Vec::<(String, String, String)>::new());
    wasm_bindgen_futures::spawn_local(async move {
        devices.set(crate::call::devices().await);
    });
    let switch = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let Some((kind, id)) = value
            .split_once(':')
            .map(|(k, i)| (k.to_owned(), i.to_owned()))
        else {
            return;
        };
        let m = muted();
        wasm_bindgen_futures::spawn_local(async move {
            let done = if kind == "videoinput" {
                crate::call::set_camera(true, Some(id))
                    .await
                    .map(|()| set_camera(state, true))
            } else {
                crate::call::set_microphone(id, m).await
            };
            if done.is_err() {
                state
                    .error
                    .set(Some(umbra_ipc::ErrorCode::MicrophoneUnavailable));
            }
        });
    };
    let remote_mounted = NodeRef::<leptos::html::Video>::new();
    Effect::new(move |_| {
        if remote_mounted.get().is_some() {
            crate::call::attach_remote();
        }
    });
    let c = call.clone();
    view! {
        <section class="in-call" role="region" aria-label="Call">
            <h2>{name}</h2>
            <p role="status" aria-label="Call state">{status}</p>
            <video id=crate::call::REMOTE_VIDEO_ID node_ref=remote_mounted class="remote-video"
                class:hidden=move || !remote_video() autoplay playsinline muted
                aria-label="Their video"></video>
            <audio id=crate::call::REMOTE_AUDIO_ID autoplay aria-label="Their audio"></audio>
            <div class="actions">
                <button type="button" class="secondary" aria-pressed=move || muted().to_string()
                    on:click=toggle_mute>{move || if muted() { "Unmute" } else { "Mute" }}</button>
                <button type="button" class="secondary" aria-pressed=move || camera().to_string()
                    on:click=toggle_camera>{move || if camera() { "Camera off" } else { "Camera on" }}</button>
                <label for="call-device" class="small">"Switch device"</label>
                <select id="call-device" on:change=switch>
                    <option value="">"Choose…"</option>
                    {move || devices.get().into_iter().map(|(kind, id, label)| {
                        let text = match (kind.as_str(), label.is_empty()) {
                            ("videoinput", true) => "Camera".to_owned(),
                            (_, true) => "Microphone".to_owned(),
                            (_, false) => label,
                        };
                        view! { <option value=format!("{kind}:{id}")>{text}</option> }
                    }).collect_view()}
                </select>
                <button type="button" class="danger" on:click=move |_| crate::call::hang_up(worker, c.clone())>
                    "End call"
                </button>
            </div>
        </section>
    }
}
