//! The worker's single input queue. Commands from the app, answers of HTTP requests and timer
//! expiries all become [`Input`]s in one FIFO [`Mailbox`]; one task at a time takes them out and
//! hands them to the [`Driver`](crate::driver::Driver), so the client, the store and the timer
//! are only ever touched by one sequential loop (`docs/engineering.md` C8).

use std::{cell::RefCell, collections::VecDeque, rc::Rc};

use umbra_ipc::Command;
use umbra_protocol::client::{HttpResponse, RequestId, TransportFailure};

/// One thing for the driver to handle.
pub enum Input {
    /// A command from the app (`None`: a message that did not decode).
    Command(Option<Command>),
    /// Start the messaging client of unlock session `session`.
    Start {
        /// The unlock session it belongs to.
        session: u64,
    },
    /// The outcome of an HTTP request started in `session`.
    Http {
        /// The unlock session it belongs to (stale answers are dropped).
        session: u64,
        /// The client's request id.
        id: RequestId,
        /// Status and body, or why there was none.
        result: Result<HttpResponse, TransportFailure>,
    },
    /// The client's timer fired.
    Timer {
        /// The unlock session it belongs to.
        session: u64,
        /// Which arming of the timer (stale ones are dropped).
        generation: u64,
    },
}

impl core::fmt::Debug for Input {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Input::Command(c) => write!(f, "Command({c:?})"),
            Input::Start { session } => write!(f, "Start({session})"),
            Input::Http {
                session,
                id,
                result,
            } => {
                write!(f, "Http({session}, {}, ok={})", id.0, result.is_ok())
            }
            Input::Timer {
                session,
                generation,
            } => write!(f, "Timer({session}, {generation})"),
        }
    }
}

/// A FIFO of [`Input`]s with an optional wake-up hook (the port uses it to start draining).
#[derive(Default)]
pub struct Mailbox {
    queue: RefCell<VecDeque<Input>>,
    wake: RefCell<Option<Box<dyn Fn()>>>,
}

impl core::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Mailbox({} queued)", self.len())
    }
}

impl Mailbox {
    /// An empty mailbox without a wake-up hook.
    pub fn new() -> Rc<Mailbox> {
        Rc::new(Mailbox::default())
    }

    /// Calls `wake` after every [`Mailbox::push`]. It must not handle inputs synchronously
    /// (spawn a task instead).
    pub fn set_wake(&self, wake: Box<dyn Fn()>) {
        *self.wake.borrow_mut() = Some(wake);
    }

    /// Appends `input` and calls the wake-up hook.
    pub fn push(&self, input: Input) {
        self.queue.borrow_mut().push_back(input);
        if let Some(wake) = self.wake.borrow().as_ref() {
            wake();
        }
    }

    /// Takes the oldest input.
    pub fn pop(&self) -> Option<Input> {
        self.queue.borrow_mut().pop_front()
    }

    /// Number of queued inputs.
    pub fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
