//! The worker's I/O primitives: HTTP POST/GET with web-sys `fetch` and an `AbortController`
//! time-out (failures mapped to the client's [`TransportFailure`]), `setTimeout` timers that
//! are cleared when dropped, the wall clock (`Date.now()`), and loading `./config.json`.
//!
//! Everything goes through the global scope's structural bindings, so the same code runs in
//! the dedicated worker and in a window (the browser tests run there).

use std::{cell::Cell, rc::Rc};

use js_sys::{Function, Promise, Uint8Array};
use umbra_protocol::client::{HttpResponse, TransportFailure};

use crate::network::NetworkConfig;
pub use crate::network::parse_config;
use wasm_bindgen::{JsCast, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestCache, RequestInit, Response, WorkerGlobalScope};

/// Where the worker looks for its network configuration (relative to the worker script).
pub const CONFIG_URL: &str = "./config.json";
/// Largest response body accepted (a poll answer is far smaller).
const MAX_BODY: u32 = 16 * 1024 * 1024;

fn scope() -> WorkerGlobalScope {
    // `fetch`, `setTimeout` and `clearTimeout` exist with the same shape on Window and
    // WorkerGlobalScope; the web-sys calls are structural.
    js_sys::global().unchecked_into()
}

/// The local wall clock in ms since the Unix epoch (`Date.now()`).
pub fn now_ms() -> u64 {
    let t = js_sys::Date::now();
    if t.is_finite() && t > 0.0 {
        t as u64
    } else {
        0
    }
}

/// A `setTimeout` that runs its callback once; dropping it clears the timeout.
pub struct Timeout {
    handle: Option<i32>,
    _callback: Closure<dyn FnMut()>,
}

impl core::fmt::Debug for Timeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Timeout({:?})", self.handle)
    }
}

impl Timeout {
    /// Runs `callback` after `delay_ms` (clamped to what `setTimeout` takes). If the timer
    /// cannot be set the callback never runs.
    pub fn start(delay_ms: u64, callback: impl FnOnce() + 'static) -> Timeout {
        let mut callback = Some(callback);
        let closure = Closure::<dyn FnMut()>::new(move || {
            if let Some(cb) = callback.take() {
                cb();
            }
        });
        let delay = i32::try_from(delay_ms).unwrap_or(i32::MAX);
        let handle = scope()
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref::<Function>(),
                delay,
            )
            .ok();
        Timeout {
            handle,
            _callback: closure,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            scope().clear_timeout_with_handle(h);
        }
    }
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u64) {
    let delay = i32::try_from(ms).unwrap_or(i32::MAX);
    let promise = Promise::new(&mut |resolve, _reject| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, delay);
    });
    let _ = JsFuture::from(promise).await;
}

/// POSTs `body` to `url` and returns the status and body of any answer. No answer within
/// `timeout_ms` (the request is aborted) is [`TransportFailure::Timeout`]; a network error
/// (refused, reset, DNS, TLS, CORS) is [`TransportFailure::Unreachable`].
pub async fn post(
    url: &str,
    content_type: &str,
    body: &[u8],
    timeout_ms: u64,
) -> Result<HttpResponse, TransportFailure> {
    request("POST", url, Some((content_type, body)), timeout_ms).await
}

/// GETs `url` (same outcomes as [`post`]).
pub async fn get(url: &str, timeout_ms: u64) -> Result<HttpResponse, TransportFailure> {
    request("GET", url, None, timeout_ms).await
}

async fn request(
    method: &str,
    url: &str,
    body: Option<(&str, &[u8])>,
    timeout_ms: u64,
) -> Result<HttpResponse, TransportFailure> {
    let controller = AbortController::new().map_err(|_| TransportFailure::Unreachable)?;
    let init = RequestInit::new();
    init.set_method(method);
    // Never an answer from the HTTP cache (a stale config.json would name an old seed).
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&controller.signal()));
    if let Some((content_type, bytes)) = body {
        let headers = Headers::new().map_err(|_| TransportFailure::Unreachable)?;
        headers
            .set("Content-Type", content_type)
            .map_err(|_| TransportFailure::Unreachable)?;
        init.set_headers(&headers);
        init.set_body(&Uint8Array::from(bytes));
    }
    let timed_out = Rc::new(Cell::new(false));
    let _timer = {
        let timed_out = Rc::clone(&timed_out);
        let controller = controller.clone();
        Timeout::start(timeout_ms, move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let outcome = fetch_bytes(url, &init).await;
    outcome.map_err(|()| {
        if timed_out.get() {
            TransportFailure::Timeout
        } else {
            TransportFailure::Unreachable
        }
    })
}

async fn fetch_bytes(url: &str, init: &RequestInit) -> Result<HttpResponse, ()> {
    let promise = scope().fetch_with_str_and_init(url, init);
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    let status = response.status();
    let buffer = JsFuture::from(response.array_buffer().map_err(|_| ())?)
        .await
        .map_err(|_| ())?;
    let bytes = Uint8Array::new(&buffer);
    if bytes.length() > MAX_BODY {
        return Err(());
    }
    Ok(HttpResponse {
        status,
        body: bytes.to_vec(),
    })
}

/// The network configuration at `url` (`config.json`, see [`crate::network`]), or `None` if
/// it cannot be fetched or read.
pub async fn load_config(url: &str, timeout_ms: u64) -> Option<NetworkConfig> {
    let response = get(url, timeout_ms).await.ok()?;
    if response.status != 200 {
        return None;
    }
    parse_config(&response.body)
}
