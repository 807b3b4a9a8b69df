//! How many workers of a parallel backfill fit in the connections the server has left: each
//! further worker opens one connection, and the application keeps a few free.

use crate::engine::backend::Backend;
use crate::engine::context::StepContext;
use crate::engine::reporter::Event;

/// The fewest connections a walk leaves free under a limit for the application.
pub const MIN_LEFT_FREE: u64 = 3;

/// A limit the connections of a run count against (`max_connections`, a role's or a
/// database's `CONNECTION LIMIT`), and the connections in use under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimit {
    /// What the limit is, for the notice: `max_connections`, `the role's CONNECTION LIMIT` …
    pub name: String,
    /// The connections ordinary sessions may open under it (slots reserved for superusers
    /// already taken off).
    pub limit: u64,
    /// Sessions counted against it now, this run's own among them.
    pub in_use: u64,
}

impl ConnectionLimit {
    /// The connections left free for the application: a tenth of the limit, and at least
    /// [`MIN_LEFT_FREE`]. A tenth grows with the server, where pools, replicas' and
    /// monitoring's sessions grow too; three keep room on a small server for an operator's
    /// `psql`, a monitoring probe and one more application connection.
    pub fn left_free(&self) -> u64 {
        self.limit.div_ceil(10).max(MIN_LEFT_FREE)
    }

    /// The connections a run may still open under this limit.
    pub fn room(&self) -> u64 {
        self.limit
            .saturating_sub(self.in_use)
            .saturating_sub(self.left_free())
    }
}

/// Of `more` further workers, how many fit under every one of `limits`, with the limit that held
/// some back (the tightest); never fewer than none (the first worker is already connected).
pub fn workers_that_fit(more: u64, limits: &[ConnectionLimit]) -> (u64, Option<&ConnectionLimit>) {
    let tightest = limits.iter().min_by_key(|limit| limit.room());
    match tightest {
        Some(limit) if limit.room() < more => (limit.room(), Some(limit)),
        _ => (more, None),
    }
}

/// The workers a walk opens, of the `asked` (at least one): as many as fit in the connections
/// the server has left, with a notice when fewer. Limits the role cannot read do not hold any
/// back.
pub async fn workers_with_room<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    asked: usize,
) -> usize {
    let more = asked.saturating_sub(1) as u64;
    if more == 0 {
        return 1;
    }
    let limits = match backend.connection_limits().await {
        Ok(limits) => limits,
        Err(error) => {
            tracing::debug!("the server's connection limits could not be read ({error})");
            return asked;
        }
    };
    let (fit, Some(limit)) = workers_that_fit(more, &limits) else {
        return asked;
    };
    let workers = fit + 1;
    ctx.reporter.report(Event::Notice {
        message: format!(
            "{asked} backfill workers would leave fewer than {free} connections free under {name} \
             ({limit}, {in_use} in use); the backfill walks with {workers} worker{s} and the \
             ranges take turns",
            free = limit.left_free(),
            name = limit.name,
            limit = limit.limit,
            in_use = limit.in_use,
            s = if workers == 1 { "" } else { "s" },
        ),
    });
    workers as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(limit: u64, in_use: u64) -> ConnectionLimit {
        ConnectionLimit {
            name: format!("limit {limit}"),
            limit,
            in_use,
        }
    }

    #[test]
    fn a_tenth_of_the_limit_and_at_least_three_are_left_free() {
        let cases = [(5, 3), (30, 3), (31, 4), (97, 10), (100, 10), (1000, 100)];
        for (max, free) in cases {
            assert_eq!(limit(max, 0).left_free(), free, "limit {max}");
        }
    }

    /// More workers asked, the limits as (limit, in use), more that fit, and the index of the
    /// limit that held some back.
    type Case = (u64, &'static [(u64, u64)], u64, Option<usize>);

    #[test]
    fn the_tightest_limit_says_how_many_more_workers_fit() {
        let cases: [Case; 8] = [
            (3, &[], 3, None),
            (3, &[(97, 10)], 3, None),
            (3, &[(97, 84)], 3, None),
            (3, &[(97, 85)], 2, Some(0)),
            (3, &[(97, 90)], 0, Some(0)),
            (3, &[(97, 200)], 0, Some(0)),
            (7, &[(97, 10), (8, 3)], 2, Some(1)),
            (2, &[(97, 10), (8, 3)], 2, None),
        ];
        for (more, given, fit, by) in cases {
            let limits: Vec<_> = given.iter().map(|(l, u)| limit(*l, *u)).collect();
            let (n, held) = workers_that_fit(more, &limits);
            assert_eq!(n, fit, "{more} more under {given:?}");
            assert_eq!(
                held.map(|h| h.limit),
                by.map(|i| limits[i].limit),
                "{more} more under {given:?}"
            );
        }
    }
}
