//! The plan's own SQL read offline with `sqlparser`: each fragment (`type`, `set`, `from`,
//! `where`, `default`, `check`, `query`, `up`, `down`, …) is parsed before anything runs, and a
//! syntax error is reported inside the fragment, at its line and column in the plan file.
//!
//! The parser is not the authority: PostgreSQL is. A fragment is read with the PostgreSQL
//! grammar, then with SQLite's (a plan may target either); an error is reported only when
//! neither reads it and the fragment is not one the parser is known not to cover (PL/pgSQL
//! bodies, `DO` blocks, …), which gets a note "not checked offline" instead.

mod fragment;
mod locate;
mod syntax;

pub use fragment::{parse_statements, read, FragmentKind, Reading};
pub use locate::{fragment_offset, fragment_offset_unescaped, span_at, word_span};
pub use syntax::check_syntax;
