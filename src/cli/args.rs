//! Command-line arguments: clap structs that describe and validate input, nothing more.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::dialect::DialectKind;
use crate::vocab::Phase;

#[derive(Debug, Parser)]
#[command(
    name = "bellows",
    version,
    about = "Zero-downtime schema changes: expand, backfill, switch, contract",
    long_about = "bellows changes the schema of a live database without downtime. A change is a TOML plan \
                  with four phases (expand, backfill, switch, contract) that bellows runs in order, with \
                  lock timeouts and retries, resumable batched backfills, guards and a ledger.",
    after_help = "The database: -d URL, or DATABASE_URL (postgres://user@host/db or sqlite:path.db).\n\
                  Exit codes: 0 success, 1 a step failed, 2 invalid invocation or plan, \
                  3 a guard failed, 4 the run lock or a table lock could not be taken, \
                  130 interrupted (Ctrl-C)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More logging (-v bellows' info, -vv every statement sent and library logs); RUST_LOG
    /// overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only failures and warnings while applying or rolling back (no steps, no progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to colour the output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--color`: when output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start using bellows here: a plans/ folder with a first commented plan, the plan
    /// format's JSON Schema and a .taplo.toml for editors.
    Init(InitArgs),
    /// Write the next numbered plan from a template.
    New(NewArgs),
    /// Parse, validate and lint plans without a database.
    Check(CheckArgs),
    /// Dry run: every step with its exact SQL, lock and cost. Changes nothing.
    Plan(PlanArgs),
    /// Run the pending phases of plans, in order.
    Apply(ApplyArgs),
    /// Show each plan's phases and steps as the ledger records them.
    Status(StatusArgs),
    /// List the version schemas (PostgreSQL) with their plans and search_path lines; with
    /// --remove, drop those of finished plans.
    Versions(VersionsArgs),
    /// Undo applied steps in reverse order.
    Rollback(RollbackArgs),
    /// Compare the ledger with the catalog and report any drift (exit 1 when there is some).
    Doctor(DoctorArgs),
    /// Create a SQLite demo database and run an example plan through all four phases.
    Demo(DemoArgs),
    /// Print the JSON Schema of the plan file.
    Schema,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per subcommand to a folder.
    Man {
        /// Write bellows.1 and bellows-SUBCOMMAND.1 here instead of printing bellows.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `--format`: how a command prints what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Styled lines for people.
    #[default]
    Human,
    /// JSON for programs (for `apply` and `rollback`, one event per line).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    AddColumn,
    RenameColumn,
    ChangeType,
    AddNotNull,
    AddIndex,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder the plans go in.
    #[arg(long, default_value = "plans")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Plan name, used in the file name: `0003_NAME.toml` (asked for on a terminal when
    /// missing).
    pub name: Option<String>,
    /// What the plan does (on a terminal, asked for when missing; otherwise add-column).
    #[arg(long, short, value_enum)]
    pub template: Option<Template>,
    /// Directory the plan is written to.
    #[arg(long, default_value = "plans")]
    pub dir: PathBuf,
    /// Table the plan changes.
    #[arg(long)]
    pub table: Option<String>,
    /// Column the plan changes (or adds).
    #[arg(long)]
    pub column: Option<String>,
    /// New column name: the new name (rename-column) or the column holding the new type
    /// (change-type). `--to` is accepted too.
    #[arg(long = "new-column", alias = "to", value_name = "COLUMN")]
    pub to: Option<String>,
    /// Column type (add-column, rename-column, change-type).
    #[arg(long = "type")]
    pub type_: Option<String>,
    /// SQL expression that fills the column (add-column, change-type, add-not-null).
    #[arg(long)]
    pub from: Option<String>,
    /// The database the plan is for: on sqlite and mysql, rename-column and change-type write
    /// the copy-and-sync form (a second column), which needs --new-column and --type.
    #[arg(long, value_enum, default_value = "postgres")]
    pub dialect: DialectKind,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Plan files or directories (every `*.toml` inside, in name order).
    #[arg(required = true)]
    pub plans: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Also check each plan against this database, read-only: tables, columns and types exist
    /// and every expression type-checks against the table as the earlier steps leave it.
    #[arg(short = 'd', long = "database", value_name = "URL")]
    pub database: Option<String>,
    /// Also check that every step can run on this database (repeat for several); with `-d`,
    /// the database's own kind is checked too.
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Vec<DialectKind>,
    /// How to print: human lines or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// Database URL: postgres://…, sqlite:path.db. Given more than once (`apply`, `status`,
    /// `rollback`): a fleet of those databases.
    #[arg(
        short = 'd',
        long = "database",
        env = "DATABASE_URL",
        hide_env_values = true,
        action = clap::ArgAction::Append
    )]
    pub database: Vec<String>,
    /// A databases file (a fleet, for `apply`, `status` and `rollback`): TOML with
    /// `[databases.NAME]` tables holding `url` or `url_env`, and optional `[groups]`. Wins over
    /// DATABASE_URL.
    #[arg(long, value_name = "FILE")]
    pub databases: Option<PathBuf>,
}

/// How a fleet is run (`apply`, `rollback` over `--databases` or several `-d`).
#[derive(Debug, Args, Clone)]
pub struct FleetArgs {
    /// Databases of a fleet run at a time.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Run these databases of the fleet first and stop if any fails: a number (the first N),
    /// a group of the databases file or a database's name.
    #[arg(long, value_name = "NAME|N")]
    pub canary: Option<String>,
    /// A database of the fleet that fails does not stop the others (a canary still does).
    #[arg(long)]
    pub keep_going: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Plan files or folders (every `*.toml` inside, in file order).
    #[arg(required = true)]
    pub plans: Vec<PathBuf>,
    /// Also read this database (read-only): which steps are already applied, how many rows
    /// each backfill will touch, and the online check of every step's SQL (as `check -d`). Without it `plan` never connects; DATABASE_URL alone only
    /// chooses the dialect.
    #[arg(short = 'd', long = "database")]
    pub database: Option<String>,
    /// A databases file: read each database of the fleet in turn (as `-d` reads one).
    #[arg(long, value_name = "FILE", conflicts_with = "database")]
    pub databases: Option<PathBuf>,
    /// SQL dialect to show (default: from --database or DATABASE_URL, else postgres).
    #[arg(long, value_enum)]
    pub dialect: Option<DialectKind>,
    /// How to print: human lines or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// `apply --dry-run`'s settings flags, shown as `apply` would run them.
    #[arg(skip)]
    pub settings: SettingsArgs,
}

/// Flags that override a plan's `[settings]`.
#[derive(Debug, Args, Clone, Default)]
pub struct SettingsArgs {
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub backfill: BackfillArgs,
}

/// Flags for locks and statements (`apply` and `rollback`).
#[derive(Debug, Args, Clone, Default)]
pub struct LockArgs {
    /// How long each DDL attempt waits for its lock (e.g. 500ms).
    #[arg(long, value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// DDL attempts before giving up.
    #[arg(long)]
    pub lock_retries: Option<u32>,
    /// How long one statement may run (e.g. 60s).
    #[arg(long, value_parser = parse_duration)]
    pub statement_timeout: Option<Duration>,
}

/// Flags for backfills (`apply` only).
#[derive(Debug, Args, Clone, Default)]
pub struct BackfillArgs {
    /// Rows per backfill batch.
    #[arg(long)]
    pub batch_size: Option<u64>,
    /// Sleep between backfill batches.
    #[arg(long, value_parser = parse_duration)]
    pub pause: Option<Duration>,
    /// Adapt the batch size so a batch takes about this long.
    #[arg(long, value_parser = parse_duration)]
    pub target_batch_time: Option<Duration>,
    /// While this file exists, the backfill waits.
    #[arg(long)]
    pub pause_file: Option<PathBuf>,
    /// MySQL/MariaDB: a replica `max_lag` watches (repeat for each; default: the replicas the
    /// primary lists in SHOW SLAVE HOSTS).
    #[arg(long = "replica-url", value_name = "URL")]
    pub replica_urls: Vec<String>,
    /// PostgreSQL: workers of each backfill, each walking a contiguous range of the key on its
    /// own connection (beats a step's `parallel`; `--parallel` is the fleet's databases).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub backfill_workers: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Plan files or directories (applied in name order).
    #[arg(required = true)]
    pub plans: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Stop after this phase.
    #[arg(long, value_parser = phase_parser())]
    pub to: Option<Phase>,
    /// Do not ask before contract (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Run a plan whose file changed since it was started.
    #[arg(long)]
    pub allow_changed: bool,
    /// Show what would run (`bellows plan`, reading the database) instead of running it.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// How to print: human lines or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Plan files or folders (exactly the plans in them), or plan names from the ledger;
    /// without any, every plan in the ledger.
    pub plans: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Databases of a fleet read at a time.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// How to print: human lines or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Drop the version schemas of finished plans (their views are pass-throughs; an
    /// application whose search_path names a dropped schema finds the tables themselves).
    #[arg(long)]
    pub remove: bool,
    /// Do not ask before removing (required without a terminal).
    #[arg(long, short = 'y', requires = "remove")]
    pub yes: bool,
    /// How long dropping a schema waits for the locks of its views.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "500ms", value_name = "DURATION")]
    pub lock_timeout: Duration,
    /// How to print: human lines or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Plan files or directories whose objects to check; without any, only interrupted steps
    /// and leftovers are looked for.
    pub plans: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The plan file.
    pub plan: PathBuf,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Undo back to before this phase (default: everything).
    #[arg(long, value_parser = phase_parser())]
    pub to: Option<Phase>,
    /// Do not ask (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Roll back a plan whose file changed since it was applied.
    #[arg(long)]
    pub allow_changed: bool,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// How to print: human lines or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo database is created.
    #[arg(long, default_value = "bellows-demo.db")]
    pub path: PathBuf,
    /// Rows in the demo users table.
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::vocab::duration::parse_duration(text)
}

/// `--to PHASE`: the four phases, listed in help and completed by shells.
fn phase_parser() -> impl clap::builder::TypedValueParser<Value = Phase> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Phase::ALL.map(|p| p.as_str()))
        .map(|text| Phase::parse(&text).expect("one of the listed phases"))
}
