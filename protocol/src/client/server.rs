//! Requests to HTTP servers (community servers, the file server) through an onion path, as a
//! first-class operation: a [`super::ClientCommand::ServerRequest`] is built as a v4 onion
//! request to [`crate::onion::Destination::Server`] (`docs/protocol.md` §3.3, §3.5), sent
//! through a random path whose last hop proxies it to the server, retried over a different
//! path when the path fails, and answered once with [`super::ClientEvent::ServerResponse`].
//!
//! This part does not know what the server speaks (SOGS endpoints, auth headers); the
//! caller gives method, path, headers and body and reads status, headers and body.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use super::{
    ClientEvent,
    io::{Io, NO_PATH_RETRY_MS, Net, Work},
    task::Task,
};
use crate::{
    address::{LocalMs, NodeId},
    onion::{HttpProtocol, ServerDestination, V4Request, V4Response},
};

/// The endpoint on the server that accepts v4 onion requests.
const V4_TARGET: &str = "/oxen/v4/lsrpc";

/// The caller's handle of a server request, echoed in its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTag(pub u64);

/// An HTTP server reachable through onion requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTarget {
    /// Host name or IP address (the last hop must be allowed to reach it).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Scheme the last hop uses.
    pub scheme: HttpProtocol,
    /// The server's X25519 public key (what the request is encrypted to).
    pub x25519: [u8; 32],
}

/// What a server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReply {
    /// HTTP status.
    pub status: u16,
    /// Response headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

/// Why a server request ended without an answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServerRequestError {
    /// The request cannot be built (empty host, a path not starting with `/`, too large, an
    /// unusable server key); nothing was sent.
    #[error("invalid server request")]
    Invalid,
    /// No answer after `attempts` tries over different paths. `last_status` is the HTTP
    /// status of the last failure if a node answered with one (e.g. 400 when the last hop
    /// may not reach this host, 502/504 when the server did not answer it).
    #[error("server unreachable after {attempts} attempts")]
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// HTTP status of the last failure, if any.
        last_status: Option<u16>,
    },
    /// The last hop refused to proxy to this host or with this method (not retried).
    #[error("the node refused to proxy this request")]
    ProxyRefused {
        /// The HTTP status of the refusal.
        status: u16,
    },
}

/// Texts of a node's refusals to proxy (as the storage server words them; the testnet node,
/// `node/src/onion.rs`, answers the same): retrying over another path cannot help.
const PROXY_REFUSALS: [&str; 2] = [
    "Invalid host for proxy request",
    "Invalid method for proxy request",
];

/// Whether a node's answer is a refusal to proxy the request to this server.
pub(crate) fn is_proxy_refusal(resp: &super::HttpResponse) -> bool {
    resp.status == 400 && {
        let text = String::from_utf8_lossy(&resp.body);
        PROXY_REFUSALS.iter().any(|r| text.trim().starts_with(r))
    }
}

impl ServerRequestError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            ServerRequestError::Invalid => crate::error::ErrorKind::BadApiUsage,
            ServerRequestError::Unreachable { .. } | ServerRequestError::ProxyRefused { .. } => {
                crate::error::ErrorKind::Network
            }
        }
    }
}

struct Pending {
    tag: ServerTag,
    dest: ServerDestination,
    attempts: u32,
    task: Task,
    /// The guard of the path that failed last (the next attempt avoids it).
    last_guard: Option<NodeId>,
    last_status: Option<u16>,
}

/// Server requests waiting, in flight or to be retried.
#[derive(Default)]
pub(crate) struct ServerRequests {
    pending: Vec<Pending>,
}

impl ServerRequests {
    /// Whether a request with `tag` is under way.
    pub(crate) fn contains(&self, tag: ServerTag) -> bool {
        self.pending.iter().any(|p| p.tag == tag)
    }

    /// Queues a request, due at `now`. An obviously invalid one is answered at once.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn queue(
        &mut self,
        tag: ServerTag,
        server: ServerTarget,
        method: String,
        path: String,
        headers: BTreeMap<String, String>,
        body: Option<Vec<u8>>,
        now: LocalMs,
        io: &mut Io,
    ) {
        if server.host.is_empty() || !path.starts_with('/') || method.is_empty() {
            io.notify(ClientEvent::ServerResponse {
                tag,
                result: Err(ServerRequestError::Invalid),
            });
            return;
        }
        let dest = ServerDestination {
            host: server.host,
            target: V4_TARGET.into(),
            port: server.port,
            protocol: server.scheme,
            x25519: server.x25519,
            request: V4Request {
                method,
                endpoint: path,
                headers,
                body,
            },
        };
        self.pending.push(Pending {
            tag,
            dest,
            attempts: 0,
            task: Task::at(now),
            last_guard: None,
            last_status: None,
        });
    }

    /// Sends every due request through a path (avoiding the one that failed last).
    pub(crate) fn dispatch<R: CryptoRng + ?Sized>(&mut self, net: &mut Net<'_>, rng: &mut R) {
        let now = net.now;
        let mut invalid = Vec::new();
        for p in self.pending.iter_mut().filter(|p| p.task.is_due(now)) {
            let work = Work::Server(p.tag);
            match net.send_server(p.dest.clone(), p.last_guard, work, rng) {
                Ok(id) => {
                    p.task.start(id);
                    p.attempts += 1;
                }
                Err(true) => invalid.push(p.tag),
                // No path yet: look again shortly.
                Err(false) => p.task = Task::at(now.plus(NO_PATH_RETRY_MS)),
            }
        }
        for tag in invalid {
            self.finish(tag, Err(ServerRequestError::Invalid), net.io);
        }
    }

    fn finish(
        &mut self,
        tag: ServerTag,
        result: Result<ServerReply, ServerRequestError>,
        io: &mut Io,
    ) {
        self.pending.retain(|p| p.tag != tag);
        io.notify(ClientEvent::ServerResponse { tag, result });
    }

    /// The server answered request `tag`.
    pub(crate) fn answered(&mut self, tag: ServerTag, reply: V4Response, io: &mut Io) {
        let reply = ServerReply {
            status: reply.code,
            headers: reply.headers,
            body: reply.body,
        };
        self.finish(tag, Ok(reply), io);
    }

    /// Request `tag` was refused by the last hop: answered with the error at once.
    pub(crate) fn refused(&mut self, tag: ServerTag, status: u16, io: &mut Io) {
        self.finish(tag, Err(ServerRequestError::ProxyRefused { status }), io);
    }

    /// Request `tag` failed on the path of `guard` (with the HTTP status a node answered,
    /// if any). Retried at once over another path until `max_attempts`.
    pub(crate) fn failed(
        &mut self,
        tag: ServerTag,
        guard: NodeId,
        status: Option<u16>,
        max_attempts: u32,
        now: LocalMs,
        io: &mut Io,
    ) {
        let Some(p) = self.pending.iter_mut().find(|p| p.tag == tag) else {
            return;
        };
        p.last_guard = Some(guard);
        p.last_status = status;
        if p.attempts >= max_attempts {
            let error = ServerRequestError::Unreachable {
                attempts: p.attempts,
                last_status: p.last_status,
            };
            self.finish(tag, Err(error), io);
        } else {
            p.task = Task::at(now);
        }
    }

    /// When idle requests are due.
    pub(crate) fn next_due(&self) -> impl Iterator<Item = LocalMs> + '_ {
        self.pending.iter().filter_map(|p| p.task.due())
    }
}
