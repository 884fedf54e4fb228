//! `option abortonclose`: where a request was when its client's close
//! dropped it. HAProxy logs such a request with the termination state `C`
//! (client abort) and a letter for where it was: `CQ`, `CC`, `CH`.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortedAt {
    /// Waiting in a queue for a server slot (`CQ`).
    Queue,
    /// Connecting to a server, between two attempts, or not yet sent
    /// anywhere (`CC`).
    Connect,
    /// Sent, and waiting for the server's answer: the server's connection
    /// is reset (`CH`).
    Response,
}

impl AbortedAt {
    /// HAProxy's termination state, as its logs write it.
    pub fn termination(self) -> &'static str {
        match self {
            AbortedAt::Queue => "CQ",
            AbortedAt::Connect => "CC",
            AbortedAt::Response => "CH",
        }
    }

    /// Where the request was, for the event log.
    pub fn describe(self) -> &'static str {
        match self {
            AbortedAt::Queue => "while it waited in the queue",
            AbortedAt::Connect => "before it reached a server",
            AbortedAt::Response => "while a server held it (its connection is reset)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termination_states_are_haproxys() {
        let states: Vec<&str> =
            [AbortedAt::Queue, AbortedAt::Connect, AbortedAt::Response].iter().map(|a| a.termination()).collect();
        assert_eq!(states, ["CQ", "CC", "CH"]);
    }
}
