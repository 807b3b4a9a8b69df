//! The human drawing of engine events, as a pure function: an [`Event`] (plus the little state
//! a step carries from one event to the next) becomes the [`Draw`]s a terminal performs — lines
//! to print, spinner and bar updates, log records. Nothing here writes anything.

use std::time::{Duration, Instant};

use console::style;

use crate::engine::reporter::{AutovacuumKind, Blocker, Event, StepOutcome, StepRef};
use crate::vocab::Phase;

/// How often a plain (non-terminal) backfill progress line is printed.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// One thing the terminal does for an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Draw {
    /// Print a line (above any spinner).
    Line(String),
    /// Show this message on the spinner, starting one if none is live (animated only).
    Spinner(String),
    /// Replace whatever is live with a backfill progress bar (animated only).
    Bar {
        total: Option<u64>,
        done: u64,
        message: String,
    },
    /// Move the live progress bar, if there is one (animated only).
    BarMoved {
        total: Option<u64>,
        done: u64,
        message: String,
    },
    /// Finish and clear the live spinner or bar.
    ClearLive,
    /// A `tracing` record at debug level (`-vv`).
    Debug(String),
    /// A `tracing` record at info level (`-v`).
    Info(String),
}

/// The state the drawing carries between events.
#[derive(Debug, Default)]
pub struct Lines {
    /// Spinners and bars (a terminal) rather than plain lines.
    animated: bool,
    /// When the last plain backfill progress line was printed.
    last_plain_progress: Option<Instant>,
    /// Rows done by the backfill of the step running now.
    rows: Option<u64>,
    /// The phase started last (what a run stopped by `--to` got done).
    last_phase: Option<Phase>,
}

impl Lines {
    pub fn new(animated: bool) -> Lines {
        Lines {
            animated,
            ..Lines::default()
        }
    }

    /// What to draw for `event`, received at `now`.
    pub fn draw(&mut self, event: &Event, now: Instant) -> Vec<Draw> {
        match event {
            Event::PhaseStarted { phase, .. } => {
                self.last_phase = Some(*phase);
                still(event)
            }
            Event::PlanDone {
                plan,
                duration: took,
                pending,
            } => vec![Draw::Line(plan_done(plan, *took, self.last_phase, pending))],
            Event::StepStarted { step } => {
                self.rows = None;
                self.spinner(step_name(step))
            }
            Event::BackfillStarted { .. } | Event::BackfillProgress { .. } => {
                self.backfill(event, now)
            }
            Event::StepFinished {
                step,
                outcome,
                duration: took,
            } => {
                let rows = self.rows.take();
                vec![Draw::ClearLive, step_finished(step, outcome, *took, rows)]
            }
            Event::LockWaiting {
                step,
                table,
                attempt,
                attempts,
                waited,
                blockers,
            } => {
                let on = table.as_deref().unwrap_or(&step.target);
                self.spinner(format!(
                    "{}: waiting for lock on {on}, attempt {attempt}/{attempts}{} ({})",
                    step_name(step),
                    blockers_text(blockers),
                    duration(*waited)
                ))
            }
            Event::LockRetry { step, .. } | Event::Retrying { step, .. } => {
                let text = retry_text(event).unwrap_or_default();
                if self.animated {
                    self.spinner(format!("{}: {text}", step_name(step)))
                } else {
                    vec![Draw::Line(format!("    {} {text}", style("…").yellow()))]
                }
            }
            _ => still(event),
        }
    }

    /// A spinner message, when animated (a plain transcript shows no spinner).
    fn spinner(&self, message: String) -> Vec<Draw> {
        if self.animated {
            vec![Draw::Spinner(message)]
        } else {
            Vec::new()
        }
    }

    /// `BackfillStarted` and `BackfillProgress`: the bar, or a plain line every two seconds.
    fn backfill(&mut self, event: &Event, now: Instant) -> Vec<Draw> {
        match event {
            Event::BackfillStarted {
                step,
                key,
                resumed_after,
                rows_done,
                total,
            } => {
                self.rows = Some(*rows_done);
                let mut draws: Vec<Draw> = resumed_after
                    .iter()
                    .map(|after| Draw::Line(resuming(step, after, *rows_done)))
                    .collect();
                draws.push(Draw::Info(format!(
                    "backfill walks key ({})",
                    key.join(", ")
                )));
                if self.animated {
                    draws.push(Draw::Bar {
                        total: *total,
                        done: *rows_done,
                        message: format!("backfill {}", step.target),
                    });
                }
                draws
            }
            Event::BackfillProgress { rows_done, .. } => {
                self.rows = Some(*rows_done);
                self.progress(event, now).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// A `BackfillProgress`: the bar moves on a terminal; otherwise a line, at most every two
    /// seconds.
    fn progress(&mut self, event: &Event, now: Instant) -> Option<Draw> {
        let Event::BackfillProgress {
            step,
            rows_done,
            total,
            rows_per_second,
            batch_size,
            throttle,
        } = event
        else {
            return None;
        };
        let pacing = match throttle {
            Some(t) => format!("batch {batch_size}, {t}"),
            None => format!("batch {batch_size}"),
        };
        if self.animated {
            return Some(Draw::BarMoved {
                total: *total,
                done: *rows_done,
                message: format!(
                    "backfill {}  {} rows/s{} ({pacing})",
                    step.target,
                    thousands(rows_per_second.round() as u64),
                    eta(*rows_done, *total, *rows_per_second)
                ),
            });
        }
        let due = self
            .last_plain_progress
            .is_none_or(|t| now - t >= PLAIN_PROGRESS_EVERY);
        if !due {
            return None;
        }
        self.last_plain_progress = Some(now);
        Some(Draw::Line(format!(
            "    backfill {}: {}{} rows, {} rows/s{} ({pacing})",
            step.target,
            thousands(*rows_done),
            of_total(*rows_done, *total),
            thousands(rows_per_second.round() as u64),
            eta(*rows_done, *total, *rows_per_second)
        )))
    }
}

/// "↻ resuming backfill of users after key (1000), 1000 rows already done".
fn resuming(step: &StepRef, after: &[String], rows_done: u64) -> String {
    format!(
        "    {} resuming backfill of {} after key ({}), {} rows already done",
        style("↻").cyan(),
        step.target,
        after.join(", "),
        thousands(rows_done)
    )
}

/// The events whose drawing needs no state and does not depend on animation.
fn still(event: &Event) -> Vec<Draw> {
    match event {
        Event::PlanStarted { plan, phases, .. } => vec![Draw::Line(plan_started(plan, phases))],
        Event::NothingToDo { plan } => vec![Draw::Line(format!(
            "{} {}: nothing to do",
            style("·").dim(),
            style(plan).bold()
        ))],
        Event::ChecksumChangedAllowed {
            plan,
            recorded,
            current,
        } => vec![Draw::Line(format!(
            "{} plan `{plan}` changed since it was started ({} → {}); running it anyway (--allow-changed)",
            style("warning:").yellow().bold(),
            short(recorded),
            short(current)
        ))],
        Event::PhaseStarted { phase, .. } => {
            vec![Draw::Line(format!("  {}", style(phase.as_str()).bold()))]
        }
        Event::GuardChecked { .. } => guard_checked(event),
        Event::StatementStarted { sql, .. } => vec![Draw::Debug(format!("running: {sql}"))],
        Event::CaptureSaved { description, .. } => {
            vec![Draw::Info(format!("saved {description} for rollback"))]
        }
        Event::BackfillThrottled { step, kind, reason } if kind == "pause" => vec![Draw::Info(
            format!("backfill of {}: {reason}", step.target),
        )],
        Event::UndoFailed { .. } | Event::StepUndone { .. } => {
            vec![Draw::ClearLive, Draw::Line(undo_line(event))]
        }
        Event::PhaseDone { .. } => Vec::new(),
        _ => notice_line(event).map(Draw::Line).into_iter().collect(),
    }
}

/// A guard that passed is a quiet line; one that failed stops the spinner and says what it found.
fn guard_checked(event: &Event) -> Vec<Draw> {
    let Event::GuardChecked {
        description,
        expected,
        found,
        passed,
        ..
    } = event
    else {
        return Vec::new();
    };
    if *passed {
        return vec![Draw::Line(format!(
            "    {} guard: {description} ({found})",
            style("·").dim()
        ))];
    }
    vec![
        Draw::ClearLive,
        Draw::Line(format!(
            "    {} guard failed: {description}: expected {expected}, found {}",
            style("✗").red().bold(),
            style(found).red().bold()
        )),
    ]
}

/// "applying users_email_verified (expand → backfill)".
fn plan_started(plan: &str, phases: &[Phase]) -> String {
    let phases: Vec<&str> = phases.iter().map(|p| p.as_str()).collect();
    format!(
        "{} {} {}",
        style("applying").bold(),
        style(plan).bold().cyan(),
        style(format!("({})", phases.join(" → "))).dim()
    )
}

/// The single line of the events that print one line and keep no state.
fn notice_line(event: &Event) -> Option<String> {
    let warn = || style("!").yellow().bold();
    Some(match event {
        Event::AutovacuumCancelled { pid, query, .. } => format!(
            "    {} cancelled autovacuum pid {pid} that blocked the step ({query}), as PostgreSQL would after deadlock_timeout",
            warn()
        ),
        Event::AutovacuumBlocking { .. } => format!("    {} {}", warn(), autovacuum_text(event)?),
        Event::InvalidIndexDropped { index, .. } => format!(
            "    {} dropped the INVALID index {index} left by an earlier failed attempt",
            warn()
        ),
        Event::BackfillThrottled { step, reason, .. } => format!(
            "    {} backfill {} waits: {reason}",
            style("⏸").yellow(),
            step.target
        ),
        Event::BackfillReleased { step, held, .. } => format!(
            "    {} backfill {} continues after waiting {}",
            style("▶").green(),
            step.target,
            duration(*held)
        ),
        Event::CompensationStarted { phase, steps, .. } => format!(
            "  {} undoing the {steps} applied step(s) of {phase}, last first",
            style("↺").yellow().bold()
        ),
        Event::StoppedBefore {
            plan,
            phase,
            reason,
        } => format!(
            "{} stopped before the {phase} phase of {plan}: {reason}",
            style("■").yellow().bold()
        ),
        Event::RollbackStarted { plan, steps } => format!(
            "{} {} {}",
            style("rolling back").bold(),
            style(plan).bold().cyan(),
            style(format!("({steps} step(s), last first)")).dim()
        ),
        Event::PlanDone {
            plan,
            duration: took,
            pending,
        } => plan_done(plan, *took, None, pending),
        Event::Notice { message } => format!("  {} {message}", style("note:").yellow()),
        Event::VersionReady {
            plan,
            schema,
            search_path,
            connection_option,
        } => format!(
            "  {} the new application of {plan} uses version schema {schema}:\n    SET search_path = {search_path};\n    or in its connection string: {connection_option}",
            style("version:").cyan().bold()
        ),
        _ => return None,
    })
}

/// Why an autovacuum holds a step up, and what happens next.
fn autovacuum_text(event: &Event) -> Option<String> {
    let Event::AutovacuumBlocking {
        pid,
        query,
        kind,
        next_wait,
        ..
    } = event
    else {
        return None;
    };
    Some(match (kind, next_wait) {
        (AutovacuumKind::Wraparound, _) => format!(
            "blocked by an anti-wraparound autovacuum (pid {pid}: {query}); it must not be cancelled, retrying until it finishes"
        ),
        (AutovacuumKind::Ordinary, Some(wait)) => format!(
            "blocked by autovacuum pid {pid} ({query}) and not permitted to cancel it; the next attempt waits {} so PostgreSQL cancels it after deadlock_timeout",
            duration(*wait)
        ),
        (AutovacuumKind::Ordinary, None) => format!("blocked by autovacuum pid {pid} ({query})"),
    })
}

/// The text of a `LockRetry` or `Retrying` event, without the step's name.
fn retry_text(event: &Event) -> Option<String> {
    Some(match event {
        Event::LockRetry {
            step,
            table,
            attempt,
            attempts,
            backoff,
            blockers,
        } => format!(
            "lock on {} not granted (attempt {attempt}/{attempts}), retrying in {}{}",
            table.as_deref().unwrap_or(&step.target),
            duration(*backoff),
            blockers_text(blockers)
        ),
        Event::Retrying {
            reason,
            attempt,
            attempts,
            backoff,
            ..
        } => format!(
            "{reason}; retrying in {} (attempt {attempt}/{attempts})",
            duration(*backoff)
        ),
        _ => return None,
    })
}

/// "✓ users done in 3s", or for a run that stopped at `--to`: "■ users expand done in 1s (3
/// phases pending: backfill, switch, contract)".
fn plan_done(plan: &str, took: Duration, last: Option<Phase>, pending: &[Phase]) -> String {
    if pending.is_empty() {
        return format!(
            "{} {} done in {}",
            style("✓").green().bold(),
            style(plan).bold(),
            duration(took)
        );
    }
    let last_done = last.map(|p| format!("{p} ")).unwrap_or_default();
    let names: Vec<String> = pending.iter().map(|p| p.to_string()).collect();
    format!(
        "{} {} {last_done}done in {} ({} phase{} pending: {})",
        style("■").yellow().bold(),
        style(plan).bold(),
        duration(took),
        pending.len(),
        if pending.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

/// "✓ add_column users.a  12 rows  1.4s", "- … (already applied)", or the failure and its error.
fn step_finished(
    step: &StepRef,
    outcome: &StepOutcome,
    took: Duration,
    rows_done: Option<u64>,
) -> Draw {
    let rows = rows_done
        .map(|r| format!("  {} rows", thousands(r)))
        .unwrap_or_default();
    Draw::Line(match outcome {
        StepOutcome::Applied => format!(
            "    {} {}{rows}  {}",
            style("✓").green().bold(),
            step_name(step),
            style(duration(took)).dim()
        ),
        StepOutcome::Skipped => format!(
            "    {} {} {}",
            style("-").dim(),
            step_name(step),
            style("(already applied)").dim()
        ),
        StepOutcome::Interrupted => format!(
            "    {} {} {}{}  {}",
            style("‖").yellow().bold(),
            step_name(step),
            style("interrupted").yellow(),
            rows_done
                .map(|r| format!(" after {} rows", thousands(r)))
                .unwrap_or_default(),
            style(duration(took)).dim()
        ),
        StepOutcome::Failed { error } => format!(
            "    {} {}  {}\n      {}",
            style("✗").red().bold(),
            step_name(step),
            style(duration(took)).dim(),
            style(indent(error, "      ")).red()
        ),
    })
}

/// The line of `StepUndone` or `UndoFailed`.
fn undo_line(event: &Event) -> String {
    match event {
        Event::StepUndone {
            step,
            duration: took,
        } => format!(
            "    {} undid {}  {}",
            style("↺").yellow(),
            step_name(step),
            style(duration(*took)).dim()
        ),
        Event::UndoFailed { step, error, hint } => format!(
            "    {} COULD NOT UNDO {}: {error}\n      {} {hint}",
            style("✗").red().bold(),
            style(step_name(step)).red().bold(),
            style("needs a hand:").red().bold()
        ),
        _ => String::new(),
    }
}

/// "/1000 (42%)", "/0", or nothing when the total is unknown.
fn of_total(rows_done: u64, total: Option<u64>) -> String {
    match total {
        Some(t) if t > 0 => format!(
            "/{} ({:.0}%)",
            thousands(t),
            (rows_done as f64 * 100.0 / t as f64).min(100.0)
        ),
        Some(t) => format!("/{}", thousands(t)),
        None => String::new(),
    }
}

/// "1,234,567": a count with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// ", about 2m 3s left", when the total and the rate say so.
fn eta(rows_done: u64, total: Option<u64>, rows_per_second: f64) -> String {
    match total {
        Some(t) if rows_per_second > 0.0 && t > rows_done => format!(
            ", about {} left",
            duration(Duration::from_secs_f64(
                (t - rows_done) as f64 / rows_per_second
            ))
        ),
        _ => String::new(),
    }
}

/// "12ms", "1.4s", "2m 3s".
pub fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

fn step_name(step: &StepRef) -> String {
    format!("{} {}", step.op, step.target)
}

fn blockers_text(blockers: &[Blocker]) -> String {
    crate::engine::reporter::describe_blockers(blockers)
}

fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{prefix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (2_421_720, "2,421,720"),
            (100_000, "100,000"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn progress_shows_separators_a_rounded_rate_and_the_time_left() {
        assert_eq!(of_total(1_905_000, Some(2_421_720)), "/2,421,720 (79%)");
        assert_eq!(eta(500, Some(1_500), 100.4), ", about 10.0s left");
        assert_eq!(eta(500, None, 100.0), "");
    }
}
