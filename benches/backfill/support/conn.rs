//! One connection of the benchmark, to PostgreSQL or to MySQL/MariaDB (chosen by the URL): the
//! few statements the table, the workload and the scratch databases need, each in its server's
//! spelling. The keyset references are PostgreSQL's own and ask for [`Conn::postgres`].

use std::str::FromStr;

use anyhow::{bail, Context, Result};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

pub enum Conn {
    Postgres(PgConnection),
    Mysql(MySqlConnection),
}

/// Whether `url` names a MySQL/MariaDB server.
pub fn is_mysql_url(url: &str) -> bool {
    url.starts_with("mysql:") || url.starts_with("mariadb:")
}

impl Conn {
    /// Connects; on PostgreSQL with an `application_name`, so that the bench's sessions are easy
    /// to tell apart in `pg_stat_activity`.
    pub async fn connect(url: &str, application_name: &str) -> Result<Conn> {
        let invalid = || format!("invalid database URL {}", super::scratch::redact(url));
        if is_mysql_url(url) {
            let url = url.replacen("mariadb:", "mysql:", 1);
            let options = MySqlConnectOptions::from_str(&url).with_context(invalid)?;
            return Ok(Conn::Mysql(MySqlConnection::connect_with(&options).await?));
        }
        let options = PgConnectOptions::from_str(url)
            .with_context(invalid)?
            .application_name(application_name);
        Ok(Conn::Postgres(PgConnection::connect_with(&options).await?))
    }

    pub fn is_mysql(&self) -> bool {
        matches!(self, Conn::Mysql(_))
    }

    /// The PostgreSQL connection, for what only PostgreSQL runs.
    pub fn postgres(&mut self) -> Result<&mut PgConnection> {
        match self {
            Conn::Postgres(conn) => Ok(conn),
            Conn::Mysql(_) => bail!("this part of the benchmark runs on PostgreSQL only"),
        }
    }

    /// Runs SQL (several statements allowed); the rows it changed.
    pub async fn execute(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Conn::Postgres(conn) => sqlx::raw_sql(sql).execute(conn).await?.rows_affected(),
            Conn::Mysql(conn) => sqlx::raw_sql(sql).execute(conn).await?.rows_affected(),
        })
    }

    /// The one integer a query returns.
    pub async fn integer(&mut self, sql: &str) -> Result<i64, sqlx::Error> {
        match self {
            Conn::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
            Conn::Mysql(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
        }
    }

    /// The one text a query returns.
    pub async fn text(&mut self, sql: &str) -> Result<String, sqlx::Error> {
        match self {
            Conn::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
            Conn::Mysql(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
        }
    }

    /// The workload's write: `payload` of the row `id`.
    pub async fn point_update(&mut self, id: i64, payload: String) -> Result<(), sqlx::Error> {
        match self {
            Conn::Postgres(conn) => sqlx::query("UPDATE users SET payload = $2 WHERE id = $1")
                .bind(id)
                .bind(payload)
                .execute(conn)
                .await
                .map(|_| ()),
            Conn::Mysql(conn) => sqlx::query("UPDATE users SET payload = ? WHERE id = ?")
                .bind(payload)
                .bind(id)
                .execute(conn)
                .await
                .map(|_| ()),
        }
    }

    /// The workload's read: the row `id`.
    /// The old application's read: it does not know `email_verified` (which the plan
    /// contender adds while it runs).
    pub async fn point_select(&mut self, id: i64) -> Result<(), sqlx::Error> {
        const COLUMNS: &str = "SELECT id, verified_at, payload FROM users WHERE id =";
        match self {
            Conn::Postgres(conn) => sqlx::query(&format!("{COLUMNS} $1"))
                .bind(id)
                .fetch_optional(conn)
                .await
                .map(|_| ()),
            Conn::Mysql(conn) => sqlx::query(&format!("{COLUMNS} ?"))
                .bind(id)
                .fetch_optional(conn)
                .await
                .map(|_| ()),
        }
    }
}
