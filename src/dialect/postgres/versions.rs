//! PostgreSQL version schemas: the views of a plan that renames, and the renames themselves.
//!
//! A view is made at the end of expand from the catalog (the table's columns as they are then,
//! so the plan's own `add_column`s are in it), by a `DO` block: a simple, automatically updatable
//! view that lists the columns, renamed or left out as the plan says, `security_invoker` on 15+.
//! Every name in it is schema-qualified when it is made; PostgreSQL keeps a view's table and
//! columns by number, so the view follows the physical renames of contract without being
//! touched and ends as a pass-through, and nothing depends on `search_path`.

use crate::dialect::common::plain;
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::version::VersionedTable;
use crate::ops::*;

use super::{sync_probe, Postgres};

/// The comment that marks a schema as the version schema of `plan` (read by `status`).
pub fn schema_comment(plan: &str) -> String {
    serde_json::json!({ "bellows_version_of": plan }).to_string()
}

pub(super) fn rename_column(pg: &Postgres, op: &RenameColumn) -> Result<PlannedOp, Unsupported> {
    let rename = |from: &str, to: &str| {
        Statement::ddl(
            pg.alter(
                &op.table,
                format!("RENAME COLUMN {} TO {}", pg.ident(from), pg.ident(to)),
            ),
            Lock::AccessExclusive,
            &op.table,
        )
    };
    let probe = sync_probe::syncs_still_resolve_sql(
        pg,
        &op.table,
        &format!(
            "RENAME COLUMN {} TO {}",
            pg.ident(&op.column),
            pg.ident(&op.to)
        ),
        &format!("rename_column {}.{} to {}", op.table, op.column, op.to),
    );
    Ok(PlannedOp {
        actions: vec![
            Action::Execute(Statement::ddl(probe, Lock::AccessShare, &op.table)),
            Action::Execute(rename(&op.column, &op.to)),
        ],
        undo: Undo::Actions(vec![Action::Execute(rename(&op.to, &op.column))]),
        notes: vec![
            "catalog-only: no row is written; the lock is held only for an instant".into(),
            format!(
                "the version schema's view already showed {} as {}; it now reads the renamed column (views keep columns by number)",
                op.column, op.to
            ),
            "a sync trigger that still names the column (one an earlier plan made, say) fails the step before the rename: each sync function of the table is run once on a row of NULLs in a temporary copy of the table with the column renamed, and must find every column it names".into(),
        ],
    })
}

pub(super) fn rename_table(pg: &Postgres, op: &RenameTable) -> Result<PlannedOp, Unsupported> {
    let rename = |from: &crate::vocab::TableName, to: &str| {
        Statement::ddl(
            pg.alter(from, format!("RENAME TO {}", pg.ident(to))),
            Lock::AccessExclusive,
            from,
        )
    };
    Ok(PlannedOp {
        actions: vec![Action::Execute(rename(&op.table, &op.to))],
        undo: Undo::Actions(vec![Action::Execute(rename(&op.renamed(), &op.table.name))]),
        notes: vec![
            "catalog-only: no row is written; the lock is held only for an instant".into(),
            "the old application must be stopped: it names the table by its old name".into(),
        ],
    })
}

pub(super) fn change_type(pg: &Postgres, op: &ChangeType) -> Result<PlannedOp, Unsupported> {
    let hidden = op.hidden();
    // NOTE: one transaction for all of it: a DROP COLUMN refused (a view or a foreign key of
    // the user's own depends on the old column) must not leave the sync triggers dropped, the
    // new version's writes no longer reaching the old column.
    let mut sql: Vec<String> = pg
        .drop_sync_statements(&op.table, &hidden)
        .into_iter()
        .filter_map(|action| match action {
            Action::Execute(statement) => Some(statement.sql),
            _ => None,
        })
        .collect();
    sql.push(pg.alter(&op.table, format!("DROP COLUMN {}", pg.ident(&op.column))));
    sql.push(pg.alter(
        &op.table,
        format!(
            "RENAME COLUMN {} TO {}",
            pg.ident(&hidden),
            pg.ident(&op.column)
        ),
    ));
    let statement = Statement::ddl(sql.join(";\n"), Lock::AccessExclusive, &op.table);
    Ok(PlannedOp {
        actions: vec![Action::Execute(statement)],
        undo: Undo::Irreversible(format!(
            "change_type drops the old column {}.{}",
            op.table, op.column
        )),
        notes: vec![
            format!(
                "drops the sync trigger, the old column, and gives {hidden} (backfilled, of type {}) the name {}, in one transaction: catalog-only, the lock held for an instant",
                op.type_, op.column
            ),
            "the version schema's view already showed the new column under this name; it keeps reading it (views keep columns by number)".into(),
            "the old column's NOT NULL, default, indexes and constraints go with it: add them to the new one in the plan (add_index and set_default on the hidden column in switch; set_not_null after this step)".into(),
            "a view of your own or another table's foreign key that uses the old column makes the step fail with nothing changed: drop it in a `sql` step before this one, and recreate it after".into(),
        ],
    })
}

pub(super) fn version(pg: &Postgres, op: &Version) -> Result<PlannedOp, Unsupported> {
    let mut actions = vec![Action::Execute(plain(schema_sql(op)))];
    let mut undo = Vec::new();
    if let Some(first) = op.defaults.first() {
        // NOTE: one capture for every default the step sets (a capture's name is fixed): the
        // SQL that restores each column's own default, which rollback runs.
        let queries: Vec<String> = op
            .defaults
            .iter()
            .map(|d| format!("({})", pg.previous_default_query(&d.table, &d.column)))
            .collect();
        actions.push(Action::Capture(Capture {
            name: "previous_defaults",
            description: "the current defaults of the columns the new version does not see, as the SQL that restores them".into(),
            query: format!("SELECT concat_ws('; ', {})", queries.join(", ")),
            missing: None,
        }));
        undo.push(Action::ExecuteSaved(ExecuteSaved {
            name: "previous_defaults",
            description: "restore the previous defaults of the columns the new version did not see"
                .into(),
            lock: Lock::AccessExclusive,
            table: Some(first.table.clone()),
            effect: TableEffect::None,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        }));
    }
    for default in &op.defaults {
        actions.push(Action::Execute(Statement::ddl(
            pg.alter(
                &default.table,
                format!(
                    "ALTER COLUMN {} SET DEFAULT {}",
                    pg.ident(&default.column),
                    default.default
                ),
            ),
            Lock::AccessExclusive,
            &default.table,
        )));
    }
    let mut notes = vec![format!(
        "the new application sets search_path = {}, <the tables' schema>; the old one changes nothing",
        pg.ident(&op.schema)
    )];
    for table in &op.tables {
        actions.push(Action::Execute(
            Statement::ddl(
                view_sql(pg, &op.schema, table),
                Lock::AccessShare,
                &table.table,
            )
            .policy(LockPolicy::Short),
        ));
        notes.push(describe_view(&op.schema, table));
    }
    undo.push(Action::Execute(plain(format!(
        "DROP SCHEMA IF EXISTS {} CASCADE",
        pg.ident(&op.schema)
    ))));
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(undo),
        notes,
    })
}

/// What a view shows, for `bellows plan`.
fn describe_view(schema: &str, table: &VersionedTable) -> String {
    let mut shows = vec![format!("every column of {} in order", table.table)];
    shows.extend(
        table
            .renames
            .iter()
            .map(|(column, shown)| format!("{column} as {shown}")),
    );
    shows.extend(table.hidden.iter().map(|c| format!("without {c}")));
    format!(
        "view {schema}.{}: SELECT {} FROM {} (simple, so INSERT, UPDATE, DELETE and RETURNING go through to the table, with its defaults, constraints, triggers and row-level security)",
        table.view,
        shows.join(", "),
        table.table
    )
}

/// How a version schema's comment starts ([`schema_comment`]): the mark bellows finds them by.
const VERSION_MARK: &str = "{\"bellows_version_of\":";

/// Creates the version schema, or finds it already made by this plan (a resumed step).
fn schema_sql(op: &Version) -> String {
    let schema = quote_literal(&crate::dialect::quote_ident(&op.schema));
    let comment = quote_literal(&schema_comment(&op.plan));
    format!(
        "DO $bellows$\nBEGIN\n  IF to_regnamespace({schema}) IS NULL THEN\n    EXECUTE format('CREATE SCHEMA %I', {name});\n    EXECUTE format('COMMENT ON SCHEMA %I IS %L', {name}, {comment});\n    EXECUTE format('GRANT USAGE ON SCHEMA %I TO PUBLIC', {name});\n  ELSIF (CASE WHEN obj_description(to_regnamespace({schema}), 'pg_namespace') LIKE '{mark}%'
              THEN obj_description(to_regnamespace({schema}), 'pg_namespace')::json->>'bellows_version_of' END)
        IS DISTINCT FROM {plan} THEN\n    RAISE EXCEPTION 'schema % exists and is not the version schema of plan %', {name}, {plan}\n      USING HINT = 'set version_schema in the plan to another name';\n  END IF;\nEND\n$bellows$",
        name = quote_literal(&op.schema),
        plan = quote_literal(&op.plan),
        mark = VERSION_MARK,
    )
}

/// `ARRAY['a', 'b']::name[]`.
fn name_array(names: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = names.map(|n| quote_literal(&n)).collect();
    format!("ARRAY[{}]::name[]", items.join(", "))
}

/// PL/pgSQL (in [`view_sql`]'s block, `base` being the table) that refuses a `change_type` of
/// a column whose DROP would take what no step gives back: its primary key, identity, owned
/// sequence, or another table's foreign key to it. Refused at expand, before any backfill.
fn retyped_check(table: &VersionedTable) -> String {
    if table.retyped.is_empty() {
        return String::new();
    }
    let retyped = name_array(table.retyped.iter().cloned());
    let shown_table = quote_literal(&table.table.to_string());
    format!(
        "  SELECT string_agg(format('%s (%s)', r.col, r.reasons), '; ') INTO missing FROM (
    SELECT a.attname AS col, concat_ws(', ',
      CASE WHEN EXISTS (SELECT FROM pg_index i WHERE i.indrelid = base AND i.indisprimary
                          AND a.attnum = ANY (i.indkey)) THEN 'in the primary key' END,
      CASE WHEN a.attidentity <> '' THEN 'an identity column' END,
      CASE WHEN EXISTS (SELECT FROM pg_depend d JOIN pg_class q ON q.oid = d.objid AND q.relkind = 'S'
                         WHERE d.classid = 'pg_class'::regclass AND d.refobjid = base
                           AND d.refobjsubid = a.attnum AND d.deptype = 'a')
           THEN 'owns the sequence of its default' END,
      CASE WHEN EXISTS (SELECT FROM pg_constraint f WHERE f.confrelid = base AND f.contype = 'f'
                          AND a.attnum = ANY (f.confkey)) THEN 'a foreign key references it' END) AS reasons
      FROM pg_attribute a WHERE a.attrelid = base AND a.attname = ANY ({retyped})) AS r
   WHERE r.reasons <> '';
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'change_type cannot carry over what the old column of % holds: %', {shown_table}, missing
      USING HINT = 'change_type drops the old column, and with it its primary key, identity and sequence (other tables'' foreign keys refuse the drop): change this column''s type another way';
  END IF;
"
    )
}

/// (Re)creates the view of one table from the catalog, with the table's grants.
fn view_sql(pg: &Postgres, schema: &str, table: &VersionedTable) -> String {
    let base = quote_literal(&pg.table(&table.table));
    let physical = name_array(table.renames.iter().map(|(c, _)| c.clone()));
    let shown = name_array(table.renames.iter().map(|(_, s)| s.clone()));
    let named = name_array(
        table
            .renames
            .iter()
            .map(|(c, _)| c.clone())
            .chain(table.hidden.iter().cloned()),
    );
    let hidden = name_array(table.hidden.iter().cloned());
    let retyped_check = retyped_check(table);
    let (schema, view, shown_table) = (
        quote_literal(schema),
        quote_literal(&table.view),
        quote_literal(&table.table.to_string()),
    );
    format!(
        "DO $bellows$
DECLARE
  base oid := to_regclass({base});
  base_name text;
  base_schema text;
  missing text;
  columns text;
  options text := '';
  grant_row record;
BEGIN
  IF base IS NULL THEN
    RAISE EXCEPTION 'table % does not exist', {shown_table};
  END IF;
  SELECT format('%I.%I', n.nspname, c.relname), n.nspname INTO base_name, base_schema
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = base;
  IF current_setting('server_version_num')::int >= 150000 THEN
    options := ' WITH (security_invoker = true)';
  ELSIF (SELECT relrowsecurity FROM pg_class WHERE oid = base) THEN
    RAISE EXCEPTION 'table % has row-level security enabled: before PostgreSQL 15 a view checks the policies as its owner, not as the application', {shown_table}
      USING HINT = 'upgrade to PostgreSQL 15 (security_invoker views), or rename the copy-and-sync way';
  END IF;
  SELECT string_agg(m.col, ', ') INTO missing FROM unnest({named}) AS m(col)
   WHERE NOT EXISTS (SELECT FROM pg_attribute a
                      WHERE a.attrelid = base AND a.attname = m.col AND a.attnum > 0 AND NOT a.attisdropped);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'table % has no column %', {shown_table}, missing;
  END IF;
{retyped_check}  -- A column shown under the name of a hidden one (change_type) takes its place.
  SELECT string_agg(CASE WHEN r.shown IS NULL THEN quote_ident(a.attname)
                         ELSE format('%I AS %I', a.attname, r.shown) END, ', '
                    ORDER BY COALESCE((SELECT h.attnum FROM pg_attribute h
                                        WHERE h.attrelid = base AND h.attname = r.shown
                                          AND h.attname = ANY ({hidden}) AND NOT h.attisdropped), a.attnum))
    INTO columns
    FROM pg_attribute a
    LEFT JOIN unnest({physical}, {shown}) AS r(physical, shown) ON r.physical = a.attname
   WHERE a.attrelid = base AND a.attnum > 0 AND NOT a.attisdropped
     AND a.attname <> ALL ({hidden});
  EXECUTE format('DROP VIEW IF EXISTS %I.%I', {schema}, {view});
  EXECUTE format('CREATE VIEW %I.%I%s AS SELECT %s FROM %s', {schema}, {view}, options, columns, base_name);
  -- The tables' schemas stay in the schema's comment: the search_path line once no view is left.
  EXECUTE format('COMMENT ON SCHEMA %I IS %L', {schema},
    (SELECT '{{\"bellows_version_of\":' || to_json(d::json->>'bellows_version_of')::text
            || ',\"schemas\":' || to_json(ARRAY(
                 SELECT DISTINCT s FROM (SELECT json_array_elements_text(COALESCE(d::json->'schemas', '[]'))
                                         UNION SELECT base_schema) AS known(s) ORDER BY 1))::text || '}}'
       FROM obj_description(to_regnamespace(quote_ident({schema})), 'pg_namespace') AS d));
  FOR grant_row IN
    SELECT a.privilege_type, a.grantee FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = base AND a.grantee <> c.relowner
  LOOP
    EXECUTE format('GRANT %s ON %I.%I TO %s', grant_row.privilege_type, {schema}, {view},
      CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END);
  END LOOP;
END
$bellows$"
    )
}

/// One JSON value: `{ current_schema, versions: [{ schema, plan, views: [{ view, table,
/// table_schema, touched }] }] }`, every schema marked by [`schema_comment`], each view with the
/// table it reads; `touched` when that table is one of `tables` (as this session resolves them).
pub fn version_schemas_sql(tables: &[crate::vocab::TableName]) -> String {
    let touched = tables
        .iter()
        .map(|t| format!("to_regclass({})", quote_literal(&Postgres.table(t))))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT json_build_object(
  'current_schema', current_schema(),
  'versions', COALESCE((
    SELECT json_agg(json_build_object(
      'schema', n.nspname,
      'plan', obj_description(n.oid, 'pg_namespace')::json->>'bellows_version_of',
      'table_schemas', COALESCE(obj_description(n.oid, 'pg_namespace')::json->'schemas', '[]'::json),
      'views', COALESCE((
        SELECT json_agg(json_build_object(
          'view', v.view, 'table', v.tab, 'table_schema', v.tab_schema, 'touched', v.touched)
          ORDER BY v.view)
        FROM (SELECT DISTINCT c.relname AS view, format('%I.%I', tn.nspname, t.relname) AS tab,
                     tn.nspname AS tab_schema, t.oid = ANY (ARRAY[{touched}]::oid[]) AS touched
                FROM pg_class c
                JOIN pg_rewrite r ON r.ev_class = c.oid
                JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
                JOIN pg_class t ON t.oid = d.refobjid AND t.relkind IN ('r', 'p')
                JOIN pg_namespace tn ON tn.oid = t.relnamespace
               WHERE c.relnamespace = n.oid AND c.relkind = 'v') AS v), '[]'::json))
      ORDER BY n.nspname)
    FROM pg_namespace n
    WHERE obj_description(n.oid, 'pg_namespace') LIKE '{mark}%'), '[]'::json)
)::text",
        mark = VERSION_MARK,
    )
}
