//! Version schemas when something goes wrong (issue 9, review): a type change refused by an
//! object of the user's own changes nothing, a rollback gives a column its own default back,
//! a conversion that fails on a row says which and where it is written.

use crate::harness::{Cli, Plans, PostgresDb, TestDb};

/// A view of the user's own on the old column makes contract's DROP COLUMN fail: the whole
/// `change_type` step is undone with it, so the sync triggers still keep both columns in step,
/// and once the view is gone the same apply finishes.
#[test]
fn a_refused_type_change_keeps_its_sync_triggers() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE invoices (id integer PRIMARY KEY, cents integer NOT NULL DEFAULT 0);
         INSERT INTO invoices VALUES (1, 150);
         CREATE VIEW big_invoices AS SELECT id, cents FROM invoices WHERE cents > 100;",
    );
    let plans = Plans::new();
    let file = plans.write(
        "0001_invoices.toml",
        r#"
[[contract]]
op = "change_type"
table = "invoices"
column = "cents"
type = "numeric(12,2)"
using = "cents / 100.0"
reverse = "(cents * 100)::integer"
"#,
    );
    Cli::apply(&db).args(["--to", "switch"]).plan(&file).run();
    Cli::apply(&db)
        .yes()
        .plan(&file)
        .code(1)
        .stderr_has("big_invoices")
        .run();
    assert!(db.column_exists("invoices", "bellows_new_cents"));
    // The new application's write still reaches the old column.
    let mut new_app = db.session();
    new_app.exec("SET search_path = bellows_0001_invoices, public");
    new_app.exec("UPDATE invoices SET cents = 2.5 WHERE id = 1");
    assert_eq!(db.rows("SELECT cents::text FROM invoices"), ["250"]);
    db.exec("DROP VIEW big_invoices");
    Cli::apply(&db).yes().plan(&file).run();
    assert_eq!(db.rows("SELECT cents::text FROM invoices"), ["2.50"]);
}

/// `drop_column`'s `default` on a column that has one of its own: rollback gives the column its
/// own default back (not none).
#[test]
fn rollback_restores_the_default_a_drop_column_replaced() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE events (id integer PRIMARY KEY, name text,
                              created_at timestamptz NOT NULL DEFAULT now(), legacy integer NOT NULL)",
    );
    let plans = Plans::new();
    let file = plans.write(
        "0002_events.toml",
        r#"
[[contract]]
op = "rename_column"
table = "events"
column = "name"
to = "title"

[[contract]]
op = "drop_column"
table = "events"
column = "created_at"
default = "'2000-01-01'"

[[contract]]
op = "drop_column"
table = "events"
column = "legacy"
default = "0"
"#,
    );
    let default_of = |column: &str| {
        db.rows(&format!(
            "SELECT coalesce(column_default, 'none') FROM information_schema.columns
              WHERE table_name = 'events' AND column_name = '{column}'"
        ))
    };
    Cli::apply(&db).args(["--to", "switch"]).plan(&file).run();
    assert_eq!(default_of("legacy"), ["0"]);
    Cli::rollback(&db).yes().plan(&file).run();
    assert_eq!(default_of("created_at"), ["now()"]);
    assert_eq!(default_of("legacy"), ["none"]);
}

/// A `using` that fails on one row stops the backfill with the database's reason, the place in
/// the walk, the caret on `using` in the plan and both ways out: the row corrected, apply
/// resumes; `using` corrected, rollback and apply again (expand's trigger computes `using`).
#[test]
fn a_conversion_that_fails_on_a_row_names_the_batch_and_the_using() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE scores (id integer PRIMARY KEY, score text);
         INSERT INTO scores SELECT g, g::text FROM generate_series(1, 30) g;
         UPDATE scores SET score = 'n/a' WHERE id IN (15, 25);",
    );
    let plans = Plans::new();
    let plan = |using: &str| {
        format!(
            "[settings]\nbatch_size = 10\n\n[[contract]]\nop = \"change_type\"\ntable = \"scores\"\ncolumn = \"score\"\ntype = \"integer\"\nusing = \"{using}\"\nreverse = \"CAST(score AS text)\"\n"
        )
    };
    let file = plans.write("0003_scores.toml", &plan("CAST(score AS integer)"));
    let failing = || {
        Cli::apply(&db)
            .args(["--to", "switch", "--allow-changed"])
            .plan(&file)
            .code(1)
            .stderr_has("invalid input syntax for type integer: \"n/a\"")
            .stderr_has("in this `using`")
            .stderr_has("correct that row, then `bellows apply` resumes")
    };
    failing()
        .stderr_has("the batch after key 10; the rows up to it are done")
        .stderr_has("using = \"CAST(score AS integer)\"")
        .run();
    db.exec("UPDATE scores SET score = '15' WHERE id = 15");
    failing()
        .stderr_has("the batch after key 20; the rows up to it are done")
        .run();
    let fixed = "CASE WHEN score ~ '^[0-9]+$' THEN CAST(score AS integer) END";
    plans.write("0003_scores.toml", &plan(fixed));
    Cli::rollback(&db)
        .yes()
        .arg("--allow-changed")
        .plan(&file)
        .run();
    Cli::apply(&db).args(["--to", "switch"]).plan(&file).run();
    assert_eq!(
        db.rows("SELECT id::text FROM scores WHERE bellows_new_score IS DISTINCT FROM id"),
        ["25"]
    );
}

/// Tables in a schema of their own (mixed case): once a later plan has dropped an older
/// version's view, `versions` still prints that version's search_path with the tables'
/// schema, not the session's.
#[test]
fn a_version_without_views_left_keeps_its_tables_schema_in_the_search_path() {
    let db = PostgresDb::new();
    db.exec(
        r#"CREATE SCHEMA "Billing";
           CREATE TABLE "Billing"."Invoices" (id integer PRIMARY KEY, "CustomerRef" text);"#,
    );
    let plans = Plans::new();
    let rename = |plan: &str, from: &str, to: &str| {
        plans.write(
            plan,
            &format!("[[contract]]\nop = \"rename_column\"\ntable = \"Billing.Invoices\"\ncolumn = \"{from}\"\nto = \"{to}\"\n"),
        )
    };
    let first = rename("0001_billing.toml", "CustomerRef", "customer_ref");
    Cli::apply(&db).yes().plan(&first).run();
    let second = rename("0002_billing.toml", "customer_ref", "reference");
    Cli::apply(&db).args(["--to", "switch"]).plan(&second).run();
    Cli::new(["versions", "-d", &db.url])
        .stdout_has("bellows_0001_billing of plan 0001_billing  (no views left")
        .stdout_has("SET search_path = bellows_0001_billing, \"Billing\";")
        .stdout_has("SET search_path = bellows_0002_billing, \"Billing\";")
        .run();
    // The application of the first version finds the table itself, as it is now.
    let mut app = db.session();
    app.exec(r#"SET search_path = bellows_0001_billing, "Billing""#);
    assert_eq!(
        app.rows(r#"SELECT count(customer_ref) FROM "Invoices""#),
        ["0"]
    );
}

/// What the docs tell a type change to do for the old column's index, default and NOT NULL:
/// `add_index` and `set_default` on the hidden column in switch, `set_not_null` after the step.
#[test]
fn a_type_change_gives_the_new_column_an_index_a_default_and_not_null_as_documented() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE t (id integer PRIMARY KEY, score text NOT NULL DEFAULT '0');
         CREATE INDEX t_score_old ON t (score);
         INSERT INTO t SELECT g, g::text FROM generate_series(1, 10) g;",
    );
    let plans = Plans::new();
    let file = plans.write(
        "0002_t.toml",
        r#"
[[switch]]
op = "add_index"
table = "t"
columns = ["bellows_new_score"]
name = "t_score_idx"

[[switch]]
op = "set_default"
table = "t"
column = "bellows_new_score"
default = "0"

[[contract]]
op = "change_type"
table = "t"
column = "score"
type = "integer"
using = "CAST(score AS integer)"
reverse = "CAST(score AS text)"

[[contract]]
op = "set_not_null"
table = "t"
column = "score"
"#,
    );
    Cli::check().args(["-d", &db.url]).plan(&file).run();
    Cli::apply(&db).args(["--to", "switch"]).plan(&file).run();
    let mut new_app = db.session();
    new_app.exec("SET search_path = bellows_0002_t, public");
    new_app.exec("INSERT INTO t (id) VALUES (11)");
    Cli::apply(&db).yes().plan(&file).run();
    assert_eq!(
        db.rows("SELECT data_type || ' ' || is_nullable || ' ' || column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 't' AND column_name = 'score'"),
        ["integer NO 0"]
    );
    assert_eq!(
        db.rows("SELECT indexdef FROM pg_indexes WHERE indexname = 't_score_idx'"),
        ["CREATE INDEX t_score_idx ON public.t USING btree (score)"]
    );
    assert_eq!(db.rows("SELECT score::text FROM t WHERE id = 11"), ["0"]);
}

/// A type change of a primary key with an identity (or serial) would lose both with the old
/// column: refused at the end of expand, before any backfill, naming what, and expand undone.
#[test]
fn a_type_change_of_a_primary_key_is_refused_at_expand() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE k (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);
         INSERT INTO k (v) VALUES ('a');",
    );
    let before = crate::harness::schema_dump(&db.url);
    let plans = Plans::new();
    let file = plans.write(
        "0005_k.toml",
        "[[contract]]\nop = \"change_type\"\ntable = \"k\"\ncolumn = \"id\"\ntype = \"bigint\"\nusing = \"id\"\nreverse = \"id\"\n",
    );
    Cli::apply(&db)
        .args(["--to", "switch"])
        .plan(&file)
        .code(1)
        .stderr_has("id (in the primary key, an identity column)")
        .stderr_has("change this column's type another way")
        .run();
    assert!(!db.column_exists("k", "bellows_new_id"));
    assert!(db.bool("SELECT to_regnamespace('bellows_0005_k') IS NULL"));
    assert_eq!(crate::harness::schema_dump(&db.url), before);
}
