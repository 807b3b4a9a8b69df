//! The CLI's [`Reporter`]: engine events drawn as styled lines with a spinner and a progress bar
//! on a terminal, plain lines otherwise, or one JSON object per line with `--format json`.
//!
//! The drawing itself is pure ([`lines`]); [`terminal`] performs it and owns the spinner;
//! [`json`] is the JSON reporter.

pub mod fleet;
pub mod json;
pub mod lines;
pub mod terminal;

use std::cell::RefCell;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::cli::args::Format;
use crate::engine::reporter::{Event, Reporter};

pub use lines::duration;

/// `-q/--quiet`: engine events are drawn only when they report a failure or a warning.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `-q/--quiet` for every printer of this process.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether a quiet run still draws `event`: failures, refusals and warnings.
fn shown_when_quiet(event: &Event) -> bool {
    use crate::engine::reporter::StepOutcome;
    match event {
        Event::StepFinished { outcome, .. } => {
            !matches!(outcome, StepOutcome::Applied | StepOutcome::Skipped)
        }
        Event::GuardChecked { passed, .. } => !passed,
        Event::UndoFailed { .. }
        | Event::CompensationStarted { .. }
        | Event::AutovacuumBlocking { .. }
        | Event::ChecksumChangedAllowed { .. } => true,
        _ => false,
    }
}

/// What the commands print through: engine events, and their own lines and documents.
pub struct Printer {
    /// `Some` with `--format json`.
    json: Option<json::JsonLines>,
    lines: RefCell<lines::Lines>,
    terminal: terminal::Terminal,
}

impl Printer {
    pub fn new(format: Format) -> Printer {
        // Spinner and bars only when stdout and stderr are terminals.
        let animate = format == Format::Human
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        Printer {
            json: (format == Format::Json).then_some(json::JsonLines),
            lines: RefCell::new(lines::Lines::new(animate)),
            terminal: terminal::Terminal::default(),
        }
    }

    /// Prints one line, above any spinner.
    pub fn line(&self, text: impl AsRef<str>) {
        self.terminal.line(text.as_ref());
    }

    /// Prints one JSON document (or event) on its own line.
    pub fn json(&self, value: &impl serde::Serialize) {
        json::JsonLines.write(value);
    }

    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }
}

impl Reporter for Printer {
    fn report(&self, event: Event) {
        if let Some(json) = &self.json {
            return json.report(event);
        }
        if QUIET.load(Ordering::Relaxed) && !shown_when_quiet(&event) {
            return;
        }
        let draws = self.lines.borrow_mut().draw(&event, Instant::now());
        for draw in draws {
            self.terminal.apply(draw);
        }
    }
}

/// Snapshots of what a user reads for every engine event: the plain transcript (no terminal),
/// the draws of a terminal (spinner and bar included), and the JSON lines.
#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::json::to_line;
    use super::lines::{duration, Draw, Lines};
    use crate::engine::reporter::{AutovacuumKind, Blocker, Event, StepOutcome, StepRef};
    use crate::vocab::Phase;

    fn step(phase: Phase, index: usize, op: &str, target: &str) -> StepRef {
        StepRef {
            plan: "users_email_verified".into(),
            phase,
            index,
            op: op.into(),
            target: target.into(),
        }
    }

    fn blocker(autovacuum: Option<AutovacuumKind>) -> Blocker {
        Blocker {
            pid: 4242,
            application_name: "psql".into(),
            state: "idle in transaction".into(),
            query: "UPDATE users\n   SET name = 'x'".into(),
            xact_age: Some(Duration::from_secs(35)),
            autovacuum,
        }
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    /// Every event variant at least once, in an order a real run could produce, each with the
    /// milliseconds since the run started at which it arrives.
    fn script() -> Vec<(u64, Event)> {
        let plan = || "users_email_verified".to_string();
        let add = step(Phase::Expand, 0, "add_column", "users.email_verified");
        let index = step(Phase::Expand, 1, "add_index", "users.email_verified");
        let fill = step(Phase::Backfill, 0, "backfill", "users");
        let guard = step(Phase::Switch, 0, "guard", "users.email_verified");
        let drop = step(Phase::Contract, 0, "drop_sync", "users.email_verified");
        let not_null = step(Phase::Contract, 1, "set_not_null", "users.email_verified");
        let mut events = vec![
            (
                0,
                Event::ChecksumChangedAllowed {
                    plan: plan(),
                    recorded: "0123456789abcdef0123".into(),
                    current: "fedcba9876543210fedc".into(),
                },
            ),
            (
                0,
                Event::PlanStarted {
                    plan: plan(),
                    checksum: "0123456789abcdef".into(),
                    phases: Phase::ALL.to_vec(),
                },
            ),
            (
                0,
                Event::PhaseStarted {
                    plan: plan(),
                    phase: Phase::Expand,
                },
            ),
            (1, Event::StepStarted { step: add.clone() }),
            (
                2,
                Event::StatementStarted {
                    step: add.clone(),
                    sql: "ALTER TABLE users ADD COLUMN email_verified boolean".into(),
                },
            ),
            (
                3,
                Event::LockWaiting {
                    step: add.clone(),
                    table: None,
                    attempt: 1,
                    attempts: 20,
                    waited: ms(250),
                    blockers: vec![blocker(None)],
                },
            ),
            (
                4,
                Event::LockRetry {
                    step: add.clone(),
                    table: Some("public.users".into()),
                    attempt: 1,
                    attempts: 20,
                    backoff: ms(120),
                    blockers: vec![blocker(None)],
                },
            ),
            (
                5,
                Event::AutovacuumCancelled {
                    step: add.clone(),
                    pid: 77,
                    query: "autovacuum: VACUUM public.users".into(),
                },
            ),
            (
                6,
                Event::AutovacuumBlocking {
                    step: add.clone(),
                    pid: 78,
                    query: "autovacuum: VACUUM public.users".into(),
                    kind: AutovacuumKind::Ordinary,
                    next_wait: Some(ms(1500)),
                },
            ),
            (
                7,
                Event::AutovacuumBlocking {
                    step: add.clone(),
                    pid: 79,
                    query: "autovacuum: VACUUM public.users".into(),
                    kind: AutovacuumKind::Ordinary,
                    next_wait: None,
                },
            ),
            (
                8,
                Event::AutovacuumBlocking {
                    step: add.clone(),
                    pid: 80,
                    query: "autovacuum: VACUUM public.users (to prevent wraparound)".into(),
                    kind: AutovacuumKind::Wraparound,
                    next_wait: None,
                },
            ),
            (
                9,
                Event::Retrying {
                    step: add.clone(),
                    reason: "deadlock detected".into(),
                    attempt: 2,
                    attempts: 5,
                    backoff: ms(2300),
                },
            ),
            (
                10,
                Event::CaptureSaved {
                    step: add.clone(),
                    name: "default".into(),
                    description: "the column's default".into(),
                },
            ),
            (
                12,
                Event::StepFinished {
                    step: add.clone(),
                    outcome: StepOutcome::Applied,
                    duration: ms(12),
                },
            ),
            (
                13,
                Event::StepStarted {
                    step: index.clone(),
                },
            ),
            (
                14,
                Event::InvalidIndexDropped {
                    step: index.clone(),
                    index: "users_email_verified_idx".into(),
                },
            ),
            (
                15,
                Event::StepFinished {
                    step: index.clone(),
                    outcome: StepOutcome::Skipped,
                    duration: ms(0),
                },
            ),
            (
                16,
                Event::PhaseDone {
                    plan: plan(),
                    phase: Phase::Expand,
                    duration: ms(16),
                },
            ),
            (
                16,
                Event::PhaseStarted {
                    plan: plan(),
                    phase: Phase::Backfill,
                },
            ),
            (17, Event::StepStarted { step: fill.clone() }),
            (
                18,
                Event::BackfillStarted {
                    step: fill.clone(),
                    key: vec!["id".into()],
                    resumed_after: Some(vec!["1000".into()]),
                    rows_done: 1000,
                    total: Some(10_000),
                },
            ),
            (
                100,
                Event::BackfillProgress {
                    step: fill.clone(),
                    rows_done: 2000,
                    total: Some(10_000),
                    batch_size: 1000,
                    rows_per_second: 1000.0,
                    throttle: None,
                },
            ),
            // Less than two seconds after the last plain line: not printed without a terminal.
            (
                1500,
                Event::BackfillProgress {
                    step: fill.clone(),
                    rows_done: 3000,
                    total: Some(10_000),
                    batch_size: 1000,
                    rows_per_second: 1000.0,
                    throttle: Some("pause 10ms between batches".into()),
                },
            ),
            (
                1600,
                Event::BackfillThrottled {
                    step: fill.clone(),
                    kind: "pause".into(),
                    reason: "pause 10ms between batches".into(),
                },
            ),
            (
                1700,
                Event::BackfillThrottled {
                    step: fill.clone(),
                    kind: "pause_file".into(),
                    reason: "pause file /tmp/pause exists".into(),
                },
            ),
            (
                4700,
                Event::BackfillReleased {
                    step: fill.clone(),
                    kind: "pause_file".into(),
                    held: ms(3000),
                },
            ),
            (
                4800,
                Event::BackfillProgress {
                    step: fill.clone(),
                    rows_done: 4000,
                    total: None,
                    batch_size: 800,
                    rows_per_second: 0.0,
                    throttle: Some("target_batch_time 200ms".into()),
                },
            ),
            (
                7000,
                Event::BackfillProgress {
                    step: fill.clone(),
                    rows_done: 0,
                    total: Some(0),
                    batch_size: 800,
                    rows_per_second: 10.0,
                    throttle: None,
                },
            ),
            (
                9000,
                Event::BackfillProgress {
                    step: fill.clone(),
                    rows_done: 12_000,
                    total: Some(10_000),
                    batch_size: 800,
                    rows_per_second: 900.0,
                    throttle: None,
                },
            ),
            (
                9100,
                Event::StepFinished {
                    step: fill.clone(),
                    outcome: StepOutcome::Applied,
                    duration: ms(9083),
                },
            ),
            (
                9200,
                Event::PhaseStarted {
                    plan: plan(),
                    phase: Phase::Switch,
                },
            ),
            (
                9300,
                Event::GuardChecked {
                    step: guard.clone(),
                    description: "no NULL in users.email_verified".into(),
                    query: "SELECT count(*) …".into(),
                    expected: "0".into(),
                    found: "0".into(),
                    passed: true,
                },
            ),
            (
                9400,
                Event::GuardChecked {
                    step: guard.clone(),
                    description: "no NULL in users.email_verified".into(),
                    query: "SELECT count(*) …".into(),
                    expected: "0".into(),
                    found: "3".into(),
                    passed: false,
                },
            ),
            (
                9500,
                Event::StoppedBefore {
                    plan: plan(),
                    phase: Phase::Contract,
                    reason: "the contract phase needs --yes (there is no terminal to ask on)"
                        .into(),
                },
            ),
            (
                9600,
                Event::PhaseStarted {
                    plan: plan(),
                    phase: Phase::Contract,
                },
            ),
            (9700, Event::StepStarted { step: drop.clone() }),
            (
                9800,
                Event::StepFinished {
                    step: drop.clone(),
                    outcome: StepOutcome::Applied,
                    duration: ms(45),
                },
            ),
            (
                9900,
                Event::StepStarted {
                    step: not_null.clone(),
                },
            ),
            (
                10_000,
                Event::StepFinished {
                    step: not_null.clone(),
                    outcome: StepOutcome::Failed {
                        error: "column \"email_verified\" contains null values\nDETAIL: 3 rows"
                            .into(),
                    },
                    duration: ms(61_000),
                },
            ),
            (
                10_100,
                Event::CompensationStarted {
                    plan: plan(),
                    phase: Phase::Contract,
                    steps: 1,
                },
            ),
            (
                10_200,
                Event::StepUndone {
                    step: drop.clone(),
                    duration: ms(7),
                },
            ),
            (
                10_300,
                Event::UndoFailed {
                    step: drop.clone(),
                    error: "trigger already exists".into(),
                    hint: "drop the trigger by hand, then run rollback again".into(),
                },
            ),
            (
                10_400,
                Event::Notice {
                    message: "the ledger was created".into(),
                },
            ),
            (
                10_500,
                Event::PlanDone {
                    plan: plan(),
                    duration: ms(10_500),
                    pending: Vec::new(),
                },
            ),
            (
                10_600,
                Event::RollbackStarted {
                    plan: plan(),
                    steps: 2,
                },
            ),
            (10_700, Event::NothingToDo { plan: plan() }),
        ];
        events.sort_by_key(|(at, _)| *at);
        events
    }

    /// The draws of the whole script, one per line. Without a terminal only the printed lines; on
    /// a terminal also the spinner, bar and log draws, by name.
    fn transcript(animated: bool) -> String {
        console::set_colors_enabled(false);
        let start = Instant::now();
        let mut lines = Lines::new(animated);
        let mut out = String::new();
        for (at, event) in script() {
            for draw in lines.draw(&event, start + ms(at)) {
                match draw {
                    Draw::Line(text) => out.push_str(&text),
                    _ if !animated => continue,
                    other => out.push_str(&format!("[{other:?}]")),
                }
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn every_event_has_a_plain_transcript() {
        insta::assert_snapshot!("plain", transcript(false));
    }

    #[test]
    fn every_event_has_a_terminal_drawing() {
        insta::assert_snapshot!("terminal", transcript(true));
    }

    #[test]
    fn every_event_is_one_json_line() {
        let out: Vec<String> = script()
            .iter()
            .map(|(_, event)| to_line(event).unwrap())
            .collect();
        insta::assert_snapshot!("json", out.join("\n"));
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(1450)), "1.4s");
        assert_eq!(duration(Duration::from_secs(123)), "2m 3s");
    }
}
