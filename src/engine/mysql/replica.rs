//! Replica lag for `max_lag` on MySQL/MariaDB: each watched replica is asked for its own
//! replication status (`SHOW SLAVE STATUS`, MySQL 8.0.22+ `SHOW REPLICA STATUS`) and its
//! `Seconds_Behind_Master` read. The replicas are the URLs given (`--replica-url`,
//! `BELLOWS_REPLICA_URLS`), else the ones the primary lists (`SHOW SLAVE HOSTS`, MySQL 8.0.22+
//! `SHOW REPLICAS`: replicas started with `report_host`), reached with the primary URL's user and
//! password.
//!
//! A NULL lag (the replica's SQL or I/O thread stopped), a replica that cannot be reached and a
//! server that is no replica are all unknown lag: the backfill holds, never counts it as zero.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlRow};
use sqlx::{Column, Connection, Row};

use super::statement::text_cell;
use crate::engine::backend::AttemptError;
use crate::engine::error::{EngineError, ErrorKind};
use crate::engine::throttle::LagReading;

/// How long connecting to a replica, or asking it for its status, may take.
const REPLICA_TIMEOUT: Duration = Duration::from_secs(5);

/// One replica `max_lag` watches.
pub struct Replica {
    /// `host:port`, as messages name it.
    label: String,
    /// `None`: the primary lists it without a host to reach it at.
    options: Option<MySqlConnectOptions>,
    conn: Option<MySqlConnection>,
}

/// What a replica's status says about its lag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// `Seconds_Behind_Master` (`Seconds_Behind_Source`); NULL while a thread is stopped.
    pub seconds_behind: Option<String>,
    pub io_running: String,
    pub sql_running: String,
    pub last_error: String,
}

/// The lag one replica's status (`None`: no status row, not a replica) says.
pub fn lag_of(label: &str, status: Option<&ReplicaStatus>) -> LagReading {
    let Some(status) = status else {
        return LagReading::Unknown(format!(
            "{label} is not a replica (its replica status is empty)"
        ));
    };
    if let Some(seconds) = status.seconds_behind.as_deref() {
        return match seconds.trim().parse::<u64>() {
            Ok(0) => LagReading::None,
            Ok(n) => LagReading::Behind(Duration::from_secs(n)),
            Err(_) => {
                LagReading::Unknown(format!("{label} reports Seconds_Behind_Master {seconds:?}"))
            }
        };
    }
    let thread = if !status.sql_running.eq_ignore_ascii_case("yes") {
        "its SQL thread is stopped"
    } else if !status.io_running.eq_ignore_ascii_case("yes") {
        "its I/O thread is not connected to the primary"
    } else {
        "it reports no lag"
    };
    let error = match status.last_error.trim() {
        "" => String::new(),
        error => format!(" (last error: {error})"),
    };
    LagReading::Unknown(format!(
        "{label}: {thread}, Seconds_Behind_Master is NULL{error}"
    ))
}

/// The status statement a server of `version` knows (MySQL renamed it in 8.0.22).
pub fn status_sql(version: &str) -> &'static str {
    if renamed_replica_statements(version) {
        "SHOW REPLICA STATUS"
    } else {
        "SHOW SLAVE STATUS"
    }
}

/// The statement listing a primary's replicas on a server of `version`.
pub fn hosts_sql(version: &str) -> &'static str {
    if renamed_replica_statements(version) {
        "SHOW REPLICAS"
    } else {
        "SHOW SLAVE HOSTS"
    }
}

/// MySQL (not MariaDB) 8.0.22 or later, where the replication statements and columns say
/// "replica" and "source".
fn renamed_replica_statements(version: &str) -> bool {
    if version.to_ascii_lowercase().contains("mariadb") {
        return false;
    }
    let numbers: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    numbers.as_slice() >= [8, 0, 22].as_slice()
}

/// The replicas to watch: each of `urls`, or when none is given, those `SHOW SLAVE HOSTS` lists
/// on the primary (`conn`), reached with the primary's `options` at their host and port.
pub async fn watched(
    conn: &mut MySqlConnection,
    primary: &MySqlConnectOptions,
    version: &str,
    urls: &[String],
) -> Result<Vec<Replica>, AttemptError> {
    if !urls.is_empty() {
        return urls.iter().map(|url| given(url)).collect();
    }
    let rows = sqlx::raw_sql(hosts_sql(version))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| {
            EngineError::refused(
                ErrorKind::Failed,
                format!(
                    "max_lag: cannot list the primary's replicas ({}): {e}; give each replica's URL with --replica-url (or BELLOWS_REPLICA_URLS)",
                    hosts_sql(version)
                ),
            )
        })?;
    rows.iter().map(|row| listed(row, primary)).collect()
}

/// A replica named by URL.
fn given(url: &str) -> Result<Replica, AttemptError> {
    let url = super::mysql_url(url);
    let options = MySqlConnectOptions::from_str(&url).map_err(|e| {
        EngineError::refused(
            ErrorKind::Invalid,
            format!("the replica URL {url:?} is not a MySQL URL: {e}"),
        )
    })?;
    Ok(Replica {
        label: format!("replica {}:{}", options.get_host(), options.get_port()),
        options: Some(options),
        conn: None,
    })
}

/// A replica from a row of `SHOW SLAVE HOSTS` (server id, host, port, …).
fn listed(row: &MySqlRow, primary: &MySqlConnectOptions) -> Result<Replica, AttemptError> {
    let cell = |i| text_cell(row, i).map(Option::unwrap_or_default);
    let (id, host, port) = (
        cell(0).map_err(AttemptError::Failed)?,
        cell(1).map_err(AttemptError::Failed)?,
        cell(2).map_err(AttemptError::Failed)?,
    );
    let port = port.parse::<u16>().unwrap_or(3306);
    if host.is_empty() {
        return Ok(Replica {
            label: format!("replica server_id {id} (listed without report_host; give its URL with --replica-url)"),
            options: None,
            conn: None,
        });
    }
    Ok(Replica {
        label: format!("replica {host}:{port}"),
        options: Some(primary.clone().host(&host).port(port)),
        conn: None,
    })
}

impl Replica {
    /// Closes its connection, if open.
    pub async fn close(self) {
        if let Some(conn) = self.conn {
            let _ = conn.close().await;
        }
    }

    /// This replica's lag now; any failure is unknown lag, and the connection is opened again
    /// next time.
    pub async fn lag(&mut self) -> LagReading {
        match self.status().await {
            Ok(status) => lag_of(&self.label, status.as_ref()),
            Err(why) => {
                self.conn = None;
                LagReading::Unknown(format!("{}: {why}", self.label))
            }
        }
    }

    async fn status(&mut self) -> Result<Option<ReplicaStatus>, String> {
        let Some(options) = &self.options else {
            return Err("no host to reach it at".into());
        };
        if self.conn.is_none() {
            let connect = MySqlConnection::connect_with(options);
            let conn = tokio::time::timeout(REPLICA_TIMEOUT, connect)
                .await
                .map_err(|_| format!("no connection within {}s", REPLICA_TIMEOUT.as_secs()))?
                .map_err(|e| format!("cannot connect: {e}"))?;
            self.conn = Some(conn);
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        let read = sqlx::raw_sql(status_sql(&version)).fetch_all(&mut *conn);
        let rows = tokio::time::timeout(REPLICA_TIMEOUT, read)
            .await
            .map_err(|_| format!("no replica status within {}s", REPLICA_TIMEOUT.as_secs()))?
            .map_err(|e| format!("cannot read its replica status: {e}"))?;
        Ok(rows.first().map(parse_status))
    }
}

/// The columns of a status row, by either name (MariaDB and MySQL before 8.0.22 say
/// `Slave`/`Master`, MySQL 8.0.22+ `Replica`/`Source`).
fn parse_status(row: &MySqlRow) -> ReplicaStatus {
    let named = |names: &[&str]| -> Option<String> {
        let i = row
            .columns()
            .iter()
            .position(|c| names.iter().any(|n| c.name().eq_ignore_ascii_case(n)))?;
        text_cell(row, i).ok().flatten()
    };
    ReplicaStatus {
        seconds_behind: named(&["Seconds_Behind_Master", "Seconds_Behind_Source"]),
        io_running: named(&["Slave_IO_Running", "Replica_IO_Running"]).unwrap_or_default(),
        sql_running: named(&["Slave_SQL_Running", "Replica_SQL_Running"]).unwrap_or_default(),
        last_error: named(&["Last_SQL_Error"])
            .filter(|e| !e.is_empty())
            .or_else(|| named(&["Last_IO_Error"]))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(seconds: Option<&str>, io: &str, sql: &str) -> ReplicaStatus {
        ReplicaStatus {
            seconds_behind: seconds.map(str::to_string),
            io_running: io.into(),
            sql_running: sql.into(),
            last_error: String::new(),
        }
    }

    #[test]
    fn a_null_lag_is_unknown_and_says_which_thread_stopped() {
        let r = "replica 127.0.0.1:3307";
        assert_eq!(
            lag_of(r, Some(&status(None, "Yes", "No"))),
            LagReading::Unknown(
                "replica 127.0.0.1:3307: its SQL thread is stopped, Seconds_Behind_Master is NULL"
                    .into()
            )
        );
        let io_down = ReplicaStatus {
            last_error: "error connecting to master".into(),
            ..status(None, "Connecting", "Yes")
        };
        assert_eq!(
            lag_of(r, Some(&io_down)),
            LagReading::Unknown("replica 127.0.0.1:3307: its I/O thread is not connected to the primary, Seconds_Behind_Master is NULL (last error: error connecting to master)".into())
        );
        assert!(
            matches!(lag_of(r, None), LagReading::Unknown(why) if why.contains("not a replica"))
        );
    }

    #[test]
    fn a_measured_lag_is_whole_seconds() {
        let r = "replica";
        assert_eq!(
            lag_of(r, Some(&status(Some("0"), "Yes", "Yes"))),
            LagReading::None
        );
        assert_eq!(
            lag_of(r, Some(&status(Some("7"), "Yes", "Yes"))),
            LagReading::Behind(Duration::from_secs(7))
        );
    }

    #[test]
    fn mysql_8_0_22_renamed_the_statements_mariadb_did_not() {
        assert_eq!(status_sql("10.11.6-MariaDB-0+deb12u1"), "SHOW SLAVE STATUS");
        assert_eq!(hosts_sql("10.11.6-MariaDB-0+deb12u1"), "SHOW SLAVE HOSTS");
        assert_eq!(status_sql("8.0.21"), "SHOW SLAVE STATUS");
        assert_eq!(status_sql("8.0.22"), "SHOW REPLICA STATUS");
        assert_eq!(hosts_sql("8.4.0"), "SHOW REPLICAS");
        assert_eq!(status_sql("5.7.44-log"), "SHOW SLAVE STATUS");
    }

    #[test]
    fn replica_urls_are_named_by_host_and_port() {
        let replica = given("mariadb://root@10.0.0.5:3307/app").ok().unwrap();
        assert_eq!(replica.label, "replica 10.0.0.5:3307");
        assert!(given("not a url").is_err());
    }
}
