//! The `postMessage` side of the worker: receives JSON-encoded [`umbra_ipc::Command`]s, queues
//! them, runs them one at a time through the [`Driver`], and posts
//! JSON-encoded [`umbra_ipc::Event`]s back. Posts [`umbra_ipc::Event::Ready`] first (messages
//! sent before the wasm loaded are lost, so the app waits for it).

use std::{cell::RefCell, collections::VecDeque, rc::Rc};

use umbra_ipc::{Command, ErrorCode, Event, IPC_VERSION};
use umbra_protocol::store::KdfParams;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::{
    driver::Driver,
    rng::{WorkerRng, check, worker_rng},
    store::DB_NAME,
};

struct Port {
    scope: DedicatedWorkerGlobalScope,
    queue: RefCell<VecDeque<Option<Command>>>,
    busy: RefCell<bool>,
    driver: RefCell<Option<Driver<WorkerRng>>>,
}

impl Port {
    fn post(&self, event: &Event) {
        let text = umbra_ipc::encode_event(event);
        // A failed post means the app is gone; nothing useful can be done.
        let _ = self.scope.post_message(&JsValue::from_str(&text));
    }
}

/// Starts the worker: installs the panic hook, listens for commands and posts `Ready`.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let driver = check().then(|| Driver::new(DB_NAME, KdfParams::DEFAULT, worker_rng()));
    let port = Rc::new(Port {
        scope: scope.clone(),
        queue: RefCell::new(VecDeque::new()),
        busy: RefCell::new(false),
        driver: RefCell::new(driver),
    });
    let on_message = {
        let port = Rc::clone(&port);
        Closure::<dyn Fn(MessageEvent)>::new(move |msg: MessageEvent| {
            let cmd = msg
                .data()
                .as_string()
                .and_then(|t| umbra_ipc::decode_command(&t).ok());
            port.queue.borrow_mut().push_back(cmd);
            if !*port.busy.borrow() {
                *port.busy.borrow_mut() = true;
                wasm_bindgen_futures::spawn_local(drain(Rc::clone(&port)));
            }
        })
    };
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    port.post(&Event::Ready {
        version: IPC_VERSION,
    });
}

/// Runs queued commands one at a time, in order.
async fn drain(port: Rc<Port>) {
    loop {
        let next = port.queue.borrow_mut().pop_front();
        let Some(cmd) = next else { break };
        let Some(cmd) = cmd else {
            port.post(&Event::Error {
                code: ErrorCode::BadMessage,
            });
            continue;
        };
        // Take the driver out while it runs so no RefCell borrow is held across awaits.
        let taken = port.driver.borrow_mut().take();
        let Some(mut driver) = taken else {
            port.post(&Event::Error {
                code: ErrorCode::Internal,
            });
            continue;
        };
        let post = |ev: &Event| port.post(ev);
        driver.handle(cmd, &post).await;
        *port.driver.borrow_mut() = Some(driver);
    }
    *port.busy.borrow_mut() = false;
}
