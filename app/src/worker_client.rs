//! The app's data layer: spawns the module worker once this tab holds the account lock
//! ([`crate::browser::request_account_lock`]), waits for its "ready" handshake (messages
//! posted before the worker's wasm loads would be lost), sends [`Command`]s and feeds the
//! [`Event`]s it posts back into [`UiState`]. Stops the worker for good when another tab
//! takes the account over.

use leptos::prelude::*;
use umbra_ipc::{Command, Event};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::state::{FollowUp, UiState};

/// URL of the worker loader emitted by trunk (`data-loader-shim`); unhashed, so the service
/// worker fetches it network-first.
pub(crate) const WORKER_URL: &str = "./umbra-worker_loader.js";

struct Inner {
    worker: Option<Worker>,
    ready: bool,
    queue: Vec<Command>,
}

/// A handle to the worker (`Copy`; the worker itself stays on the UI thread's arena). Provided
/// as a Leptos context.
#[derive(Clone, Copy)]
pub(crate) struct WorkerClient {
    inner: StoredValue<Inner, LocalStorage>,
}

impl WorkerClient {
    /// A client without a worker yet: commands wait until [`WorkerClient::start`].
    pub(crate) fn new() -> WorkerClient {
        WorkerClient {
            inner: StoredValue::new_local(Inner {
                worker: None,
                ready: false,
                queue: Vec::new(),
            }),
        }
    }

    /// Spawns the worker (this tab holds the account lock), routes its events into `state`
    /// and asks for the account's status.
    pub(crate) fn start(&self, state: UiState) {
        if self.inner.with_value(|inner| inner.worker.is_some()) {
            return;
        }
        if self.launch(state).is_err() {
            state.error.set(Some(umbra_ipc::ErrorCode::Internal));
            return;
        }
        self.send(Command::Account(umbra_ipc::AccountCommand::Status));
    }

    /// Terminates the worker at once and keeps no queued command: another tab took the
    /// account over, so this one must not touch the database again. Events already on their
    /// way are dropped.
    pub(crate) fn stop(&self) {
        let old = self
            .inner
            .try_update_value(|inner| {
                inner.ready = false;
                inner.queue.clear();
                inner.worker.take()
            })
            .flatten();
        if let Some(old) = old {
            old.set_onmessage(None);
            old.terminate();
        }
    }

    /// Terminates the worker (its whole memory, keys included, is dropped) and starts a fresh
    /// one, which reports the account as locked. This is how the app locks.
    pub(crate) fn relaunch(&self, state: UiState) {
        crate::call::end_without_worker();
        if let Some(old) = self
            .inner
            .try_update_value(|inner| inner.worker.take())
            .flatten()
        {
            old.terminate();
        }
        if self.launch(state).is_err() {
            state.error.set(Some(umbra_ipc::ErrorCode::Internal));
            return;
        }
        self.send(Command::Account(umbra_ipc::AccountCommand::Status));
    }

    fn launch(&self, state: UiState) -> Result<(), JsValue> {
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(WORKER_URL, &opts)?;
        let client = *self;
        let handler = Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
            let data = msg.data();
            // An event is its JSON text, or [text, ArrayBuffer] when it carries bytes.
            let (text, buf) = match data.dyn_ref::<js_sys::Array>() {
                Some(parts) => (parts.get(0).as_string(), Some(parts.get(1))),
                None => (data.as_string(), None),
            };
            let Some(text) = text else {
                return;
            };
            let Ok(mut event) = umbra_ipc::decode_event(&text) else {
                state.error.set(Some(umbra_ipc::ErrorCode::BadMessage));
                return;
            };
            if let (Some(slot), Some(buf)) = (event.bytes_mut(), buf) {
                *slot = js_sys::Uint8Array::new(&buf).to_vec();
            }
            if matches!(event, Event::Ready { .. }) {
                client.flush();
            }
            match state.apply(event) {
                FollowUp::Nothing => {}
                FollowUp::RequestPersistence => crate::browser::request_persistence(state),
                FollowUp::Reopen(conversation) => client.send(Command::conversation(
                    conversation,
                    umbra_ipc::ConversationOp::Open,
                )),
                FollowUp::Call(e) => crate::call::on_event(client, state, e),
                FollowUp::FetchAvatars(list) => {
                    for conversation in list {
                        client.send(Command::conversation(
                            conversation,
                            umbra_ipc::ConversationOp::GetAvatar,
                        ));
                    }
                }
            }
        });
        worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        handler.forget();
        self.inner.update_value(|inner| {
            inner.worker = Some(worker);
            inner.ready = false;
        });
        Ok(())
    }

    /// Sends `cmd` now, or once the worker is ready.
    pub(crate) fn send(&self, mut cmd: Command) {
        self.inner.update_value(|inner| {
            if let (true, Some(worker)) = (inner.ready, &inner.worker) {
                post(worker, &mut cmd);
            } else {
                inner.queue.push(cmd);
            }
        });
    }

    fn flush(&self) {
        self.inner.update_value(|inner| {
            inner.ready = true;
            if let Some(worker) = &inner.worker {
                for mut cmd in std::mem::take(&mut inner.queue) {
                    post(worker, &mut cmd);
                }
            }
        });
    }
}

fn post(worker: &Worker, cmd: &mut Command) {
    // A failed post means the worker died; the UI stays on its screen.
    match cmd.bytes_mut().map(std::mem::take) {
        // Bytes travel beside the JSON; their buffer is transferred, not copied.
        Some(bytes) => {
            let text = JsValue::from_str(&umbra_ipc::encode_command(cmd));
            let buf = js_sys::Uint8Array::from(&bytes[..]).buffer();
            let msg = js_sys::Array::of2(&text, &buf);
            let _ = worker.post_message_with_transfer(&msg, &js_sys::Array::of1(&buf));
        }
        None => {
            let _ = worker.post_message(&JsValue::from_str(&umbra_ipc::encode_command(cmd)));
        }
    }
}

/// The worker client from context.
pub(crate) fn use_worker() -> WorkerClient {
    expect_context::<WorkerClient>()
}
