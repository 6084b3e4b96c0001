//! Error classification shared by every layer of the core.

/// Coarse classification used by the worker (retry?) and the UI (what to say?).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The network failed or a node misbehaved at the transport level; retrying may help.
    Network,
    /// A peer (node or contact) sent bytes that do not follow the protocol.
    PeerMisbehaved,
    /// Local storage failed or holds data that does not decrypt/verify.
    Storage,
    /// The caller used the API wrongly (bad input from the user or the app).
    BadApiUsage,
    /// A programming error inside Umbra.
    Bug,
}
