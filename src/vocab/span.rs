//! Positions in a plan file's source.

/// A byte range in the plan source, for diagnostics.
pub type Span = std::ops::Range<usize>;
