//! Umbra's worker: owns keys, crypto and IndexedDB. The app (UI thread) talks to it only
//! through [`umbra_ipc`] messages; see [`port::start`] for the `postMessage` side,
//! [`driver::Driver`] for the account logic and [`store::IndexedDbStore`] for storage.

pub mod driver;
pub mod mailbox;
pub mod media;
pub mod messaging;
pub mod net;
pub mod network;
pub mod port;
pub mod rng;
pub mod store;
pub mod views;
