//! The examples the tests run as programs. Its own file, next to `xvfb.rs` (which runs the
//! `x11_window` example), so that a bench including both by path has them as siblings too.

use std::path::PathBuf;
use std::process::Command;

/// Builds the example `name` (all features, as the other examples the tests run) and returns its
/// path: `cargo test` compiles examples only as tests, not as the programs themselves.
pub fn example(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--all-features", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --example {name} failed");
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples").join(name)
}
