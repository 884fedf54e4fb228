//! `on-marked-down`: what marking a server DOWN also does to the requests
//! it holds. HAProxy's only action is `shutdown-sessions`
//! (`HANA_ONMARKEDDOWN_KILLCONN`): `srv_shutdown_streams` kills every
//! stream connected to the server, each client gets a 502 at once (the log
//! says `DH`), and the server's connection is closed. Without it, the
//! requests a DOWN server holds wait for its answer or `timeout server`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnMarkedDown {
    ShutdownSessions,
}

impl OnMarkedDown {
    pub fn keyword(self) -> &'static str {
        match self {
            OnMarkedDown::ShutdownSessions => "shutdown-sessions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_and_writes_haproxys_keyword() {
        let parsed: OnMarkedDown = serde_json::from_str("\"shutdown-sessions\"").unwrap();
        assert_eq!(parsed.keyword(), "shutdown-sessions");
        let e = serde_json::from_str::<OnMarkedDown>("\"shutdown-backup-sessions\"").unwrap_err();
        assert!(e.to_string().contains("expected `shutdown-sessions`"), "{e}");
    }
}
