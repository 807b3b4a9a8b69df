//! The randomness of the fault tests: a xorshift generator seeded from `BELLOWS_FAULT_SEED` or
//! the clock, so that every failure can be replayed from the seed it prints.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// xorshift64*: small, fast, and the same sequence for the same seed on every machine.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // NOTE: xorshift never leaves the all-zero state; one splitmix64 step spreads the seed
        // (neighbouring seeds give unrelated sequences) and `| 1` keeps it off zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A duration uniformly in `[from, to)`.
    pub fn between(&mut self, from: Duration, to: Duration) -> Duration {
        let span = to.saturating_sub(from).as_micros().max(1) as u64;
        from + Duration::from_micros(self.below(span))
    }

    /// `true` with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The seed of this test process: `BELLOWS_FAULT_SEED`, else the clock.
pub fn seed() -> u64 {
    match std::env::var("BELLOWS_FAULT_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("BELLOWS_FAULT_SEED={text:?} is not a number")),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// Trials per fault kind: `BELLOWS_FAULT_TRIALS`, else `default`.
pub fn trials(default: usize) -> usize {
    match std::env::var("BELLOWS_FAULT_TRIALS") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("BELLOWS_FAULT_TRIALS={text:?} is not a number")),
        Err(_) => default,
    }
}

#[test]
fn the_same_seed_gives_the_same_sequence() {
    let mut a = Rng::new(42);
    let mut b = Rng::new(42);
    let first: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
    assert_eq!(first, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
    let mut c = Rng::new(43);
    assert_ne!(first, (0..8).map(|_| c.next_u64()).collect::<Vec<_>>());
    let mut zero = Rng::new(0);
    assert_ne!(zero.next_u64(), zero.next_u64());
    let mut r = Rng::new(7);
    assert!((0..1000).all(|_| r.below(10) < 10));
}
