//! The resolved configuration of a run: flag > environment > plan `[settings]` > default.
//!
//! Built from the clap flags, the environment and one plan's settings before anything
//! connects to a database, so a bad value is an invocation error (exit 2), not a failure
//! half-way through a phase.

use std::path::PathBuf;
use std::time::Duration;

use crate::vocab::lag::MaxLag;

use crate::plan::model::Settings;
use crate::vocab::defaults;
use crate::vocab::duration::parse_duration;
use crate::vocab::env::{self, EnvVar};

/// Values given on the command line (`None`: not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub lock_timeout: Option<Duration>,
    pub lock_retries: Option<u32>,
    pub statement_timeout: Option<Duration>,
    pub batch_size: Option<u64>,
    pub pause: Option<Duration>,
    pub target_batch_time: Option<Duration>,
    pub pause_file: Option<PathBuf>,
    pub replica_urls: Vec<String>,
    pub backfill_workers: Option<u64>,
}

/// Where a value came from, for `-v` and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    Plan,
    Default,
}

/// The settings a run of one plan uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// How long each attempt of a statement that blocks reads or writes waits for its lock.
    pub lock_timeout: Duration,
    /// Attempts before giving up (at least 1).
    pub lock_retries: u32,
    /// How long one statement may run (`Long` statements are exempt).
    pub statement_timeout: Duration,
    /// Backfill defaults; a backfill step's own keys override the plan's `[settings]`, and flags
    /// and the environment override both.
    pub batch_size: u64,
    pub pause: Duration,
    pub target_batch_time: Option<Duration>,
    pub max_lag: Option<MaxLag>,
    pub pause_file: Option<PathBuf>,
    /// MySQL/MariaDB: the replicas `max_lag` watches (flag, else the environment's
    /// comma-separated list); empty: the replicas the primary lists.
    pub replica_urls: Vec<String>,
    /// Workers of a backfill from a flag or the environment (beat a step's `parallel`).
    pub backfill_workers: Option<u64>,
    /// The plan's `[settings] parallel` (a step's own key beats it).
    pub parallel: Option<u64>,
    /// Which of `batch_size`/`pause`/`target_batch_time` came from a flag or the environment
    /// (those beat a backfill step's own keys).
    pub forced: Forced,
}

/// Backfill values fixed by a flag or the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forced {
    pub batch_size: bool,
    pub pause: bool,
    pub target_batch_time: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {name}=`{value}`: {why}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub why: String,
}

impl Config {
    /// Resolves flag > environment (`env` looks a variable up) > plan settings > default.
    pub fn resolve(
        flags: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        plan: &Settings,
    ) -> Result<Config, ConfigError> {
        let environment = Environment(env);
        let env_lock_retries = environment.count(env::LOCK_RETRIES)?;
        let env_batch_size = environment.number(env::BATCH_SIZE)?;
        let env_pause = environment.duration(env::PAUSE)?;
        let env_target = environment.duration(env::TARGET_BATCH_TIME)?;
        let backfill_workers = flags
            .backfill_workers
            .or(environment.number(env::BACKFILL_WORKERS)?)
            .map(|n| refuse_zero("backfill_workers", "a backfill needs a worker", n))
            .transpose()?;
        let lock_retries = refuse_zero(
            "lock_retries",
            "at least one attempt is needed",
            flags
                .lock_retries
                .or(env_lock_retries)
                .or(plan.lock_retries)
                .unwrap_or(defaults::LOCK_RETRIES),
        )?;
        let batch_size = refuse_zero(
            "batch_size",
            "a batch needs at least one row",
            flags
                .batch_size
                .or(env_batch_size)
                .or(plan.batch_size)
                .unwrap_or(defaults::BATCH_SIZE),
        )?;
        let lock_timeout = refuse_zero(
            "lock_timeout",
            "a zero lock timeout would let DDL wait forever and block the application",
            flags
                .lock_timeout
                .or(environment.duration(env::LOCK_TIMEOUT)?)
                .or(plan.lock_timeout)
                .unwrap_or(defaults::LOCK_TIMEOUT),
        )?;
        let statement_timeout = flags
            .statement_timeout
            .or(environment.duration(env::STATEMENT_TIMEOUT)?)
            .or(plan.statement_timeout)
            .unwrap_or(defaults::STATEMENT_TIMEOUT);
        Ok(Config {
            lock_timeout,
            lock_retries,
            statement_timeout,
            batch_size,
            pause: flags
                .pause
                .or(env_pause)
                .or(plan.pause)
                .unwrap_or(defaults::PAUSE),
            target_batch_time: flags
                .target_batch_time
                .or(env_target)
                .or(plan.target_batch_time),
            max_lag: plan.max_lag,
            pause_file: flags
                .pause_file
                .clone()
                .or_else(|| environment.path(env::PAUSE_FILE)),
            replica_urls: match flags.replica_urls.as_slice() {
                [] => environment.list(env::REPLICA_URLS),
                given => given.to_vec(),
            },
            backfill_workers,
            parallel: plan.parallel,
            forced: Forced {
                batch_size: flags.batch_size.is_some() || env_batch_size.is_some(),
                pause: flags.pause.is_some() || env_pause.is_some(),
                target_batch_time: flags.target_batch_time.is_some() || env_target.is_some(),
            },
        })
    }

    /// The configuration with nothing given anywhere.
    pub fn defaults() -> Config {
        Config::resolve(&Overrides::default(), &|_| None, &Settings::default())
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }

    /// `resolve` with the process environment.
    pub fn from_process(flags: &Overrides, plan: &Settings) -> Result<Config, ConfigError> {
        Config::resolve(flags, &|name| std::env::var(name).ok(), plan)
    }

    /// The batch size of one backfill step: flag/env > step's key > plan settings > default.
    pub fn batch_size_for(&self, step: Option<u64>) -> u64 {
        match (self.forced.batch_size, step) {
            (false, Some(n)) if n > 0 => n,
            _ => self.batch_size,
        }
    }

    /// The `target_batch_time` of one backfill step, resolved like [`Config::batch_size_for`].
    pub fn target_batch_time_for(&self, step: Option<Duration>) -> Option<Duration> {
        match (self.forced.target_batch_time, step) {
            (false, Some(d)) => Some(d),
            _ => self.target_batch_time,
        }
        .filter(|d| !d.is_zero())
    }

    /// The workers of one backfill step: flag/env > step's `parallel` > plan settings > 1.
    pub fn backfill_workers_for(&self, step: Option<u64>) -> u64 {
        self.backfill_workers
            .or(step)
            .or(self.parallel)
            .unwrap_or(1)
            .max(1)
    }

    /// The `max_lag` of one backfill step: the step's key, else the plan's `[settings]`.
    pub fn max_lag_for(&self, step: Option<MaxLag>) -> Option<MaxLag> {
        step.or(self.max_lag)
    }

    /// The pause of one backfill step, resolved like [`Config::batch_size_for`].
    pub fn pause_for(&self, step: Option<Duration>) -> Duration {
        match (self.forced.pause, step) {
            (false, Some(d)) => d,
            _ => self.pause,
        }
    }
}

/// A value of zero refused with `why`: `name` is the setting, wherever it came from.
fn refuse_zero<T: Default + PartialEq>(
    name: &'static str,
    why: &str,
    value: T,
) -> Result<T, ConfigError> {
    if value == T::default() {
        return Err(ConfigError {
            name,
            value: "0".into(),
            why: why.into(),
        });
    }
    Ok(value)
}

/// Typed reads of the environment variables of [`crate::vocab::env`].
struct Environment<'e>(&'e dyn Fn(&str) -> Option<String>);

impl Environment<'_> {
    fn duration(&self, var: EnvVar) -> Result<Option<Duration>, ConfigError> {
        (self.0)(var.name)
            .map(|value| {
                parse_duration(&value).map_err(|why| ConfigError {
                    name: var.name,
                    value,
                    why,
                })
            })
            .transpose()
    }

    /// A positive whole number.
    fn number(&self, var: EnvVar) -> Result<Option<u64>, ConfigError> {
        (self.0)(var.name)
            .map(|value| match value.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError {
                    name: var.name,
                    value,
                    why: "expected a positive whole number".into(),
                }),
            })
            .transpose()
    }

    /// A positive whole number that fits a count of attempts.
    fn count(&self, var: EnvVar) -> Result<Option<u32>, ConfigError> {
        self.number(var)?
            .map(|n| {
                u32::try_from(n).map_err(|_| ConfigError {
                    name: var.name,
                    value: n.to_string(),
                    why: "too large".into(),
                })
            })
            .transpose()
    }

    /// A path; an empty value counts as unset.
    fn path(&self, var: EnvVar) -> Option<PathBuf> {
        (self.0)(var.name)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    /// A comma-separated list; blank items are left out.
    fn list(&self, var: EnvVar) -> Vec<String> {
        (self.0)(var.name)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_when_nothing_is_given() {
        let config = Config::defaults();
        assert_eq!(config.lock_timeout, Duration::from_millis(500));
        assert_eq!(config.lock_retries, 20);
        assert_eq!(config.statement_timeout, Duration::from_secs(60));
        assert_eq!(config.batch_size, 1000);
        assert_eq!(config.pause, Duration::ZERO);
        assert_eq!(config.target_batch_time, None);
    }

    #[test]
    fn backfill_workers_resolve_flag_then_environment_then_step_then_plan_then_one() {
        let plan = Settings {
            parallel: Some(2),
            ..Settings::default()
        };
        let resolve = |flag: Option<u64>, vars: &[(&str, &str)]| {
            let flags = Overrides {
                backfill_workers: flag,
                ..Overrides::default()
            };
            Config::resolve(&flags, &env(vars), &plan).unwrap()
        };
        let workers = [("BELLOWS_BACKFILL_WORKERS", "3")];
        assert_eq!(resolve(Some(4), &workers).backfill_workers_for(Some(5)), 4);
        assert_eq!(resolve(None, &workers).backfill_workers_for(Some(5)), 3);
        assert_eq!(resolve(None, &[]).backfill_workers_for(Some(5)), 5);
        assert_eq!(resolve(None, &[]).backfill_workers_for(None), 2);
        assert_eq!(Config::defaults().backfill_workers_for(None), 1);
        let zero = Config::resolve(
            &Overrides::default(),
            &env(&[("BELLOWS_BACKFILL_WORKERS", "0")]),
            &Settings::default(),
        );
        assert!(zero.is_err());
    }

    #[test]
    fn plan_settings_beat_defaults() {
        let plan = Settings {
            lock_timeout: Some(Duration::from_millis(250)),
            lock_retries: Some(5),
            batch_size: Some(200),
            ..Settings::default()
        };
        let config = Config::resolve(&Overrides::default(), &env(&[]), &plan).unwrap();
        assert_eq!(config.lock_timeout, Duration::from_millis(250));
        assert_eq!(config.lock_retries, 5);
        assert_eq!(config.batch_size, 200);
        assert!(!config.forced.batch_size);
    }

    #[test]
    fn environment_beats_plan_settings() {
        let plan = Settings {
            lock_timeout: Some(Duration::from_millis(250)),
            lock_retries: Some(5),
            ..Settings::default()
        };
        let config = Config::resolve(
            &Overrides::default(),
            &env(&[
                (env::LOCK_TIMEOUT.name, "2s"),
                (env::LOCK_RETRIES.name, "7"),
                (env::BATCH_SIZE.name, "50"),
            ]),
            &plan,
        )
        .unwrap();
        assert_eq!(config.lock_timeout, Duration::from_secs(2));
        assert_eq!(config.lock_retries, 7);
        assert_eq!(config.batch_size, 50);
        assert!(config.forced.batch_size);
    }

    #[test]
    fn flags_beat_environment_and_plan() {
        let plan = Settings {
            statement_timeout: Some(Duration::from_secs(5)),
            ..Settings::default()
        };
        let flags = Overrides {
            statement_timeout: Some(Duration::from_secs(9)),
            lock_retries: Some(3),
            ..Overrides::default()
        };
        let config = Config::resolve(
            &flags,
            &env(&[
                (env::STATEMENT_TIMEOUT.name, "7s"),
                (env::LOCK_RETRIES.name, "7"),
            ]),
            &plan,
        )
        .unwrap();
        assert_eq!(config.statement_timeout, Duration::from_secs(9));
        assert_eq!(config.lock_retries, 3);
    }

    #[test]
    fn bad_environment_values_are_named() {
        let error = Config::resolve(
            &Overrides::default(),
            &env(&[(env::LOCK_TIMEOUT.name, "soon")]),
            &Settings::default(),
        )
        .unwrap_err();
        assert_eq!(error.name, env::LOCK_TIMEOUT.name);
        assert!(error.to_string().contains("soon"), "{error}");
        let error = Config::resolve(
            &Overrides::default(),
            &env(&[(env::BATCH_SIZE.name, "-3")]),
            &Settings::default(),
        )
        .unwrap_err();
        assert_eq!(error.name, env::BATCH_SIZE.name);
    }

    #[test]
    fn zero_retries_and_zero_lock_timeout_are_refused() {
        let flags = Overrides {
            lock_retries: Some(0),
            ..Overrides::default()
        };
        assert!(Config::resolve(&flags, &env(&[]), &Settings::default()).is_err());
        let flags = Overrides {
            lock_timeout: Some(Duration::ZERO),
            ..Overrides::default()
        };
        assert!(Config::resolve(&flags, &env(&[]), &Settings::default()).is_err());
    }

    #[test]
    fn a_backfill_steps_own_keys_beat_plan_settings_but_not_flags() {
        let plan = Settings {
            batch_size: Some(200),
            ..Settings::default()
        };
        let config = Config::resolve(&Overrides::default(), &env(&[]), &plan).unwrap();
        assert_eq!(config.batch_size_for(Some(10)), 10);
        assert_eq!(config.batch_size_for(None), 200);
        let flags = Overrides {
            batch_size: Some(30),
            pause: Some(Duration::from_millis(5)),
            ..Overrides::default()
        };
        let config = Config::resolve(&flags, &env(&[]), &plan).unwrap();
        assert_eq!(config.batch_size_for(Some(10)), 30);
        assert_eq!(
            config.pause_for(Some(Duration::from_secs(1))),
            Duration::from_millis(5)
        );
    }

    #[test]
    fn replica_urls_come_from_the_flag_else_the_environment_list() {
        let from_env = env(&[(env::REPLICA_URLS.name, " mysql://r1:3307 ,, mysql://r2 ")]);
        let config = Config::resolve(&Overrides::default(), &from_env, &Settings::default());
        assert_eq!(
            config.unwrap().replica_urls,
            vec!["mysql://r1:3307".to_string(), "mysql://r2".to_string()]
        );
        let flags = Overrides {
            replica_urls: vec!["mysql://r3".into()],
            ..Overrides::default()
        };
        let config = Config::resolve(&flags, &from_env, &Settings::default()).unwrap();
        assert_eq!(config.replica_urls, vec!["mysql://r3".to_string()]);
        assert!(Config::defaults().replica_urls.is_empty());
    }

    #[test]
    fn target_batch_time_max_lag_and_pause_file_resolve_in_order() {
        let ms = Duration::from_millis;
        let plan = Settings {
            target_batch_time: Some(ms(200)),
            max_lag: Some(MaxLag::Time(ms(3000))),
            ..Settings::default()
        };
        let config = Config::resolve(&Overrides::default(), &env(&[]), &plan).unwrap();
        // step > plan [settings]
        assert_eq!(config.target_batch_time_for(Some(ms(50))), Some(ms(50)));
        assert_eq!(config.target_batch_time_for(None), Some(ms(200)));
        let bytes = Some(MaxLag::Bytes(16 << 20));
        assert_eq!(config.max_lag_for(bytes), bytes);
        assert_eq!(config.max_lag_for(None), Some(MaxLag::Time(ms(3000))));
        assert_eq!(config.pause_file, None);
        // env > step
        let config = Config::resolve(
            &Overrides::default(),
            &env(&[
                (env::TARGET_BATCH_TIME.name, "75ms"),
                (env::PAUSE_FILE.name, "/tmp/from-env"),
            ]),
            &plan,
        )
        .unwrap();
        assert_eq!(config.target_batch_time_for(Some(ms(50))), Some(ms(75)));
        assert_eq!(config.pause_file, Some(PathBuf::from("/tmp/from-env")));
        // flag > env
        let flags = Overrides {
            target_batch_time: Some(ms(20)),
            pause_file: Some(PathBuf::from("/tmp/from-flag")),
            ..Overrides::default()
        };
        let config = Config::resolve(
            &flags,
            &env(&[
                (env::TARGET_BATCH_TIME.name, "75ms"),
                (env::PAUSE_FILE.name, "/tmp/from-env"),
            ]),
            &plan,
        )
        .unwrap();
        assert_eq!(config.target_batch_time_for(Some(ms(50))), Some(ms(20)));
        assert_eq!(config.pause_file, Some(PathBuf::from("/tmp/from-flag")));
        // A zero target is no target.
        let config = Config::defaults();
        assert_eq!(config.target_batch_time_for(Some(Duration::ZERO)), None);
    }
}
