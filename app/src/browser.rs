//! Window-only browser APIs the app uses: persistent storage, the clipboard, the service
//! worker registration, and the Web Lock that keeps one tab per account database. Failures
//! are shown or ignored, never thrown.

use leptos::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use crate::state::UiState;

/// Asks the browser to keep our storage (IndexedDB holds the account); shows a notice when
/// denied.
pub(crate) fn request_persistence(state: UiState) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(promise) = window.navigator().storage().persist() else {
        state.persist_denied.set(true);
        return;
    };
    spawn_local(async move {
        let granted = JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        state.persist_denied.set(!granted);
    });
}

/// Copies `text` to the clipboard; `done` receives whether it worked.
pub(crate) fn copy_text(text: String, done: impl Fn(bool) + 'static) {
    let Some(window) = web_sys::window() else {
        return done(false);
    };
    let promise = window.navigator().clipboard().write_text(&text);
    spawn_local(async move {
        done(JsFuture::from(promise).await.is_ok());
    });
}

/// Registers `sw.js` (offline app shell). Errors (e.g. unsupported) are ignored.
pub(crate) fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().service_worker().register("./sw.js");
    spawn_local(async move {
        let _ = JsFuture::from(promise).await;
    });
}

/// Whether the page is visible (foreground).
pub(crate) fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

/// Calls `on_change(visible)` whenever the page's visibility changes.
pub(crate) fn on_visibility_change(on_change: impl Fn(bool) + 'static) {
    use wasm_bindgen::{JsCast, closure::Closure};
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let handler = Closure::<dyn Fn()>::new(move || on_change(page_visible()));
    let _ = document
        .add_event_listener_with_callback("visibilitychange", handler.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    handler.forget();
}

/// The local wall-clock time of `ms` (ms since the Unix epoch) as `HH:MM`, and the date as
/// `YYYY-MM-DD HH:MM` when it is not today.
pub(crate) fn local_time(ms: u64, with_date_if_old: bool) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let time = crate::format::clock(date.get_hours(), date.get_minutes());
    if !with_date_if_old {
        return time;
    }
    let now = js_sys::Date::new_0();
    let same_day = now.get_full_year() == date.get_full_year()
        && now.get_month() == date.get_month()
        && now.get_date() == date.get_date();
    if same_day {
        time
    } else {
        format!(
            "{:04}-{:02}-{:02} {time}",
            date.get_full_year(),
            date.get_month() + 1,
            date.get_date()
        )
    }
}

/// `ms` as an ISO 8601 string for `<time datetime>`.
pub(crate) fn iso_time(ms: u64) -> String {
    String::from(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64)).to_iso_string())
}

/// Whether the browser offers `BarcodeDetector` (QR scanning from the camera).
pub(crate) fn barcode_detector_available() -> bool {
    web_sys::window()
        .is_some_and(|w| js_sys::Reflect::has(&w, &"BarcodeDetector".into()).unwrap_or(false))
}

/// Shows the camera in `video` and reads QR codes until one gives text `accept` takes (then
/// returns it) or `keep_going` turns false. The camera is released before returning. `None`
/// when the camera or the detector is unavailable or scanning was cancelled.
pub(crate) async fn scan_qr(
    video: web_sys::HtmlVideoElement,
    accept: impl Fn(&str) -> bool,
    keep_going: impl Fn() -> bool,
) -> Option<String> {
    use js_sys::{Array, Function, Object, Promise, Reflect};
    use wasm_bindgen::JsCast;
    let window = web_sys::window()?;
    let devices = window.navigator().media_devices().ok()?;
    let constraints = web_sys::MediaStreamConstraints::new();
    let video_opts = Object::new();
    Reflect::set(&video_opts, &"facingMode".into(), &"environment".into()).ok()?;
    constraints.set_video(&video_opts);
    let stream: web_sys::MediaStream =
        JsFuture::from(devices.get_user_media_with_constraints(&constraints).ok()?)
            .await
            .ok()?
            .dyn_into()
            .ok()?;
    let stop = |stream: &web_sys::MediaStream| {
        for track in stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
    };
    video.set_src_object(Some(&stream));
    if let Ok(p) = video.play() {
        let _ = JsFuture::from(p).await;
    }
    let found = async {
        let ctor: Function = Reflect::get(&window, &"BarcodeDetector".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let opts = Object::new();
        Reflect::set(&opts, &"formats".into(), &Array::of1(&"qr_code".into())).ok()?;
        let detector = Reflect::construct(&ctor, &Array::of1(&opts)).ok()?;
        let detect: Function = Reflect::get(&detector, &"detect".into())
            .ok()?
            .dyn_into()
            .ok()?;
        while keep_going() {
            if let Ok(promise) = detect.call1(&detector, &video)
                && let Ok(codes) = JsFuture::from(Promise::from(promise)).await
            {
                for code in Array::from(&codes).iter() {
                    let text = Reflect::get(&code, &"rawValue".into())
                        .ok()
                        .and_then(|v| v.as_string())
                        .unwrap_or_default();
                    if accept(&text) {
                        return Some(text);
                    }
                }
            }
            let tick = Promise::new(&mut |resolve, _| {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 250);
            });
            let _ = JsFuture::from(tick).await;
        }
        None
    }
    .await;
    stop(&stream);
    video.set_src_object(None);
    found
}

/// The current time, ms since the Unix epoch (the browser's clock).
pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// Sets the tab title.
pub(crate) fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// Whether this browser has notifications at all.
pub(crate) fn notifications_supported() -> bool {
    web_sys::window()
        .is_some_and(|w| js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false))
}

/// The notification permission: "granted", "denied" or "default" ("denied" without support).
pub(crate) fn notification_permission() -> &'static str {
    if !notifications_supported() {
        return "denied";
    }
    match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Granted => "granted",
        web_sys::NotificationPermission::Default => "default",
        _ => "denied",
    }
}

/// Asks for the notification permission (call from a click: browsers require a user gesture)
/// and calls `done(granted)`.
pub(crate) fn request_notification_permission(done: impl Fn(bool) + 'static) {
    if !notifications_supported() {
        done(false);
        return;
    }
    let Ok(promise) = web_sys::Notification::request_permission() else {
        done(false);
        return;
    };
    spawn_local(async move {
        let granted = JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .is_some_and(|v| v == "granted");
        done(granted);
    });
}

/// Shows a notification (text only; the browser renders it). Clicking it focuses the tab and
/// calls `on_click`. Nothing happens without permission.
pub(crate) fn show_notification(title: &str, body: &str, tag: &str, on_click: impl Fn() + 'static) {
    use wasm_bindgen::{JsCast, closure::Closure};
    if notification_permission() != "granted" {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    options.set_icon("./icons/icon-192.png");
    let Ok(n) = web_sys::Notification::new_with_options(title, &options) else {
        return;
    };
    let handler = Closure::<dyn Fn()>::new(move || {
        if let Some(w) = web_sys::window() {
            let _ = w.focus();
        }
        on_click();
    });
    n.set_onclick(Some(handler.as_ref().unchecked_ref()));
    // Lives as long as the notification may be clicked.
    handler.forget();
}

/// Opens `url` in a new tab without giving it a handle on this page or a referrer.
pub(crate) fn open_link(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.open_with_url_and_target_and_features(url, "_blank", "noopener,noreferrer");
    }
}

/// Reads a non-secret UI preference from `localStorage`.
pub(crate) fn pref(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

/// Saves a non-secret UI preference in `localStorage` (ignored where unavailable).
pub(crate) fn set_pref(key: &str, value: &str) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(key, value);
    }
}

/// The Web Lock that names the account database (`umbra`, the worker's one database): the
/// tab holding it is the only one that runs a worker on it. The page holds it, not the
/// worker, so it outlives a lock (which restarts the worker) and is released when the tab
/// closes or crashes (the browser drops the locks of a destroyed document).
pub(crate) const ACCOUNT_LOCK: &str = "umbra/account-db/umbra";

thread_local! {
    /// The queued request of a tab that found the lock taken (aborted by "Use here").
    static WAITING: std::cell::RefCell<Option<web_sys::AbortController>> =
        const { std::cell::RefCell::new(None) };
}

/// What the page does as the account lock changes hands.
pub(crate) struct LockEvents {
    /// This tab holds the lock: start the worker.
    pub(crate) granted: Box<dyn Fn()>,
    /// Another tab holds it; this tab waits (and starts by itself when that tab closes).
    pub(crate) waiting: Box<dyn Fn()>,
    /// Another tab took it over: stop the worker at once, write nothing more.
    pub(crate) lost: Box<dyn Fn()>,
}

/// Asks for [`ACCOUNT_LOCK`] with `navigator.locks.request`: if it is free, `granted`;
/// else `waiting`, and the request stays queued. With `steal`, takes it from the tab holding
/// it (whose `lost` runs). Without Web Locks (an insecure context, an old browser) the page
/// runs unguarded: `granted` at once.
pub(crate) fn request_account_lock(steal: bool, events: LockEvents) {
    use js_sys::{Function, Object, Reflect};
    use wasm_bindgen::JsCast;
    let events = std::rc::Rc::new(events);
    let manager = web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &"locks".into()).ok())
        .filter(|l| l.is_object());
    let request = manager.as_ref().and_then(|m| {
        Reflect::get(m, &"request".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    });
    let (Some(manager), Some(request)) = (manager, request) else {
        (events.granted)();
        return;
    };
    let options = Object::new();
    if steal {
        if let Some(waiting) = WAITING.with(|w| w.borrow_mut().take()) {
            waiting.abort();
        }
        let _ = Reflect::set(&options, &"steal".into(), &true.into());
    } else {
        let _ = Reflect::set(&options, &"ifAvailable".into(), &true.into());
    }
    lock_request(manager, request, options, events);
}

/// One `navigator.locks.request(ACCOUNT_LOCK, options, callback)`. The callback holds the
/// lock for the page's life (it returns a promise that never settles); if the lock is not
/// available (`ifAvailable`), it queues a waiting request. The request's promise is rejected
/// when another tab steals the held lock (`lost`), or when this tab aborts its waiting
/// request (ignored).
fn lock_request(
    manager: wasm_bindgen::JsValue,
    request: js_sys::Function,
    options: js_sys::Object,
    events: std::rc::Rc<LockEvents>,
) {
    use js_sys::{Object, Promise, Reflect};
    use std::{cell::Cell, rc::Rc};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure};
    let held = Rc::new(Cell::new(false));
    let callback = {
        let (held, events, manager, request) = (
            Rc::clone(&held),
            Rc::clone(&events),
            manager.clone(),
            request.clone(),
        );
        Closure::once_into_js(move |lock: JsValue| -> JsValue {
            if lock.is_null() {
                (events.waiting)();
                let queued = Object::new();
                if let Ok(controller) = web_sys::AbortController::new() {
                    let _ = Reflect::set(&queued, &"signal".into(), &controller.signal());
                    WAITING.with(|w| *w.borrow_mut() = Some(controller));
                }
                lock_request(manager, request, queued, events);
                return JsValue::UNDEFINED;
            }
            held.set(true);
            WAITING.with(|w| w.borrow_mut().take());
            (events.granted)();
            Promise::new(&mut |_, _| {}).into()
        })
    };
    let promise = request
        .call3(&manager, &ACCOUNT_LOCK.into(), &options, &callback)
        .ok()
        .and_then(|p| p.dyn_into::<Promise>().ok());
    let Some(promise) = promise else {
        (events.granted)();
        return;
    };
    spawn_local(async move {
        let Err(error) = JsFuture::from(promise).await else {
            return;
        };
        let name = Reflect::get(&error, &"name".into())
            .ok()
            .and_then(|n| n.as_string());
        if held.get() {
            (events.lost)();
        } else if name.as_deref() != Some("AbortError") {
            // The lock manager refused (not our own abort): run unguarded rather than never.
            (events.granted)();
        }
    });
}

/// A `blob:` URL for `bytes` typed `content_type` (the caller passes an allow-listed type:
/// never HTML). Revoke it with [`revoke_object_url`].
pub(crate) fn object_url(bytes: &[u8], content_type: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(content_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// Frees a URL made by [`object_url`].
pub(crate) fn revoke_object_url(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

/// Reads the first file picked in `input` (name, MIME type, bytes), then clears the input so
/// the same file can be picked again. A file over `max_bytes` is not read: `too_large` gets
/// its name.
pub(crate) fn read_picked_file(
    input: &web_sys::HtmlInputElement,
    max_bytes: usize,
    too_large: impl FnOnce(String),
    done: impl FnOnce(String, String, Vec<u8>) + 'static,
) {
    let Some(file) = input.files().and_then(|l| l.get(0)) else {
        return;
    };
    input.set_value("");
    let (name, ty) = (file.name(), file.type_());
    if file.size() > max_bytes as f64 {
        too_large(name);
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(buf) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            done(name, ty, js_sys::Uint8Array::new(&buf).to_vec());
        }
    });
}

/// A voice recording in progress: the microphone stream and Chromium's recorder (Opus in
/// WebM), whose chunks are kept until [`VoiceRecorder::finish`].
pub(crate) struct VoiceRecorder {
    stream: web_sys::MediaStream,
    recorder: web_sys::MediaRecorder,
    chunks: std::rc::Rc<std::cell::RefCell<Vec<web_sys::Blob>>>,
}

impl VoiceRecorder {
    /// Asks for the microphone and starts recording; `Err` if it cannot be used.
    pub(crate) async fn start() -> Result<VoiceRecorder, wasm_bindgen::JsValue> {
        use wasm_bindgen::JsCast;
        let devices = web_sys::window()
            .ok_or_else(|| wasm_bindgen::JsValue::from_str("no window"))?
            .navigator()
            .media_devices()?;
        let constraints = web_sys::MediaStreamConstraints::new();
        constraints.set_audio(&wasm_bindgen::JsValue::TRUE);
        let stream: web_sys::MediaStream = wasm_bindgen_futures::JsFuture::from(
            devices.get_user_media_with_constraints(&constraints)?,
        )
        .await?
        .dyn_into()?;
        let recorder = web_sys::MediaRecorder::new_with_media_stream(&stream)?;
        let chunks = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let sink = std::rc::Rc::clone(&chunks);
        let on_data = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::BlobEvent)>::new(
            move |e: web_sys::BlobEvent| {
                if let Some(b) = e.data() {
                    sink.borrow_mut().push(b);
                }
            },
        );
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        on_data.forget();
        recorder.start()?;
        Ok(VoiceRecorder {
            stream,
            recorder,
            chunks,
        })
    }

    fn release(&self) {
        use wasm_bindgen::JsCast;
        for t in self.stream.get_tracks().iter() {
            if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
                t.stop();
            }
        }
    }

    /// Stops and drops the recording.
    pub(crate) fn cancel(self) {
        let _ = self.recorder.stop();
        self.release();
    }

    /// Stops recording and decodes it to mono 16-bit PCM: (sample rate, s16le bytes).
    pub(crate) async fn finish(self) -> Result<(u32, Vec<u8>), wasm_bindgen::JsValue> {
        use wasm_bindgen::JsCast;
        let stopped = js_sys::Promise::new(&mut |resolve, _| {
            self.recorder.set_onstop(Some(&resolve));
        });
        self.recorder.stop()?;
        wasm_bindgen_futures::JsFuture::from(stopped).await?;
        self.release();
        let parts = js_sys::Array::new();
        for b in self.chunks.borrow().iter() {
            parts.push(b);
        }
        let blob = web_sys::Blob::new_with_blob_sequence(&parts)?;
        let buf = wasm_bindgen_futures::JsFuture::from(blob.array_buffer()).await?;
        let opts = web_sys::AudioContextOptions::new();
        opts.set_sample_rate(48_000.0);
        let ctx = web_sys::AudioContext::new_with_context_options(&opts)?;
        let decoded: web_sys::AudioBuffer =
            wasm_bindgen_futures::JsFuture::from(ctx.decode_audio_data(&buf.dyn_into()?)?)
                .await?
                .dyn_into()?;
        let _ = ctx.close();
        let samples = decoded.get_channel_data(0)?;
        let mut pcm = Vec::with_capacity(samples.len() * 2);
        for s in samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
            pcm.extend_from_slice(&v.to_le_bytes());
        }
        Ok((decoded.sample_rate() as u32, pcm))
    }
}
