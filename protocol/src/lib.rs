#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod identity;
pub mod mnemonic;
pub mod store;
pub mod onion;
pub mod swarm;
pub mod rpc;
pub mod message;
pub mod client;
