//! The terminal side of the human output: performs the [`Draw`]s of the line drawer, and owns
//! the indicatif spinner or progress bar of the step running now.

use std::cell::RefCell;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::lines::Draw;
use crate::cli::out;

/// The spinner or bar on stderr, and the lines printed above it on stdout.
#[derive(Default)]
pub struct Terminal {
    /// The spinner or bar of the step running now.
    live: RefCell<Option<ProgressBar>>,
}

impl Terminal {
    /// Prints one line, above any spinner.
    pub fn line(&self, text: &str) {
        match &*self.live.borrow() {
            Some(bar) => bar.suspend(|| out::line(text)),
            None => out::line(text),
        }
    }

    pub fn apply(&self, draw: Draw) {
        match draw {
            Draw::Line(text) => self.line(&text),
            Draw::Spinner(message) => self.spinner(message),
            Draw::Bar {
                total,
                done,
                message,
            } => self.progress_bar(total, done, message),
            Draw::BarMoved {
                total,
                done,
                message,
            } => {
                if let Some(bar) = &*self.live.borrow() {
                    if let Some(total) = total {
                        bar.set_length(total);
                    }
                    bar.set_position(done);
                    bar.set_message(message);
                }
            }
            Draw::ClearLive => self.clear_live(),
            Draw::Debug(text) => tracing::debug!("{text}"),
            Draw::Info(text) => tracing::info!("{text}"),
        }
    }

    pub fn clear_live(&self) {
        if let Some(bar) = self.live.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }

    fn spinner(&self, message: String) {
        let mut live = self.live.borrow_mut();
        match &*live {
            Some(bar) => bar.set_message(message),
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("    {spinner:.cyan} {wide_msg} {elapsed:.dim}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(message);
                bar.enable_steady_tick(Duration::from_millis(100));
                *live = Some(bar);
            }
        }
    }

    fn progress_bar(&self, total: Option<u64>, done: u64, message: String) {
        self.clear_live();
        // NOTE: the rate and time left come in the message, computed by the engine from this
        // run's rows only (indicatif's own would count the rows of an earlier run as done in
        // the first tick); `wide_msg` is cut to the terminal's width, so the line never wraps.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "    {spinner:.cyan} [{bar:20.cyan/blue}] {human_pos}/{human_len} {percent}% {wide_msg}"
        } else {
            "    {spinner:.cyan} {human_pos} rows {wide_msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message);
        bar.set_position(done);
        bar.enable_steady_tick(Duration::from_millis(100));
        *self.live.borrow_mut() = Some(bar);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.clear_live();
    }
}
