//! Lists the recordings in a bucket with a playable (presigned) URL each, as the seed's console
//! does. Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
//!
//! ```text
//! cargo run --example recordings -- --endpoint http://127.0.0.1:9000 s3://recordings/class-42/ [--hours 24]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use classrec::{UploadConfig, Uploader};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut endpoint, mut url, mut hours) = (None, None, 24u64);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoint" => endpoint = it.next().cloned(),
            "--hours" => hours = it.next().and_then(|h| h.parse().ok()).unwrap_or(24),
            other => url = Some(other.to_owned()),
        }
    }
    let (Some(endpoint), Some(url)) = (endpoint, url.and_then(|u| u.strip_prefix("s3://").map(str::to_owned))) else {
        eprintln!("usage: recordings --endpoint URL s3://BUCKET/PREFIX [--hours N]");
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
    match uploader.list(prefix) {
        Ok(objects) => {
            for o in objects {
                let play = uploader.presign_get(&o.key, Duration::from_secs(hours * 3600));
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
