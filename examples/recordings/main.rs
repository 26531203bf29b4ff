//! Lists the recordings in a bucket with a playable (presigned) URL each, as the seed's console
//! does: one JSON line per recording, or with `--html OUT.html` one self-contained page with a
//! player for each (name, start time from the name, duration from the file's `mvhd`, size).
//! Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
//!
//! ```text
//! cargo run --example recordings -- --endpoint http://127.0.0.1:9000 s3://recordings/class-42/ [--hours 24]
//! cargo run --example recordings -- --endpoint http://127.0.0.1:9000 s3://recordings/class-42/ --html page.html
//! ```

mod duration;
mod page;
#[path = "../common/units.rs"]
mod units;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use classrec::{ObjectInfo, UploadConfig, Uploader};

const USAGE: &str = "usage: recordings --endpoint URL s3://BUCKET/PREFIX [--hours N] [--html OUT.html]";

/// Writes the page for `objects` to `out`; says on stderr which durations could not be read.
fn write_page(uploader: &Uploader, objects: Vec<ObjectInfo>, place: &str, ttl: Duration, out: &Path) -> ExitCode {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent();
    let rows: Vec<page::Row> = objects
        .into_iter()
        .filter(|o| o.key.ends_with(".mp4"))
        .filter_map(|o| {
            // Listed keys name objects, so presigning cannot refuse them; skip one if it does.
            let url = match uploader.presign_get(&o.key, ttl) {
                Ok(url) => url,
                Err(e) => {
                    eprintln!("{}: {e}", o.key);
                    return None;
                }
            };
            let duration = duration::of(&agent, &url, o.size);
            if let Err(e) = &duration {
                eprintln!("{}: no duration: {e}", o.key);
            }
            Some(page::Row {
                key: o.key,
                size: o.size,
                url,
                duration,
            })
        })
        .collect();
    let hours = ttl.as_secs() / 3600;
    match std::fs::write(out, page::html(place, &rows, hours)) {
        Ok(()) => {
            eprintln!("{} recording(s) on {}", rows.len(), out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut endpoint, mut url, mut hours, mut html) = (None, None, 24u64, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoint" => endpoint = it.next().cloned(),
            "--hours" => hours = it.next().and_then(|h| h.parse().ok()).unwrap_or(24),
            "--html" => html = it.next().map(PathBuf::from),
            other => url = Some(other.to_owned()),
        }
    }
    let (Some(endpoint), Some(url)) = (endpoint, url.and_then(|u| u.strip_prefix("s3://").map(str::to_owned))) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (bucket, prefix) = url.split_once('/').unwrap_or((&url, ""));
    let uploader = match Uploader::new(&UploadConfig::s3(&endpoint, bucket, "")) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ttl = Duration::from_secs(hours * 3600);
    match uploader.list(prefix) {
        Ok(objects) => {
            if let Some(out) = html {
                return write_page(&uploader, objects, &format!("s3://{url}"), ttl, &out);
            }
            for o in objects {
                let play = uploader.presign_get(&o.key, ttl).ok();
                println!(
                    "{}",
                    serde_json::json!({"key": o.key, "size": o.size, "last_modified": o.last_modified, "url": play})
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
