//! Resolving ONS names ([`crate::ons`]) through onion paths: each name is asked of
//! [`ONS_NODES`] different nodes, and only an answer they all agree on is given to the
//! caller (session-desktop `onsResolve.ts` asks several nodes the same way). A node that does
//! not answer is replaced by another; after [`MAX_FAILURES`] failures the lookup ends with
//! [`OnsError::Network`]. Nothing is cached: every lookup asks again.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::{
    ClientEvent,
    io::{Io, Net, Work},
    pool::Pool,
};
use crate::{
    address::NodeId,
    identity::AccountId,
    ons::{self, OnsError},
};

/// Nodes asked per name.
pub(crate) const ONS_NODES: usize = 3;
/// Failed requests after which a lookup gives up.
const MAX_FAILURES: u32 = 6;

struct Lookup {
    name: String,
    asked: BTreeSet<NodeId>,
    in_flight: usize,
    answers: Vec<Result<AccountId, OnsError>>,
    failures: u32,
}

/// Lookups under way, by the caller's tag.
#[derive(Default)]
pub(crate) struct OnsLookups {
    lookups: BTreeMap<u64, Lookup>,
}

impl OnsLookups {
    /// Starts resolving `name` (an invalid name is answered at once).
    pub(crate) fn queue(&mut self, tag: u64, name: &str, io: &mut Io) {
        match ons::normalize(name) {
            Ok(name) => {
                let lookup = Lookup {
                    name,
                    asked: BTreeSet::new(),
                    in_flight: 0,
                    answers: Vec::new(),
                    failures: 0,
                };
                self.lookups.insert(tag, lookup);
            }
            Err(e) => io.notify(ClientEvent::OnsResolved {
                tag,
                name: name.to_owned(),
                result: Err(e),
            }),
        }
    }

    /// Whether `tag` is a lookup under way.
    pub(crate) fn contains(&self, tag: u64) -> bool {
        self.lookups.contains_key(&tag)
    }

    /// Whether some lookup waits for a request to be sent.
    pub(crate) fn wants_requests(&self) -> bool {
        self.lookups
            .values()
            .any(|l| l.answers.len() + l.in_flight < ONS_NODES)
    }

    /// Asks nodes not asked yet, until each lookup has [`ONS_NODES`] answers or requests.
    pub(crate) fn dispatch<R: CryptoRng + ?Sized>(
        &mut self,
        pool: &Pool,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        let mut exhausted = Vec::new();
        for (&tag, l) in &mut self.lookups {
            while l.answers.len() + l.in_flight < ONS_NODES {
                let Some(node) = pool.random(&l.asked, rng) else {
                    if l.in_flight == 0 {
                        exhausted.push(tag);
                    }
                    break;
                };
                l.asked.insert(node.id());
                let work = Work::Ons {
                    tag,
                    node: node.id(),
                };
                match net.send_snode(&node, ons::request(&l.name), work, rng) {
                    Some(_) => l.in_flight += 1,
                    // No path now: try again at the next step.
                    None => {
                        l.asked.remove(&node.id());
                        break;
                    }
                }
            }
        }
        for tag in exhausted {
            self.finish(tag, Err(OnsError::Network), net.io);
        }
    }

    /// A node answered the lookup `tag` (a 200 answer's body).
    pub(crate) fn answered(&mut self, tag: u64, body: &[u8], io: &mut Io) {
        let Some(l) = self.lookups.get_mut(&tag) else {
            return;
        };
        l.in_flight = l.in_flight.saturating_sub(1);
        l.answers.push(ons::parse_answer(&l.name, body));
        if l.answers.len() >= ONS_NODES {
            let result = ons::agree(&l.answers);
            self.finish(tag, result, io);
        }
    }

    /// A request of the lookup `tag` failed (another node is asked at the next step).
    pub(crate) fn failed(&mut self, tag: u64, io: &mut Io) {
        let Some(l) = self.lookups.get_mut(&tag) else {
            return;
        };
        l.in_flight = l.in_flight.saturating_sub(1);
        l.failures += 1;
        if l.failures >= MAX_FAILURES {
            self.finish(tag, Err(OnsError::Network), io);
        }
    }

    /// A request of the lookup `tag` was not sent after all: ask again, blaming nobody.
    pub(crate) fn unsent(&mut self, tag: u64, node: &NodeId) {
        if let Some(l) = self.lookups.get_mut(&tag) {
            l.in_flight = l.in_flight.saturating_sub(1);
            l.asked.remove(node);
        }
    }

    fn finish(&mut self, tag: u64, result: Result<AccountId, OnsError>, io: &mut Io) {
        if let Some(l) = self.lookups.remove(&tag) {
            io.notify(ClientEvent::OnsResolved {
                tag,
                name: l.name,
                result,
            });
        }
    }
}
