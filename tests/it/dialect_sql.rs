//! The planned SQL of every operation, run on a real PostgreSQL and a real SQLite.
//!
//! A small stand-in for the engine runs each step's actions (statements, guards, captures,
//! saved SQL, backfill batches) the way `src/dialect/planned.rs` describes them. On PostgreSQL,
//! every lock-taking statement is also run inside a transaction and the locks it holds are read
//! from `pg_locks`: the strongest one must be the lock the dialect claims. Rollback of the whole
//! plan must bring the catalog back to what it was. The sync triggers are proven with writes
//! from the "old" and the "new" application, both directions, without loops.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use bellows::dialect::planned::{Action, Expect, Lock, LockPolicy, PlannedOp, Undo};
use bellows::dialect::{plan_op, DialectKind};
use bellows::ops::Op;
use bellows::plan::load::load_str;
use bellows::plan::Plan;
use bellows::vocab::{Phase, TableName};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, Row, SqliteConnection};

// ---------------------------------------------------------------------------------------------
// Plans

fn load(toml: &str) -> Plan {
    let loaded = load_str(Path::new("dialect_sql.toml"), toml);
    assert!(
        !loaded.has_errors(),
        "test plan is invalid: {:#?}",
        loaded.diagnostics
    );
    loaded.plan.expect("a valid plan")
}

/// Every step of the plan in execution order, with its op and its planned SQL.
fn planned(plan: &Plan, kind: DialectKind) -> Vec<(Phase, usize, Op, PlannedOp)> {
    let mut steps: Vec<_> = plan.steps.iter().collect();
    steps.sort_by_key(|s| (s.phase, s.index));
    steps
        .into_iter()
        .map(|step| {
            let planned = plan_op(&step.op, kind.dialect())
                .unwrap_or_else(|e| panic!("{} cannot be planned: {e}", step.op.name()));
            (step.phase, step.index, step.op.clone(), planned)
        })
        .collect()
}

/// Saved captures, per step.
type Saved = HashMap<&'static str, String>;

// ---------------------------------------------------------------------------------------------
// PostgreSQL

fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .ok()
        .filter(|url| url.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A database of its own for one test, dropped when the test ends (even when it fails).
struct ScratchPg {
    admin: String,
    name: String,
}

impl ScratchPg {
    async fn create() -> (ScratchPg, PgConnection) {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let admin = pg_admin_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {admin}: {e}\nstart it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n(or set TEST_DATABASE_URL)"
            )
        });
        let name = format!(
            "bellows_dialect_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE");
        conn.close().await.ok();
        let options: PgConnectOptions = admin.parse().expect("a PostgreSQL URL");
        let conn = PgConnection::connect_with(&options.database(&name))
            .await
            .expect("connect to the scratch database");
        (ScratchPg { admin, name }, conn)
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

fn pg_lock_mode(mode: &str) -> Lock {
    match mode {
        "AccessShareLock" => Lock::AccessShare,
        "RowShareLock" => Lock::RowShare,
        "RowExclusiveLock" => Lock::RowExclusive,
        "ShareUpdateExclusiveLock" => Lock::ShareUpdateExclusive,
        "ShareLock" => Lock::Share,
        "ShareRowExclusiveLock" => Lock::ShareRowExclusive,
        "ExclusiveLock" => Lock::Exclusive,
        "AccessExclusiveLock" => Lock::AccessExclusive,
        other => panic!("unknown lock mode {other}"),
    }
}

/// Runs one statement as the engine would; when it takes a named lock on a table (and is not
/// CONCURRENTLY, which cannot run in a transaction), runs it inside a transaction and checks
/// that the strongest lock it holds on the table is the one claimed.
async fn pg_statement(
    conn: &mut PgConnection,
    sql: &str,
    transaction: bool,
    policy: LockPolicy,
    lock: Lock,
    table: Option<&TableName>,
    exact: bool,
) -> Option<Lock> {
    let checked_table = table.filter(|_| {
        policy != LockPolicy::Plain && lock != Lock::None && !sql.contains("CONCURRENTLY")
    });
    if !transaction && checked_table.is_none() {
        sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL refused:\n{sql}\n{e}"));
        return None;
    }
    // The table's oid before the statement: a DROP TABLE makes the name unresolvable.
    let oid: Option<i64> = match checked_table {
        Some(table) => sqlx::query_scalar("SELECT to_regclass($1)::oid::bigint")
            .bind(DialectKind::Postgres.dialect().table(table))
            .fetch_one(&mut *conn)
            .await
            .expect("to_regclass"),
        None => None,
    };
    conn.execute("BEGIN").await.expect("BEGIN");
    sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL refused:\n{sql}\n{e}"));
    let mut held = None;
    if let Some(oid) = oid {
        let modes: Vec<String> = sqlx::query_scalar(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = $1::bigint::oid",
        )
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .expect("pg_locks");
        let strongest = modes.iter().map(|m| pg_lock_mode(m)).max();
        if exact {
            assert_eq!(
                strongest,
                Some(lock),
                "the dialect claims {} for\n{sql}\nbut PostgreSQL holds {modes:?}",
                lock.name()
            );
        } else {
            // Saved SQL is known only once the step ran: the claim is an upper bound.
            assert!(
                strongest.unwrap_or(Lock::None) <= lock,
                "the dialect claims at most {} for\n{sql}\nbut PostgreSQL holds {modes:?}",
                lock.name()
            );
        }
        held = strongest;
    }
    conn.execute("COMMIT").await.expect("COMMIT");
    held
}

/// Runs the actions of one step (or of its undo) on PostgreSQL. Returns how many lock claims
/// were checked against `pg_locks`.
async fn pg_run(conn: &mut PgConnection, op: &Op, actions: &[Action], saved: &mut Saved) -> usize {
    let mut checked = 0;
    for action in actions {
        match action {
            Action::Execute(s) => {
                let held = pg_statement(
                    conn,
                    &s.sql,
                    s.transaction,
                    s.policy,
                    s.lock,
                    s.table.as_ref(),
                    true,
                )
                .await;
                checked += usize::from(held.is_some());
            }
            Action::ExecuteSaved(s) => {
                let sql = saved
                    .get(s.name)
                    .unwrap_or_else(|| panic!("nothing saved as {}", s.name))
                    .clone();
                let held = pg_statement(
                    conn,
                    &sql,
                    s.transaction,
                    s.policy,
                    s.lock,
                    s.table.as_ref(),
                    false,
                )
                .await;
                checked += usize::from(held.is_some());
            }
            Action::Guard(guard) => {
                let value: i64 = sqlx::query_scalar(&guard.query)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("guard query failed:\n{}\n{e}", guard.query));
                assert_eq!(Expect::Integer(value), guard.expect, "{}", guard.query);
            }
            Action::Capture(capture) => {
                let text: String = sqlx::query_scalar(&capture.query)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("capture failed:\n{}\n{e}", capture.query));
                saved.insert(capture.name, text);
            }
            Action::Backfill(_) => {
                let Op::Backfill(backfill) = op else {
                    panic!("a backfill action from {}", op.name())
                };
                let key = backfill.key.clone().unwrap_or_else(|| vec!["id".into()]);
                let dialect = DialectKind::Postgres.dialect();
                let mut after: Option<Vec<String>> = None;
                loop {
                    let bounds = dialect.backfill_bounds_sql(backfill, &key, after.as_deref(), 2);
                    let row = sqlx::query(&bounds)
                        .fetch_one(&mut *conn)
                        .await
                        .unwrap_or_else(|e| panic!("{bounds}\n{e}"));
                    let scanned: i64 = row.get(0);
                    if scanned == 0 {
                        break;
                    }
                    let upto: Vec<String> = (0..key.len()).map(|i| row.get(i + 1)).collect();
                    let update =
                        dialect.backfill_update_sql(backfill, &key, after.as_deref(), &upto);
                    sqlx::raw_sql(&update)
                        .execute(&mut *conn)
                        .await
                        .unwrap_or_else(|e| panic!("{update}\n{e}"));
                    after = Some(upto);
                }
            }
            Action::Rebuild(_) => panic!("PostgreSQL never rebuilds a table"),
        }
    }
    checked
}

/// Every table, column, default, constraint (with its validity), index, trigger and function
/// of the schemas `public` and `billing`, one per line, sorted.
async fn pg_catalog(conn: &mut PgConnection) -> String {
    let lines: Vec<String> = sqlx::query_scalar(
        r#"
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'billing'))
SELECT line FROM (
  SELECT format('table %s', c.oid::regclass) AS line
    FROM pg_class c WHERE c.relkind IN ('r', 'v') AND c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('column %s.%I %s not_null=%s default=%s', c.oid::regclass, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relkind = 'r' AND c.relnamespace IN (SELECT oid FROM ns) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s %I %s valid=%s', conrelid::regclass, conname, pg_get_constraintdef(oid), convalidated)
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('index %s valid=%s', pg_get_indexdef(i.indexrelid), i.indisvalid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(t.oid)) FROM pg_trigger t WHERE NOT t.tgisinternal
  UNION ALL
  SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
) catalog ORDER BY line
"#,
    )
    .fetch_all(&mut *conn)
    .await
    .expect("catalog query");
    lines.join("\n")
}

const PG_SCHEMA: &str = r#"
CREATE TABLE orgs (id bigint PRIMARY KEY, name text);
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  name text,
  email text,
  verified_at timestamptz,
  org_id bigint,
  status text DEFAULT 'active',
  CONSTRAINT users_email_shape CHECK (email LIKE '%@%'),
  CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE,
  CONSTRAINT users_email_key UNIQUE (email)
);
ALTER TABLE users ADD CONSTRAINT users_name_len CHECK (length(name) < 200) NOT VALID;
CREATE INDEX users_email_idx ON users (email);
CREATE SCHEMA billing;
CREATE TABLE billing."Order Items" (
  id bigint PRIMARY KEY,
  "weird""name" text,
  "Total Cents" integer,
  CONSTRAINT "Order ""Check""" CHECK ("Total Cents" >= 0)
);
CREATE UNIQUE INDEX "Order Items ""idx""" ON billing."Order Items" ("weird""name");
INSERT INTO orgs VALUES (1, 'acme'), (2, 'globex');
INSERT INTO users (name, email, verified_at, org_id)
  SELECT 'user ' || n, 'user' || n || '@example.com', CASE WHEN n % 2 = 0 THEN now() END, 1 + n % 2
  FROM generate_series(1, 7) AS n;
INSERT INTO billing."Order Items" VALUES (1, 'a', 100), (2, 'b"c', 250), (3, NULL, 0);
"#;

/// Every reversible operation, on plain and on quoting-heavy names, in phase order.
const ROUNDTRIP_PLAN: &str = r#"
name = "roundtrip"

[[expand]]
op = "create_table"
table = 'billing.Audit "Log"'
columns = [
  { name = "id", type = "bigint", primary_key = true },
  { name = 'Message "text"', type = "text", nullable = false, default = "'none'" },
]

[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "boolean"

[[expand]]
op = "add_column"
table = "users"
column = "full_name"
type = "text"

[[expand]]
op = "add_column"
table = "billing.Order Items"
column = 'Amount "EUR"'
type = "numeric(12,2)"

[[expand]]
op = "add_column"
table = "users"
column = "score"
type = "integer"
nullable = false
default = "0"

[[expand]]
op = "add_index"
table = "users"
columns = ["org_id", "email"]
where = "email IS NOT NULL"
method = "btree"

[[expand]]
op = "add_index"
table = "billing.Order Items"
columns = ["Total Cents"]
name = 'Total "cents" idx'
unique = true

[[expand]]
op = "add_foreign_key"
table = "users"
columns = ["org_id"]
references = { table = "orgs", columns = ["id"] }
name = "users_org_fk2"
on_delete = "set null"

[[expand]]
op = "add_check"
table = "billing.Order Items"
name = 'Amount "positive"'
check = '"Amount ""EUR""" >= 0'

[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"

[[expand]]
op = "sync_column"
table = "users"
column = "full_name"
from = "name"
reverse = { column = "name", from = "full_name" }

[[expand]]
op = "sync_column"
table = "billing.Order Items"
column = 'Amount "EUR"'
from = '"Total Cents" / 100.0'

[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL", full_name = "name" }
where = "email_verified IS NULL OR full_name IS NULL"

[[backfill]]
table = "billing.Order Items"
set = { 'Amount "EUR"' = '"Total Cents" / 100.0' }
key = ["id"]

[[switch]]
op = "set_default"
table = "users"
column = "email_verified"
default = "false"

[[switch]]
op = "drop_default"
table = "users"
column = "status"

[[switch]]
op = "set_default"
table = "billing.Order Items"
column = 'Amount "EUR"'
default = "0"

[[switch]]
op = "guard"
null_count = "users.email_verified"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE full_name IS DISTINCT FROM name"
expect = 0

[[switch]]
op = "sql"
up = "CREATE VIEW active_users AS SELECT id, full_name FROM users WHERE status = 'active'"
down = "DROP VIEW active_users"

[[contract]]
op = "drop_sync"
table = "users"
column = "email_verified"

[[contract]]
op = "drop_sync"
table = "billing.Order Items"
column = 'Amount "EUR"'

[[contract]]
op = "set_not_null"
table = "users"
column = "email_verified"

[[contract]]
op = "set_not_null"
table = "billing.Order Items"
column = 'Amount "EUR"'

[[contract]]
op = "drop_index"
name = "users_email_idx"
table = "users"

[[contract]]
op = "drop_index"
name = 'Order Items "idx"'
table = "billing.Order Items"

[[contract]]
op = "drop_constraint"
table = "users"
name = "users_email_shape"

[[contract]]
op = "drop_constraint"
table = "users"
name = "users_name_len"

[[contract]]
op = "drop_constraint"
table = "users"
name = "users_org_fk"

[[contract]]
op = "drop_constraint"
table = "users"
name = "users_email_key"

[[contract]]
op = "drop_constraint"
table = "billing.Order Items"
name = 'Order "Check"'
"#;

#[tokio::test]
async fn postgres_every_operation_applies_and_rolls_back_to_the_same_catalog() {
    let (_db, mut conn) = ScratchPg::create().await;
    sqlx::raw_sql(PG_SCHEMA)
        .execute(&mut conn)
        .await
        .expect("base schema");
    let before = pg_catalog(&mut conn).await;

    let plan = load(ROUNDTRIP_PLAN);
    let steps = planned(&plan, DialectKind::Postgres);
    let mut saved: HashMap<(Phase, usize), Saved> = HashMap::new();
    let mut checked = 0;
    for (phase, index, op, planned) in &steps {
        let saved = saved.entry((*phase, *index)).or_default();
        checked += pg_run(&mut conn, op, &planned.actions, saved).await;
    }

    // The applied plan, as the catalog and the rows show it.
    let after = pg_catalog(&mut conn).await;
    for expected in [
        "column users.email_verified boolean not_null=t default=false",
        "column users.status text not_null=f default=",
        r#"column billing."Order Items"."Amount ""EUR""" numeric(12,2) not_null=t default=0"#,
        "column users.score integer not_null=t default=0",
        r#"column billing."Audit ""Log"""."Message ""text""" text not_null=t default='none'::text"#,
        "CREATE INDEX users_org_id_email_idx ON public.users USING btree (org_id, email) WHERE (email IS NOT NULL)",
        r#"CREATE UNIQUE INDEX "Total ""cents"" idx" ON billing."Order Items" USING btree ("Total Cents")"#,
        "constraint users users_org_fk2 FOREIGN KEY (org_id) REFERENCES orgs(id) ON DELETE SET NULL valid=t",
        r#"constraint billing."Order Items" "Amount ""positive""" CHECK (("Amount ""EUR""" >= (0)::numeric)) valid=t"#,
        "trigger CREATE TRIGGER bellows_sync_users_full_name BEFORE INSERT OR UPDATE",
        "table active_users",
    ] {
        assert!(after.contains(expected), "missing `{expected}` in\n{after}");
    }
    for gone in [
        "users_email_idx ",
        "users_email_shape",
        "users_name_len",
        "users_org_fk ",
        "users_email_key",
        r#""Order ""Check""""#,
        r#""Order Items ""idx""""#,
        "bellows_sync_users_email_verified",
        "bellows_not_null",
        r#"bellows_sync_Order Items"#,
    ] {
        assert!(!after.contains(gone), "`{gone}` is still there:\n{after}");
    }
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL) OR full_name IS DISTINCT FROM name",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(wrong, 0, "the backfill left rows unset");
    let amounts: Vec<String> = sqlx::query_scalar(
        r#"SELECT "Amount ""EUR"""::text FROM billing."Order Items" ORDER BY id"#,
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(amounts, ["1.00", "2.50", "0.00"]);

    // Roll everything back, newest step first: the catalog is what it was.
    for (phase, index, op, planned) in steps.iter().rev() {
        let saved = saved.get_mut(&(*phase, *index)).expect("applied");
        match &planned.undo {
            Undo::Actions(actions) => checked += pg_run(&mut conn, op, actions, saved).await,
            Undo::Nothing(_) => {}
            Undo::Irreversible(why) => panic!("{} is irreversible: {why}", op.name()),
        }
    }
    assert_eq!(pg_catalog(&mut conn).await, before);
    assert!(checked >= 40, "only {checked} lock claims were checked");
}

#[tokio::test]
async fn postgres_guard_stops_a_null_and_irreversible_drops_run() {
    let (_db, mut conn) = ScratchPg::create().await;
    sqlx::raw_sql(PG_SCHEMA)
        .execute(&mut conn)
        .await
        .expect("base schema");

    // set_not_null's own guard counts the NULLs left.
    let plan = load(
        r#"
[[contract]]
op = "set_not_null"
table = "users"
column = "verified_at"
"#,
    );
    let steps = planned(&plan, DialectKind::Postgres);
    let Action::Guard(guard) = &steps[0].3.actions[0] else {
        panic!("set_not_null starts with its guard")
    };
    let nulls: i64 = sqlx::query_scalar(&guard.query)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(nulls, 4, "4 of 7 users have no verified_at");
    assert_ne!(Expect::Integer(nulls), guard.expect);

    let plan = load(
        r#"
[[contract]]
op = "drop_column"
table = "billing.Order Items"
column = 'weird"name'

[[contract]]
op = "drop_table"
table = "orgs"
"#,
    );
    let mut saved = Saved::new();
    sqlx::raw_sql("ALTER TABLE users DROP CONSTRAINT users_org_fk")
        .execute(&mut conn)
        .await
        .unwrap();
    for (_, _, op, planned) in planned(&plan, DialectKind::Postgres) {
        assert!(matches!(planned.undo, Undo::Irreversible(_)));
        assert!(pg_run(&mut conn, &op, &planned.actions, &mut saved).await > 0);
    }
    let catalog = pg_catalog(&mut conn).await;
    assert!(!catalog.contains("weird"), "{catalog}");
    assert!(!catalog.contains("table orgs"), "{catalog}");
}

/// The sync triggers of the two seed patterns, as the old and the new application write.
#[tokio::test]
async fn postgres_sync_triggers_keep_both_applications_in_step_without_loops() {
    let (_db, mut conn) = ScratchPg::create().await;
    sqlx::raw_sql(
        "CREATE TABLE users (id bigint PRIMARY KEY, name text, verified_at timestamptz, full_name text, email_verified boolean)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let plan = load(SYNC_PLAN);
    for (_, _, op, planned) in planned(&plan, DialectKind::Postgres) {
        pg_run(&mut conn, &op, &planned.actions, &mut Saved::new()).await;
    }
    let mut db = Db::Postgres(&mut conn);
    prove_sync(&mut db).await;

    // A mistake in `from` fails the step's first statement, before any trigger exists.
    for mistake in [MISSPELT_SYNC, MISTYPED_SYNC] {
        let check = first_statement(mistake, DialectKind::Postgres);
        let error = sqlx::raw_sql(&check).execute(&mut conn).await.unwrap_err();
        assert!(check.starts_with("EXPLAIN UPDATE"), "{check}");
        assert!(error.to_string().contains("column"), "{error}");
    }
}

const MISSPELT_SYNC: &str = r#"
[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verifed_at IS NOT NULL"
"#;

const MISTYPED_SYNC: &str = r#"
[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "name"
"#;

fn first_statement(toml: &str, kind: DialectKind) -> String {
    let plan = load(toml);
    match &planned(&plan, kind)[0].3.actions[0] {
        Action::Execute(statement) => statement.sql.clone(),
        other => panic!("sync_column starts with {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The sync semantics, shared by both databases

const SYNC_PLAN: &str = r#"
[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"

[[expand]]
op = "sync_column"
table = "users"
column = "full_name"
from = "name"
reverse = { column = "name", from = "full_name" }
"#;

enum Db<'a> {
    Postgres(&'a mut PgConnection),
    Sqlite(&'a mut SqliteConnection),
}

impl Db<'_> {
    async fn exec(&mut self, sql: &str) {
        let result = match self {
            Db::Postgres(conn) => sqlx::raw_sql(sql).execute(&mut **conn).await.map(|_| ()),
            Db::Sqlite(conn) => sqlx::raw_sql(sql).execute(&mut **conn).await.map(|_| ()),
        };
        result.unwrap_or_else(|e| panic!("{sql}\n{e}"));
    }

    /// `(name, full_name, email_verified)` of a user, as text.
    async fn user(&mut self, id: i64) -> (Option<String>, Option<String>, Option<bool>) {
        let sql = format!("SELECT name, full_name, email_verified FROM users WHERE id = {id}");
        match self {
            Db::Postgres(conn) => {
                let row = sqlx::query(&sql).fetch_one(&mut **conn).await.unwrap();
                (row.get(0), row.get(1), row.get(2))
            }
            Db::Sqlite(conn) => {
                let row = sqlx::query(&sql).fetch_one(&mut **conn).await.unwrap();
                (row.get(0), row.get(1), row.get(2))
            }
        }
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

async fn prove_sync(db: &mut Db<'_>) {
    // Old application: writes name and verified_at only.
    db.exec("INSERT INTO users (id, name, verified_at) VALUES (1, 'Ada', NULL)")
        .await;
    db.exec("INSERT INTO users (id, name, verified_at) VALUES (2, 'Bob', '2024-01-02 03:04:05')")
        .await;
    assert_eq!(db.user(1).await, (some("Ada"), some("Ada"), Some(false)));
    assert_eq!(db.user(2).await, (some("Bob"), some("Bob"), Some(true)));

    // New application: writes full_name (and email_verified with what it derives from).
    db.exec("INSERT INTO users (id, full_name, email_verified, verified_at) VALUES (3, 'Cy', true, '2024-01-02 03:04:05')")
        .await;
    assert_eq!(db.user(3).await, (some("Cy"), some("Cy"), Some(true)));
    // An insert that writes a synced column keeps what it wrote.
    db.exec(
        "INSERT INTO users (id, name, full_name, email_verified) VALUES (4, 'Di', 'Diana', true)",
    )
    .await;
    assert_eq!(db.user(4).await, (some("Di"), some("Diana"), Some(true)));

    // Old application updates: the new columns follow.
    db.exec("UPDATE users SET name = 'Ada L', verified_at = '2024-05-06 07:08:09' WHERE id = 1")
        .await;
    assert_eq!(db.user(1).await, (some("Ada L"), some("Ada L"), Some(true)));

    // New application updates full_name: the old column follows (reverse).
    db.exec("UPDATE users SET full_name = 'Robert' WHERE id = 2")
        .await;
    assert_eq!(
        db.user(2).await,
        (some("Robert"), some("Robert"), Some(true))
    );

    // A write that sets both keeps both as written.
    db.exec("UPDATE users SET name = 'n', full_name = 'f' WHERE id = 3")
        .await;
    assert_eq!(db.user(3).await, (some("n"), some("f"), Some(true)));

    // The new application writes email_verified itself: kept, not overwritten.
    db.exec("UPDATE users SET email_verified = false WHERE id = 2")
        .await;
    assert_eq!(db.user(2).await.2, Some(false));

    // An update of another column recomputes the synced column from its source.
    db.exec("UPDATE users SET verified_at = NULL WHERE id = 1")
        .await;
    assert_eq!(
        db.user(1).await,
        (some("Ada L"), some("Ada L"), Some(false))
    );

    // Many rows at once, from both applications: no loop, every row in step.
    db.exec("UPDATE users SET name = name || '!' WHERE id IN (1, 2)")
        .await;
    assert_eq!(
        db.user(1).await,
        (some("Ada L!"), some("Ada L!"), Some(false))
    );
    assert_eq!(
        db.user(2).await,
        (some("Robert!"), some("Robert!"), Some(true))
    );
}

// ---------------------------------------------------------------------------------------------
// SQLite

async fn sqlite(path: &Path) -> SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    SqliteConnection::connect_with(&options)
        .await
        .expect("open SQLite")
}

/// Runs the actions of one step (or its undo) on SQLite; a rebuild is the engine's work and
/// is not run here.
async fn sqlite_run(conn: &mut SqliteConnection, op: &Op, actions: &[Action], saved: &mut Saved) {
    for action in actions {
        let (sql, transaction) = match action {
            Action::Execute(s) => (s.sql.clone(), s.transaction),
            Action::ExecuteSaved(s) => (
                saved
                    .get(s.name)
                    .unwrap_or_else(|| panic!("nothing saved as {}", s.name))
                    .clone(),
                s.transaction,
            ),
            Action::Guard(guard) => {
                let value: i64 = sqlx::query_scalar(&guard.query)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("guard query failed:\n{}\n{e}", guard.query));
                assert_eq!(Expect::Integer(value), guard.expect, "{}", guard.query);
                continue;
            }
            Action::Capture(capture) => {
                let text: String = sqlx::query_scalar(&capture.query)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("capture failed:\n{}\n{e}", capture.query));
                saved.insert(capture.name, text);
                continue;
            }
            Action::Backfill(_) => {
                let Op::Backfill(backfill) = op else {
                    panic!("a backfill action from {}", op.name())
                };
                let key = backfill.key.clone().unwrap_or_else(|| vec!["id".into()]);
                let dialect = DialectKind::Sqlite.dialect();
                let mut after: Option<Vec<String>> = None;
                loop {
                    let bounds = dialect.backfill_bounds_sql(backfill, &key, after.as_deref(), 2);
                    let row = sqlx::query(&bounds)
                        .fetch_one(&mut *conn)
                        .await
                        .unwrap_or_else(|e| panic!("{bounds}\n{e}"));
                    let scanned: i64 = row.get(0);
                    if scanned == 0 {
                        break;
                    }
                    let upto: Vec<String> = (0..key.len()).map(|i| row.get(i + 1)).collect();
                    let update =
                        dialect.backfill_update_sql(backfill, &key, after.as_deref(), &upto);
                    sqlx::raw_sql(&update)
                        .execute(&mut *conn)
                        .await
                        .unwrap_or_else(|e| panic!("{update}\n{e}"));
                    after = Some(upto);
                }
                continue;
            }
            Action::Rebuild(rebuild) => {
                panic!("{} needs the engine's table rebuild", rebuild.table)
            }
        };
        if transaction {
            conn.execute("BEGIN IMMEDIATE").await.expect("BEGIN");
        }
        sqlx::raw_sql(&sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("SQLite refused:\n{sql}\n{e}"));
        if transaction {
            conn.execute("COMMIT").await.expect("COMMIT");
        }
    }
}

/// Every object of the main and the attached `billing` database, with its SQL, and every
/// column as `pragma_table_info` reports it.
async fn sqlite_catalog(conn: &mut SqliteConnection) -> String {
    let lines: Vec<String> = sqlx::query_scalar(
        r#"
SELECT line FROM (
  SELECT 'main ' || type || ' ' || name || ': ' || coalesce(sql, '') AS line FROM main.sqlite_master
  UNION ALL
  SELECT 'billing ' || type || ' ' || name || ': ' || coalesce(sql, '') FROM billing.sqlite_master
  UNION ALL
  SELECT 'column ' || m.name || '.' || c.name || ' ' || c.type || ' notnull=' || c."notnull" || ' default=' || coalesce(c.dflt_value, '')
    FROM main.sqlite_master m, pragma_table_info(m.name, 'main') c WHERE m.type = 'table'
  UNION ALL
  SELECT 'column billing.' || m.name || '.' || c.name || ' ' || c.type || ' notnull=' || c."notnull" || ' default=' || coalesce(c.dflt_value, '')
    FROM billing.sqlite_master m, pragma_table_info(m.name, 'billing') c WHERE m.type = 'table'
) ORDER BY line
"#,
    )
    .fetch_all(&mut *conn)
    .await
    .expect("catalog query");
    lines.join("\n")
}

const SQLITE_SCHEMA: &str = r#"
CREATE TABLE orgs (id integer PRIMARY KEY, name text);
CREATE TABLE users (
  id integer PRIMARY KEY,
  name text,
  email text,
  verified_at text,
  org_id integer REFERENCES orgs (id),
  status text DEFAULT 'active'
);
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE billing."Order Items" (id integer PRIMARY KEY, "weird""name" text, "Total Cents" integer);
CREATE UNIQUE INDEX billing."Order Items ""idx""" ON "Order Items" ("weird""name");
INSERT INTO orgs VALUES (1, 'acme'), (2, 'globex');
WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < 7)
INSERT INTO users (name, email, verified_at, org_id)
  SELECT 'user ' || n, 'user' || n || '@example.com', CASE WHEN n % 2 = 0 THEN '2024-01-01' END, 1 + n % 2 FROM n;
INSERT INTO billing."Order Items" VALUES (1, 'a', 100), (2, 'b"c', 250), (3, NULL, 0);
"#;

/// The steps of [`ROUNDTRIP_PLAN`] that SQLite runs as plain statements (the others are
/// table rebuilds, which the engine performs).
const SQLITE_ROUNDTRIP_PLAN: &str = r#"
[[expand]]
op = "create_table"
table = 'billing.Audit "Log"'
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = 'Message "text"', type = "text", nullable = false, default = "'none'" },
  { name = "at", type = "text", default = "CURRENT_TIMESTAMP" },
]

[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "boolean"

[[expand]]
op = "add_column"
table = "users"
column = "full_name"
type = "text"

[[expand]]
op = "add_column"
table = "billing.Order Items"
column = 'Amount "EUR"'
type = "numeric"
nullable = false
default = "0"

[[expand]]
op = "add_index"
table = "users"
columns = ["org_id", "email"]
where = "email IS NOT NULL"

[[expand]]
op = "add_index"
table = "billing.Order Items"
columns = ["Total Cents"]
name = 'Total "cents" idx'
unique = true

[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"

[[expand]]
op = "sync_column"
table = "users"
column = "full_name"
from = "name"
reverse = { column = "name", from = "full_name" }

[[expand]]
op = "sync_column"
table = "billing.Order Items"
column = 'Amount "EUR"'
from = '"Total Cents" / 100.0'

[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL", full_name = "name" }
where = "email_verified IS NULL OR full_name IS NULL"

[[backfill]]
table = "billing.Order Items"
set = { 'Amount "EUR"' = '"Total Cents" / 100.0' }
key = ["id"]

[[switch]]
op = "guard"
null_count = "users.email_verified"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE full_name IS DISTINCT FROM name"
expect = 0

[[switch]]
op = "sql"
up = "CREATE VIEW active_users AS SELECT id, full_name FROM users WHERE status = 'active'"
down = "DROP VIEW active_users"

[[contract]]
op = "drop_sync"
table = "users"
column = "email_verified"

[[contract]]
op = "drop_sync"
table = "billing.Order Items"
column = 'Amount "EUR"'

[[contract]]
op = "drop_index"
name = "users_email_idx"
table = "users"

[[contract]]
op = "drop_index"
name = 'billing.Order Items "idx"'
table = "billing.Order Items"
"#;

async fn sqlite_with_schema(dir: &tempfile::TempDir) -> SqliteConnection {
    let mut conn = sqlite(&dir.path().join("app.db")).await;
    let billing = dir.path().join("billing.db");
    sqlx::raw_sql(&format!(
        "ATTACH DATABASE '{}' AS billing",
        billing.display().to_string().replace('\'', "''")
    ))
    .execute(&mut conn)
    .await
    .expect("ATTACH");
    sqlx::raw_sql(SQLITE_SCHEMA)
        .execute(&mut conn)
        .await
        .expect("base schema");
    conn
}

#[tokio::test]
async fn sqlite_every_statement_applies_and_rolls_back_to_the_same_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite_with_schema(&dir).await;
    let before = sqlite_catalog(&mut conn).await;

    let plan = load(SQLITE_ROUNDTRIP_PLAN);
    let steps = planned(&plan, DialectKind::Sqlite);
    let mut saved: HashMap<(Phase, usize), Saved> = HashMap::new();
    for (phase, index, op, planned) in &steps {
        let saved = saved.entry((*phase, *index)).or_default();
        sqlite_run(&mut conn, op, &planned.actions, saved).await;
    }
    let after = sqlite_catalog(&mut conn).await;
    for expected in [
        r#"billing table Audit "Log": CREATE TABLE "Audit ""Log""""#,
        r#"column billing.Order Items.Amount "EUR" numeric notnull=1 default=0"#,
        r#"main index users_org_id_email_idx: CREATE INDEX "users_org_id_email_idx" ON "users" ("org_id", "email") WHERE email IS NOT NULL"#,
        // NOTE: SQLite keeps the statement without the schema name of the index.
        r#"billing index Total "cents" idx: CREATE UNIQUE INDEX "Total ""cents"" idx" ON "Order Items" ("Total Cents")"#,
        "main trigger bellows_sync_users_full_name_insert",
        "main trigger bellows_sync_users_full_name_update",
        "main view active_users",
    ] {
        assert!(after.contains(expected), "missing `{expected}` in\n{after}");
    }
    for gone in [
        "users_email_idx",
        r#"Order Items "idx""#,
        "bellows_sync_users_email_verified",
        "bellows_sync_Order Items",
    ] {
        assert!(!after.contains(gone), "`{gone}` is still there:\n{after}");
    }
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE email_verified IS NOT (verified_at IS NOT NULL) OR full_name IS NOT name",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(wrong, 0, "the backfill left rows unset");
    let amounts: Vec<f64> = sqlx::query_scalar(
        r#"SELECT CAST("Amount ""EUR""" AS REAL) FROM billing."Order Items" ORDER BY id"#,
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(amounts, [1.0, 2.5, 0.0]);

    for (phase, index, op, planned) in steps.iter().rev() {
        let saved = saved.get_mut(&(*phase, *index)).expect("applied");
        match &planned.undo {
            Undo::Actions(actions) => sqlite_run(&mut conn, op, actions, saved).await,
            Undo::Nothing(_) => {}
            Undo::Irreversible(why) => panic!("{} is irreversible: {why}", op.name()),
        }
    }
    assert_eq!(sqlite_catalog(&mut conn).await, before);
}

/// The operations SQLite emulates with a table rebuild: their captures run on a real SQLite,
/// their actions are rebuilds the engine performs, and `plan` says they are emulated.
#[tokio::test]
async fn sqlite_rebuild_operations_capture_the_table_and_say_they_are_emulated() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite_with_schema(&dir).await;
    let plan = load(
        r#"
[[expand]]
op = "add_foreign_key"
table = "users"
columns = ["org_id"]
references = { table = "orgs", columns = ["id"] }

[[expand]]
op = "add_check"
table = "billing.Order Items"
name = "positive"
check = '"Total Cents" >= 0'

[[switch]]
op = "set_default"
table = "users"
column = "status"
default = "lower('NEW')"

[[switch]]
op = "drop_default"
table = "users"
column = "name"

[[contract]]
op = "set_not_null"
table = "users"
column = "name"

[[contract]]
op = "drop_constraint"
table = "billing.Order Items"
name = "an_older_check"
"#,
    );
    for (_, _, op, planned) in planned(&plan, DialectKind::Sqlite) {
        assert!(
            planned.notes.iter().any(|n| n.starts_with("emulated")),
            "{} does not say it is emulated",
            op.name()
        );
        let mut rebuilds = 0;
        for action in planned.actions.iter() {
            match action {
                Action::Capture(capture) => {
                    let text: String = sqlx::query_scalar(&capture.query)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("capture failed:\n{}\n{e}", capture.query));
                    assert!(text.starts_with("CREATE TABLE"), "{text}");
                }
                Action::Guard(guard) => {
                    let nulls: i64 = sqlx::query_scalar(&guard.query)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                    assert_eq!(nulls, 0, "{}", guard.query);
                }
                Action::Rebuild(rebuild) => {
                    rebuilds += 1;
                    assert!(rebuild.outline.len() >= 5);
                }
                other => panic!("{} runs {other:?} besides its rebuild", op.name()),
            }
        }
        assert_eq!(rebuilds, 1, "{}", op.name());
        let Undo::Actions(undo) = &planned.undo else {
            panic!("{} has no undo", op.name())
        };
        assert!(matches!(undo[..], [Action::Rebuild(_)]), "{}", op.name());
    }
}

#[tokio::test]
async fn sqlite_irreversible_drops_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite_with_schema(&dir).await;
    let plan = load(
        r#"
[[contract]]
op = "drop_column"
table = "billing.Order Items"
column = "Total Cents"

[[contract]]
op = "drop_table"
table = "users"
"#,
    );
    for (_, _, op, planned) in planned(&plan, DialectKind::Sqlite) {
        assert!(matches!(planned.undo, Undo::Irreversible(_)));
        sqlite_run(&mut conn, &op, &planned.actions, &mut Saved::new()).await;
    }
    let catalog = sqlite_catalog(&mut conn).await;
    assert!(!catalog.contains("Total Cents"), "{catalog}");
    assert!(!catalog.contains("main table users"), "{catalog}");
}

#[tokio::test]
async fn sqlite_sync_triggers_keep_both_applications_in_step_without_loops() {
    for recursive_triggers in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite(&dir.path().join("sync.db")).await;
        sqlx::raw_sql(&format!(
            "PRAGMA recursive_triggers = {};
             CREATE TABLE users (id integer PRIMARY KEY, name text, verified_at text, full_name text, email_verified boolean)",
            if recursive_triggers { "ON" } else { "OFF" }
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let plan = load(SYNC_PLAN);
        for (_, _, op, planned) in planned(&plan, DialectKind::Sqlite) {
            sqlite_run(&mut conn, &op, &planned.actions, &mut Saved::new()).await;
        }
        let mut db = Db::Sqlite(&mut conn);
        prove_sync(&mut db).await;

        // SQLite has no column types to mismatch, but a misspelt column fails before any
        // trigger exists.
        let check = first_statement(MISSPELT_SYNC, DialectKind::Sqlite);
        let error = sqlx::raw_sql(&check).execute(&mut conn).await.unwrap_err();
        assert!(error.to_string().contains("no such column"), "{error}");
    }
}
