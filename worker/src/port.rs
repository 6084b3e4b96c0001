//! The `postMessage` side of the worker: receives JSON-encoded [`umbra_ipc::Command`]s and puts
//! them in the driver's [`Mailbox`], next to HTTP answers and timer expiries; one task at a
//! time drains the mailbox through the [`Driver`] and posts JSON-encoded
//! [`umbra_ipc::Event`]s back. Posts [`umbra_ipc::Event::Ready`] first (messages sent before
//! the wasm loaded are lost, so the app waits for it).

use std::{cell::RefCell, rc::Rc};

use umbra_ipc::{ErrorCode, Event, IPC_VERSION};
use umbra_protocol::store::KdfParams;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};
use zeroize::Zeroizing;

use crate::{
    driver::Driver,
    mailbox::{Input, Mailbox},
    rng::{WorkerRng, check, worker_rng},
    store::DB_NAME,
};

struct Port {
    scope: DedicatedWorkerGlobalScope,
    mailbox: Rc<Mailbox>,
    busy: RefCell<bool>,
    driver: RefCell<Option<Driver<WorkerRng>>>,
}

impl Port {
    fn post(&self, event: &Event) {
        // The text may carry recovery-phrase words: zeroised once copied out.
        let text = Zeroizing::new(umbra_ipc::encode_event(event));
        // A failed post means the app is gone; nothing useful can be done.
        let bytes = match event {
            Event::AttachmentData { bytes, .. } | Event::Avatar { bytes, .. }
                if !bytes.is_empty() =>
            {
                Some(bytes)
            }
            _ => None,
        };
        match bytes {
            // Binary payloads travel beside the JSON, their buffer transferred (not copied).
            Some(bytes) => {
                let buf = js_sys::Uint8Array::from(&bytes[..]).buffer();
                let msg = js_sys::Array::of2(&JsValue::from_str(&text), &buf);
                let _ = self
                    .scope
                    .post_message_with_transfer(&msg, &js_sys::Array::of1(&buf));
            }
            None => {
                let _ = self.scope.post_message(&JsValue::from_str(&text));
            }
        }
    }
}

/// Starts the worker: installs the panic hook, listens for commands and posts `Ready`.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let mailbox = Mailbox::new();
    let driver = check().then(|| {
        Driver::with_mailbox(
            DB_NAME,
            KdfParams::DEFAULT,
            worker_rng(),
            Rc::clone(&mailbox),
        )
    });
    let port = Rc::new(Port {
        scope: scope.clone(),
        mailbox: Rc::clone(&mailbox),
        busy: RefCell::new(false),
        driver: RefCell::new(driver),
    });
    {
        let port = Rc::clone(&port);
        mailbox.set_wake(Box::new(move || {
            if !*port.busy.borrow() {
                *port.busy.borrow_mut() = true;
                wasm_bindgen_futures::spawn_local(drain(Rc::clone(&port)));
            }
        }));
    }
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
        // The text may carry a passphrase or phrase: zeroised once decoded (the command's
        // own fields are `SecretString`s).
        let data = msg.data();
        // A command is its JSON text, or [text, ArrayBuffer] when it carries bytes.
        let (text, buf) = match data.dyn_ref::<js_sys::Array>() {
            Some(parts) => (parts.get(0).as_string(), Some(parts.get(1))),
            None => (data.as_string(), None),
        };
        let cmd = text
            .map(Zeroizing::new)
            .and_then(|t| umbra_ipc::decode_command(&t).ok())
            .map(|mut cmd| {
                if let (Some(slot), Some(buf)) = (cmd.bytes_mut(), buf) {
                    *slot = js_sys::Uint8Array::new(&buf).to_vec();
                }
                cmd
            });
        mailbox.push(Input::Command(cmd));
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    port.post(&Event::Ready {
        version: IPC_VERSION,
    });
}

/// Handles queued inputs one at a time, in order.
async fn drain(port: Rc<Port>) {
    while let Some(input) = port.mailbox.pop() {
        // Take the driver out while it runs so no RefCell borrow is held across awaits.
        let taken = port.driver.borrow_mut().take();
        let Some(mut driver) = taken else {
            if matches!(input, Input::Command(_)) {
                port.post(&Event::Error {
                    code: ErrorCode::Internal,
                });
            }
            continue;
        };
        let post = |ev: &Event| port.post(ev);
        driver.handle_input(input, &post).await;
        *port.driver.borrow_mut() = Some(driver);
    }
    *port.busy.borrow_mut() = false;
}
