//! Loading a plan file: TOML text → spanned tree → validated [`Plan`] and diagnostics.
//!
//! Loading never stops at the first mistake: every error and warning of the file is collected.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};

use super::lint;
use super::model::{Plan, Settings, Step};
use crate::ops::{self, Op};
use crate::vocab::diagnostic::{did_you_mean, Code, Diagnostic, Severity};
use crate::vocab::reader::{KeyInfo, KeyKind, TableReader};
use crate::vocab::{Phase, Span};

/// A plan file's text, kept for rendering diagnostics against it.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// The result of loading one file: the plan when it has no errors, and every finding.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: Source,
    pub plan: Option<Plan>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn has_warnings(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Warning)
    }
}

/// Reads and loads a plan file.
pub fn load_file(path: &Path) -> std::io::Result<Loaded> {
    let text = std::fs::read_to_string(path)?;
    Ok(load_str(path, &text))
}

/// Reads and loads a plan file; a file that cannot be read (missing, not UTF-8, a directory)
/// becomes a result with one error, so that checking many plans goes on past it.
pub fn load_path(path: &Path) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            return Loaded {
                source: Source {
                    path: path.to_path_buf(),
                    text: String::new(),
                },
                plan: None,
                diagnostics: vec![Diagnostic::error(
                    Code::Unreadable,
                    None,
                    format!("cannot read the plan file: {error}"),
                )],
            }
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => load_str(path, &text),
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            Loaded {
                source: Source {
                    path: path.to_path_buf(),
                    text,
                },
                plan: None,
                diagnostics: vec![Diagnostic::error(
                    Code::Unreadable,
                    Some(at..at + 1),
                    "the plan file is not UTF-8 text",
                )
                .with_help("save the file as UTF-8")],
            }
        }
    }
}

/// Loads plan text as if read from `path` (the path names the plan and appears in messages).
pub fn load_str(path: &Path, text: &str) -> Loaded {
    let source = Source {
        path: path.to_path_buf(),
        text: text.to_string(),
    };
    let mut diagnostics = Vec::new();
    let parsed = parse(path, text, &mut diagnostics);
    if let Some((plan, complete)) = &parsed {
        // Steps that did read are checked against each other even when others did not, so
        // that every mistake of the file is reported at once.
        diagnostics.extend(lint::lint_steps(plan, *complete));
        diagnostics.extend(super::sql::check_syntax(plan, text));
    }
    diagnostics.sort_by_key(|d| d.span.as_ref().map(|s| s.start).unwrap_or(0));
    if is_not_a_plan(path, text, &diagnostics) {
        diagnostics = vec![Diagnostic::error(
            Code::NoSteps,
            None,
            format!(
                "{} is not a bellows plan: a plan is a `.toml` file of [[expand]], [[backfill]], \
                 [[switch]] and [[contract]] steps",
                path.display()
            ),
        )];
    }
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    let plan = parsed.and_then(|(plan, complete)| (complete && !has_errors).then_some(plan));
    Loaded {
        source,
        plan,
        diagnostics,
    }
}

/// A file passed by mistake (README.md, Cargo.toml): several errors, and not a `.toml` file or
/// no phase anywhere in it. One sentence then says so instead of an error per line.
fn is_not_a_plan(path: &Path, text: &str, diagnostics: &[Diagnostic]) -> bool {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let names_a_phase = text.lines().any(|line| {
        let key = line.trim_start().trim_start_matches('[').trim_start();
        Phase::ALL
            .iter()
            .any(|phase| key.starts_with(phase.as_str()))
    });
    let toml = path.extension().is_some_and(|x| x == "toml");
    errors > 1 && (!toml || !names_a_phase)
}

/// The plan as far as it could be read, and whether every step of it could (`None` when the
/// TOML itself does not parse).
fn parse(path: &Path, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Option<(Plan, bool)> {
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        diagnostics.extend(errors.into_iter().map(|error| {
            Diagnostic::error(
                Code::Syntax,
                error.span(),
                format!("invalid TOML: {}", error.message().trim()),
            )
            .with_help("see https://toml.io for the syntax; steps are written `[[expand]]`, `[[backfill]]`, …")
        }));
        return None;
    }
    let document_span = document.span();
    let table = document.get_ref();

    let mut reader = TableReader::new(table, document_span, "the plan", diagnostics);
    let header = read_header(&mut reader);
    reader.finish();

    let steps = read_steps(table, diagnostics);
    if steps.written == 0 && steps.complete {
        diagnostics.push(
            Diagnostic::error(Code::NoSteps, None, "the plan has no steps").with_help(
                "add at least one step, e.g. `[[expand]]` with `op = \"add_column\"`; \
                 the phases are `[[expand]]`, `[[backfill]]`, `[[switch]]` and `[[contract]]`",
            ),
        );
    }
    let Header {
        name,
        description,
        version_schema,
        settings,
    } = header?;

    let name = name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plan".to_string())
    });
    let mut steps = steps;
    add_version(
        &name,
        version_schema.as_deref(),
        &mut steps.steps,
        diagnostics,
    );
    let plan = Plan {
        name,
        description,
        path: path.to_path_buf(),
        checksum: checksum(text),
        settings,
        steps: steps.steps,
    };
    Some((plan, steps.complete))
}

/// Adds the plan's version step (last of expand) when the plan needs a version schema; a
/// `drop_column` `default` in a plan without one is an error.
fn add_version(
    plan: &str,
    schema: Option<&str>,
    steps: &mut Vec<Step>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(version) = ops::version::derive(plan, schema, steps) else {
        for step in steps.iter() {
            if let Op::DropColumn(drop) = &step.op {
                if drop.default.is_some() {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::Contradiction,
                            Some(step.span.clone()),
                            format!(
                                "drop_column {}.{} has a `default`, which only a plan with a version schema uses",
                                drop.table, drop.column
                            ),
                        )
                        .with_help("remove `default`, or give the plan a version schema (`version_schema = \"…\"` or a rename)"),
                    );
                }
            }
        }
        return;
    };
    let changes: Vec<(ops::ChangeType, crate::vocab::Span)> = steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::ChangeType(change) => Some((change.clone(), s.span.clone())),
            _ => None,
        })
        .collect();
    for (change, span) in changes {
        add_step(
            steps,
            Phase::Expand,
            Op::AddColumn(change.add_column()),
            &span,
        );
        add_step(steps, Phase::Expand, Op::SyncColumn(change.sync()), &span);
        add_step(
            steps,
            Phase::Backfill,
            Op::Backfill(change.backfill()),
            &span,
        );
    }
    let span = steps
        .iter()
        .find(|s| ops::version::needs_version(&s.op))
        .or(steps.first())
        .map(|s| s.span.clone())
        .unwrap_or(0..0);
    add_step(steps, Phase::Expand, Op::Version(version), &span);
}

/// Adds a step bellows derives from the plan's own as the last of `phase`.
fn add_step(steps: &mut Vec<Step>, phase: Phase, op: Op, span: &crate::vocab::Span) {
    let index = steps.iter().filter(|s| s.phase == phase).count();
    let at = steps
        .iter()
        .position(|s| s.phase > phase)
        .unwrap_or(steps.len());
    steps.insert(
        at,
        Step {
            phase,
            index,
            op,
            span: span.clone(),
            values: Vec::new(),
        },
    );
}

/// The steps of a plan file, phase by phase.
struct ReadSteps {
    steps: Vec<Step>,
    /// Whether every step could be read.
    complete: bool,
    /// How many steps the file writes, read or not.
    written: usize,
}

fn read_steps(table: &DeTable<'_>, diagnostics: &mut Vec<Diagnostic>) -> ReadSteps {
    let mut read = ReadSteps {
        steps: Vec::new(),
        complete: true,
        written: 0,
    };
    for phase in Phase::ALL {
        let Some((key, value)) = table.get_key_value(phase.as_str()) else {
            continue;
        };
        let DeValue::Array(items) = value.get_ref() else {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    Some(key.span()),
                    format!("`{phase}` must be an array of steps"),
                )
                .with_help(format!("write each step as `[[{phase}]]`, not `[{phase}]`")),
            );
            read.complete = false;
            continue;
        };
        read.written += items.len();
        for (index, item) in items.iter().enumerate() {
            let DeValue::Table(step_table) = item.get_ref() else {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        Some(item.span()),
                        format!("step {} of `{phase}` must be a table", index + 1),
                    )
                    .with_help(format!(
                        "write each step as `[[{phase}]]` followed by its keys"
                    )),
                );
                read.complete = false;
                continue;
            };
            match read_step(phase, index, step_table, item.span(), diagnostics) {
                Some(op) => read.steps.push(Step {
                    phase,
                    index,
                    op,
                    span: item.span(),
                    values: super::values::string_values(step_table),
                }),
                None => read.complete = false,
            }
        }
    }
    read
}

/// Hex SHA-256 of a plan's text.
pub fn checksum(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The plan's own keys: everything but the phases.
struct Header {
    name: Option<String>,
    description: Option<String>,
    version_schema: Option<String>,
    settings: Settings,
}

/// Reads the plan's own keys and accepts the phase keys (read step by step by the caller).
fn read_header(r: &mut TableReader<'_, '_>) -> Option<Header> {
    let name = r.opt_str(
        "name",
        KeyKind::String,
        "the plan's name (default: the file stem)",
    );
    let description = r.opt_str(
        "description",
        KeyKind::String,
        "what the change does, for humans",
    );
    let version_schema = r.opt_str(
        "version_schema",
        KeyKind::Identifier,
        "the schema of views the new application uses (default: `bellows_` and the plan's name)",
    );
    let settings = r
        .table(
            "settings",
            false,
            "defaults for this plan; command-line flags override",
            read_settings,
        )
        .unwrap_or_default();
    for phase in Phase::ALL {
        r.accept(phase.as_str(), KeyKind::TableArray(Vec::new()), phase.doc());
    }
    Some(Header {
        name,
        description,
        version_schema,
        settings,
    })
}

/// The keys a plan file accepts at its top level (the phases with no nested keys: their steps
/// are described by [`crate::ops::OPS`]). The JSON Schema is generated from this.
pub fn plan_keys() -> Vec<KeyInfo> {
    crate::vocab::reader::probe_keys(read_header)
}

/// The keys of `[settings]`.
pub fn settings_keys() -> Vec<KeyInfo> {
    crate::vocab::reader::probe_keys(read_settings)
}

pub(crate) fn read_settings(r: &mut TableReader<'_, '_>) -> Option<Settings> {
    Some(Settings {
        lock_timeout: r.opt_duration(
            "lock_timeout",
            "how long each DDL attempt waits for its lock (default \"500ms\")",
        ),
        lock_retries: r
            .opt_positive(
                "lock_retries",
                "DDL attempts before giving up, with backoff and jitter (default 20)",
            )
            .map(|n| n.min(u32::MAX as u64) as u32),
        statement_timeout: r.opt_duration(
            "statement_timeout",
            "how long a statement may run (default \"60s\")",
        ),
        batch_size: r.opt_positive("batch_size", "default rows per backfill batch (1000)"),
        pause: r.opt_duration("pause", "default sleep between backfill batches (\"0ms\")"),
        target_batch_time: r.opt_duration(
            "target_batch_time",
            "default target duration of a backfill batch",
        ),
        max_lag: r.opt_max_lag(
            "max_lag",
            "default replica lag above which the backfill pauses",
        ),
        parallel: r.opt_positive(
            "parallel",
            "default workers of a backfill, each walking a range of the key (PostgreSQL; default 1)",
        ),
    })
}

/// The op a step of `phase` has when it names none: a `[[backfill]]` step is a backfill.
pub fn default_op(phase: Phase) -> Option<&'static str> {
    (phase == Phase::Backfill).then_some("backfill")
}

/// "contract", "expand or switch".
fn phase_list(phases: &[Phase]) -> String {
    let names: Vec<&str> = phases.iter().map(|p| p.as_str()).collect();
    names.join(" or ")
}

/// Where a step is in the file, for its messages.
struct Place {
    phase: Phase,
    /// "step 2 of [[expand]]".
    label: String,
    /// "`add_column`, `add_index`, …": the ops the phase allows, for hints.
    allowed: String,
}

impl Place {
    fn new(phase: Phase, index: usize) -> Place {
        let allowed = ops::OPS
            .iter()
            .filter(|spec| spec.phases.contains(&phase))
            .map(|spec| format!("`{}`", spec.name))
            .collect::<Vec<_>>()
            .join(", ");
        Place {
            phase,
            label: format!("step {} of [[{phase}]]", index + 1),
            allowed,
        }
    }
}

fn read_step(
    phase: Phase,
    index: usize,
    table: &DeTable<'_>,
    span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Op> {
    let place = Place::new(phase, index);
    let (op_name, op_span) = match op_name(&place, table, &span) {
        Ok(found) => found,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return None;
        }
    };
    let Some(spec) = ops::find(&op_name) else {
        diagnostics.push(unknown_op(&place, &op_name, op_span));
        return None;
    };
    let misplaced = !spec.phases.contains(&phase);
    if misplaced {
        diagnostics.push(wrong_phase(&place, spec, op_span));
    }
    let context = format!("{} ({})", place.label, spec.name);
    let mut reader = TableReader::new(table, span, context, diagnostics);
    reader.accept("op", KeyKind::String, "the operation");
    let op = (spec.read)(&mut reader);
    reader.finish();
    // A step in the wrong phase is still read, so that its other mistakes are reported too.
    op.filter(|_| !misplaced)
}

/// The step's op name and where it is written (the step itself for a default op).
fn op_name(place: &Place, table: &DeTable<'_>, span: &Span) -> Result<(String, Span), Diagnostic> {
    let Place {
        phase,
        label,
        allowed,
    } = place;
    match table.get_key_value("op") {
        Some((_, value)) => match value.get_ref() {
            DeValue::String(name) => Ok((name.to_string(), value.span())),
            _ => Err(Diagnostic::error(
                Code::InvalidValue,
                Some(value.span()),
                format!("`op` in {label} must be a string"),
            )
            .with_help(format!("operations allowed in {phase}: {allowed}"))),
        },
        None => match default_op(*phase) {
            Some(name) => Ok((name.to_string(), span.clone())),
            None => Err(Diagnostic::error(
                Code::MissingKey,
                Some(span.clone()),
                format!("{label} has no `op`"),
            )
            .with_help(format!(
                "add `op = \"…\"`; operations allowed in {phase}: {allowed}"
            ))),
        },
    }
}

/// `unknown-op`, with the closest op name and where it is allowed.
fn unknown_op(place: &Place, op_name: &str, op_span: Span) -> Diagnostic {
    let Place {
        phase,
        label,
        allowed,
    } = place;
    let all = ops::OPS.iter().map(|s| s.name);
    let help = match did_you_mean(op_name, all).and_then(ops::find) {
        Some(suggestion) if !suggestion.phases.contains(phase) => format!(
            "did you mean `{}` (allowed only in {})? operations allowed in {phase}: {allowed}",
            suggestion.name,
            phase_list(suggestion.phases)
        ),
        Some(suggestion) => format!(
            "did you mean `{}`? operations allowed in {phase}: {allowed}",
            suggestion.name
        ),
        None => format!("operations allowed in {phase}: {allowed}"),
    };
    Diagnostic::error(
        Code::UnknownOp,
        Some(op_span),
        format!("unknown op `{op_name}` in {label}"),
    )
    .with_help(help)
}

/// `wrong-phase`: the op exists but not in this phase.
fn wrong_phase(place: &Place, spec: &ops::OpSpec, op_span: Span) -> Diagnostic {
    let Place { phase, allowed, .. } = place;
    Diagnostic::error(
        Code::WrongPhase,
        Some(op_span),
        format!(
            "{} is allowed only in {}, not in {phase}",
            spec.name,
            phase_list(spec.phases)
        ),
    )
    .with_help(format!(
        "move this step to [[{}]]; operations allowed in {phase}: {allowed}",
        spec.phases[0]
    ))
}
