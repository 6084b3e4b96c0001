#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod attachment;
pub mod blinding;
pub mod call;
pub mod client;
pub mod config;
pub mod convo;
pub mod error;
pub mod identity;
pub mod message;
pub mod mnemonic;
pub mod onion;
pub mod ons;
pub mod rpc;
pub mod store;
pub mod swarm;
pub mod sync;
