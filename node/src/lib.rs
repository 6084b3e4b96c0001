#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod bridge;
pub mod bundle;
pub mod client;
pub mod clock;
pub mod control;
pub mod db;
pub mod directory;
pub mod fileserver;
pub mod inspect;
pub mod keys;
pub mod limits;
pub mod onion;
pub mod ons;
pub mod rpc;
pub mod seed;
pub mod server;
pub mod single;
pub mod sogs;
pub mod static_site;
pub mod testnet;
pub mod tls;
pub mod turn;

/// Errors starting or running a node or a test network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// File or socket error.
    #[error("i/o error: {0}")]
    Io(String),
    /// Database error.
    #[error("database error: {0}")]
    Db(String),
    /// Certificate or TLS setup error.
    #[error("tls error: {0}")]
    Tls(String),
    /// Bad configuration.
    #[error("configuration error: {0}")]
    Config(&'static str),
    /// No node with that index.
    #[error("unknown node")]
    UnknownNode,
}

impl NodeError {
    /// Wrap an I/O-like error.
    pub fn io(e: impl std::fmt::Display) -> Self {
        Self::Io(e.to_string())
    }
}
