//! Before a step renames or drops a column: would the table's sync functions still find every
//! column they name? Checked on the server, on a temporary copy of the table changed the same
//! way, so a step that would break them fails before it changes anything.

use crate::dialect::{quote_literal, Dialect};
use crate::vocab::TableName;

use super::Postgres;

// NOTE: why. A sync function names the columns it reads and writes (`NEW.name`), and
// PostgreSQL records no dependency of a PL/pgSQL body on them: after `RENAME COLUMN name` or
// `DROP COLUMN name` every insert and update of the table would fail with `record "new" has
// no field "name"`. `check` sees the syncs of the plan it reads, not those an earlier plan made.
// So each sync function of the table is run once, in a subtransaction that is always undone,
// as the INSERT trigger of a temporary copy of the table (`LIKE`: no defaults or checks)
// given the step's change (`change`, an `ALTER TABLE` clause), on a row of NULLs: an insert
// that writes no column evaluates every expression of the sync. (Each action of a step
// commits on its own, so this runs before the step's own statement, not after it.) An undefined column refuses the step; any other error (a NOT NULL
// column, an expression that fails on NULL, no right to make temporary objects) says nothing
// about the names and is ignored.

/// A `DO` block that fails when a sync function of `table` names a column that `table` altered
/// by `change` would no longer have.
pub(super) fn syncs_still_resolve_sql(
    pg: &Postgres,
    table: &TableName,
    change: &str,
    step: &str,
) -> String {
    // `%` is RAISE's placeholder: one in a name is doubled.
    let message = quote_literal(&format!(
        "{}: the sync trigger % of {} names the column, so after this step every insert and update of the table would fail (%)",
        step.replace('%', "%%"),
        table.to_string().replace('%', "%%")
    ));
    format!(
        "DO $bellows$
DECLARE
  bellows_trigger text;
  bellows_function text;
BEGIN
  LOCK TABLE {name} IN ACCESS SHARE MODE;
  FOR bellows_trigger, bellows_function IN
    SELECT t.tgname, t.tgfoid::pg_catalog.regprocedure::text FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = {regclass} AND t.tgname LIKE 'bellows\\_sync\\_%' AND t.tgname NOT LIKE '%$insert'
  LOOP
    BEGIN
      DROP TABLE IF EXISTS pg_temp.bellows_sync_probe;
      CREATE TEMPORARY TABLE bellows_sync_probe (LIKE {name});
      ALTER TABLE pg_temp.bellows_sync_probe {change};
      EXECUTE 'CREATE TRIGGER bellows_sync_probe BEFORE INSERT ON pg_temp.bellows_sync_probe FOR EACH ROW EXECUTE FUNCTION ' || bellows_function;
      INSERT INTO pg_temp.bellows_sync_probe DEFAULT VALUES;
      RAISE EXCEPTION USING ERRCODE = 'P0004';
    EXCEPTION
      WHEN undefined_column THEN
        RAISE EXCEPTION {message}, bellows_trigger, SQLERRM
          USING HINT = 'drop the sync (drop_sync) before this step';
      WHEN OTHERS THEN
        NULL;
    END;
  END LOOP;
END
$bellows$",
        regclass = pg.regclass(table),
        name = pg.table(table),
    )
}
