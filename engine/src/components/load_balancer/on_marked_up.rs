//! `on-marked-up`: what a server coming UP also does. HAProxy's only
//! action is `shutdown-backup-sessions`
//! (`HANA_ONMARKEDUP_SHUTDOWNBACKUPSESSIONS`): when an active server with
//! it comes UP (its checks pass, or it leaves maintenance) with a weight
//! above 0, `srv_shutdown_backup_streams` kills every stream the backend's
//! backup servers hold, so their clients retry on the active servers at
//! once instead of staying on the backups. Each gets a 502 (the log says
//! `UH`: killed because a server came up, while waiting for the answer).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnMarkedUp {
    ShutdownBackupSessions,
}

impl OnMarkedUp {
    pub fn keyword(self) -> &'static str {
        match self {
            OnMarkedUp::ShutdownBackupSessions => "shutdown-backup-sessions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_and_writes_haproxys_keyword() {
        let parsed: OnMarkedUp = serde_json::from_str("\"shutdown-backup-sessions\"").unwrap();
        assert_eq!(parsed.keyword(), "shutdown-backup-sessions");
        let e = serde_json::from_str::<OnMarkedUp>("\"shutdown-sessions\"").unwrap_err();
        assert!(e.to_string().contains("expected `shutdown-backup-sessions`"), "{e}");
    }
}
