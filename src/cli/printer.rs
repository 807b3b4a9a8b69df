//! The CLI's [`Reporter`]: engine events drawn as styled lines with a spinner and a progress bar
//! on a terminal, plain lines otherwise, or one JSON object per line with `--format json`.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use console::style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::args::Format;
use crate::engine::reporter::{AutovacuumKind, Blocker, Event, Reporter, StepOutcome, StepRef};

/// How often a plain (non-terminal) backfill progress line is printed.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(2);

pub struct Printer {
    json: bool,
    /// Spinner and bars (stdout and stderr are terminals).
    animate: bool,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// The spinner or bar of the step running now.
    live: Option<ProgressBar>,
    last_plain_progress: Option<Instant>,
    /// Rows done by the backfill of the step running now.
    rows: Option<u64>,
}

impl Printer {
    pub fn new(format: Format) -> Printer {
        let animate = format == Format::Human
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        Printer {
            json: format == Format::Json,
            animate,
            state: RefCell::new(State::default()),
        }
    }

    /// Prints one line, above any spinner.
    pub fn line(&self, text: impl AsRef<str>) {
        let text = text.as_ref();
        match &self.state.borrow().live {
            Some(bar) => bar.suspend(|| write_line(text)),
            None => write_line(text),
        }
    }

    /// Prints one JSON document (or event) on its own line.
    pub fn json(&self, value: &impl serde::Serialize) {
        match serde_json::to_string(value) {
            Ok(text) => write_line(&text),
            Err(e) => tracing::error!("cannot serialize output: {e}"),
        }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    fn clear_live(&self) {
        if let Some(bar) = self.state.borrow_mut().live.take() {
            bar.finish_and_clear();
        }
    }

    fn spinner(&self, message: String) {
        if !self.animate {
            return;
        }
        let mut state = self.state.borrow_mut();
        match &state.live {
            Some(bar) => bar.set_message(message),
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("    {spinner:.cyan} {wide_msg} {elapsed:.dim}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(message);
                bar.enable_steady_tick(Duration::from_millis(100));
                state.live = Some(bar);
            }
        }
    }

    fn progress_bar(&self, step: &StepRef, total: Option<u64>, done: u64) {
        if !self.animate {
            return;
        }
        self.clear_live();
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "    {spinner:.cyan} {msg} [{bar:30.cyan/blue}] {human_pos}/{human_len} rows {per_sec} eta {eta}"
        } else {
            "    {spinner:.cyan} {msg} {human_pos} rows {per_sec}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(format!("backfill {}", step.target));
        bar.set_position(done);
        bar.enable_steady_tick(Duration::from_millis(100));
        self.state.borrow_mut().live = Some(bar);
    }
}

/// Writes a line to stdout. NOTE: a closed stdout (`bellows apply … | head`) must not stop a
/// migration half-way, so write errors are ignored rather than panicking like `println!`.
fn write_line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
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

impl Reporter for Printer {
    fn report(&self, event: Event) {
        if self.json {
            self.json(&event);
            return;
        }
        match event {
            Event::PlanStarted { plan, phases, .. } => {
                let phases: Vec<&str> = phases.iter().map(|p| p.as_str()).collect();
                self.line(format!(
                    "{} {} {}",
                    style("applying").bold(),
                    style(&plan).bold().cyan(),
                    style(format!("({})", phases.join(" → "))).dim()
                ));
            }
            Event::NothingToDo { plan } => {
                self.line(format!(
                    "{} {}: nothing to do",
                    style("·").dim(),
                    style(&plan).bold()
                ));
            }
            Event::ChecksumChangedAllowed {
                plan,
                recorded,
                current,
            } => self.line(format!(
                "{} plan `{plan}` changed since it was started ({} → {}); running it anyway (--allow-changed)",
                style("warning:").yellow().bold(),
                short(&recorded),
                short(&current)
            )),
            Event::PhaseStarted { phase, .. } => {
                self.line(format!("  {}", style(phase.as_str()).bold()))
            }
            Event::GuardChecked {
                description,
                expected,
                found,
                passed,
                ..
            } => {
                if passed {
                    self.line(format!(
                        "    {} guard: {description} ({found})",
                        style("·").dim()
                    ));
                } else {
                    self.clear_live();
                    self.line(format!(
                        "    {} guard failed: {description}: expected {expected}, found {}",
                        style("✗").red().bold(),
                        style(&found).red().bold()
                    ));
                }
            }
            Event::StepStarted { step } => {
                self.state.borrow_mut().rows = None;
                self.spinner(step_name(&step));
            }
            Event::StatementStarted { sql, .. } => tracing::debug!("running: {sql}"),
            Event::LockWaiting {
                step,
                table,
                attempt,
                attempts,
                waited,
                blockers,
            } => {
                let on = table.as_deref().unwrap_or(&step.target);
                let blocked = blockers_text(&blockers);
                self.spinner(format!(
                    "{}: waiting for lock on {on}, attempt {attempt}/{attempts}{blocked} ({})",
                    step_name(&step),
                    duration(waited)
                ));
            }
            Event::LockRetry {
                step,
                table,
                attempt,
                attempts,
                backoff,
                blockers,
            } => {
                let on = table.as_deref().unwrap_or(&step.target);
                let text = format!(
                    "lock on {on} not granted (attempt {attempt}/{attempts}), retrying in {}{}",
                    duration(backoff),
                    blockers_text(&blockers)
                );
                if self.animate {
                    self.spinner(format!("{}: {text}", step_name(&step)));
                } else {
                    self.line(format!("    {} {text}", style("…").yellow()));
                }
            }
            Event::Retrying {
                step,
                reason,
                attempt,
                attempts,
                backoff,
            } => {
                let text = format!(
                    "{reason}; retrying in {} (attempt {attempt}/{attempts})",
                    duration(backoff)
                );
                if self.animate {
                    self.spinner(format!("{}: {text}", step_name(&step)));
                } else {
                    self.line(format!("    {} {text}", style("…").yellow()));
                }
            }
            Event::AutovacuumCancelled { pid, query, .. } => self.line(format!(
                "    {} cancelled autovacuum pid {pid} that blocked the step ({query}), as PostgreSQL would after deadlock_timeout",
                style("!").yellow().bold()
            )),
            Event::AutovacuumBlocking {
                pid,
                query,
                kind,
                next_wait,
                ..
            } => {
                let text = match (kind, next_wait) {
                    (AutovacuumKind::Wraparound, _) => format!(
                        "blocked by an anti-wraparound autovacuum (pid {pid}: {query}); it must not be cancelled, retrying until it finishes"
                    ),
                    (AutovacuumKind::Ordinary, Some(wait)) => format!(
                        "blocked by autovacuum pid {pid} ({query}) and not permitted to cancel it; the next attempt waits {} so PostgreSQL cancels it after deadlock_timeout",
                        duration(wait)
                    ),
                    (AutovacuumKind::Ordinary, None) => {
                        format!("blocked by autovacuum pid {pid} ({query})")
                    }
                };
                self.line(format!("    {} {text}", style("!").yellow().bold()));
            }
            Event::InvalidIndexDropped { index, .. } => self.line(format!(
                "    {} dropped the INVALID index {index} left by an earlier failed attempt",
                style("!").yellow().bold()
            )),
            Event::CaptureSaved { description, .. } => {
                tracing::info!("saved {description} for rollback")
            }
            Event::BackfillStarted {
                step,
                key,
                resumed_after,
                rows_done,
                total,
            } => {
                if let Some(after) = &resumed_after {
                    self.line(format!(
                        "    {} resuming backfill of {} after key ({}), {rows_done} rows already done",
                        style("↻").cyan(),
                        step.target,
                        after.join(", ")
                    ));
                }
                tracing::info!("backfill walks key ({})", key.join(", "));
                self.state.borrow_mut().rows = Some(rows_done);
                self.progress_bar(&step, total, rows_done);
            }
            Event::BackfillProgress {
                step,
                rows_done,
                total,
                rows_per_second,
                batch_size,
                throttle,
            } => {
                self.state.borrow_mut().rows = Some(rows_done);
                let pacing = match &throttle {
                    Some(t) => format!("batch {batch_size}, {t}"),
                    None => format!("batch {batch_size}"),
                };
                if self.animate {
                    if let Some(bar) = &self.state.borrow().live {
                        if let Some(total) = total {
                            bar.set_length(total);
                        }
                        bar.set_position(rows_done);
                        bar.set_message(format!("backfill {} ({pacing})", step.target));
                    }
                } else {
                    let now = Instant::now();
                    let due = self
                        .state
                        .borrow()
                        .last_plain_progress
                        .is_none_or(|t| now - t >= PLAIN_PROGRESS_EVERY);
                    if due {
                        self.state.borrow_mut().last_plain_progress = Some(now);
                        let of = match total {
                            Some(t) if t > 0 => format!(
                                "/{t} ({:.0}%)",
                                (rows_done as f64 * 100.0 / t as f64).min(100.0)
                            ),
                            Some(t) => format!("/{t}"),
                            None => String::new(),
                        };
                        let eta = match total {
                            Some(t) if rows_per_second > 0.0 && t > rows_done => format!(
                                ", about {} left",
                                duration(Duration::from_secs_f64(
                                    (t - rows_done) as f64 / rows_per_second
                                ))
                            ),
                            _ => String::new(),
                        };
                        self.line(format!(
                            "    backfill {}: {rows_done}{of} rows, {rows_per_second:.0} rows/s{eta} ({pacing})",
                            step.target
                        ));
                    }
                }
            }
            Event::BackfillThrottled { step, kind, reason } => {
                if kind == "pause" {
                    tracing::info!("backfill of {}: {reason}", step.target);
                } else {
                    self.line(format!(
                        "    {} backfill {} waits: {reason}",
                        style("⏸").yellow(),
                        step.target
                    ));
                }
            }
            Event::BackfillReleased { step, held, .. } => {
                self.line(format!(
                    "    {} backfill {} continues after waiting {}",
                    style("▶").green(),
                    step.target,
                    duration(held)
                ));
            }
            Event::StepFinished {
                step,
                outcome,
                duration: took,
            } => {
                self.clear_live();
                let rows = self
                    .state
                    .borrow_mut()
                    .rows
                    .take()
                    .map(|r| format!("  {r} rows"))
                    .unwrap_or_default();
                match outcome {
                    StepOutcome::Applied => self.line(format!(
                        "    {} {}{rows}  {}",
                        style("✓").green().bold(),
                        step_name(&step),
                        style(duration(took)).dim()
                    )),
                    StepOutcome::Skipped => self.line(format!(
                        "    {} {} {}",
                        style("-").dim(),
                        step_name(&step),
                        style("(already applied)").dim()
                    )),
                    StepOutcome::Failed { error } => self.line(format!(
                        "    {} {}  {}\n      {}",
                        style("✗").red().bold(),
                        step_name(&step),
                        style(duration(took)).dim(),
                        style(indent(&error, "      ")).red()
                    )),
                }
            }
            Event::CompensationStarted { phase, steps, .. } => self.line(format!(
                "  {} undoing the {steps} applied step(s) of {phase}, last first",
                style("↺").yellow().bold()
            )),
            Event::StepUndone {
                step,
                duration: took,
            } => {
                self.clear_live();
                self.line(format!(
                    "    {} undid {}  {}",
                    style("↺").yellow(),
                    step_name(&step),
                    style(duration(took)).dim()
                ))
            }
            Event::UndoFailed { step, error, hint } => {
                self.clear_live();
                self.line(format!(
                    "    {} COULD NOT UNDO {}: {error}\n      {} {hint}",
                    style("✗").red().bold(),
                    style(step_name(&step)).red().bold(),
                    style("needs a hand:").red().bold()
                ))
            }
            Event::PhaseDone { .. } => {}
            Event::StoppedBefore {
                plan,
                phase,
                reason,
            } => self.line(format!(
                "{} stopped before the {phase} phase of {plan}: {reason}",
                style("■").yellow().bold()
            )),
            Event::RollbackStarted { plan, steps } => self.line(format!(
                "{} {} {}",
                style("rolling back").bold(),
                style(&plan).bold().cyan(),
                style(format!("({steps} step(s), last first)")).dim()
            )),
            Event::PlanDone {
                plan,
                duration: took,
            } => self.line(format!(
                "{} {} done in {}",
                style("✓").green().bold(),
                style(&plan).bold(),
                duration(took)
            )),
            Event::Notice { message } => {
                self.line(format!("  {} {message}", style("note:").yellow()))
            }
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.clear_live();
    }
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
    fn durations_are_short() {
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(1450)), "1.4s");
        assert_eq!(duration(Duration::from_secs(123)), "2m 3s");
    }
}
