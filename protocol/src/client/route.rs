//! How requests leave the browser: directly to the guard (a network whose nodes a browser can
//! reach), or through a blind bridge (`POST <bridge>/v1/onion/<guard ed25519 hex>`, the body
//! the onion request, forwarded unchanged to the guard's `/onion_req/v2`; see the node's
//! `bridge` module and ARCHITECTURE.md "Reaching Session's network").
//!
//! Through a bridge nothing is sent that is not an onion request: the pool starts from the
//! bootstrap list of the configuration (never from the bridge), guard candidates are tested
//! with a one-hop onion request (`info`, encrypted to the candidate), and seeds are not used.
//! The bridge therefore sees only which guard a client uses, never a destination.
//!
//! This part also judges the bridge. A bridge can fail in ways that would otherwise be
//! blamed on paths: it is down (the `fetch` fails: no HTTP answer at all), overloaded (its
//! own 429/503), or it corrupts, swaps or invents replies (they fail to decrypt). The client
//! never takes its data: a reply that does not decrypt under the request's key is a failure.
//! A bridge that cannot be reached is left at once for the next; answers that fail through
//! [`STRIKES`] different guards in a row, with no success in between, make the client move
//! to the next bridge as well (one bad guard is the path's fault, several are the bridge's).

use std::collections::BTreeSet;

use super::{HttpResponse, ServiceNode, TransportFailure};
use crate::address::NodeId;

/// Failures through this many different guards in a row move the client to the next bridge.
pub(crate) const STRIKES: usize = 2;

/// Texts of the bridge's own refusals (`umbra-node bridge`): they speak of the bridge, not of
/// the guard or the path.
const BRIDGE_OWN: [&str; 4] = ["rate limited", "busy", "no node pool", "body too large"];

/// Texts of the bridge's answers about the guard it was asked to reach: the guard (the
/// path) failed, not the destination.
const BRIDGE_GUARD: [&str; 4] = [
    "guard unreachable",
    "guard timed out",
    "bad guard reply",
    "unknown guard",
];

/// The route in use, for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteInfo {
    /// Straight to the guard nodes.
    Direct,
    /// Through this bridge (base URL).
    Bridge(String),
}

/// What an answer through the route says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Judge the path and the destination as usual.
    Path,
    /// The bridge failed (it is down, overloaded or refused on its own account): neither
    /// the path nor the destination is to blame; retry later (maybe through another bridge).
    Bridge,
    /// The bridge could not reach the guard, or the guard answered it with something that
    /// is not HTTP: the path failed, the destination is not to blame.
    Guard,
}

/// Which bridge a request went through: its index, in which set of bridges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Via {
    index: usize,
    generation: u64,
}

/// The configured bridges and which one is in use.
#[derive(Debug, Default)]
pub(crate) struct Route {
    bridges: Vec<String>,
    current: usize,
    /// Guards through which answers failed since the last good answer.
    strikes: BTreeSet<NodeId>,
    /// Set when the bridge in use changed (the UI is told).
    pub(crate) changed: bool,
    /// Counts the user's changes of the bridges.
    generation: u64,
}

impl Route {
    /// Through `bridges` (base URLs, tried in this order), or direct if there are none.
    pub(crate) fn new(bridges: &[String]) -> Route {
        Route {
            bridges: bridges
                .iter()
                .map(|b| b.trim().trim_end_matches('/').to_owned())
                .filter(|b| !b.is_empty())
                .collect(),
            ..Route::default()
        }
    }

    /// Whether requests go through a bridge.
    pub(crate) fn via_bridge(&self) -> bool {
        !self.bridges.is_empty()
    }

    /// The route in use.
    pub(crate) fn info(&self) -> RouteInfo {
        match self.bridges.get(self.current) {
            Some(b) => RouteInfo::Bridge(b.clone()),
            None => RouteInfo::Direct,
        }
    }

    /// Replaces the bridges (the user changed them); the first is used next.
    pub(crate) fn set_bridges(&mut self, bridges: &[String]) {
        let before = self.info();
        let generation = self.generation + 1;
        *self = Route::new(bridges);
        self.generation = generation;
        self.changed = self.info() != before;
    }

    /// Where an onion request for `guard` is POSTed through the bridge in use, and which
    /// bridge that is (`None`: direct, to the guard's own `/onion_req/v2`).
    pub(crate) fn bridge_url(&self, guard: &ServiceNode) -> Option<(String, Via)> {
        let b = self.bridges.get(self.current)?;
        let url = format!("{b}/v1/onion/{}", hex::encode(guard.ed25519));
        Some((url, self.via_now()))
    }

    fn via_now(&self) -> Via {
        Via {
            index: self.current,
            generation: self.generation,
        }
    }

    /// Judges the transport outcome of a request through `guard` (direct: always
    /// [`Verdict::Path`]).
    ///
    /// `via` is the bridge the request went through: answers through a bridge that is no
    /// longer in use (requests in flight when the client moved on) never move it again.
    pub(crate) fn judge(
        &mut self,
        guard: &NodeId,
        via: Option<Via>,
        result: &Result<HttpResponse, TransportFailure>,
    ) -> Verdict {
        let Some(via) = via else {
            return Verdict::Path;
        };
        match result {
            // No HTTP answer at all: the bridge itself is unreachable.
            Err(TransportFailure::Unreachable) => {
                if via == self.via_now() {
                    self.next_bridge();
                }
                Verdict::Bridge
            }
            Err(TransportFailure::Timeout) => {
                self.strike(guard, via);
                Verdict::Bridge
            }
            Ok(resp) if is_bridge_text(resp, &[413, 429, 503], &BRIDGE_OWN) => {
                self.strike(guard, via);
                Verdict::Bridge
            }
            Ok(resp) if is_bridge_text(resp, &[404, 502, 504], &BRIDGE_GUARD) => Verdict::Guard,
            Ok(_) => Verdict::Path,
        }
    }

    /// An answer through `guard` was unusable (did not decrypt, wrong shape): a strike
    /// against the bridge as well as a failure of the path.
    pub(crate) fn bad_answer(&mut self, guard: &NodeId, via: Option<Via>) {
        if let Some(via) = via {
            self.strike(guard, via);
        }
    }

    /// A good answer came through `via`: that bridge works.
    pub(crate) fn good_answer(&mut self, via: Option<Via>) {
        if via == Some(self.via_now()) {
            self.strikes.clear();
        }
    }

    fn strike(&mut self, guard: &NodeId, via: Via) {
        if via != self.via_now() {
            return;
        }
        self.strikes.insert(*guard);
        if self.strikes.len() >= STRIKES {
            self.next_bridge();
        }
    }

    fn next_bridge(&mut self) {
        self.strikes.clear();
        if self.bridges.len() > 1 {
            self.current = (self.current + 1) % self.bridges.len();
            self.changed = true;
        }
    }
}

/// Whether `resp` is one of the bridge's own plain-text answers: one of `statuses` with one
/// of `texts` as its body.
fn is_bridge_text(resp: &HttpResponse, statuses: &[u16], texts: &[&str]) -> bool {
    statuses.contains(&resp.status)
        && std::str::from_utf8(&resp.body).is_ok_and(|t| texts.contains(&t.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn node(i: u8) -> ServiceNode {
        ServiceNode {
            ip: "10.0.0.1".into(),
            port: 22000 + u16::from(i),
            ed25519: [i; 32],
            x25519: [i; 32],
            swarm_id: None,
        }
    }

    fn text(status: u16, body: &str) -> Result<HttpResponse, TransportFailure> {
        Ok(HttpResponse {
            status,
            body: body.as_bytes().to_vec(),
        })
    }

    /// The bridge a request sent now goes through.
    fn via(r: &Route) -> Option<Via> {
        r.bridge_url(&node(0)).map(|(_, v)| v)
    }

    fn two() -> Route {
        Route::new(&["http://a.example/".into(), " http://b.example".into()])
    }

    #[test]
    fn bridge_urls_name_the_guard() {
        let g = node(0xab);
        let direct = Route::new(&[]);
        assert!(!direct.via_bridge());
        assert_eq!(direct.info(), RouteInfo::Direct);
        assert_eq!(direct.bridge_url(&g), None);
        let r = two();
        assert_eq!(
            r.bridge_url(&g).map(|(u, _)| u),
            Some(format!("http://a.example/v1/onion/{}", "ab".repeat(32)))
        );
        assert_eq!(r.info(), RouteInfo::Bridge("http://a.example".into()));
    }

    #[test]
    fn an_unreachable_bridge_is_left_at_once_and_the_path_is_not_blamed() {
        let mut r = two();
        let v = r.judge(&node(1).id(), via(&r), &Err(TransportFailure::Unreachable));
        assert_eq!(v, Verdict::Bridge);
        assert_eq!(r.info(), RouteInfo::Bridge("http://b.example".into()));
        assert!(r.changed);
        // Round robin.
        r.judge(&node(1).id(), via(&r), &Err(TransportFailure::Unreachable));
        assert_eq!(r.info(), RouteInfo::Bridge("http://a.example".into()));
        // Direct mode never blames a route.
        let mut d = Route::new(&[]);
        assert_eq!(
            d.judge(&node(1).id(), via(&d), &Err(TransportFailure::Unreachable)),
            Verdict::Path
        );
    }

    #[test]
    fn failures_through_two_guards_move_on_but_one_bad_guard_does_not() {
        let mut r = two();
        // The same guard failing again and again is that path's problem.
        for _ in 0..5 {
            r.bad_answer(&node(1).id(), via(&r));
        }
        assert_eq!(r.info(), RouteInfo::Bridge("http://a.example".into()));
        // A second guard failing too, with no success between: the bridge.
        r.bad_answer(&node(2).id(), via(&r));
        assert_eq!(r.info(), RouteInfo::Bridge("http://b.example".into()));
        // A good answer in between clears the strikes.
        r.bad_answer(&node(1).id(), via(&r));
        r.good_answer(via(&r));
        r.bad_answer(&node(2).id(), via(&r));
        assert_eq!(r.info(), RouteInfo::Bridge("http://b.example".into()));
    }

    #[test]
    fn the_bridges_own_refusals_are_its_fault_not_the_paths() {
        let mut r = two();
        let g = node(1).id();
        assert_eq!(
            r.judge(&g, via(&r), &text(429, "rate limited")),
            Verdict::Bridge
        );
        assert_eq!(r.judge(&g, via(&r), &text(503, "busy")), Verdict::Bridge);
        // A guard's own 503 (another body) and 502s are the path's; the bridge's word that
        // it could not reach the guard blames the guard only.
        assert_eq!(
            r.judge(&g, via(&r), &text(503, "Service unavailable")),
            Verdict::Path
        );
        assert_eq!(
            r.judge(&g, via(&r), &text(502, "Next node not found")),
            Verdict::Path
        );
        assert_eq!(
            r.judge(&g, via(&r), &text(502, "guard unreachable")),
            Verdict::Guard
        );
        assert_eq!(
            r.judge(&g, via(&r), &text(404, "unknown guard")),
            Verdict::Guard
        );
        assert_eq!(
            r.judge(&g, via(&r), &text(404, "unknown guard!")),
            Verdict::Path
        );
        assert_eq!(
            r.judge(&g, via(&r), &text(200, "\u{1}\u{2}")),
            Verdict::Path
        );
        assert_eq!(
            r.judge(&node(2).id(), via(&r), &Err(TransportFailure::Timeout)),
            Verdict::Bridge
        );
        assert_eq!(r.info(), RouteInfo::Bridge("http://b.example".into()));
    }

    #[test]
    fn one_bridge_stays_and_new_bridges_replace_the_old() {
        let mut r = Route::new(&["http://only".into()]);
        r.judge(&node(1).id(), via(&r), &Err(TransportFailure::Unreachable));
        assert_eq!(r.info(), RouteInfo::Bridge("http://only".into()));
        assert!(!r.changed);
        r.set_bridges(&["http://mine".into(), "http://only".into()]);
        assert!(r.changed);
        assert_eq!(r.info(), RouteInfo::Bridge("http://mine".into()));
        r.set_bridges(&[]);
        assert_eq!(r.info(), RouteInfo::Direct);
    }
}

#[cfg(test)]
mod stale {
    use super::{tests::node, *};

    #[test]
    fn answers_through_a_bridge_left_behind_move_nothing() {
        let mut r = Route::new(&["http://a".into(), "http://b".into(), "http://c".into()]);
        let old = r.bridge_url(&node(0)).map(|(_, v)| v);
        r.judge(&node(1).id(), old, &Err(TransportFailure::Unreachable));
        assert_eq!(r.info(), RouteInfo::Bridge("http://b".into()));
        // Two more requests sent through a before the move fail as well: b stays.
        r.judge(&node(2).id(), old, &Err(TransportFailure::Unreachable));
        r.bad_answer(&node(3).id(), old);
        r.bad_answer(&node(4).id(), old);
        assert_eq!(r.info(), RouteInfo::Bridge("http://b".into()));
        // After the user sets new bridges, old requests (same index) move nothing either.
        r.set_bridges(&["http://x".into(), "http://y".into()]);
        let before = Via {
            index: 0,
            generation: 0,
        };
        r.judge(
            &node(1).id(),
            Some(before),
            &Err(TransportFailure::Unreachable),
        );
        assert_eq!(r.info(), RouteInfo::Bridge("http://x".into()));
        let now = r.bridge_url(&node(0)).map(|(_, v)| v);
        r.judge(&node(1).id(), now, &Err(TransportFailure::Unreachable));
        assert_eq!(r.info(), RouteInfo::Bridge("http://y".into()));
    }
}
