//! The fleet's decisions, as pure functions: which database starts next, when a failure stops
//! the others, and which of the databases' results decides the exit.

use crate::engine::ErrorKind;

/// Where one database of the fleet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Waiting,
    Running,
    Succeeded,
    Failed,
    /// Stopped at a safe point because the run was stopping (another failed, Ctrl-C).
    Stopped,
}

/// How the fleet is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Databases at a time (at least 1).
    pub parallel: usize,
    /// Indexes of the canaries: they run first, and if one fails nothing else starts.
    pub canaries: Vec<usize>,
    /// A failure does not stop the others (canaries still do).
    pub keep_going: bool,
}

/// What the runner does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Start this database.
    Start(usize),
    /// Wait for a running database to finish.
    Wait,
    /// Nothing runs and nothing more will start.
    Done,
}

/// The next thing to do, given every database's slot; `stopping`: Ctrl-C was pressed.
pub fn next(policy: &Policy, slots: &[Slot], stopping: bool) -> Next {
    let running = slots.iter().filter(|s| **s == Slot::Running).count();
    let idle = if running > 0 { Next::Wait } else { Next::Done };
    if stopping || halted(policy, slots) {
        return idle;
    }
    let canaries_left = policy
        .canaries
        .iter()
        .any(|&i| matches!(slots[i], Slot::Waiting | Slot::Running));
    let candidate = if canaries_left {
        policy
            .canaries
            .iter()
            .copied()
            .find(|&i| slots[i] == Slot::Waiting)
    } else {
        slots.iter().position(|s| *s == Slot::Waiting)
    };
    match candidate {
        Some(i) if running < policy.parallel.max(1) => Next::Start(i),
        _ => idle,
    }
}

/// Whether the failures so far stop the run: a canary failed, or any database failed without
/// `--keep-going`. Databases still running are then asked to stop at their next safe point.
pub fn halted(policy: &Policy, slots: &[Slot]) -> bool {
    let canary_failed = policy.canaries.iter().any(|&i| slots[i] == Slot::Failed);
    let any_failed = slots.contains(&Slot::Failed);
    canary_failed || (any_failed && !policy.keep_going)
}

/// How bad an error is, for the exit of the whole fleet: an interrupt first (the person asked
/// to stop), then a failed step (a database may need a hand), an invalid run, a failed guard,
/// and a lock that could not be taken (try again later).
fn severity(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Interrupted => 5,
        ErrorKind::Failed => 4,
        ErrorKind::Invalid => 3,
        ErrorKind::Guard => 2,
        ErrorKind::Locked => 1,
    }
}

/// The worst of the databases' errors (`None`: every database succeeded).
pub fn worst(kinds: impl IntoIterator<Item = Option<ErrorKind>>) -> Option<ErrorKind> {
    kinds.into_iter().flatten().max_by_key(|k| severity(*k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Slot::{Failed as F, Running as R, Stopped as S, Succeeded as D, Waiting as W};

    fn policy(parallel: usize, canaries: &[usize], keep_going: bool) -> Policy {
        Policy {
            parallel,
            canaries: canaries.to_vec(),
            keep_going,
        }
    }

    #[test]
    fn the_next_database_starts_within_the_parallel_limit_and_canaries_first() {
        let cases: &[(Policy, &[Slot], bool, Next, &str)] = &[
            (
                policy(2, &[], false),
                &[W, W, W],
                false,
                Next::Start(0),
                "first in order",
            ),
            (
                policy(2, &[], false),
                &[R, W, W],
                false,
                Next::Start(1),
                "room for one more",
            ),
            (
                policy(2, &[], false),
                &[R, R, W],
                false,
                Next::Wait,
                "limit reached",
            ),
            (
                policy(2, &[], false),
                &[D, R, W],
                false,
                Next::Start(2),
                "a slot freed",
            ),
            (
                policy(2, &[], false),
                &[D, D, D],
                false,
                Next::Done,
                "all done",
            ),
            (
                policy(0, &[], false),
                &[W],
                false,
                Next::Start(0),
                "parallel 0 means 1",
            ),
            (
                policy(4, &[2], false),
                &[W, W, W],
                false,
                Next::Start(2),
                "the canary first",
            ),
            (
                policy(4, &[2], false),
                &[W, W, R],
                false,
                Next::Wait,
                "the rest wait for it",
            ),
            (
                policy(4, &[2], false),
                &[W, W, D],
                false,
                Next::Start(0),
                "then the rest",
            ),
            (
                policy(1, &[1, 2], false),
                &[W, D, W],
                false,
                Next::Start(2),
                "every canary",
            ),
            (
                policy(4, &[2], true),
                &[W, W, F],
                false,
                Next::Done,
                "a failed canary stops all",
            ),
            (
                policy(4, &[], false),
                &[F, R, W],
                false,
                Next::Wait,
                "a failure: none new",
            ),
            (
                policy(4, &[], false),
                &[F, S, W],
                false,
                Next::Done,
                "stopped, none left",
            ),
            (
                policy(4, &[], true),
                &[F, R, W],
                false,
                Next::Start(2),
                "keep going",
            ),
            (
                policy(4, &[], true),
                &[R, W],
                true,
                Next::Wait,
                "Ctrl-C: none new",
            ),
            (
                policy(4, &[], true),
                &[D, W],
                true,
                Next::Done,
                "Ctrl-C: done",
            ),
        ];
        for (policy, slots, stopping, expected, why) in cases {
            assert_eq!(next(policy, slots, *stopping), *expected, "{why}");
        }
    }

    #[test]
    fn a_failure_halts_the_run_unless_keep_going_and_not_a_canary() {
        assert!(halted(&policy(2, &[], false), &[F, R]));
        assert!(!halted(&policy(2, &[], true), &[F, R]));
        assert!(halted(&policy(2, &[0], true), &[F, W]));
        assert!(!halted(&policy(2, &[], false), &[D, S]));
    }

    #[test]
    fn the_exit_is_the_worst_error() {
        use ErrorKind::*;
        let cases: &[(&[Option<ErrorKind>], Option<ErrorKind>)] = &[
            (&[None, None], None),
            (&[None, Some(Guard)], Some(Guard)),
            (&[Some(Locked), Some(Guard)], Some(Guard)),
            (&[Some(Guard), Some(Failed)], Some(Failed)),
            (&[Some(Invalid), Some(Guard)], Some(Invalid)),
            (&[Some(Failed), Some(Interrupted)], Some(Interrupted)),
        ];
        for (kinds, expected) in cases {
            assert_eq!(worst(kinds.iter().copied()), *expected, "{kinds:?}");
        }
    }
}
