//! The scenario every fault trial runs: a composite-key `orders` table with an exactly-once
//! probe, the plan that uses every kind of step on it, and a light application write load
//! running throughout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::db::{connect_patiently, Db};

/// Rows in `orders` before the plan: enough for a dozen backfill batches, few enough that a
/// trial takes about a second.
pub const ROWS: i64 = 4_000;

/// Rows the write load inserts use this tenant, so they are told apart from the pre-existing
/// rows (tenants 0–6).
pub const LOAD_TENANT: i64 = 99;

/// `customers` and `orders (tenant_id, id)` with [`ROWS`] rows and an index on `note` (dropped by
/// the plan), and the probe: every update that changes `total` is logged in `writes`.
///
/// NOTE: the probe reads `total` through `to_jsonb` rather than naming it, so the trigger does
/// not depend on the column and `rollback` can drop it.
pub fn seed(db: &Db) {
    db.exec(&format!(
        "CREATE TABLE customers (id int PRIMARY KEY);
         INSERT INTO customers SELECT g FROM generate_series(1, 100) g;
         CREATE TABLE orders (
             tenant_id int NOT NULL, id int NOT NULL, customer_id int NOT NULL,
             total_amount int NOT NULL, qty int NOT NULL DEFAULT 1, note text,
             PRIMARY KEY (tenant_id, id));
         INSERT INTO orders (tenant_id, id, customer_id, total_amount, note)
              SELECT g % 7, g, g % 100 + 1, g % 5000, 'note ' || g FROM generate_series(1, {ROWS}) g;
         CREATE INDEX orders_note_idx ON orders (note);
         CREATE TABLE writes (tenant_id int NOT NULL, id int NOT NULL);
         CREATE FUNCTION log_total_write() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF to_jsonb(NEW) -> 'total' IS DISTINCT FROM to_jsonb(OLD) -> 'total' THEN
             INSERT INTO writes VALUES (NEW.tenant_id, NEW.id);
           END IF;
           RETURN NULL;
         END $$;
         CREATE TRIGGER log_total_write AFTER UPDATE ON orders
             FOR EACH ROW EXECUTE FUNCTION log_total_write();
         ANALYZE orders;"
    ));
}

/// The plan: every kind of step on `orders`. With `reversible`, without the last step
/// (`drop_column` cannot be rolled back), for the rollback trials.
pub fn plan(reversible: bool) -> String {
    let mut text = String::from(
        r#"name = "faults"
description = "Every kind of step, for the fault tests"

[settings]
lock_timeout = "1s"
lock_retries = 10

[[expand]]
op = "add_column"
table = "orders"
column = "total"
type = "numeric(12,2)"

[[expand]]
op = "add_index"
table = "orders"
columns = ["customer_id"]

[[expand]]
op = "add_check"
table = "orders"
name = "orders_total_nonnegative"
check = "total >= 0"

[[expand]]
op = "add_foreign_key"
table = "orders"
columns = ["customer_id"]
references = { table = "customers", columns = ["id"] }

[[expand]]
op = "sync_column"
table = "orders"
column = "total"
from = "total_amount / 100.0"
reverse = { column = "total_amount", from = "CAST(round(total * 100) AS integer)" }

[[backfill]]
table = "orders"
set = { total = "total_amount / 100.0" }
where = "total IS NULL"
batch_size = 300

[[switch]]
op = "set_default"
table = "orders"
column = "total"
default = "0"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM orders WHERE total IS DISTINCT FROM total_amount / 100.0"
expect = 0

[[contract]]
op = "drop_sync"
table = "orders"
column = "total"

[[contract]]
op = "set_not_null"
table = "orders"
column = "total"

[[contract]]
op = "drop_index"
name = "orders_note_idx"
table = "orders"
"#,
    );
    if !reversible {
        text.push_str(
            r#"
[[contract]]
op = "drop_column"
table = "orders"
column = "note"
"#,
        );
    }
    text
}

/// The application: inserts new orders (amount 0, so every version of `total` agrees) and
/// touches `qty` of pre-existing ones, every few milliseconds, reconnecting after any error
/// (a restart, a lock timeout, a cut connection).
pub struct WriteLoad {
    stop: Arc<AtomicBool>,
    writes: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl WriteLoad {
    pub fn start(url: String, seed: u64) -> WriteLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicU64::new(0));
        let handle = {
            let (stop, writes) = (stop.clone(), writes.clone());
            std::thread::spawn(move || {
                crate::harness::runtime().block_on(write_loop(&url, seed, &stop, &writes))
            })
        };
        WriteLoad {
            stop,
            writes,
            handle: Some(handle),
        }
    }

    /// Stops the load; returns how many writes succeeded.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        self.writes.load(Ordering::SeqCst)
    }
}

impl Drop for WriteLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

async fn write_loop(url: &str, seed: u64, stop: &AtomicBool, writes: &AtomicU64) {
    let mut rng = super::rng::Rng::new(seed);
    let mut next_id: i64 = 1;
    let mut conn = None;
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5 + rng.below(10))).await;
        if conn.is_none() {
            conn = connect_patiently(url).await.ok();
            continue;
        }
        let Some(c) = conn.as_mut() else { continue };
        let sql = if rng.one_in(2) {
            next_id += 1;
            format!(
                "INSERT INTO orders (tenant_id, id, customer_id, total_amount) VALUES ({LOAD_TENANT}, {next_id}, {}, 0)",
                rng.below(100) + 1
            )
        } else {
            let id = rng.below(ROWS as u64) + 1;
            format!(
                "UPDATE orders SET qty = qty + 1 WHERE tenant_id = {} AND id = {id}",
                id % 7
            )
        };
        let statement = format!("SET lock_timeout = '2s'; {sql}");
        match sqlx::raw_sql(&statement).execute(c).await {
            Ok(_) => {
                writes.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => conn = None,
        }
    }
}
