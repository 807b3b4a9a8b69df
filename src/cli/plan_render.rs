//! Drawing a [`PlanReport`]: for people (console styling on a terminal, plain text otherwise)
//! and as one JSON document.

use std::fmt::Write as _;
use std::time::Duration;

use console::{style, StyledObject};
use serde_json::Value;

use super::plan_report::{BackfillSettings, PlanReport, StepReport};
use crate::dialect::planned::{
    Action, BackfillPlan, ExecuteSaved, Lock, LockPolicy, RebuildChange, Special, Statement,
    TableEffect, TableRebuild, Undo,
};
use crate::dialect::DialectKind;
use crate::vocab::TableName;

/// Width of the label column (`run`, `undo`, `guard`, …) under a step.
const LABEL: usize = 8;
const INDENT: &str = "    ";

/// The report as one pretty-printed JSON document. Every `lock` also gets its PostgreSQL name
/// and whether it blocks reads and writes, so machines need no table of lock modes.
pub fn json(report: &PlanReport) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(report)?;
    describe_locks(&mut value);
    Ok(serde_json::to_string_pretty(&value)?)
}

const LOCKS: [Lock; 11] = [
    Lock::None,
    Lock::AccessShare,
    Lock::RowShare,
    Lock::RowExclusive,
    Lock::ShareUpdateExclusive,
    Lock::Share,
    Lock::ShareRowExclusive,
    Lock::Exclusive,
    Lock::AccessExclusive,
    Lock::SqliteWrite,
    Lock::Metadata,
];

fn describe_locks(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let lock = map.get("lock").and_then(Value::as_str).and_then(|variant| {
                LOCKS.iter().find(|lock| {
                    serde_json::to_value(lock)
                        .ok()
                        .as_ref()
                        .and_then(Value::as_str)
                        == Some(variant)
                })
            });
            if let Some(lock) = lock {
                map.insert("lock_name".into(), lock.name().into());
                map.insert("blocks_reads".into(), lock.blocks_reads().into());
                map.insert("blocks_writes".into(), lock.blocks_writes().into());
            }
            map.values_mut().for_each(describe_locks);
        }
        Value::Array(items) => items.iter_mut().for_each(describe_locks),
        _ => {}
    }
}

/// The report for a terminal (`styled`) or a pipe (plain).
pub fn human(report: &PlanReport, styled: bool) -> String {
    let painter = Painter::new(report, styled);
    let mut out = String::new();
    painter.header(&mut out, report);
    for phase in &report.phases {
        let _ = writeln!(
            out,
            "{} {}",
            painter
                .paint(phase.phase.as_str().to_ascii_uppercase())
                .bold()
                .underlined(),
            painter.paint(format!("— {}", phase.summary)).dim()
        );
        if phase.steps.is_empty() {
            let _ = writeln!(out, "  {}", painter.paint("(no steps)").dim());
        }
        for step in &phase.steps {
            out.push('\n');
            painter.step(&mut out, step);
        }
        out.push('\n');
    }
    painter.summary(&mut out, report);
    out
}

/// Only the steps, one after the other, without the header, phase titles and summary (for
/// the SQL snapshots of single operations).
pub fn human_steps(report: &PlanReport, styled: bool) -> String {
    let painter = Painter::new(report, styled);
    let mut out = String::new();
    for (i, step) in report.phases.iter().flat_map(|p| &p.steps).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        painter.step(&mut out, step);
    }
    out
}

struct Painter {
    styled: bool,
    dialect: DialectKind,
    lock_timeout: Duration,
    lock_retries: u32,
}

impl Painter {
    fn new(report: &PlanReport, styled: bool) -> Painter {
        let plan = report.plan.as_ref();
        Painter {
            styled,
            dialect: report.dialect,
            lock_timeout: plan
                .and_then(|p| p.lock_timeout)
                .unwrap_or(crate::vocab::defaults::LOCK_TIMEOUT),
            lock_retries: plan
                .map(|p| p.lock_retries)
                .unwrap_or(crate::vocab::defaults::LOCK_RETRIES),
        }
    }

    /// How long the server really waits for a lock each attempt.
    fn lock_wait(&self) -> Duration {
        self.dialect.dialect().lock_wait(self.lock_timeout)
    }

    /// ` (the server waits 1s: …)` when the server cannot wait exactly `lock_timeout`.
    fn rounded_wait(&self) -> String {
        let wait = self.lock_wait();
        if wait == self.lock_timeout {
            return String::new();
        }
        format!(
            " (the server waits {}: MySQL's lock_wait_timeout counts whole seconds)",
            humantime::format_duration(wait)
        )
    }

    fn paint<D>(&self, text: D) -> StyledObject<D> {
        style(text).force_styling(self.styled)
    }

    fn header(&self, out: &mut String, report: &PlanReport) {
        let Some(plan) = &report.plan else {
            return;
        };
        let _ = write!(
            out,
            "{} {}",
            self.paint("plan").bold(),
            self.paint(&plan.name).bold().cyan()
        );
        if let Some(description) = &plan.description {
            let _ = write!(out, " — {description}");
        }
        out.push('\n');
        let mut rows = vec![
            ("file", report.file.clone()),
            (
                "dialect",
                match report.dialect {
                    DialectKind::Postgres => "postgres (PostgreSQL 12+)".to_string(),
                    DialectKind::Sqlite => "sqlite (SQLite 3.35+; what SQLite cannot alter in place is a table rebuild)".to_string(),
                    DialectKind::Mysql => "mysql (MariaDB 10.6+; every ALTER states ALGORITHM and LOCK, so the server refuses rather than copies)".to_string(),
                },
            ),
            (
                "locks",
                format!(
                    "lock_timeout {} per attempt{}, up to {} attempts",
                    humantime::format_duration(self.lock_timeout),
                    self.rounded_wait(),
                    self.lock_retries
                ),
            ),
        ];
        if let Some(timeout) = plan.settings.statement_timeout {
            rows.push((
                "timeout",
                format!("statement_timeout {}", humantime::format_duration(timeout)),
            ));
        }
        for (name, value) in rows {
            let _ = writeln!(out, "  {}{value}", self.paint(format!("{name:<9}")).dim());
        }
        let line = if report.connected {
            "dry run: nothing is executed; the database was only read"
        } else {
            "dry run: nothing is executed and no database is contacted"
        };
        let _ = writeln!(out, "  {}\n", self.paint(line).dim());
        if let Some(database) = &report.database {
            self.database(out, database);
        }
    }

    /// What `--database` found: the plan's state in the ledger and each backfill's row count.
    fn database(&self, out: &mut String, preview: &crate::engine::preview::Preview) {
        let _ = writeln!(out, "{}", self.paint("DATABASE").bold().underlined());
        let plan = preview.status.plans.first();
        match plan.filter(|p| p.recorded_checksum.is_some()) {
            None if !preview.status.ledger => {
                let _ = writeln!(out, "  no bellows ledger yet: nothing has been applied");
            }
            None => {
                let _ = writeln!(out, "  not started: every step is pending");
            }
            Some(plan) => {
                let _ = writeln!(out, "  plan {}: {}", plan.name, plan.state.as_str());
                if plan.changed {
                    let _ = writeln!(
                        out,
                        "  {}",
                        self.paint("the file changed since it was started: apply refuses it without --allow-changed")
                            .yellow()
                    );
                }
                for phase in &plan.phases {
                    for step in &phase.steps {
                        let rows = if step.rows_done > 0 {
                            format!(", {} rows done", step.rows_done)
                        } else {
                            String::new()
                        };
                        let _ = writeln!(
                            out,
                            "  {} {} {} {}: {}{rows}",
                            phase.phase,
                            step.index + 1,
                            step.op,
                            step.target,
                            step.state.as_str()
                        );
                    }
                }
            }
        }
        for count in &preview.backfills {
            match count.rows {
                Some(rows) => {
                    let _ = writeln!(
                        out,
                        "  backfill of {}: {rows} rows to touch ({})",
                        count.table, count.basis
                    );
                }
                None => {
                    let _ = writeln!(out, "  backfill of {}: {}", count.table, count.basis);
                }
            }
        }
        out.push('\n');
    }

    fn step(&self, out: &mut String, report: &StepReport) {
        let step = &report.step;
        let _ = writeln!(
            out,
            "  {} {} {}",
            self.paint(format!("{} {}", step.phase, step.index + 1))
                .dim(),
            self.paint(step.op).bold(),
            step.target
        );
        for action in &step.planned.actions {
            self.action(out, "run", action, step.op, report.backfill.as_ref());
        }
        match &step.planned.undo {
            Undo::Actions(actions) => {
                for action in actions {
                    self.action(out, "undo", action, step.op, None);
                }
            }
            Undo::Nothing(reason) => self.labelled(
                out,
                "undo",
                &self
                    .paint(format!("nothing to undo: {reason}"))
                    .dim()
                    .to_string(),
            ),
            Undo::Irreversible(reason) => self.labelled(
                out,
                "undo",
                &self
                    .paint(format!(
                        "IRREVERSIBLE: {reason}; rollback refuses to pass this step"
                    ))
                    .red()
                    .bold()
                    .to_string(),
            ),
        }
        for note in &step.planned.notes {
            let text = if note.starts_with("emulated") {
                self.paint(note.as_str()).yellow().to_string()
            } else {
                note.clone()
            };
            self.labelled(out, "note", &text);
        }
    }

    /// `    label   first line` and the following lines aligned under the first.
    fn labelled(&self, out: &mut String, label: &str, text: &str) {
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                out.push('\n');
                continue;
            }
            let label = if i == 0 { label } else { "" };
            let _ = writeln!(
                out,
                "{INDENT}{}{line}",
                self.paint(format!("{label:<LABEL$}")).bold().dim()
            );
        }
    }

    /// A detail line under an action: `↳ …`.
    fn detail(&self, out: &mut String, text: &str) {
        let _ = writeln!(
            out,
            "{INDENT}{:LABEL$}{}",
            "",
            self.paint(format!("↳ {text}")).dim()
        );
    }

    /// A detail line made of parts that carry their own style (a warning colour, or dim).
    fn detail_parts(&self, out: &mut String, parts: &[String]) {
        let separator = self.paint(" · ").dim().to_string();
        let _ = writeln!(
            out,
            "{INDENT}{:LABEL$}{}{}",
            "",
            self.paint("↳ ").dim(),
            parts.join(&separator)
        );
    }

    fn sql(&self, out: &mut String, label: &str, sql: &str) {
        let painted = sql
            .lines()
            .map(|line| match line {
                "" => String::new(),
                line => self.paint(line).cyan().to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        self.labelled(out, label, &painted);
    }

    fn action(
        &self,
        out: &mut String,
        label: &str,
        action: &Action,
        op: &str,
        backfill: Option<&BackfillSettings>,
    ) {
        match action {
            Action::Execute(statement) => {
                self.sql(out, label, &statement.sql);
                self.statement_details(out, statement, op);
            }
            Action::Guard(guard) => {
                self.sql(out, "guard", &guard.query);
                self.detail(
                    out,
                    &format!(
                        "must return {}: {}; only reads, before every other step of its phase",
                        guard.expect, guard.description
                    ),
                );
            }
            Action::Capture(capture) => {
                self.sql(out, "save", &capture.query);
                self.detail(
                    out,
                    &format!(
                        "saved in the ledger as `{}`: {}",
                        capture.name, capture.description
                    ),
                );
            }
            Action::ExecuteSaved(saved) => self.saved(out, label, saved),
            Action::Backfill(plan) => self.backfill(out, plan, backfill),
            Action::Rebuild(rebuild) => self.rebuild(out, label, rebuild),
        }
    }

    fn statement_details(&self, out: &mut String, statement: &Statement, op: &str) {
        if op == "sql" && statement.lock == Lock::None {
            self.detail(out, "takes the locks and does the work the SQL does (bellows does not analyse hand-written SQL)");
        } else {
            self.detail_parts(
                out,
                &[
                    self.lock(statement.lock, statement.table.as_ref()),
                    self.effect(statement.effect),
                ],
            );
        }
        self.detail(
            out,
            &self.how_it_runs(statement.transaction, statement.policy),
        );
        if let Some(special) = &statement.special {
            self.detail(out, &self.special(special));
        }
    }

    fn saved(&self, out: &mut String, label: &str, saved: &ExecuteSaved) {
        self.labelled(
            out,
            label,
            &self
                .paint(format!(
                    "the SQL saved as `{}` when the step ran: {}",
                    saved.name, saved.description
                ))
                .cyan()
                .to_string(),
        );
        self.detail_parts(
            out,
            &[
                self.lock(saved.lock, saved.table.as_ref()),
                self.effect(saved.effect),
            ],
        );
        self.detail(out, &self.how_it_runs(saved.transaction, saved.policy));
        if let Some(special) = &saved.special {
            self.detail(out, &self.special(special));
        }
    }

    fn backfill(&self, out: &mut String, plan: &BackfillPlan, settings: Option<&BackfillSettings>) {
        self.sql(out, "batch", &plan.batch_sql);
        let lock = match self.dialect {
            DialectKind::Postgres => format!(
                "ROW EXCLUSIVE on {} (blocks neither reads nor writes); row locks on one batch at a time{}",
                plan.table,
                match plan.settings.parallel.filter(|n| *n > 1) {
                    Some(workers) => format!(" in each of {workers} workers"),
                    None => String::new(),
                }
            ),
            DialectKind::Sqlite => {
                "database write lock for one short batch at a time; readers continue in WAL mode"
                    .to_string()
            }
            DialectKind::Mysql => format!(
                "InnoDB row locks on one batch of {} at a time (blocks neither reads nor other rows' writes)",
                plan.table
            ),
        };
        self.detail(out, &lock);
        if let Some(settings) = settings {
            let mut parts = vec![format!(
                "{} rows per batch and transaction",
                settings.batch_size
            )];
            if let Some(pause) = settings.pause {
                parts.push(format!(
                    "pause {} between batches",
                    humantime::format_duration(pause)
                ));
            }
            if let Some(target) = settings.target_batch_time {
                parts.push(format!(
                    "batch size adapted to about {} per batch",
                    humantime::format_duration(target)
                ));
            }
            if let Some(lag) = settings
                .max_lag
                .filter(|_| self.dialect == DialectKind::Postgres)
            {
                parts.push(format!("waits while a replica lags more than {lag}"));
            }
            if let Some(query) = &settings.throttle_query {
                parts.push(format!("waits while `{query}` returns true"));
            }
            self.detail(out, &parts.join(" · "));
        }
        self.sql(out, "count", &plan.count_sql);
        self.detail(
            out,
            "the rows the backfill will touch (counted only when bellows is connected)",
        );
    }

    fn rebuild(&self, out: &mut String, label: &str, rebuild: &TableRebuild) {
        let label = if label == "run" { "rebuild" } else { label };
        self.labelled(
            out,
            label,
            &self
                .paint(format!(
                    "emulated: table rebuild of {}: {}",
                    rebuild.table,
                    change(&rebuild.change)
                ))
                .yellow()
                .to_string(),
        );
        for (i, line) in rebuild.outline.iter().enumerate() {
            let _ = writeln!(out, "{INDENT}{:LABEL$}  {}. {line}", "", i + 1);
        }
        self.detail(
            out,
            "database write lock for the whole rebuild (writers wait; readers continue in WAL mode) · rewrites every row",
        );
        self.detail(out, "one transaction: all or nothing");
    }

    fn lock(&self, lock: Lock, table: Option<&TableName>) -> String {
        if lock == Lock::None {
            return self.paint("no table lock").dim().to_string();
        }
        let on = match (lock, table) {
            (Lock::SqliteWrite, _) => String::new(),
            (_, Some(table)) => format!(" on {table}"),
            (_, None) => " on the index's table".into(),
        };
        let blocks = match (lock.blocks_reads(), lock.blocks_writes()) {
            (true, _) => "blocks reads and writes",
            (false, true) => "blocks writes, not reads",
            (false, false) => "blocks neither reads nor writes",
        };
        let text = format!("{}{on} ({blocks})", lock.name());
        if lock.blocks_reads() {
            self.paint(text).yellow().to_string()
        } else {
            self.paint(text).dim().to_string()
        }
    }

    fn effect(&self, effect: TableEffect) -> String {
        let text = match effect {
            TableEffect::None => "catalog only, instant",
            TableEffect::Scan => "reads every row",
            TableEffect::Rewrite => {
                return self.paint("REWRITES every row").red().bold().to_string();
            }
            TableEffect::Batch => "writes one batch of rows",
        };
        self.paint(text).dim().to_string()
    }

    fn how_it_runs(&self, transaction: bool, policy: LockPolicy) -> String {
        let transaction = if transaction {
            "in a transaction"
        } else {
            "alone, outside any transaction"
        };
        let policy = match policy {
            LockPolicy::Short => format!(
                "waits at most {} for its lock, up to {} attempts",
                humantime::format_duration(self.lock_wait()),
                self.lock_retries
            ),
            LockPolicy::Long => {
                "no short lock timeout: it may wait for older transactions, blocking no one".into()
            }
            LockPolicy::Plain => "no lock wait to bound".into(),
        };
        format!("{transaction} · {policy}")
    }

    fn special(&self, special: &Special) -> String {
        match special {
            Special::CreateIndexConcurrently { index } => format!(
                "an INVALID {index} left by a failed attempt is dropped before retrying; refused on PostgreSQL 14.0–14.3"
            ),
            Special::Concurrently => "refused on PostgreSQL 14.0–14.3 (CONCURRENTLY corruption bug)".into(),
        }
    }

    fn summary(&self, out: &mut String, report: &PlanReport) {
        let steps: Vec<&StepReport> = report.phases.iter().flat_map(|p| &p.steps).collect();
        let name = |step: &StepReport| {
            format!(
                "{} {} ({} {})",
                step.step.phase,
                step.step.index + 1,
                step.step.op,
                step.step.target
            )
        };
        let rewrites: Vec<String> = steps
            .iter()
            .filter(|step| {
                step.step.planned.actions.iter().any(|action| match action {
                    Action::Execute(statement) => statement.effect == TableEffect::Rewrite,
                    Action::Rebuild(_) => true,
                    _ => false,
                })
            })
            .map(|step| name(step))
            .collect();
        let irreversible: Vec<String> = steps
            .iter()
            .filter(|step| matches!(step.step.planned.undo, Undo::Irreversible(_)))
            .map(|step| name(step))
            .collect();
        let _ = writeln!(out, "{}", self.paint("SUMMARY").bold().underlined());
        let _ = writeln!(
            out,
            "  {} step{}, run phase by phase in this order by `bellows apply` (stop after a phase with --to)",
            steps.len(),
            if steps.len() == 1 { "" } else { "s" }
        );
        let rewrites = if rewrites.is_empty() {
            "none".to_string()
        } else {
            self.paint(rewrites.join(", ")).yellow().to_string()
        };
        let _ = writeln!(out, "  table rewrites or rebuilds: {rewrites}");
        if irreversible.is_empty() {
            let _ = writeln!(out, "  rollback: every step can be undone");
        } else {
            let _ = writeln!(
                out,
                "  rollback: {} {}",
                self.paint("cannot pass").red().bold(),
                irreversible.join(", ")
            );
        }
    }
}

fn change(change: &RebuildChange) -> String {
    match change {
        RebuildChange::SetNotNull { column } => format!("set NOT NULL on {column}"),
        RebuildChange::DropNotNull { column } => format!("drop NOT NULL on {column}"),
        RebuildChange::SetDefault { column, default } => {
            format!("set the default of {column} to {default}")
        }
        RebuildChange::DropDefault { column } => format!("drop the default of {column}"),
        RebuildChange::AddCheck { name, check } => format!("add constraint {name} CHECK ({check})"),
        RebuildChange::AddForeignKey { name, definition }
        | RebuildChange::AddUnique { name, definition } => {
            format!("add constraint {name} {definition}")
        }
        RebuildChange::DropConstraint { name } => format!("drop constraint {name}"),
        RebuildChange::RestoreDefinition { saved } => {
            format!("back to the table definition saved as `{saved}`")
        }
    }
}
