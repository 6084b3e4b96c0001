//! Window-only browser APIs the app uses: persistent storage, the clipboard and the service
//! worker registration. Failures are shown or ignored, never thrown.

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
