//! The page's half of a call: the `RTCPeerConnection` (a web Worker has none), the local
//! media and the negotiated data channel, driven by the worker's [`CallEvent`]s; what WebRTC
//! makes (offer, answer, candidates, connected, failed) goes back as [`CallCommand`]s. The
//! signalling itself is the worker's (`umbra_protocol::call`).
//!
//! As session-desktop (`ts/session/utils/calling/CallManager.ts`): `bundlePolicy`
//! "max-bundle", `rtcpMuxPolicy` "require", an audio and a video transceiver in every call
//! (the camera may start off), the negotiated data channel "session-datachannel" id 548 whose
//! JSON says `{"video":bool}` and `{"hangup":true}`. Unlike desktop, media is relayed only
//! (`iceTransportPolicy` "relay"): the peer never learns this device's address.
//!
//! SDPs and candidates carry IP addresses: never logged. Events are handled one at a time in
//! order (each may wait for WebRTC).

use std::{cell::RefCell, collections::VecDeque, rc::Rc};

use leptos::prelude::WithUntracked;
use umbra_ipc::{CallCommand, CallEvent, Candidate, Command, IceServer};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamConstraints, MediaStreamTrack, RtcConfiguration, RtcDataChannel,
    RtcDataChannelInit, RtcIceCandidateInit, RtcIceTransportPolicy, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcRtpSender, RtcRtpTransceiverDirection,
    RtcSdpType, RtcSessionDescriptionInit,
};

use crate::{state::UiState, worker_client::WorkerClient};

/// Desktop's data channel: "S E S S I O N in ascii" (`umbra_protocol::call::DATA_CHANNEL_ID`).
const DATA_CHANNEL_ID: u16 = 548;
const DATA_CHANNEL_LABEL: &str = "session-datachannel";
/// Longest data channel message read (as the protocol's `MAX_DATA_CHANNEL_MESSAGE_BYTES`).
const MAX_DATA_CHANNEL_MESSAGE: usize = 1024;
/// Element ids of the remote media.
pub(crate) const REMOTE_AUDIO_ID: &str = "call-remote-audio";
pub(crate) const REMOTE_VIDEO_ID: &str = "call-remote-video";
/// The debug hook the end-to-end tests read the peer connection from (no secrets: the
/// connection holds no keys; its stats are this page's own).
const DEBUG_HOOK: &str = "__umbraCall";

struct Engine {
    call: String,
    pc: RtcPeerConnection,
    channel: RtcDataChannel,
    local: Option<MediaStream>,
    remote: MediaStream,
    /// The handlers, dropped (and detached) with the engine.
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

#[derive(Default)]
struct Calls {
    engine: Option<Engine>,
    /// Camera on at the start of the next outgoing call (the user chose a video call).
    want_video: bool,
    queue: VecDeque<CallEvent>,
    running: bool,
}

thread_local! {
    static CALLS: Rc<RefCell<Calls>> = Rc::new(RefCell::new(Calls::default()));
}

fn calls() -> Rc<RefCell<Calls>> {
    CALLS.with(Rc::clone)
}

fn send(worker: WorkerClient, cmd: CallCommand) {
    worker.send(Command::Call(cmd));
}

/// The user calls `peer`: voice, or video with the camera on.
pub(crate) fn start(worker: WorkerClient, peer: String, video: bool) {
    calls().borrow_mut().want_video = video;
    send(worker, CallCommand::Start { peer });
}

/// Handles a call event from the worker (queued behind the ones still running).
pub(crate) fn on_event(worker: WorkerClient, state: UiState, event: CallEvent) {
    crate::ui::call::show(state, &event);
    let c = calls();
    c.borrow_mut().queue.push_back(event);
    if c.borrow().running {
        return;
    }
    c.borrow_mut().running = true;
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let next = c.borrow_mut().queue.pop_front();
            let Some(event) = next else { break };
            if handle(worker, state, event).await.is_err() {
                // WebRTC refused something (no media, a bad SDP): the call cannot go on.
                if let Some(call) = current_call() {
                    send(worker, CallCommand::Failed { call });
                }
            }
        }
        c.borrow_mut().running = false;
    });
}

fn current_call() -> Option<String> {
    calls().borrow().engine.as_ref().map(|e| e.call.clone())
}

fn pc_of(call: &str) -> Option<RtcPeerConnection> {
    calls()
        .borrow()
        .engine
        .as_ref()
        .filter(|e| e.call == call)
        .map(|e| e.pc.clone())
}

async fn handle(worker: WorkerClient, state: UiState, event: CallEvent) -> Result<(), JsValue> {
    match event {
        CallEvent::Open {
            call,
            outgoing,
            ice_servers,
            ..
        } => {
            close();
            let video = outgoing && std::mem::take(&mut calls().borrow_mut().want_video);
            open(worker, state, call, &ice_servers, outgoing, video).await?;
        }
        CallEvent::CreateOffer { call } => {
            let Some(pc) = pc_of(&call) else {
                return Ok(());
            };
            let offer = JsFuture::from(pc.create_offer()).await?;
            let sdp = sdp_of(&offer)?;
            set_local(&pc, RtcSdpType::Offer, &sdp).await?;
            send(
                worker,
                CallCommand::LocalOffer {
                    call,
                    sdp: private_offer(&sdp),
                },
            );
        }
        CallEvent::CreateAnswer { call } => {
            let Some(pc) = pc_of(&call) else {
                return Ok(());
            };
            let answer = JsFuture::from(pc.create_answer()).await?;
            let sdp = sdp_of(&answer)?;
            set_local(&pc, RtcSdpType::Answer, &sdp).await?;
            send(worker, CallCommand::LocalAnswer { call, sdp });
        }
        CallEvent::RemoteOffer { call, sdp } => {
            if let Some(pc) = pc_of(&call) {
                set_remote(&pc, RtcSdpType::Offer, &sdp).await?;
                // Sections without a local track yet (the camera, off) still send later.
                for t in pc.get_transceivers().iter() {
                    if let Ok(t) = t.dyn_into::<web_sys::RtcRtpTransceiver>()
                        && t.direction() == RtcRtpTransceiverDirection::Recvonly
                    {
                        t.set_direction(RtcRtpTransceiverDirection::Sendrecv);
                    }
                }
            }
        }
        CallEvent::RemoteAnswer { call, sdp } => {
            if let Some(pc) = pc_of(&call) {
                set_remote(&pc, RtcSdpType::Answer, &sdp).await?;
            }
        }
        CallEvent::RemoteCandidates { call, candidates } => {
            if let Some(pc) = pc_of(&call) {
                for c in candidates {
                    let init = RtcIceCandidateInit::new(&c.candidate);
                    init.set_sdp_mid(Some(&c.sdp_mid));
                    init.set_sdp_m_line_index(u16::try_from(c.sdp_m_line_index).ok());
                    // A candidate WebRTC refuses is skipped, as desktop does.
                    let _ = JsFuture::from(
                        pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)),
                    )
                    .await;
                }
            }
        }
        CallEvent::Ended { call, .. } => {
            if current_call().as_deref() == Some(call.as_str()) {
                close();
            }
        }
        CallEvent::Phase { .. } => {}
    }
    Ok(())
}

/// The offer as sent, changed as desktop changes it (`createOfferAndSendIt`): Opus at a
/// constant bitrate (`a=fmtp:111 …;cbr=1`: packet sizes then say nothing of what is said) and
/// no audio-level header extension (`ssrc-audio-level`: it would tell the relay when one
/// speaks).
fn private_offer(sdp: &str) -> String {
    let mut out = Vec::new();
    let mut dropped_level = false;
    for line in sdp.split('\n') {
        let line = line.trim_end_matches('\r');
        if !dropped_level && line.contains("urn:ietf:params:rtp-hdrext:ssrc-audio-level") {
            dropped_level = true;
            continue;
        }
        if line.starts_with("a=fmtp:111") {
            let head = line.split(';').next().unwrap_or(line);
            out.push(format!("{head};cbr=1"));
        } else {
            out.push(line.to_owned());
        }
    }
    out.join("\r\n")
}

fn sdp_of(description: &JsValue) -> Result<String, JsValue> {
    js_sys::Reflect::get(description, &"sdp".into())?
        .as_string()
        .ok_or_else(|| JsValue::from_str("no sdp"))
}

async fn set_local(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let d = RtcSessionDescriptionInit::new(kind);
    d.set_sdp(sdp);
    JsFuture::from(pc.set_local_description(&d)).await?;
    Ok(())
}

async fn set_remote(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let d = RtcSessionDescriptionInit::new(kind);
    d.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&d)).await?;
    Ok(())
}

fn ice_servers_js(servers: &[IceServer]) -> js_sys::Array {
    let list = js_sys::Array::new();
    for s in servers {
        let o = js_sys::Object::new();
        let urls: js_sys::Array = s.urls.iter().map(|u| JsValue::from_str(u)).collect();
        let _ = js_sys::Reflect::set(&o, &"urls".into(), &urls);
        let _ = js_sys::Reflect::set(&o, &"username".into(), &s.username.as_str().into());
        let _ = js_sys::Reflect::set(&o, &"credential".into(), &s.credential.as_str().into());
        list.push(&o);
    }
    list
}

async fn user_media(audio: JsValue, video: JsValue) -> Result<MediaStream, JsValue> {
    let devices = web_sys::window()
        .ok_or_else(|| JsValue::from_str("no window"))?
        .navigator()
        .media_devices()?;
    let c = MediaStreamConstraints::new();
    c.set_audio(&audio);
    c.set_video(&video);
    let stream = JsFuture::from(devices.get_user_media_with_constraints(&c)?).await?;
    stream.dyn_into()
}

async fn open(
    worker: WorkerClient,
    state: UiState,
    call: String,
    ice_servers: &[IceServer],
    outgoing: bool,
    video: bool,
) -> Result<(), JsValue> {
    let config = RtcConfiguration::new();
    config.set_ice_servers(&ice_servers_js(ice_servers));
    config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    let _ = js_sys::Reflect::set(&config, &"bundlePolicy".into(), &"max-bundle".into());
    let _ = js_sys::Reflect::set(&config, &"rtcpMuxPolicy".into(), &"require".into());
    let pc = RtcPeerConnection::new_with_configuration(&config)?;
    let init = RtcDataChannelInit::new();
    init.set_negotiated(true);
    init.set_id(DATA_CHANNEL_ID);
    init.set_ordered(true);
    let channel = pc.create_data_channel_with_data_channel_dict(DATA_CHANNEL_LABEL, &init);
    let remote = MediaStream::new()?;
    let mut handlers: Vec<Closure<dyn FnMut(JsValue)>> = Vec::new();

    let c = call.clone();
    let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Some(candidate) = ev
            .dyn_ref::<RtcPeerConnectionIceEvent>()
            .and_then(RtcPeerConnectionIceEvent::candidate)
        else {
            return;
        };
        // Desktop drops candidates lacking any of the three.
        let (Some(mid), Some(index)) = (candidate.sdp_mid(), candidate.sdp_m_line_index()) else {
            return;
        };
        if candidate.candidate().is_empty() {
            return;
        }
        send(
            worker,
            CallCommand::LocalCandidate {
                call: c.clone(),
                candidate: Candidate {
                    candidate: candidate.candidate(),
                    sdp_mid: mid,
                    sdp_m_line_index: u32::from(index),
                },
            },
        );
    });
    pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
    handlers.push(on_candidate);

    let c = call.clone();
    let pc2 = pc.clone();
    let mut reported = false;
    let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_| match pc2.connection_state() {
        RtcPeerConnectionState::Connected if !reported => {
            reported = true;
            attach_remote();
            send(worker, CallCommand::Connected { call: c.clone() });
        }
        RtcPeerConnectionState::Failed => send(worker, CallCommand::Failed { call: c.clone() }),
        _ => {}
    });
    pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
    handlers.push(on_state);

    let on_track = Closure::<dyn FnMut(JsValue)>::new(move |_| attach_remote());
    pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
    handlers.push(on_track);

    let c = call.clone();
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Some(text) = ev
            .dyn_ref::<web_sys::MessageEvent>()
            .and_then(|m| m.data().as_string())
        else {
            return;
        };
        match parse_channel_message(&text) {
            Some(ChannelMessage::Hangup) => {
                send(worker, CallCommand::RemoteHungUp { call: c.clone() });
            }
            Some(ChannelMessage::Video(on)) => crate::ui::call::remote_video(state, on),
            None => {}
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    handlers.push(on_message);

    let ch = channel.clone();
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        let on = state
            .call
            .with_untracked(|c| c.as_ref().is_some_and(|c| c.camera));
        let _ = ch.send_with_str(&video_message(on));
    });
    channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    handlers.push(on_open);

    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &DEBUG_HOOK.into(), &pc);
    }
    calls().borrow_mut().engine = Some(Engine {
        call,
        pc: pc.clone(),
        channel,
        local: None,
        remote,
        _handlers: handlers,
    });
    // An audio and a video transceiver in every call, as desktop: the camera may come later.
    let local = user_media(JsValue::TRUE, JsValue::from_bool(video)).await?;
    let audio = local.get_audio_tracks().get(0);
    if let Ok(track) = audio.dyn_into::<MediaStreamTrack>() {
        pc.add_track_0(&track, &local);
    }
    match local
        .get_video_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
    {
        Ok(track) => {
            pc.add_track_0(&track, &local);
        }
        // The caller's offer has a video section either way; the callee's comes with the
        // offer (made two-way below).
        Err(_) if outgoing => {
            pc.add_transceiver_with_str("video");
        }
        Err(_) => {}
    }
    crate::ui::call::set_camera(state, video);
    if let Some(e) = calls().borrow_mut().engine.as_mut() {
        e.local = Some(local);
    }
    Ok(())
}

enum ChannelMessage {
    Video(bool),
    Hangup,
}

/// Desktop's rule (`onDataChannelReceivedMessage`): a `hangup` key is a hang-up, else a
/// boolean `video` is the peer's camera state; anything else is ignored.
fn parse_channel_message(text: &str) -> Option<ChannelMessage> {
    if text.len() > MAX_DATA_CHANNEL_MESSAGE {
        return None;
    }
    let v = js_sys::JSON::parse(text).ok()?;
    if !v.is_object() {
        return None;
    }
    if js_sys::Reflect::has(&v, &"hangup".into()).unwrap_or(false) {
        return Some(ChannelMessage::Hangup);
    }
    js_sys::Reflect::get(&v, &"video".into())
        .ok()?
        .as_bool()
        .map(ChannelMessage::Video)
}

fn video_message(on: bool) -> String {
    format!("{{\"video\":{on}}}")
}

/// Points the remote media elements at the remote stream (when they mount, and when a track
/// arrives).
pub(crate) fn attach_remote() {
    let Some((pc, stream)) = calls()
        .borrow()
        .engine
        .as_ref()
        .map(|e| (e.pc.clone(), e.remote.clone()))
    else {
        return;
    };
    // Every receiver's track, whatever `track` events said.
    for r in pc.get_receivers().iter() {
        if let Ok(r) = r.dyn_into::<web_sys::RtcRtpReceiver>() {
            let t = r.track();
            if stream.get_track_by_id(&t.id()).is_none() {
                stream.add_track(&t);
            }
        }
    }
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    for id in [REMOTE_AUDIO_ID, REMOTE_VIDEO_ID] {
        if let Some(el) = doc
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlMediaElement>().ok())
            && el.src_object().as_ref() != Some(&stream)
        {
            el.set_src_object(Some(&stream));
        }
    }
}

/// The worker is about to stop (the account locks): a live call ends here, the peer told over
/// the data channel when it is open (desktop ends a call on its `{"hangup":true}`), since no
/// END_CALL can be sent without the worker; a call still ringing there times out.
pub(crate) fn end_without_worker() {
    if let Some(e) = calls().borrow().engine.as_ref()
        && e.channel.ready_state() == web_sys::RtcDataChannelState::Open
    {
        let _ = e.channel.send_with_str("{\"hangup\":true}");
    }
    close();
}

/// Closes the peer connection and stops the local media.
fn close() {
    let Some(e) = calls().borrow_mut().engine.take() else {
        return;
    };
    e.pc.set_onicecandidate(None);
    e.pc.set_onconnectionstatechange(None);
    e.pc.set_ontrack(None);
    e.channel.set_onmessage(None);
    e.channel.set_onopen(None);
    e.channel.close();
    if let Some(local) = &e.local {
        stop_tracks(local);
    }
    for s in e.pc.get_senders().iter() {
        if let Some(t) = s.dyn_ref::<RtcRtpSender>().and_then(RtcRtpSender::track) {
            t.stop();
        }
    }
    e.pc.close();
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::delete_property(&w, &DEBUG_HOOK.into());
    }
}

fn stop_tracks(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        if let Ok(t) = t.dyn_into::<MediaStreamTrack>() {
            t.stop();
        }
    }
}

/// The user hangs up: the data channel says so first (desktop `sendHangupViaDataChannel`),
/// then the worker sends END_CALL.
pub(crate) fn hang_up(worker: WorkerClient, call: String) {
    if let Some(e) = calls().borrow().engine.as_ref().filter(|e| e.call == call)
        && e.channel.ready_state() == web_sys::RtcDataChannelState::Open
    {
        let _ = e.channel.send_with_str("{\"hangup\":true}");
    }
    send(worker, CallCommand::HangUp { call });
}

fn sender_of(kind: &str) -> Option<RtcRtpSender> {
    let c = calls();
    let c = c.borrow();
    let e = c.engine.as_ref()?;
    e.pc.get_transceivers().iter().find_map(|t| {
        let t = t.dyn_into::<web_sys::RtcRtpTransceiver>().ok()?;
        let receiver_kind = t.receiver().track().kind();
        (receiver_kind == kind).then(|| t.sender())
    })
}

/// Mutes or unmutes the microphone (the track stays, silent).
pub(crate) fn set_muted(muted: bool) {
    if let Some(track) = sender_of("audio").and_then(|s| s.track()) {
        track.set_enabled(!muted);
    }
}

/// Turns the camera on (a new camera track, `device` or the default) or off (the track is
/// stopped); the peer learns it through the data channel.
pub(crate) async fn set_camera(on: bool, device: Option<String>) -> Result<(), JsValue> {
    let Some(sender) = sender_of("video") else {
        return Ok(());
    };
    if let Some(old) = sender.track() {
        old.stop();
    }
    let track = if on {
        let stream = user_media(JsValue::FALSE, device_constraint(device)).await?;
        stream
            .get_video_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
            .ok()
    } else {
        None
    };
    JsFuture::from(sender.replace_track(track.as_ref())).await?;
    if let Some(e) = calls().borrow().engine.as_ref()
        && e.channel.ready_state() == web_sys::RtcDataChannelState::Open
    {
        let _ = e.channel.send_with_str(&video_message(on));
    }
    Ok(())
}

/// Uses another microphone.
pub(crate) async fn set_microphone(device: String, muted: bool) -> Result<(), JsValue> {
    let Some(sender) = sender_of("audio") else {
        return Ok(());
    };
    let stream = user_media(device_constraint(Some(device)), JsValue::FALSE).await?;
    let Ok(track) = stream
        .get_audio_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
    else {
        return Ok(());
    };
    track.set_enabled(!muted);
    if let Some(old) = sender.track() {
        old.stop();
    }
    JsFuture::from(sender.replace_track(Some(&track))).await?;
    Ok(())
}

fn device_constraint(device: Option<String>) -> JsValue {
    let Some(id) = device else {
        return JsValue::TRUE;
    };
    let exact = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&exact, &"exact".into(), &id.into());
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"deviceId".into(), &exact);
    o.into()
}

/// The microphones and cameras (`enumerateDevices`): (kind, id, label).
pub(crate) async fn devices() -> Vec<(String, String, String)> {
    let Some(md) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
        return Vec::new();
    };
    let Ok(promise) = md.enumerate_devices() else {
        return Vec::new();
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return Vec::new();
    };
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|d| {
            let get = |k: &str| {
                js_sys::Reflect::get(&d, &k.into())
                    .ok()
                    .and_then(|v| v.as_string())
            };
            let kind = get("kind")?;
            (kind == "audioinput" || kind == "videoinput").then(|| {
                (
                    kind,
                    get("deviceId").unwrap_or_default(),
                    get("label").unwrap_or_default(),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::private_offer;

    #[test]
    fn test_offer_gets_constant_bitrate_opus_and_no_audio_level() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:111 opus/48000/2\r\n";
        let out = private_offer(sdp);
        assert!(out.contains("a=fmtp:111 minptime=10;cbr=1\r\n"), "{out}");
        assert!(!out.contains("ssrc-audio-level"), "{out}");
        assert!(!out.contains("useinbandfec"), "{out}");
        assert!(out.contains("a=rtpmap:111 opus/48000/2"));
    }
}
