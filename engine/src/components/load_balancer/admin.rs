//! A server's administrative state, which an operator sets on HAProxy's
//! runtime API: `set server <backend>/<server> state ready|drain|maint`
//! (`srv_adm_set_ready`, `srv_adm_set_drain`, `srv_adm_set_maint`, then
//! `srv_update_status` in src/server.c).
//!
//! * `drain`: the server gets no new requests from load balancing (its
//!   effective weight is 0) but finishes what it holds, still serves
//!   requests already waiting in its own queue, and is still checked.
//!   With `option redispatch` its queue goes to the other servers at once
//!   (`pendconn_redistribute`).
//! * `maint`: the server is marked DOWN and its checks stop (its health
//!   drops to 0). What it holds finishes, unless `on-marked-down
//!   shutdown-sessions` ends it; with `option redispatch` its queue goes
//!   elsewhere.
//! * `ready`: both lifted. A server leaving maintenance starts at `rise`
//!   (UP, as if its checks had just passed) and is checked at once; a
//!   failing check then takes it DOWN again after `fall` failures.
//!
//! The state lives in the running process, like HAProxy's (no
//! server-state file): a restart of the load balancer clears it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminState {
    #[default]
    Ready,
    Drain,
    Maint,
}

impl AdminState {
    pub fn keyword(self) -> &'static str {
        match self {
            AdminState::Ready => "ready",
            AdminState::Drain => "drain",
            AdminState::Maint => "maint",
        }
    }
}

impl fmt::Display for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_haproxys_words() {
        for s in [AdminState::Ready, AdminState::Drain, AdminState::Maint] {
            let parsed: AdminState = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(parsed, s);
        }
        let e = serde_json::from_str::<AdminState>("\"up\"").unwrap_err();
        assert!(e.to_string().contains("expected one of `ready`, `drain`, `maint`"), "{e}");
    }
}
