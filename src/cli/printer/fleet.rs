//! The [`FleetReporter`] of the CLI: on a terminal one live line per running database
//! (indicatif's MultiProgress) with failures and warnings printed above them; without a
//! terminal each database's usual lines, prefixed with its name; with `--format json` every
//! event as one JSON line tagged with `"database": NAME` (never the URL).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::lines::{Draw, Lines};
use super::{json, shown_when_quiet, QUIET};
use crate::cli::args::Format;
use crate::cli::out;
use crate::engine::reporter::{Event, StepOutcome};
use crate::fleet::runner::{DatabaseOutcome, FleetReporter, Outcome};

/// What a fleet command prints through.
pub struct FleetPrinter {
    json: bool,
    /// Names are padded to this width so the lines of every database line up.
    width: usize,
    /// `Some` on a terminal: the live line of each running database.
    multi: Option<MultiProgress>,
    bars: RefCell<HashMap<String, ProgressBar>>,
    /// The usual line drawing, one per database.
    lines: RefCell<HashMap<String, Lines>>,
}

impl FleetPrinter {
    pub fn new(format: Format, width: usize) -> FleetPrinter {
        let animate = format == Format::Human
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        FleetPrinter {
            json: format == Format::Json,
            width,
            multi: animate.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: RefCell::default(),
            lines: RefCell::default(),
        }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints one line of the command's own (a summary row), below the live lines.
    pub fn line(&self, text: impl AsRef<str>) {
        match &self.multi {
            Some(multi) => multi.suspend(|| out::line(text.as_ref())),
            None => out::line(text.as_ref()),
        }
    }

    /// Prints one JSON document on its own line.
    pub fn json(&self, value: &impl serde::Serialize) {
        json::JsonLines.write(value);
    }

    fn prefixed(&self, database: &str, text: &str) -> String {
        format!(
            "{} {} {text}",
            style(format!("{database:<width$}", width = self.width)).cyan(),
            style("│").dim()
        )
    }

    /// A line above the live lines (or a plain line without a terminal).
    fn print_for(&self, database: &str, text: &str) {
        let line = self.prefixed(database, text);
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => out::line(&line),
        }
    }
}

impl FleetReporter for FleetPrinter {
    fn event(&self, database: &str, event: Event) {
        if self.json {
            return self.json(&tagged(database, &event));
        }
        let quiet = QUIET.load(Ordering::Relaxed);
        if quiet && !shown_when_quiet(&event) {
            return;
        }
        if let Some(bar) = self.bars.borrow().get(database) {
            if let Some(message) = live_message(&event) {
                bar.set_message(message);
            }
            // On a terminal only what needs reading stays on screen: failures and warnings.
            if !shown_when_quiet(&event) {
                return;
            }
        }
        let draws = self
            .lines
            .borrow_mut()
            .entry(database.to_string())
            .or_insert_with(|| Lines::new(false))
            .draw(&event, Instant::now());
        for draw in draws {
            match draw {
                Draw::Line(text) => self.print_for(database, &text),
                Draw::Debug(text) => tracing::debug!("{database}: {text}"),
                Draw::Info(text) => tracing::info!("{database}: {text}"),
                _ => {}
            }
        }
    }

    fn started(&self, database: &str) {
        if self.json {
            return self.json(&serde_json::json!({
                "event": "database_started",
                "database": database,
            }));
        }
        let Some(multi) = &self.multi else { return };
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner:.cyan} {prefix:.cyan} {wide_msg} {elapsed:.dim}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(format!("{database:<width$}", width = self.width));
        bar.set_message("connecting");
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bars.borrow_mut().insert(database.to_string(), bar);
    }

    fn finished(&self, outcome: &DatabaseOutcome) {
        if self.json {
            let mut value = serde_json::to_value(outcome).unwrap_or_default();
            value["event"] = "database_finished".into();
            return self.json(&value);
        }
        if let Some(bar) = self.bars.borrow_mut().remove(&outcome.database) {
            bar.finish_and_clear();
        }
        if QUIET.load(Ordering::Relaxed) && outcome.outcome == Outcome::Succeeded {
            return;
        }
        self.print_for(&outcome.database, &finished_line(outcome));
    }
}

impl Drop for FleetPrinter {
    fn drop(&mut self) {
        for (_, bar) in self.bars.borrow_mut().drain() {
            bar.finish_and_clear();
        }
    }
}

/// The event as JSON with the database's name added: `{"database": "tenant-1", "event": …}`.
pub fn tagged(database: &str, event: &Event) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("database".into(), database.into());
    }
    value
}

/// "✓ done (contract, 2000 rows, 1.2s)", "✗ failed: guard …".
pub fn finished_line(outcome: &DatabaseOutcome) -> String {
    let took = super::duration(outcome.duration);
    let reached = outcome.reached.as_deref().unwrap_or("—");
    match &outcome.outcome {
        Outcome::Succeeded => format!(
            "{} done: {reached}, {} rows backfilled, {took}",
            style("✓").green(),
            outcome.rows_backfilled
        ),
        Outcome::Failed { reason, .. } => {
            format!("{} failed ({reached}): {}", style("✗").red().bold(), reason)
        }
        Outcome::Stopped => format!(
            "{} stopped at a safe point ({reached}) because another database failed; the next apply resumes it",
            style("‖").yellow()
        ),
        Outcome::Interrupted => format!(
            "{} interrupted ({reached}); the next apply resumes it",
            style("‖").yellow()
        ),
        Outcome::NotStarted => format!("{} not started", style("·").dim()),
    }
}

/// The live line's text for an event, when it changes it.
pub fn live_message(event: &Event) -> Option<String> {
    Some(match event {
        Event::PlanStarted { plan, .. } => plan.to_string(),
        Event::PhaseStarted { plan, phase } => format!("{plan} {}", phase.as_str()),
        Event::StepStarted { step } => format!(
            "{} {} {}. {} {}",
            step.plan,
            step.phase.as_str(),
            step.index + 1,
            step.op,
            step.target
        ),
        Event::BackfillStarted {
            step,
            rows_done,
            total,
            ..
        }
        | Event::BackfillProgress {
            step,
            rows_done,
            total,
            ..
        } => match total {
            Some(total) => format!(
                "{} backfill {}: {rows_done}/{total} rows",
                step.plan, step.target
            ),
            None => format!("{} backfill {}: {rows_done} rows", step.plan, step.target),
        },
        Event::LockWaiting {
            step,
            attempt,
            attempts,
            ..
        }
        | Event::LockRetry {
            step,
            attempt,
            attempts,
            ..
        } => format!(
            "{} {} {}: waiting for a lock (attempt {attempt}/{attempts})",
            step.plan, step.op, step.target
        ),
        Event::BackfillThrottled { step, reason, .. } => {
            format!("{} backfill {}: {reason}", step.plan, step.target)
        }
        Event::StepFinished {
            step,
            outcome: StepOutcome::Failed { .. },
            ..
        } => format!("{} {} {} failed", step.plan, step.op, step.target),
        Event::CompensationStarted { plan, phase, .. } => {
            format!("{plan} {}: undoing the phase", phase.as_str())
        }
        Event::NothingToDo { plan } => format!("{plan}: nothing to do"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reporter::StepRef;
    use crate::vocab::Phase;

    #[test]
    fn json_events_carry_the_database_name() {
        let value = tagged(
            "tenant-1",
            &Event::NothingToDo {
                plan: "0001_users".into(),
            },
        );
        assert_eq!(value["database"], "tenant-1");
        assert_eq!(value["event"], "nothing_to_do");
        assert_eq!(value["plan"], "0001_users");
    }

    #[test]
    fn the_live_line_follows_the_step_and_the_backfill() {
        let step = StepRef {
            plan: "0001_users".into(),
            phase: Phase::Backfill,
            index: 0,
            op: "backfill".into(),
            target: "users".into(),
        };
        assert_eq!(
            live_message(&Event::StepStarted { step: step.clone() }).unwrap(),
            "0001_users backfill 1. backfill users"
        );
        assert_eq!(
            live_message(&Event::BackfillProgress {
                step,
                rows_done: 500,
                total: Some(2000),
                batch_size: 100,
                rows_per_second: 1.0,
                throttle: None,
            })
            .unwrap(),
            "0001_users backfill users: 500/2000 rows"
        );
        assert_eq!(
            live_message(&Event::Notice {
                message: "x".into()
            }),
            None
        );
    }
}
