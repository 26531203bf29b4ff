//! Durations and sizes as people read them; shared by the `record` and `recordings` examples
//! (and their tests, which expect what they show). Each user takes what it needs.
#![allow(dead_code)]

use std::time::Duration;

/// `mm:ss`, or `h:mm:ss` from an hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s / 3600 {
        0 => format!("{:02}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", s / 60 % 60, s % 60),
    }
}

/// Bytes in KiB, MiB or GiB.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=1_048_575 => format!("{:.0} KiB", b / 1024.0),
        1_048_576..=1_073_741_823 => format!("{:.1} MiB", b / 1_048_576.0),
        _ => format!("{:.2} GiB", b / 1_073_741_824.0),
    }
}
