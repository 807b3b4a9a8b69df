//! Checks across the steps of one plan: contradictions, duplicates and risky patterns, one file
//! per rule.
//!
//! Only what the plan itself says is compared (a plan cannot know the database): a step that
//! undoes, repeats or breaks what another step of the same plan does is an error; a pattern that
//! works but hurts the running application is a warning. `guard` steps are opaque; the statements
//! of a `sql` step are parsed and linted (the `sql_*` rules).

mod add_column_rewrite;
mod backfill_key_rewritten;
mod backfill_then_drop;
mod backfill_without_sync;
mod change_type_after_rename;
mod created_then_dropped;
mod default_changed_twice;
mod drop_under_sync;
mod duplicate;
mod facts;
mod named_before_rename;
mod set_not_null_after_drop;
mod sql_constraint_without_not_valid;
mod sql_drop_outside_contract;
mod sql_index_without_concurrently;
mod sql_rename;
mod sql_set_not_null;
mod sql_several_ddl;
mod sql_statements;
mod sql_table_rewrite;
mod sync_inexact;
mod used_after_drop;

use super::model::{Plan, Step};
use crate::vocab::diagnostic::{Code, Diagnostic};

/// One rule: the findings about the step `at` points to.
type Rule = fn(&At<'_>) -> Vec<Diagnostic>;

/// Every cross-step finding of a plan that parsed.
pub fn lint(plan: &Plan) -> Vec<Diagnostic> {
    lint_steps(plan, true)
}

/// The findings among the steps of `plan`. When some steps of the file could not be read
/// (`complete` is false), the findings that rest on a step being absent (no `drop_sync`, no
/// `sync_column`) are left out: the missing step may be one that failed to read.
pub fn lint_steps(plan: &Plan, complete: bool) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for position in 0..plan.steps.len() {
        let at = At {
            plan,
            step: &plan.steps[position],
            earlier: &plan.steps[..position],
            later: &plan.steps[position + 1..],
            complete,
        };
        // A step on a table that an earlier step drops: nothing else about it is worth saying.
        let dropped = used_after_drop::check(&at);
        if !dropped.is_empty() {
            found.extend(dropped);
            continue;
        }
        found.extend(set_not_null_after_drop::check(&at));
        found.extend(change_type_after_rename::check(&at));
        found.extend(named_before_rename::check(&at));
        // At most one of these: a drop of what this plan creates is not also a duplicate drop.
        found.extend(first_found(
            &at,
            &[
                created_then_dropped::check,
                duplicate::check,
                drop_under_sync::check,
            ],
        ));
        for rule in [
            default_changed_twice::check as Rule,
            backfill_key_rewritten::check,
            backfill_then_drop::check,
            backfill_without_sync::check,
            sql_index_without_concurrently::check,
            sql_constraint_without_not_valid::check,
            sql_set_not_null::check,
            sql_table_rewrite::check,
            sql_rename::check,
            sql_drop_outside_contract::check,
            sql_several_ddl::check,
            sync_inexact::check,
            add_column_rewrite::check,
        ] {
            found.extend(rule(&at));
        }
    }
    found
}

/// The findings of the first rule that finds something.
fn first_found(at: &At<'_>, rules: &[Rule]) -> Vec<Diagnostic> {
    rules
        .iter()
        .map(|rule| rule(at))
        .find(|found| !found.is_empty())
        .unwrap_or_default()
}

/// One step of a plan, with the steps around it.
struct At<'p> {
    plan: &'p Plan,
    step: &'p Step,
    /// The steps before it, in execution order.
    earlier: &'p [Step],
    /// The steps after it.
    later: &'p [Step],
    /// Whether every step of the file was read.
    complete: bool,
}

impl At<'_> {
    /// An error at this step.
    fn error(&self, code: Code, message: String, help: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, Some(self.step.span.clone()), message).with_help(help)
    }

    /// A warning at this step.
    fn warning(&self, code: Code, message: String, help: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(code, Some(self.step.span.clone()), message).with_help(help)
    }
}
