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

use bellows::dialect::planned::{Action, Expect, Lock, LockPolicy, PlannedOp, Undo};
use bellows::dialect::{plan_op, quote_literal, DialectKind};
use bellows::ops::Op;
use bellows::plan::load::load_str;
use bellows::plan::Plan;
use bellows::vocab::{Phase, TableName};

use crate::harness::{Session, SqliteDb, TestDb};

// ---------------------------------------------------------------------------------------------
// The tests

backend_test! {
    mysql: "its SQL is PostgreSQL's and SQLite's; engine_mysql round-trips every operation on MariaDB";
    fn every_operation_applies_and_rolls_back_to_the_same_catalog(db) {
        let case = Roundtrip::of(db.dialect());
        let mut s = with_schema(db);
        let before = catalog(&mut *s, db.dialect());

        let steps = planned(&load(case.plan), db.dialect());
        let mut saved: HashMap<(Phase, usize), Saved> = HashMap::new();
        let mut checked = 0;
        for (phase, index, op, planned) in &steps {
            let saved = saved.entry((*phase, *index)).or_default();
            checked += run(&mut *s, db.dialect(), op, &planned.actions, saved);
        }

        // The applied plan, as the catalog and the rows show it.
        let after = catalog(&mut *s, db.dialect());
        for expected in case.present {
            assert!(after.contains(expected), "missing `{expected}` in\n{after}");
        }
        for gone in case.gone {
            assert!(!after.contains(gone), "`{gone}` is still there:\n{after}");
        }
        assert_eq!(s.i64(case.unset_rows), 0, "the backfill left rows unset");
        assert_eq!(s.rows(case.amounts), case.expected_amounts);

        // Roll everything back, newest step first: the catalog is what it was.
        for (phase, index, op, planned) in steps.iter().rev() {
            let saved = saved.get_mut(&(*phase, *index)).expect("applied");
            match &planned.undo {
                Undo::Actions(actions) => checked += run(&mut *s, db.dialect(), op, actions, saved),
                Undo::Nothing(_) => {}
                Undo::Irreversible(why) => panic!("{} is irreversible: {why}", op.name()),
            }
        }
        assert_eq!(catalog(&mut *s, db.dialect()), before);
        assert!(checked >= case.lock_claims, "only {checked} lock claims were checked");
    }
}

backend_test! {
    mysql: "its SQL is PostgreSQL's and SQLite's; engine_mysql runs set_not_null's guard on MariaDB";
    fn set_not_null_starts_with_a_guard_that_counts_the_nulls(db) {
        let mut s = with_schema(db);
        let steps = planned(&load(SET_NOT_NULL_VERIFIED_AT), db.dialect());
        let Action::Guard(guard) = &steps[0].3.actions[0] else {
            panic!("set_not_null starts with its guard")
        };
        let nulls = s.i64(&guard.query);
        assert_eq!(nulls, 4, "4 of 7 users have no verified_at");
        assert_ne!(Expect::Integer(nulls), guard.expect);
    }
}

backend_test! {
    mysql: "its SQL is PostgreSQL's and SQLite's; engine_mysql runs the drops on MariaDB";
    fn irreversible_drops_run(db) {
        let mut s = with_schema(db);
        let (before, plan, gone) = match db.dialect() {
            DialectKind::Postgres => (
                "ALTER TABLE users DROP CONSTRAINT users_org_fk",
                PG_DROPS,
                ["weird", "table orgs"],
            ),
            DialectKind::Sqlite => ("SELECT 1", SQLITE_DROPS, ["Total Cents", "main table users"]),
            DialectKind::Mysql => unreachable!("not run on MySQL"),
        };
        s.exec(before);
        for (_, _, op, planned) in planned(&load(plan), db.dialect()) {
            assert!(matches!(planned.undo, Undo::Irreversible(_)));
            let checked = run(&mut *s, db.dialect(), &op, &planned.actions, &mut Saved::new());
            assert!(checked > 0 || db.dialect() == DialectKind::Sqlite, "{}", op.name());
        }
        let catalog = catalog(&mut *s, db.dialect());
        for gone in gone {
            assert!(!catalog.contains(gone), "`{gone}` is still there:\n{catalog}");
        }
    }
}

backend_test! {
    mysql: "its SQL is PostgreSQL's and SQLite's; engine_mysql runs the sync triggers on MariaDB";
    /// The sync triggers of the two seed patterns, as the old and the new application write
    /// (on SQLite with recursive triggers off and on).
    fn sync_triggers_keep_both_applications_in_step_without_loops(db) {
        let (pragmas, users, mistakes): (&[&str], _, &[(&str, &str)]) = match db.dialect() {
            DialectKind::Postgres => (
                &["SELECT 1"],
                "id bigint PRIMARY KEY, name text, verified_at timestamptz, full_name text, email_verified boolean",
                &[(MISSPELT_SYNC, "column"), (MISTYPED_SYNC, "column")],
            ),
            // SQLite has no column types to mismatch.
            DialectKind::Sqlite => (
                &["PRAGMA recursive_triggers = OFF", "PRAGMA recursive_triggers = ON"],
                "id integer PRIMARY KEY, name text, verified_at text, full_name text, email_verified boolean",
                &[(MISSPELT_SYNC, "no such column")],
            ),
            DialectKind::Mysql => unreachable!("not run on MySQL"),
        };
        for pragma in pragmas {
            let mut s = db.session();
            s.exec(pragma);
            s.exec(&format!("DROP TABLE IF EXISTS users; CREATE TABLE users ({users})"));
            for (_, _, op, planned) in planned(&load(SYNC_PLAN), db.dialect()) {
                run(&mut *s, db.dialect(), &op, &planned.actions, &mut Saved::new());
            }
            prove_sync(&mut *s);

            // A mistake in `from` fails the step's first statement, before any trigger exists.
            for (mistake, message) in mistakes {
                let check = first_statement(mistake, db.dialect());
                assert!(check.starts_with("EXPLAIN UPDATE"), "{check}");
                let error = s.try_exec(&check).unwrap_err();
                assert!(error.contains(message), "{error}");
            }
        }
    }
}

/// The operations SQLite emulates with a table rebuild: their captures run on a real SQLite,
/// their actions are rebuilds the engine performs, and `plan` says they are emulated.
#[test]
fn sqlite_rebuild_operations_capture_the_table_and_say_they_are_emulated() {
    let db = SqliteDb::new();
    let mut s = with_schema(&db);
    for (_, _, op, planned) in planned(&load(SQLITE_REBUILDS), DialectKind::Sqlite) {
        assert!(
            planned.notes.iter().any(|n| n.starts_with("emulated")),
            "{} does not say it is emulated",
            op.name()
        );
        let mut rebuilds = 0;
        for action in planned.actions.iter() {
            match action {
                Action::Capture(capture) => {
                    let text = s.text(&capture.query);
                    assert!(text.starts_with("CREATE TABLE"), "{text}");
                }
                Action::Guard(guard) => assert_eq!(s.i64(&guard.query), 0, "{}", guard.query),
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

fn first_statement(toml: &str, kind: DialectKind) -> String {
    match &planned(&load(toml), kind)[0].3.actions[0] {
        Action::Execute(statement) => statement.sql.clone(),
        other => panic!("sync_column starts with {other:?}"),
    }
}

/// Saved captures, per step.
type Saved = HashMap<&'static str, String>;

// ---------------------------------------------------------------------------------------------
// A stand-in for the engine

/// Runs the actions of one step (or of its undo). Returns how many lock claims were checked
/// against `pg_locks` (PostgreSQL); a rebuild is the engine's work and is not run here.
fn run(
    s: &mut dyn Session,
    kind: DialectKind,
    op: &Op,
    actions: &[Action],
    saved: &mut Saved,
) -> usize {
    let mut checked = 0;
    for action in actions {
        match action {
            Action::Execute(st) => {
                let claim = Claim {
                    lock: st.lock,
                    policy: st.policy,
                    table: st.table.as_ref(),
                    exact: true,
                };
                checked += statement(s, kind, &st.sql, st.transaction, claim);
            }
            Action::ExecuteSaved(st) => {
                let sql = saved
                    .get(st.name)
                    .unwrap_or_else(|| panic!("nothing saved as {}", st.name))
                    .clone();
                // Saved SQL is known only once the step ran: the claim is an upper bound.
                let claim = Claim {
                    lock: st.lock,
                    policy: st.policy,
                    table: st.table.as_ref(),
                    exact: false,
                };
                checked += statement(s, kind, &sql, st.transaction, claim);
            }
            Action::Guard(guard) => {
                assert_eq!(
                    Expect::Integer(s.i64(&guard.query)),
                    guard.expect,
                    "{}",
                    guard.query
                );
            }
            Action::Capture(capture) => {
                saved.insert(capture.name, s.text(&capture.query));
            }
            Action::Backfill(_) => backfill(s, kind, op),
            Action::Rebuild(rebuild) => {
                panic!("{} needs the engine's table rebuild", rebuild.table)
            }
        }
    }
    checked
}

/// The lock a statement claims to take, and on which table.
struct Claim<'a> {
    lock: Lock,
    policy: LockPolicy,
    table: Option<&'a TableName>,
    /// The exact lock, or (for saved SQL) an upper bound.
    exact: bool,
}

/// Runs one statement as the engine would. On PostgreSQL, when it takes a named lock on a
/// table (and is not CONCURRENTLY, which cannot run in a transaction), runs it inside a
/// transaction and checks the strongest lock it holds on the table against the claim: 1 when
/// it did.
fn statement(
    s: &mut dyn Session,
    kind: DialectKind,
    sql: &str,
    transaction: bool,
    claim: Claim,
) -> usize {
    if kind == DialectKind::Sqlite {
        if transaction {
            s.exec("BEGIN IMMEDIATE");
            s.exec(sql);
            s.exec("COMMIT");
        } else {
            s.exec(sql);
        }
        return 0;
    }
    let checked_table = claim.table.filter(|_| {
        claim.policy != LockPolicy::Plain
            && claim.lock != Lock::None
            && !sql.contains("CONCURRENTLY")
    });
    if !transaction && checked_table.is_none() {
        s.exec(sql);
        return 0;
    }
    // The table's oid before the statement: a DROP TABLE makes the name unresolvable.
    let oid = checked_table
        .map(|table| {
            let name = quote_literal(&kind.dialect().table(table));
            s.text(&format!("SELECT to_regclass({name})::oid::bigint"))
        })
        .filter(|oid| oid != "NULL");
    s.exec("BEGIN");
    s.exec(sql);
    let mut held = None;
    if let Some(oid) = oid {
        let modes = s.rows(&format!(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = {oid}::bigint::oid"
        ));
        let strongest = modes.iter().map(|m| pg_lock_mode(m)).max();
        if claim.exact {
            assert_eq!(
                strongest,
                Some(claim.lock),
                "the dialect claims {} for\n{sql}\nbut PostgreSQL holds {modes:?}",
                claim.lock.name()
            );
        } else {
            assert!(
                strongest.unwrap_or(Lock::None) <= claim.lock,
                "the dialect claims at most {} for\n{sql}\nbut PostgreSQL holds {modes:?}",
                claim.lock.name()
            );
        }
        held = strongest;
    }
    s.exec("COMMIT");
    usize::from(held.is_some())
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

/// A backfill's batches (two rows each), as the engine's batch loop runs them.
fn backfill(s: &mut dyn Session, kind: DialectKind, op: &Op) {
    let Op::Backfill(backfill) = op else {
        panic!("a backfill action from {}", op.name())
    };
    let key = backfill.key.clone().unwrap_or_else(|| vec!["id".into()]);
    let dialect = kind.dialect();
    let mut after: Option<Vec<String>> = None;
    loop {
        let bounds = dialect.backfill_bounds_sql(backfill, &key, after.as_deref(), None, 2);
        let mut row = s.table(&bounds).swap_remove(0);
        if row[0] == "0" {
            break;
        }
        let upto = row.split_off(1);
        s.exec(&dialect.backfill_update_sql(backfill, &key, after.as_deref(), &upto));
        after = Some(upto);
    }
}

// ---------------------------------------------------------------------------------------------
// The databases

/// A session on `db` with the base schema; on SQLite, `billing` is a database attached next
/// to the test's own.
fn with_schema(db: &dyn TestDb) -> Box<dyn Session + '_> {
    let mut s = db.session();
    match db.dialect() {
        DialectKind::Postgres => s.exec(PG_SCHEMA),
        DialectKind::Sqlite => {
            let file = db.url().strip_prefix("sqlite:").expect("a SQLite URL");
            let billing = Path::new(file).with_file_name("billing.db");
            s.exec(&format!(
                "ATTACH DATABASE {} AS billing",
                quote_literal(&billing.display().to_string())
            ));
            s.exec(SQLITE_SCHEMA);
        }
        DialectKind::Mysql => unreachable!("not run on MySQL"),
    }
    s
}

/// PostgreSQL: every table, column, default, constraint (with its validity), index, trigger
/// and function of the schemas `public` and `billing`. SQLite: every object of the main and
/// the attached `billing` database, with its SQL, and every column as `pragma_table_info`
/// reports it. One per line, sorted.
fn catalog(s: &mut dyn Session, kind: DialectKind) -> String {
    let sql = match kind {
        DialectKind::Postgres => PG_CATALOG,
        DialectKind::Sqlite => SQLITE_CATALOG,
        DialectKind::Mysql => unreachable!("not run on MySQL"),
    };
    s.rows(sql).join("\n")
}

const PG_CATALOG: &str = r#"
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
"#;

const SQLITE_CATALOG: &str = r#"
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
"#;

// ---------------------------------------------------------------------------------------------
// The sync semantics, shared by both databases

/// `(name, full_name, email_verified)` of a user.
fn user(s: &mut dyn Session, id: i64) -> (Option<String>, Option<String>, Option<bool>) {
    let row = s
        .table(&format!(
            "SELECT name, full_name, email_verified FROM users WHERE id = {id}"
        ))
        .swap_remove(0);
    let text = |i: usize| Some(row[i].clone()).filter(|v| v != "NULL");
    let flag = match row[2].as_str() {
        "NULL" => None,
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        other => panic!("email_verified is {other:?}"),
    };
    (text(0), text(1), flag)
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn prove_sync(s: &mut dyn Session) {
    // Old application: writes name and verified_at only.
    s.exec("INSERT INTO users (id, name, verified_at) VALUES (1, 'Ada', NULL)");
    s.exec("INSERT INTO users (id, name, verified_at) VALUES (2, 'Bob', '2024-01-02 03:04:05')");
    assert_eq!(user(s, 1), (some("Ada"), some("Ada"), Some(false)));
    assert_eq!(user(s, 2), (some("Bob"), some("Bob"), Some(true)));

    // New application: writes full_name (and email_verified with what it derives from).
    s.exec("INSERT INTO users (id, full_name, email_verified, verified_at) VALUES (3, 'Cy', true, '2024-01-02 03:04:05')");
    assert_eq!(user(s, 3), (some("Cy"), some("Cy"), Some(true)));
    // An insert that writes a synced column keeps what it wrote.
    s.exec(
        "INSERT INTO users (id, name, full_name, email_verified) VALUES (4, 'Di', 'Diana', true)",
    );
    assert_eq!(user(s, 4), (some("Di"), some("Diana"), Some(true)));

    // Old application updates: the new columns follow.
    s.exec("UPDATE users SET name = 'Ada L', verified_at = '2024-05-06 07:08:09' WHERE id = 1");
    assert_eq!(user(s, 1), (some("Ada L"), some("Ada L"), Some(true)));

    // New application updates full_name: the old column follows (reverse).
    s.exec("UPDATE users SET full_name = 'Robert' WHERE id = 2");
    assert_eq!(user(s, 2), (some("Robert"), some("Robert"), Some(true)));

    // A write that sets both keeps both as written.
    s.exec("UPDATE users SET name = 'n', full_name = 'f' WHERE id = 3");
    assert_eq!(user(s, 3), (some("n"), some("f"), Some(true)));

    // The new application writes email_verified itself: kept, not overwritten.
    s.exec("UPDATE users SET email_verified = false WHERE id = 2");
    assert_eq!(user(s, 2).2, Some(false));

    // An update of another column recomputes the synced column from its source.
    s.exec("UPDATE users SET verified_at = NULL WHERE id = 1");
    assert_eq!(user(s, 1), (some("Ada L"), some("Ada L"), Some(false)));

    // Many rows at once, from both applications: no loop, every row in step.
    s.exec("UPDATE users SET name = name || '!' WHERE id IN (1, 2)");
    assert_eq!(user(s, 1), (some("Ada L!"), some("Ada L!"), Some(false)));
    assert_eq!(user(s, 2), (some("Robert!"), some("Robert!"), Some(true)));
}

// ---------------------------------------------------------------------------------------------
// Schemas and plans

/// What the round trip runs on one backend, and what it must find.
struct Roundtrip {
    plan: &'static str,
    /// Lines the catalog has once the plan is applied.
    present: &'static [&'static str],
    /// Text the catalog no longer has once the plan is applied.
    gone: &'static [&'static str],
    /// A count of the rows the backfill did not fill: must be 0.
    unset_rows: &'static str,
    /// The amounts the backfill computed, as text.
    amounts: &'static str,
    expected_amounts: &'static [&'static str],
    /// How many lock claims at least were checked against the database.
    lock_claims: usize,
}

impl Roundtrip {
    fn of(kind: DialectKind) -> Roundtrip {
        match kind {
            DialectKind::Postgres => Roundtrip {
                plan: ROUNDTRIP_PLAN,
                present: &[
                    "column users.email_verified boolean not_null=t default=false",
                    "column users.status text not_null=f default=",
                    r#"column billing."Order Items"."Amount ""EUR""" numeric(12,2) not_null=t default=0"#,
                    "column users.score integer not_null=t default=0",
                    r#"column billing."Audit ""Log"""."Message ""text""" text not_null=t default='none'::text"#,
                    "CREATE INDEX users_org_id_email_idx ON public.users USING btree (org_id, email) WHERE (email IS NOT NULL)",
                    r#"CREATE UNIQUE INDEX "Total ""cents"" idx" ON billing."Order Items" USING btree ("Total Cents")"#,
                    "constraint users users_org_fk2 FOREIGN KEY (org_id) REFERENCES orgs(id) ON DELETE SET NULL valid=t",
                    r#"constraint billing."Order Items" "Amount ""positive""" CHECK (("Amount ""EUR""" >= (0)::numeric)) valid=t"#,
                    r#"trigger CREATE TRIGGER "bellows_sync_users_full_name$insert" BEFORE INSERT ON public.users FOR EACH ROW EXECUTE"#,
                    "trigger CREATE TRIGGER bellows_sync_users_full_name BEFORE UPDATE ON public.users FOR EACH ROW WHEN (((NOT (new.full_name IS DISTINCT FROM old.full_name)) OR (NOT (new.name IS DISTINCT FROM old.name))))",
                    "table active_users",
                ],
                gone: &[
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
                ],
                unset_rows: "SELECT count(*) FROM users WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL) OR full_name IS DISTINCT FROM name",
                amounts: r#"SELECT "Amount ""EUR"""::text FROM billing."Order Items" ORDER BY id"#,
                expected_amounts: &["1.00", "2.50", "0.00"],
                lock_claims: 40,
            },
            DialectKind::Sqlite => Roundtrip {
                plan: SQLITE_ROUNDTRIP_PLAN,
                present: &[
                    r#"billing table Audit "Log": CREATE TABLE "Audit ""Log""""#,
                    r#"column billing.Order Items.Amount "EUR" numeric notnull=1 default=0"#,
                    r#"main index users_org_id_email_idx: CREATE INDEX "users_org_id_email_idx" ON "users" ("org_id", "email") WHERE email IS NOT NULL"#,
                    // NOTE: SQLite keeps the statement without the schema name of the index.
                    r#"billing index Total "cents" idx: CREATE UNIQUE INDEX "Total ""cents"" idx" ON "Order Items" ("Total Cents")"#,
                    "main trigger bellows_sync_users_full_name_insert",
                    "main trigger bellows_sync_users_full_name_update",
                    "main view active_users",
                ],
                gone: &[
                    "users_email_idx",
                    r#"Order Items "idx""#,
                    "bellows_sync_users_email_verified",
                    "bellows_sync_Order Items",
                ],
                unset_rows: "SELECT count(*) FROM users WHERE email_verified IS NOT (verified_at IS NOT NULL) OR full_name IS NOT name",
                amounts: r#"SELECT CAST("Amount ""EUR""" AS REAL) FROM billing."Order Items" ORDER BY id"#,
                expected_amounts: &["1", "2.5", "0"],
                lock_claims: 0,
            },
            DialectKind::Mysql => unreachable!("not run on MySQL"),
        }
    }
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

const SET_NOT_NULL_VERIFIED_AT: &str = r#"
[[contract]]
op = "set_not_null"
table = "users"
column = "verified_at"
"#;

const PG_DROPS: &str = r#"
[[contract]]
op = "drop_column"
table = "billing.Order Items"
column = 'weird"name'

[[contract]]
op = "drop_table"
table = "orgs"
"#;

const SQLITE_DROPS: &str = r#"
[[contract]]
op = "drop_column"
table = "billing.Order Items"
column = "Total Cents"

[[contract]]
op = "drop_table"
table = "users"
"#;

const SQLITE_REBUILDS: &str = r#"
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
"#;
