//! Writing a command's product to stdout without panicking when the reader goes away
//! (`bellows schema | head` closes the pipe early; that is not an error).

use std::io::{self, Write};

/// Writes `text` to stdout and flushes it; a closed pipe is treated as success.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line to stdout. NOTE: a closed stdout (`bellows apply … | head`) must not stop a
/// migration half-way, so write errors are ignored rather than panicking like `println!`.
pub fn line(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}
