//! The live status line `record` draws on stderr when stderr is a terminal:
//!
//! ```text
//! rec 00:12 | 1.4 MiB | 6 fragments safe | upload 37% | callback waiting
//! ```
//!
//! It is redrawn in place (`\r`, then erase to the end of the line; cut, not wrapped, where the
//! terminal is narrower) twice a second, from the recorder's events alone: a still slide costs
//! this thread two wake-ups a second and nothing else.
//! Messages (warnings, errors, `--verbose` events) are printed on lines of their own above it.

use std::io::Write;
use std::time::{Duration, Instant};

use classrec::Event;
use crossbeam_channel::{select, tick, Receiver};

use crate::units::{clock, size};

/// How often the line is redrawn.
pub const REDRAW: Duration = Duration::from_millis(500);
/// Line wrapping off and on again (DECAWM): a line wider than the terminal is cut at its right
/// edge instead of wrapping, which `\r` could not redraw in place.
const NO_WRAP: &str = "\x1b[?7l";
const WRAP: &str = "\x1b[?7h";

/// What the line shows, updated from the recorder's events.
pub struct Status {
    started: Instant,
    /// Set at `Stopped`: the clock stops there.
    stopped: Option<Duration>,
    /// Committed bytes (the end of the last fragment safe on disk), then the final size.
    bytes: u64,
    fragments: u64,
    /// `None` without an upload; else the text after "upload ".
    upload: Option<String>,
    /// `None` without a callback; else the text after "callback ".
    callback: Option<String>,
}

impl Status {
    /// A line for a recording started at `started`, uploading and calling back as configured.
    pub fn new(started: Instant, uploading: bool, callback: bool) -> Status {
        Status {
            started,
            stopped: None,
            bytes: 0,
            fragments: 0,
            upload: uploading.then(|| "0%".to_owned()),
            callback: callback.then(|| "waiting".to_owned()),
        }
    }

    /// Takes in one event; returns a message to print on its own line, if the event has one.
    pub fn apply(&mut self, event: &Event, verbose: bool) -> Option<String> {
        let set = |slot: &mut Option<String>, text: String| {
            if let Some(slot) = slot {
                *slot = text;
            }
        };
        match event {
            Event::Started { path } => return Some(format!("recording to {}", path.display())),
            Event::Error { message } | Event::Warning { message } => return Some(message.clone()),
            Event::FragmentCommitted(f) => (self.bytes, self.fragments) = (f.end, u64::from(f.index)),
            Event::Stopped(r) => {
                self.stopped = Some(self.started.elapsed());
                self.bytes = r.bytes;
                self.fragments = r.stats.fragments;
            }
            Event::UploadProgress(p) => {
                let percent = p.percent.map_or_else(|| ratio(p.uploaded, p.recorded), f64::from);
                set(&mut self.upload, format!("{percent:.0}%"));
            }
            Event::UploadComplete(_) => set(&mut self.upload, "100% complete".into()),
            Event::UploadFailed { .. } => set(&mut self.upload, "failed".into()),
            Event::CallbackDelivered { attempts } => {
                let s = if *attempts == 1 { "" } else { "s" };
                set(&mut self.callback, format!("delivered ({attempts} attempt{s})"));
            }
            Event::CallbackFailed { .. } => set(&mut self.callback, "failed".into()),
            _ => {}
        }
        verbose.then(|| format!("{event:?}"))
    }

    /// The line, without control characters.
    pub fn line(&self) -> String {
        let (state, elapsed) = match self.stopped {
            None => ("rec", self.started.elapsed()),
            Some(at) => ("stopped", at),
        };
        let s = if self.fragments == 1 { "" } else { "s" };
        let mut line = format!(
            "{state} {} | {} | {} fragment{s} safe",
            clock(elapsed),
            size(self.bytes),
            self.fragments
        );
        for (label, value) in [("upload", &self.upload), ("callback", &self.callback)] {
            if let Some(value) = value {
                line += &format!(" | {label} {value}");
            }
        }
        line
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Draws `status` from `events` until `done` fires (or every sender is gone); tells `stopped` when
/// the recording stopped by itself. Ends with the last state and a newline.
pub fn run(
    events: Receiver<Event>,
    done: Receiver<()>,
    stopped: std::sync::mpsc::Sender<()>,
    mut status: Status,
    verbose: bool,
) {
    let mut err = std::io::stderr().lock();
    let redraw = tick(REDRAW);
    let mut draw = |status: &Status, message: Option<String>| {
        let message = message.map(|m| format!("{m}\n")).unwrap_or_default();
        let _ = write!(err, "\r\x1b[K{message}{NO_WRAP}{}{WRAP}", status.line());
        let _ = err.flush();
    };
    draw(&status, None);
    loop {
        select! {
            recv(events) -> event => match event {
                Ok(event) => {
                    if matches!(event, Event::Stopped(_)) {
                        let _ = stopped.send(());
                    }
                    if let Some(message) = status.apply(&event, verbose) {
                        draw(&status, Some(message));
                    }
                }
                Err(_) => break,
            },
            recv(redraw) -> _ => draw(&status, None),
            recv(done) -> _ => break,
        }
    }
    // Events that came with the end (the last upload and callback news).
    for event in events.try_iter() {
        if let Some(message) = status.apply(&event, verbose) {
            draw(&status, Some(message));
        }
    }
    draw(&status, None);
    let _ = writeln!(std::io::stderr());
}
