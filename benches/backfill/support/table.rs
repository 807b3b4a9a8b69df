//! The benchmark's table: `users` with N rows and a new, still empty `email_verified` column,
//! the baseline single `UPDATE`, and the check that every row is right afterwards.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::conn::Conn;

/// The backfill every contender performs.
pub const SET_COLUMN: &str = "email_verified";
pub const SET_EXPRESSION: &str = "verified_at IS NOT NULL";
pub const FILTER: &str = "email_verified IS NULL";

/// The speed limit: the whole table in one statement (and one transaction that holds every
/// row's lock until it commits).
pub const BASELINE_UPDATE_SQL: &str = "UPDATE users SET email_verified = (verified_at IS NOT NULL)";

/// Rows whose `email_verified` is not what the backfill must make it.
pub const WRONG_ROWS_SQL: &str =
    "SELECT count(*) FROM users WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL)";

/// [`WRONG_ROWS_SQL`] as MySQL spells it (`<=>` is its IS NOT DISTINCT FROM).
pub const MYSQL_WRONG_ROWS_SQL: &str =
    "SELECT count(*) FROM users WHERE NOT (email_verified <=> (verified_at IS NOT NULL))";

/// (Re)creates `users` with `rows` rows, ids 1..=rows: a third of them never verified. The
/// `email_verified` column is added afterwards when `with_column`, as the expand phase would (no
/// rewrite: every row reads NULL; without it the contender's plan adds it). Then the statistics (PostgreSQL: `VACUUM ANALYZE` for hint bits and the
/// visibility map, and a `CHECKPOINT`) so that every contender starts from the same clean state.
pub async fn build_users(conn: &mut Conn, rows: u64, with_column: bool) -> Result<Duration> {
    let started = Instant::now();
    i64::try_from(rows).context("row count too large")?;
    let add_column = match (with_column, &*conn) {
        (false, _) => "",
        (true, Conn::Postgres(_)) => ";\n ALTER TABLE users ADD COLUMN email_verified boolean",
        (true, Conn::Mysql(_)) => {
            ";\n ALTER TABLE users ADD COLUMN email_verified boolean, ALGORITHM=INSTANT"
        }
    };
    let script = match conn {
        Conn::Postgres(_) => format!(
            "DROP TABLE IF EXISTS users;
             CREATE TABLE users (id bigint PRIMARY KEY, verified_at timestamptz, payload text NOT NULL);
             INSERT INTO users (id, verified_at, payload)
             SELECT g,
                    CASE WHEN g % 3 = 0 THEN NULL
                         ELSE timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second' END,
                    md5(g::text)
             FROM generate_series(1::bigint, {rows}::bigint) AS g{add_column}"
        ),
        // NOTE: MariaDB's sequence engine (`seq_1_to_N`) makes the rows without a recursive
        // query; the column is added instantly, as bellows' add_column does.
        Conn::Mysql(_) => format!(
            "DROP TABLE IF EXISTS users;
             CREATE TABLE users (id bigint PRIMARY KEY, verified_at datetime NULL, payload varchar(64) NOT NULL) ENGINE=InnoDB;
             INSERT INTO users (id, verified_at, payload)
             SELECT seq, CASE WHEN seq % 3 = 0 THEN NULL
                              ELSE TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq SECOND END,
                    md5(seq)
             FROM seq_1_to_{rows}{add_column}"
        ),
    };
    conn.execute(&script)
        .await
        .context("cannot build and fill the users table")?;
    // NOTE: apart: PostgreSQL runs a multi-statement message as one transaction, which VACUUM
    // refuses.
    let statistics = match conn {
        Conn::Postgres(_) => "VACUUM ANALYZE users",
        Conn::Mysql(_) => "ANALYZE TABLE users",
    };
    conn.execute(statistics)
        .await
        .context("cannot gather the users table's statistics")?;
    // NOTE: CHECKPOINT needs superuser or (PostgreSQL 15+) pg_checkpoint; without it the run
    // is only a little noisier, so a refusal is not an error.
    if !conn.is_mysql() {
        let _ = conn.execute("CHECKPOINT").await;
    }
    Ok(started.elapsed())
}

/// Runs [`BASELINE_UPDATE_SQL`] without a statement deadline; returns the rows it updated and
/// how long it took.
pub async fn baseline_update(conn: &mut Conn) -> Result<(u64, Duration)> {
    conn.execute(match conn {
        Conn::Postgres(_) => "SET statement_timeout = 0",
        Conn::Mysql(_) => "SET SESSION max_statement_time = 0",
    })
    .await?;
    let started = Instant::now();
    let done = conn
        .execute(BASELINE_UPDATE_SQL)
        .await
        .context("the single UPDATE failed")?;
    Ok((done, started.elapsed()))
}

/// [`WRONG_ROWS_SQL`]: 0 when the backfill is complete and right.
pub async fn wrong_rows(conn: &mut Conn) -> Result<i64> {
    let sql = match conn {
        Conn::Postgres(_) => WRONG_ROWS_SQL,
        Conn::Mysql(_) => MYSQL_WRONG_ROWS_SQL,
    };
    Ok(conn.integer(sql).await?)
}

pub async fn row_count(conn: &mut Conn) -> Result<i64> {
    Ok(conn.integer("SELECT count(*) FROM users").await?)
}

/// The plan each bellows contender applies: only a backfill step, with `batch_size` when given
/// (otherwise bellows' default).
pub fn backfill_plan(name: &str, batch_size: Option<u64>) -> String {
    let mut plan = format!(
        "name = \"{name}\"\n\
         description = \"bellows benchmark: backfill users.{SET_COLUMN}\"\n\
         \n\
         [[backfill]]\n\
         table = \"users\"\n\
         set = {{ {SET_COLUMN} = \"{SET_EXPRESSION}\" }}\n\
         where = \"{FILTER}\"\n"
    );
    if let Some(size) = batch_size {
        plan.push_str(&format!("batch_size = {size}\n"));
    }
    plan
}
/// The plan of the README without its backfill: `email_verified` and its sync trigger.
pub fn sync_shape(name: &str) -> String {
    let plan = plan_shape(name);
    match plan.find("[[backfill]]") {
        Some(at) => plan[..at].trim_end().to_string() + "\n",
        None => plan,
    }
}

/// The plan of the README, whole: the expand phase adds `email_verified` and
/// its sync trigger, the backfill fills the rows that existed before (default settings).
pub fn plan_shape(name: &str) -> String {
    format!(
        "name = \"{name}\"\n\
         description = \"bellows benchmark: add, sync and backfill users.{SET_COLUMN}\"\n\
         \n\
         [[expand]]\n\
         op = \"add_column\"\n\
         table = \"users\"\n\
         column = \"{SET_COLUMN}\"\n\
         type = \"boolean\"\n\
         \n\
         [[expand]]\n\
         op = \"sync_column\"\n\
         table = \"users\"\n\
         column = \"{SET_COLUMN}\"\n\
         from = \"{SET_EXPRESSION}\"\n\
         \n\
         [[backfill]]\n\
         table = \"users\"\n\
         set = {{ {SET_COLUMN} = \"{SET_EXPRESSION}\" }}\n\
         where = \"{FILTER}\"\n"
    )
}
