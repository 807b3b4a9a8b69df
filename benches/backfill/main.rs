//! The backfill benchmark: on the same freshly built `users` table of N rows, a
//! single `UPDATE` of the whole table (the speed limit) against bellows' keyset backfill with
//! default and with tuned settings, each beside a concurrent application workload whose
//! throughput, latency and errors are reported. See `benches/README.md`.
//!
//! `cargo bench --bench backfill -- [--rows N] [--connections C] [--tuned-batch-size B]
//! [--database URL] [--scaling]`

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, ValueEnum};

use support::child;
use support::keyset::{self, KeysetMode};
use support::machine::Machine;
use support::report::{self, ContenderResult, Outcome};
use support::scratch::{self, Server};
use support::table;
use support::workload::{self, Workload, WorkloadConfig, WorkloadReport};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The targets the benchmark checks (benches/README.md).
const TARGET_RATIO: f64 = 0.75;
const TARGET_P99: Duration = Duration::from_millis(50);
const TARGET_SCALING: f64 = 11.0;

#[derive(Debug, Parser)]
#[command(
    name = "backfill",
    about = "Benchmark bellows' backfill against a single UPDATE, under a concurrent workload"
)]
struct Args {
    /// Rows in the users table.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    rows: u64,
    /// Connections of the concurrent application workload (0: no workload).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Workload operations per second per connection; 0 runs each connection flat out.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Batch size of the "tuned" bellows contender.
    #[arg(long, default_value_t = 5000)]
    tuned_batch_size: u64,
    /// Batch size of the keyset reference contenders.
    #[arg(long, default_value_t = bellows::vocab::defaults::BATCH_SIZE)]
    keyset_batch_size: u64,
    /// PostgreSQL or MySQL/MariaDB server (any database on it: `postgres://…`, `mysql://…`);
    /// scratch databases are created and dropped there. On MySQL the keyset references, which
    /// are PostgreSQL's, are left out.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    database: String,
    /// Which contenders to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "baseline,keyset,keyset-one,default,tuned"
    )]
    contenders: Vec<Contender>,
    /// Also run a contender (--scaling-contender) at 10 × rows and print the time ratio.
    #[arg(long)]
    scaling: bool,
    /// The contender --scaling runs at rows and 10 × rows.
    #[arg(long, value_enum, default_value = "default")]
    scaling_contender: Contender,
    /// Seconds of workload alone, as the latency reference (0 skips it).
    #[arg(long, default_value_t = 5)]
    reference_seconds: u64,
    /// A contender running longer than this many seconds is stopped and counted as failed.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Contender {
    /// One `UPDATE` of the whole table.
    Baseline,
    /// The same `UPDATE`, on the plan shape's table with its sync trigger in place (added by
    /// `bellows apply` of the plan's expand phase before the clock starts): the floor the
    /// trigger sets for any whole-table write, bellows' or not.
    BaselineSync,
    /// `bellows apply` with default settings (batch_size 1000, pause 0).
    Default,
    /// `bellows apply` with `batch_size = --tuned-batch-size`.
    Tuned,
    /// bellows' batch SQL (1000 rows, checkpoint row per batch) driven from the benchmark
    /// itself: about the best the engine can do.
    Keyset,
    /// The keyset loop with `synchronous_commit = off` in each batch transaction.
    KeysetAsync,
    /// Each batch as one statement (bounds, update, checkpoint), `synchronous_commit = off`.
    KeysetOne,
    /// `bellows apply` of the whole plan shape of the README: `add_column`,
    /// `sync_column` and the backfill with default settings, on a table without the column.
    Plan,
    /// `bellows default` with `--backfill-workers 2` (PostgreSQL: 2 ranges walked at once).
    Parallel2,
    /// The same with 3 workers.
    Parallel3,
    /// The same with 4 workers.
    Parallel4,
}

impl Contender {
    /// The backfill workers of a parallel contender.
    fn workers(self) -> Option<u32> {
        match self {
            Contender::Parallel2 => Some(2),
            Contender::Parallel3 => Some(3),
            Contender::Parallel4 => Some(4),
            _ => None,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let server = match Server::connect(&args.database).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = tokio::select! {
        outcome = bench(&args, &server) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    // Whatever happened, leave no scratch database behind.
    let left = server.drop_all().await;
    if !left.is_empty() {
        eprintln!(
            "warning: could not drop the scratch databases {}; drop them by hand",
            left.join(", ")
        );
    }
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything a contender needs.
struct Bench<'a> {
    args: &'a Args,
    server: &'a Server,
    binary: Option<PathBuf>,
    work_dir: PathBuf,
}

/// Runs the benchmark and prints its report; `Ok(false)` when a contender failed or left rows
/// wrong.
async fn bench(args: &Args, server: &Server) -> Result<bool> {
    let mut contenders = Vec::new();
    let mysql = support::conn::is_mysql_url(&args.database);
    for c in &args.contenders {
        let keyset = matches!(
            c,
            Contender::Keyset | Contender::KeysetAsync | Contender::KeysetOne
        );
        if mysql && keyset {
            eprintln!("note: {c:?} is a PostgreSQL reference; left out on MySQL/MariaDB");
        } else if !contenders.contains(c) {
            contenders.push(*c);
        }
    }
    let needs_bellows = contenders
        .iter()
        .chain(args.scaling.then_some(&args.scaling_contender))
        .any(|c| {
            matches!(
                c,
                Contender::Default | Contender::Tuned | Contender::Plan | Contender::BaselineSync
            ) || c.workers().is_some()
        });
    let binary = if needs_bellows {
        let path = child::locate_binary(
            std::env::var_os("BELLOWS_BIN"),
            env!("CARGO_BIN_EXE_bellows"),
        )?;
        Some(path)
    } else {
        None
    };
    let work_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bellows-bench");
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;

    let machine = Machine::read(&mut server.admin().await?).await?;
    println!("bellows backfill benchmark");
    println!(
        "machine:  {} CPUs{}, {} memory",
        machine.cpus,
        machine
            .cpu_model
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default(),
        machine
            .memory_gib
            .map_or("unknown".into(), |g| format!("{g:.1} GiB"))
    );
    println!("server:   {}", machine.server);
    println!("settings: {}", machine.settings.join(", "));
    let workload = match (args.connections, args.rate > 0.0) {
        (0, _) => "none".to_string(),
        (c, true) => format!(
            "{c} connections × {} ops/s, half point UPDATEs of payload, half SELECTs by id",
            args.rate
        ),
        (c, false) => {
            format!("{c} connections flat out, half point UPDATEs of payload, half SELECTs by id")
        }
    };
    println!("table:    users, {} rows", report::thousands(args.rows));
    println!("workload: {workload}");
    println!(
        "batches:  bellows default 1000 rows (its default), bellows tuned {}, keyset references {}",
        args.tuned_batch_size, args.keyset_batch_size
    );
    if let Some(binary) = &binary {
        println!("bellows:  {}", binary.display());
    }
    println!("logs:     {}", work_dir.display());
    println!();

    let ctx = Bench {
        args,
        server,
        binary,
        work_dir,
    };
    let mut results = Vec::new();
    let mut reference_done = args.reference_seconds == 0;
    for contender in &contenders {
        let reference = !reference_done;
        reference_done = true;
        results.extend(run_contender(&ctx, *contender, args.rows, reference).await);
    }
    let mut scaling = None;
    if args.scaling {
        let contender = args.scaling_contender;
        let name = contender_name(contender, args.rows, args.rows);
        let at_n = match results.iter().find(|r| r.name == name) {
            Some(found) => found.clone(),
            None => {
                let run = run_contender(&ctx, contender, args.rows, false).await;
                results.extend(run.iter().cloned());
                run.last()
                    .cloned()
                    .unwrap_or_else(|| failed(&name, args.rows, "did not run".into(), None))
            }
        };
        let at_10n = run_contender(&ctx, contender, args.rows * 10, false).await;
        results.extend(at_10n.iter().cloned());
        scaling = at_10n.last().cloned().map(|big| (at_n, big));
    }

    let baseline = results
        .iter()
        .find(|r| r.name == "single UPDATE")
        .and_then(ContenderResult::rows_per_second);
    println!();
    print!("{}", report::render(&results, baseline));
    println!();
    let healthy = print_findings(&results, scaling.as_ref());
    Ok(healthy)
}

/// The name a contender has in the report.
fn contender_name(contender: Contender, rows: u64, base_rows: u64) -> String {
    let name = match contender {
        Contender::Baseline => "single UPDATE".to_string(),
        Contender::BaselineSync => "single UPDATE, sync trigger".to_string(),
        Contender::Default => "bellows default".to_string(),
        Contender::Tuned => "bellows tuned".to_string(),
        Contender::Keyset => "keyset loop".to_string(),
        Contender::KeysetAsync => "keyset async".to_string(),
        Contender::KeysetOne => "keyset one-statement".to_string(),
        Contender::Plan => "bellows plan shape".to_string(),
        Contender::Parallel2 | Contender::Parallel3 | Contender::Parallel4 => {
            format!("bellows {} workers", contender.workers().unwrap_or(1))
        }
    };
    if rows == base_rows {
        name
    } else {
        format!("{name} ×{}", rows / base_rows)
    }
}

/// Builds a fresh table in a fresh database, runs the workload reference when asked, then the
/// contender beside the workload, verifies the rows, drops the database. Problems become a
/// `Failed` result, so that the other contenders still run.
async fn run_contender(
    ctx: &Bench<'_>,
    contender: Contender,
    rows: u64,
    reference: bool,
) -> Vec<ContenderResult> {
    let name = contender_name(contender, rows, ctx.args.rows);
    let label = name
        .replace("×", "x")
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let mut results = Vec::new();
    let url = match ctx.server.create_database(&label).await {
        Ok(url) => url,
        Err(error) => {
            results.push(failed(&name, rows, format!("{error:#}"), None));
            return results;
        }
    };
    if let Err(error) = contend(
        ctx,
        contender,
        &name,
        &label,
        &url,
        rows,
        reference,
        &mut results,
    )
    .await
    {
        eprintln!("   {name}: {error:#}");
        results.push(failed(&name, rows, format!("{error:#}"), None));
    }
    if let Err(error) = ctx.server.drop_database(&url).await {
        eprintln!("warning: {error:#}");
    }
    results
}

fn failed(name: &str, rows: u64, why: String, workload: Option<WorkloadReport>) -> ContenderResult {
    ContenderResult {
        name: name.to_string(),
        rows,
        outcome: Outcome::Failed(why),
        workload,
    }
}

#[allow(clippy::too_many_arguments)]
async fn contend(
    ctx: &Bench<'_>,
    contender: Contender,
    name: &str,
    label: &str,
    url: &str,
    rows: u64,
    reference: bool,
    results: &mut Vec<ContenderResult>,
) -> Result<()> {
    let mut conn = scratch::connect(url, "bellows-bench").await?;
    eprintln!(
        "{name}: building users with {} rows",
        report::thousands(rows)
    );
    let with_column = !matches!(contender, Contender::Plan | Contender::BaselineSync);
    let built = table::build_users(&mut conn, rows, with_column).await?;
    eprintln!("   built in {:.1}s", built.as_secs_f64());
    if contender == Contender::BaselineSync {
        let plan = table::sync_shape(&format!("bench_{label}"));
        if let Outcome::Failed(why) = run_bellows(ctx, label, url, &plan, &[]).await {
            anyhow::bail!("the expand phase (column and sync trigger) failed: {why}");
        }
    }
    let config = WorkloadConfig {
        url: url.to_string(),
        connections: ctx.args.connections,
        rows,
        rate: ctx.args.rate,
    };
    let with_workload = ctx.args.connections > 0;
    if reference && with_workload {
        eprintln!(
            "workload alone for {}s (reference)",
            ctx.args.reference_seconds
        );
        let alone =
            workload::run_for(&config, Duration::from_secs(ctx.args.reference_seconds)).await?;
        results.push(ContenderResult {
            name: "workload alone".into(),
            rows,
            outcome: Outcome::Reference,
            workload: Some(alone),
        });
    }

    eprintln!("{name}: running beside the workload");
    let running = if with_workload {
        Some(Workload::start(&config).await?)
    } else {
        None
    };
    let outcome = match contender {
        Contender::Baseline | Contender::BaselineSync => {
            let timeout = Duration::from_secs(ctx.args.timeout);
            match tokio::time::timeout(timeout, table::baseline_update(&mut conn)).await {
                Ok(Ok((updated, elapsed))) if updated == rows => Outcome::Done {
                    elapsed,
                    peak_rss_kib: None,
                    wrong_rows: 0,
                },
                Ok(Ok((updated, _))) => {
                    Outcome::Failed(format!("the UPDATE touched {updated} rows, not {rows}"))
                }
                Ok(Err(error)) => Outcome::Failed(format!("{error:#}")),
                Err(_) => Outcome::Failed(format!("still running after {}s", timeout.as_secs())),
            }
        }
        Contender::Keyset | Contender::KeysetAsync | Contender::KeysetOne => {
            let mode = match contender {
                Contender::KeysetOne => KeysetMode::OneStatement,
                _ => KeysetMode::Dialect {
                    async_commit: contender == Contender::KeysetAsync,
                },
            };
            let timeout = Duration::from_secs(ctx.args.timeout);
            let batch_size = ctx.args.keyset_batch_size;
            let pg = conn.postgres()?;
            match tokio::time::timeout(timeout, keyset::run(pg, batch_size, mode)).await {
                Ok(Ok(run)) => {
                    eprintln!("   {} rows in {} batches", run.updated, run.batches);
                    Outcome::Done {
                        elapsed: run.elapsed,
                        peak_rss_kib: None,
                        wrong_rows: 0,
                    }
                }
                Ok(Err(error)) => Outcome::Failed(format!("{error:#}")),
                Err(_) => Outcome::Failed(format!("still running after {}s", timeout.as_secs())),
            }
        }
        Contender::Default | Contender::Tuned => {
            let batch_size = (contender == Contender::Tuned).then_some(ctx.args.tuned_batch_size);
            let plan = table::backfill_plan(&format!("bench_{label}"), batch_size);
            run_bellows(ctx, label, url, &plan, &[]).await
        }
        Contender::Plan => {
            let plan = table::plan_shape(&format!("bench_{label}"));
            run_bellows(ctx, label, url, &plan, &[]).await
        }
        Contender::Parallel2 | Contender::Parallel3 | Contender::Parallel4 => {
            let plan = table::backfill_plan(&format!("bench_{label}"), None);
            let workers = contender.workers().unwrap_or(1).to_string();
            run_bellows(ctx, label, url, &plan, &["--backfill-workers", &workers]).await
        }
    };
    let workload = match running {
        Some(running) => Some(running.stop().await),
        None => None,
    };
    let outcome = match outcome {
        Outcome::Done {
            elapsed,
            peak_rss_kib,
            ..
        } => Outcome::Done {
            elapsed,
            peak_rss_kib,
            wrong_rows: table::wrong_rows(&mut conn).await?,
        },
        other => other,
    };
    let now = table::row_count(&mut conn).await?;
    if now != rows as i64 {
        anyhow::bail!("the table has {now} rows after the run, not {rows}");
    }
    match &outcome {
        Outcome::Done { elapsed, .. } => eprintln!("   done in {:.2}s", elapsed.as_secs_f64()),
        Outcome::Failed(why) => eprintln!("   FAILED: {why}"),
        Outcome::Reference => {}
    }
    results.push(ContenderResult {
        name: name.to_string(),
        rows,
        outcome,
        workload,
    });
    Ok(())
}

/// Writes the plan and runs `bellows apply PLAN -d URL --yes --format json`.
async fn run_bellows(
    ctx: &Bench<'_>,
    label: &str,
    url: &str,
    plan_text: &str,
    extra: &[&str],
) -> Outcome {
    let Some(binary) = &ctx.binary else {
        return Outcome::Failed("no bellows binary".into());
    };
    let plan = ctx.work_dir.join(format!("{label}.toml"));
    if let Err(error) = std::fs::write(&plan, plan_text) {
        return Outcome::Failed(format!("cannot write {}: {error}", plan.display()));
    }
    let args: Vec<OsString> = vec![
        "apply".into(),
        plan.clone().into(),
        "--database".into(),
        url.into(),
        "--yes".into(),
        "--format".into(),
        "json".into(),
    ]
    .into_iter()
    .chain(extra.iter().map(OsString::from))
    .collect();
    let log = ctx.work_dir.join(label);
    let timeout = Duration::from_secs(ctx.args.timeout);
    match child::run(binary, &args, &log, timeout).await {
        Ok(run) => match run.failure() {
            None => {
                eprintln!("   bellows wrote {} lines of JSON events", run.stdout_lines);
                Outcome::Done {
                    elapsed: run.wall,
                    peak_rss_kib: run.peak_rss_kib,
                    wrong_rows: 0,
                }
            }
            Some(why) => Outcome::Failed(format!(
                "bellows {why} (full output: {}.stdout/.stderr)",
                log.display()
            )),
        },
        Err(error) => Outcome::Failed(format!("{error:#}")),
    }
}

/// Prints verification, errors, failures and the targets; returns whether every
/// contender finished with every row right.
fn print_findings(
    results: &[ContenderResult],
    scaling: Option<&(ContenderResult, ContenderResult)>,
) -> bool {
    let mut healthy = true;
    for r in results {
        match &r.outcome {
            Outcome::Done { wrong_rows: 0, .. } => println!(
                "verified: {}: all {} rows have email_verified = (verified_at IS NOT NULL)",
                r.name,
                report::thousands(r.rows)
            ),
            Outcome::Done { wrong_rows, .. } => {
                healthy = false;
                println!(
                    "WRONG:    {}: {wrong_rows} rows have the wrong email_verified",
                    r.name
                );
            }
            Outcome::Failed(why) => {
                healthy = false;
                println!("FAILED:   {}: {why}", r.name);
            }
            Outcome::Reference => {}
        }
        if let Some(w) = &r.workload {
            if let Some(first) = &w.first_error {
                println!(
                    "workload errors during {}: {} (first: {first})",
                    r.name, w.errors
                );
            }
        }
    }

    let find = |name: &str| results.iter().find(|r| r.name == name);
    let baseline = find("single UPDATE").and_then(ContenderResult::rows_per_second);
    println!();
    println!("targets:");
    for r in results
        .iter()
        .filter(|r| r.name != "single UPDATE" && !matches!(r.outcome, Outcome::Reference))
    {
        let name = r.name.as_str();
        let name = if name.starts_with("keyset") {
            format!("{name} (reference, not bellows)")
        } else {
            name.to_string()
        };
        if r.elapsed().is_none() {
            println!("  {name}: not measured (it failed)");
            continue;
        }
        if let (Some(rate), Some(base)) = (r.rows_per_second(), baseline) {
            let ratio = rate / base;
            println!(
                "  {name}: rows/s = {ratio:.2} × single UPDATE (target ≥ {TARGET_RATIO:.2}): {}",
                verdict(ratio >= TARGET_RATIO)
            );
        }
        if let (Some(w), Some(_)) = (&r.workload, r.elapsed()) {
            println!(
                "  {name}: workload p99 {} ms (target < {} ms): {}; workload errors {}: {}",
                report::millis(w.latency.p99),
                TARGET_P99.as_millis(),
                verdict(w.latency.p99 < TARGET_P99),
                w.errors,
                verdict(w.errors == 0)
            );
        }
    }
    let with_trigger =
        find("single UPDATE, sync trigger").and_then(ContenderResult::rows_per_second);
    if let (Some(plan), Some(floor)) = (
        find("bellows plan shape").and_then(ContenderResult::rows_per_second),
        with_trigger,
    ) {
        println!(
            "  bellows plan shape: rows/s = {:.2} × the single UPDATE with the same sync trigger in place",
            plan / floor
        );
    }
    if let (Some(floor), Some(base)) = (with_trigger, baseline) {
        println!(
            "  the sync trigger alone: a single UPDATE with it runs at {:.2} × one without",
            floor / base
        );
    }
    if let Some((small, big)) = scaling {
        match (small.elapsed(), big.elapsed()) {
            (Some(a), Some(b)) if !a.is_zero() => {
                let ratio = b.as_secs_f64() / a.as_secs_f64();
                println!(
                    "  scaling of {}: {} rows took {ratio:.1} × as long as {} rows (target ≤ about {TARGET_SCALING:.0}×): {}",
                    small.name,
                    report::thousands(big.rows),
                    report::thousands(small.rows),
                    verdict(ratio <= TARGET_SCALING)
                );
            }
            _ => println!("  scaling: not measured (a run failed)"),
        }
    }
    if let Some(alone) = find("workload alone").and_then(|r| r.workload.as_ref()) {
        println!(
            "  reference: the workload alone ran {} ops/s, p99 {} ms",
            report::thousands(alone.ops_per_second().round() as u64),
            report::millis(alone.latency.p99)
        );
    }
    healthy
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}
