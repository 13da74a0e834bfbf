//! Progress for long commands: a bar on a terminal, plain lines when stderr is a file or a pipe
//! (nohup, `> log`, Slurm, CI), nothing under `--quiet`. Both show one ETA over the whole run.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Quiet,
    /// stderr is a terminal: an updating bar, with summary lines printed above it.
    Bar,
    /// stderr is not a terminal: summary lines only (a bar would be invisible or garbage there).
    Lines,
}

impl Mode {
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// h:mm:ss, or m:ss under an hour.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Counts units of work (iterations, images, tiles) towards a total and estimates the time left.
/// The rate is measured from the end of this process's first unit on, so pipeline compilation
/// (which happens during the first unit) does not inflate the estimate.
pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    started: Instant,
    total: u64,
    pos: u64,
    first: Option<(Instant, u64)>,
    last_line: Option<Instant>,
}

impl Progress {
    /// `pos` units are already done (a resumed run).
    pub fn new(mode: Mode, total: u64, pos: u64) -> Progress {
        let bar = (mode == Mode::Bar).then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b.set_position(pos);
            b
        });
        Progress {
            mode,
            bar,
            started: Instant::now(),
            total,
            pos,
            first: None,
            last_line: None,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Seconds left, once at least two units of this process are done.
    pub fn eta(&self) -> Option<f64> {
        let (t1, p1) = self.first?;
        (self.pos > p1).then(|| {
            let rate = t1.elapsed().as_secs_f64() / (self.pos - p1) as f64;
            rate * self.total.saturating_sub(self.pos) as f64
        })
    }

    /// "elapsed 1:02 | ETA 3:04" (ETA "?" until it can be measured).
    pub fn times(&self) -> String {
        format!(
            "elapsed {} | ETA {}",
            duration(self.elapsed()),
            self.eta().map(duration).unwrap_or_else(|| "?".into())
        )
    }

    /// Starts counting again from zero towards a new total (e.g. the tiles of the next image),
    /// keeping the elapsed time.
    pub fn restart(&mut self, total: u64) {
        self.total = total;
        self.pos = 0;
        self.first = None;
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(0);
            b.reset_eta();
        }
    }

    /// `n` more units done; `msg` (computed only when a bar shows it) goes beside the bar.
    pub fn advance(&mut self, n: u64, msg: impl FnOnce(&Progress) -> String) {
        self.pos += n;
        if self.first.is_none() {
            self.first = Some((Instant::now(), self.pos));
        }
        if let Some(b) = &self.bar {
            b.set_position(self.pos);
            b.set_message(msg(self));
        }
    }

    /// A line that stays: above the bar on a terminal, on stderr otherwise, nowhere if quiet.
    pub fn line(&mut self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None if self.mode == Mode::Lines => eprintln!("{s}"),
            None => {}
        }
        self.last_line = Some(Instant::now());
    }

    /// A line that introduces the run (what, where): printed as [`Self::line`], but not counted
    /// by [`Self::line_every`], so the first progress line still comes at once.
    pub fn header(&mut self, s: &str) {
        let last = self.last_line;
        self.line(s);
        self.last_line = last;
    }

    /// A line for non-terminal output at most every `secs` seconds (the bar shows the same on a
    /// terminal); `last` forces it.
    pub fn line_every(&mut self, secs: f64, last: bool, s: impl FnOnce(&Progress) -> String) {
        if self.mode != Mode::Lines {
            return;
        }
        let due = self
            .last_line
            .is_none_or(|t| t.elapsed().as_secs_f64() >= secs);
        if due || last {
            let s = s(self);
            self.line(&s);
        }
    }

    /// Runs `f` (which prints to stdout) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error return must not leave a half-drawn bar over its message.
        if let Some(b) = &self.bar {
            if !b.is_finished() {
                b.abandon();
            }
        }
    }
}
