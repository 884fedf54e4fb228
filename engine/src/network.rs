//! The network between nodes: directed links with their own latency, loss,
//! duplication and ordering, plus the cuts that partitions make.
//!
//! A message travels only over a link the scenario declared (a wire on the
//! canvas). Loss and duplication are decided when a message is sent; a cut
//! is checked when it arrives, so messages already on the wire when a
//! partition starts are lost too, as with a firewall rule.

use crate::distribution::Distribution;
use crate::message::NodeId;
use crate::rng::{Rng, STREAM_LINK};
use crate::time::{Duration, Time};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    /// In-order delivery, like a TCP connection: a message never overtakes an
    /// earlier one on the same link.
    #[default]
    Fifo,
    /// Each message takes its own latency, so later ones may arrive first.
    Reorder,
}

/// How one direction of a link behaves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkProfile {
    /// One-way latency.
    pub latency: Distribution,
    /// Extra delay, uniform in `[0, jitter]`, added to every message.
    #[serde(default)]
    pub jitter: Duration,
    /// Probability that a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message is delivered twice.
    #[serde(default)]
    pub duplicate: f64,
    #[serde(default)]
    pub ordering: Ordering,
}

impl Default for LinkProfile {
    /// A data-centre LAN: 100 us minimum plus an exponential tail, mean 250 us.
    fn default() -> Self {
        LinkProfile {
            latency: Distribution::Exponential { min: Duration::from_micros(100), mean: Duration::from_micros(250) },
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            ordering: Ordering::Fifo,
        }
    }
}

impl LinkProfile {
    /// Checks the numbers; `Err` is (field, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.latency.validate().map_err(|e| ("latency".to_string(), e))?;
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err((name.to_string(), format!("{name} must be a probability between 0 and 1, got {p}")));
            }
        }
        Ok(())
    }
}

/// Changes to a link's profile made by a degrade fault; unset fields take
/// the link's own (scenario) values, not those of an earlier degradation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Degradation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Distribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
}

impl Degradation {
    pub fn apply(&self, base: &LinkProfile) -> LinkProfile {
        LinkProfile {
            latency: self.latency.unwrap_or(base.latency),
            jitter: self.jitter.unwrap_or(base.jitter),
            loss: self.loss.unwrap_or(base.loss),
            duplicate: self.duplicate.unwrap_or(base.duplicate),
            ordering: base.ordering,
        }
    }
}

/// A node's IPv4 address, as a number: node `n` is `10.0.0.0 + n + 1`
/// (node 0 is 10.0.0.1). Used where the real system sees addresses:
/// `balance source`, rendered configurations.
pub fn ipv4(id: NodeId) -> u32 {
    0x0A00_0000 + id + 1
}

/// [`ipv4`] in dotted notation.
pub fn ipv4_text(id: NodeId) -> String {
    let a = ipv4(id);
    format!("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// A partition or cut link blocked it on arrival.
    Partition,
    /// The receiving process was down.
    NodeDown,
    /// No link joins the two nodes.
    NoRoute,
    /// A paused node's receive buffer was full.
    BufferFull,
    /// A request that rode on a connection attempt whose SYN-ACK never got
    /// back: the handshake did not complete, so the request was never sent
    /// (the sender times out connecting).
    NotConnected,
    /// A held link already held `limits.held_backlog` messages. New kinds
    /// go last, for the trace hashes.
    HoldFull,
}

/// One direction of a declared link, with its live state.
#[derive(Clone, Debug)]
pub struct Link {
    pub from: NodeId,
    pub to: NodeId,
    pub base: LinkProfile,
    pub degraded: Option<LinkProfile>,
    rng: Rng,
    /// Latest arrival time scheduled so far, for FIFO ordering.
    last_arrival: Time,
}

impl Link {
    pub fn profile(&self) -> &LinkProfile {
        self.degraded.as_ref().unwrap_or(&self.base)
    }
}

/// The outcome of putting a message on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmission {
    Lost(DropReason),
    Arrives { at: Time, duplicate_at: Option<Time> },
}

const NO_LINK: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct Network {
    nodes: usize,
    /// `index[from * nodes + to]` is the directed link's position in `links`.
    index: Vec<u32>,
    links: Vec<Link>,
    /// `blocked[from * nodes + to]`: a partition or cut stops that direction.
    blocked: Vec<bool>,
}

impl Network {
    /// Builds the network; `links` lists undirected pairs with their profile.
    pub fn new(seed: u64, nodes: usize, links: &[(NodeId, NodeId, LinkProfile)]) -> Network {
        let mut net = Network {
            nodes,
            index: vec![NO_LINK; nodes * nodes],
            links: Vec::with_capacity(links.len() * 2),
            blocked: vec![false; nodes * nodes],
        };
        for &(a, b, profile) in links {
            for (from, to) in [(a, b), (b, a)] {
                let i = net.links.len() as u32;
                net.index[from as usize * nodes + to as usize] = i;
                net.links.push(Link {
                    from,
                    to,
                    base: profile,
                    degraded: None,
                    rng: Rng::stream(seed, STREAM_LINK + u64::from(i)),
                    last_arrival: 0,
                });
            }
        }
        net
    }

    fn slot(&self, from: NodeId, to: NodeId) -> usize {
        from as usize * self.nodes + to as usize
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> Option<&Link> {
        match self.index[self.slot(from, to)] {
            NO_LINK => None,
            i => Some(&self.links[i as usize]),
        }
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    pub fn has_link(&self, a: NodeId, b: NodeId) -> bool {
        self.index[self.slot(a, b)] != NO_LINK
    }

    /// Samples what happens to a message sent now from `from` to `to`.
    pub fn transmit(&mut self, now: Time, from: NodeId, to: NodeId) -> Transmission {
        let i = self.index[self.slot(from, to)];
        if i == NO_LINK {
            return Transmission::Lost(DropReason::NoRoute);
        }
        let link = &mut self.links[i as usize];
        let profile = *link.degraded.as_ref().unwrap_or(&link.base);
        if link.rng.chance(profile.loss) {
            return Transmission::Lost(DropReason::Loss);
        }
        let arrival = |link: &mut Link| {
            let mut delay = profile.latency.sample(&mut link.rng);
            if profile.jitter.nanos > 0 {
                delay += link.rng.between(0, profile.jitter.nanos);
            }
            let mut at = now + delay;
            if profile.ordering == Ordering::Fifo {
                at = at.max(link.last_arrival);
            }
            link.last_arrival = link.last_arrival.max(at);
            at
        };
        let at = arrival(link);
        let duplicate_at = if link.rng.chance(profile.duplicate) { Some(arrival(link)) } else { None };
        Transmission::Arrives { at, duplicate_at }
    }

    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.blocked[self.slot(from, to)]
    }

    /// Blocks every direction between nodes of different groups. Nodes in no
    /// group form one more group together.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let mut group_of = vec![usize::MAX; self.nodes];
        for (g, members) in groups.iter().enumerate() {
            for &n in members {
                group_of[n as usize] = g;
            }
        }
        for a in 0..self.nodes {
            for b in 0..self.nodes {
                if a != b && group_of[a] != group_of[b] {
                    self.blocked[a * self.nodes + b] = true;
                }
            }
        }
    }

    /// Blocks messages from any node of `from` to any node of `to` only.
    pub fn partition_one_way(&mut self, from: &[NodeId], to: &[NodeId]) {
        for &a in from {
            for &b in to {
                if a != b {
                    let s = self.slot(a, b);
                    self.blocked[s] = true;
                }
            }
        }
    }

    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        let (ab, ba) = (self.slot(a, b), self.slot(b, a));
        self.blocked[ab] = true;
        self.blocked[ba] = true;
    }

    pub fn heal_link(&mut self, a: NodeId, b: NodeId) {
        let (ab, ba) = (self.slot(a, b), self.slot(b, a));
        self.blocked[ab] = false;
        self.blocked[ba] = false;
    }

    /// Removes every partition and cut.
    pub fn heal(&mut self) {
        self.blocked.iter_mut().for_each(|b| *b = false);
    }

    /// Heals every partition and cut, and restores every degraded link.
    pub fn heal_all(&mut self) {
        self.heal();
        for link in &mut self.links {
            link.degraded = None;
        }
    }

    /// Degrades both directions of the link between `a` and `b`.
    pub fn degrade(&mut self, a: NodeId, b: NodeId, change: &Degradation) {
        for (from, to) in [(a, b), (b, a)] {
            let i = self.index[self.slot(from, to)];
            if i != NO_LINK {
                let link = &mut self.links[i as usize];
                link.degraded = Some(change.apply(&link.base));
            }
        }
    }

    pub fn restore(&mut self, a: NodeId, b: NodeId) {
        for (from, to) in [(a, b), (b, a)] {
            let i = self.index[self.slot(from, to)];
            if i != NO_LINK {
                self.links[i as usize].degraded = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(ms: u64) -> LinkProfile {
        LinkProfile { latency: Distribution::Constant(Duration::from_millis(ms)), ..LinkProfile::default() }
    }

    #[test]
    fn constant_latency_arrives_on_time() {
        let mut net = Network::new(1, 2, &[(0, 1, constant(5))]);
        assert_eq!(net.transmit(10, 0, 1), Transmission::Arrives { at: 10 + 5_000_000, duplicate_at: None });
        assert_eq!(net.transmit(0, 1, 0), Transmission::Arrives { at: 5_000_000, duplicate_at: None });
    }

    #[test]
    fn no_link_no_route() {
        let mut net = Network::new(1, 3, &[(0, 1, constant(5))]);
        assert_eq!(net.transmit(0, 0, 2), Transmission::Lost(DropReason::NoRoute));
    }

    #[test]
    fn fifo_never_reorders_but_reorder_does() {
        let uniform = LinkProfile {
            latency: Distribution::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(50) },
            ..LinkProfile::default()
        };
        let mut fifo = Network::new(1, 2, &[(0, 1, uniform)]);
        let mut last = 0;
        for t in 0..1000 {
            if let Transmission::Arrives { at, .. } = fifo.transmit(t * 1000, 0, 1) {
                assert!(at >= last);
                last = at;
            }
        }
        let mut reorder = Network::new(1, 2, &[(0, 1, LinkProfile { ordering: Ordering::Reorder, ..uniform })]);
        let arrivals: Vec<Time> = (0..1000)
            .filter_map(|t| match reorder.transmit(t * 1000, 0, 1) {
                Transmission::Arrives { at, .. } => Some(at),
                _ => None,
            })
            .collect();
        assert!(arrivals.windows(2).any(|w| w[1] < w[0]), "a reordering link should reorder");
    }

    #[test]
    fn loss_and_duplication_follow_their_probabilities() {
        let lossy = LinkProfile { loss: 0.3, duplicate: 0.2, ..constant(1) };
        let mut net = Network::new(9, 2, &[(0, 1, lossy)]);
        let (mut lost, mut dup) = (0, 0);
        for t in 0..10_000 {
            match net.transmit(t, 0, 1) {
                Transmission::Lost(DropReason::Loss) => lost += 1,
                Transmission::Arrives { duplicate_at: Some(_), .. } => dup += 1,
                _ => {}
            }
        }
        assert!((2_700..3_300).contains(&lost), "lost {lost}");
        // 20% of the 70% that got through.
        assert!((1_150..1_650).contains(&dup), "duplicated {dup}");
    }

    #[test]
    fn partitions_block_across_groups_and_heal() {
        let mut net = Network::new(1, 4, &[]);
        net.partition(&[vec![0, 1], vec![2]]);
        assert!(!net.is_blocked(0, 1));
        assert!(net.is_blocked(0, 2) && net.is_blocked(2, 0));
        // Node 3 is in no group: it forms the rest, cut from both.
        assert!(net.is_blocked(3, 0) && net.is_blocked(3, 2));
        net.heal();
        assert!(!net.is_blocked(0, 2));
        net.partition_one_way(&[0], &[1]);
        assert!(net.is_blocked(0, 1) && !net.is_blocked(1, 0));
    }

    #[test]
    fn degradation_overrides_then_restores() {
        let mut net = Network::new(1, 2, &[(0, 1, constant(1))]);
        net.degrade(
            0,
            1,
            &Degradation { latency: Some(Distribution::Constant(Duration::from_millis(100))), ..Default::default() },
        );
        assert_eq!(net.transmit(0, 1, 0), Transmission::Arrives { at: 100_000_000, duplicate_at: None });
        net.restore(0, 1);
        assert_eq!(net.transmit(200_000_000, 1, 0), Transmission::Arrives { at: 201_000_000, duplicate_at: None });
    }
}
