//! The C ABI as a C and a C++ program see it: compiled with gcc/g++ against `include/classrec.h`
//! (`-Wall -Wextra -Wpedantic -Werror`), linked against the static and the shared library, run
//! under AddressSanitizer. The misuse program feeds every bad input; the C++ client records
//! through the ABI with upload to a real S3 server and a callback receiver, checked end to end.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::receiver::{Receiver, Reply};
use common::s3::S3Server;
use common::{cpp_client_config, decode_errors, probe, TempDir};

/// How a test program links classrec.
#[derive(Clone, Copy, Debug)]
enum Link {
    Static,
    Shared,
}

const LINKS: [Link; 2] = [Link::Static, Link::Shared];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds `libclassrec.a` and `libclassrec.so` once, as a user would (`cargo build`, default
/// features), in their own target folder: `cargo test` neither makes them nor shares its
/// dependency features with a plain build, so sharing `target/debug` would rebuild both ways.
fn build_library() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = root().join("target").join("capi");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--lib", "--target-dir"])
            .arg(&target)
            .current_dir(root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --lib failed");
        let dir = target.join("debug");
        for name in ["libclassrec.a", "libclassrec.so"] {
            assert!(dir.join(name).exists(), "{name} missing in {}", dir.display());
        }
        dir
    })
}

/// Compiles `sources` (C11 or C++17 by extension) with warnings as errors and AddressSanitizer.
fn compile(sources: &[&str], link: Link, out: &Path) -> PathBuf {
    let lib = build_library();
    let cpp = sources.iter().any(|s| s.ends_with(".cpp"));
    let mut cmd = Command::new(if cpp { "g++" } else { "gcc" });
    cmd.arg(if cpp { "-std=c++17" } else { "-std=c11" })
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"])
        .args(["-fsanitize=address", "-fno-omit-frame-pointer"])
        .arg("-I")
        .arg(root().join("include"));
    for source in sources {
        cmd.arg(root().join(source));
    }
    match link {
        // The system libraries are those `cargo rustc -- --print native-static-libs` lists.
        Link::Static => cmd.arg("-DCLASSREC_STATIC").arg(lib.join("libclassrec.a")).args([
            "-lstdc++",
            "-lasound",
            "-lpthread",
            "-ldl",
            "-lm",
        ]),
        Link::Shared => cmd
            .arg("-L")
            .arg(lib)
            .arg("-lclassrec")
            .arg(format!("-Wl,-rpath,{}", lib.display())),
    };
    let output = cmd.arg("-o").arg(out).output().expect("run the C compiler");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "compiling {sources:?} ({link:?}) was not clean:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_owned()
}

/// Runs a compiled program under AddressSanitizer (leak checking on); returns its stdout and
/// stderr together.
fn run_asan(program: &Path, args: &[&Path]) -> (bool, String) {
    let (ok, stdout, stderr) = run_asan_apart(program, args);
    (ok, format!("{stdout}{stderr}"))
}

/// [`run_asan`], with stdout and stderr apart (the library must leave the host's stderr alone).
fn run_asan_apart(program: &Path, args: &[&Path]) -> (bool, String, String) {
    let output = Command::new(program)
        .args(args)
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        // cargo test puts target/debug/deps on LD_LIBRARY_PATH, which outranks the rpath
        // (DT_RUNPATH): a shared-linked program would load that (possibly stale) libclassrec.so.
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("run the test program");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("AddressSanitizer") && !stderr.contains("LeakSanitizer"),
        "{} under AddressSanitizer:\n{stderr}\n{stdout}",
        program.display()
    );
    (output.status.success(), stdout, stderr)
}

#[test]
fn every_misuse_gets_its_defined_error_under_asan() {
    let dir = TempDir::new("capi-misuse");
    for link in LINKS {
        let program = compile(
            &["tests/capi/misuse.c"],
            link,
            &dir.path().join(format!("misuse-{link:?}")),
        );
        let scratch = dir.path().join(format!("scratch-{link:?}"));
        std::fs::create_dir_all(&scratch).unwrap();
        let (ok, output) = run_asan(&program, &[&scratch]);
        let checks = output.lines().filter(|l| l.starts_with("ok - ")).count();
        assert!(
            ok && output.contains("PASSED: 0 failure(s)"),
            "misuse ({link:?}):\n{output}"
        );
        assert!(checks >= 90, "only {checks} checks ran ({link:?}):\n{output}");
        println!("misuse ({link:?}): {checks} checks passed under AddressSanitizer");
    }
}

/// The value of `key=` in the program's output.
fn field<'a>(output: &'a str, key: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no `{key}=` in:\n{output}"))
}

#[test]
fn cpp_client_records_uploads_and_calls_back_through_the_abi() {
    let Some(server) = S3Server::start("capi") else { return };
    let receiver = Receiver::start(vec![Reply::Code(0)]);
    let dir = TempDir::new("capi-e2e");
    let sources = ["tests/capi/end_to_end.cpp", "tests/capi/client.cpp"];
    for link in LINKS {
        let program = compile(&sources, link, &dir.path().join(format!("end_to_end-{link:?}")));
        let prefix = format!("capi-{link:?}");
        let out_dir = dir.path().join(format!("rec-{link:?}"));
        let config = cpp_client_config(out_dir, server.config(&prefix), &receiver.url, 77);
        let config_path = dir.path().join(format!("config-{link:?}.json"));
        std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let requests_before = receiver.count();

        let (ok, output) = run_asan(&program, &[&config_path]);
        assert!(ok, "end_to_end ({link:?}) failed:\n{output}");

        let path = PathBuf::from(field(&output, "path"));
        let local = std::fs::read(&path).unwrap();
        assert_eq!(field(&output, "bytes"), local.len().to_string());
        assert_eq!(field(&output, "size"), "640x360");
        assert_eq!(field(&output, "frames_captured"), "90");
        let encoded: usize = field(&output, "frames_encoded").parse().unwrap();
        let p = probe(&path);
        assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 640, 360));
        assert_eq!(p.packets.len(), encoded, "every encoded frame is in the file");
        assert!(encoded >= 80, "{encoded} of 90 pushed frames encoded");
        // Frames carry timestamps i/15 s; the last one shows until stop, a little after 6 s.
        let duration_ms: f64 = field(&output, "duration_ms").parse().unwrap();
        assert!(
            (p.duration * 1000.0 - duration_ms).abs() < 50.0,
            "ffprobe {} s, classrec {duration_ms} ms",
            p.duration
        );
        assert!(
            (5.9..7.5).contains(&p.duration),
            "duration {} s for 6 s of frames",
            p.duration
        );
        assert_eq!(decode_errors(&path), "", "ffmpeg -v error must be silent");
        let codecs = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&codecs.stdout)
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["h264", "aac"],
            "the pushed sound is in the file"
        );

        let key = format!("{prefix}/{}", path.file_name().unwrap().to_string_lossy());
        assert!(
            server.get(&key) == local,
            "the S3 object `{key}` equals the local file byte for byte"
        );
        assert!(field(&output, "url").ends_with(&key), "{output}");
        assert!(
            field(&output, "listing").contains(&format!("\"key\":\"{key}\"")),
            "{output}"
        );

        assert!(
            output.contains("upload_complete=1 callback_delivered=1 failures=0"),
            "events ({link:?}):\n{output}"
        );
        assert!(output.contains("started=1 stopped=1"), "{output}");
        let requests = receiver.requests.lock().unwrap();
        assert_eq!(requests.len(), requests_before + 1, "one callback per recording");
        let body: serde_json::Value = serde_json::from_str(&requests.last().unwrap().1).unwrap();
        let info = &body["data"]["record_info"];
        assert_eq!(body["event"], "local_record_callback");
        assert_eq!(info["file_size"], local.len() as u64);
        assert_eq!(info["file_id"], key.as_str());
        assert_eq!(info["class_id"], 77);
        assert_eq!(info["duration"], (duration_ms / 1000.0).round() as u64);
        println!(
            "end to end ({link:?}): {} bytes, {:.3} s, {encoded} frames; S3 object identical; callback delivered",
            local.len(),
            p.duration
        );
    }
}

#[test]
fn the_minimal_cpp_example_builds_and_records() {
    let dir = TempDir::new("capi-example");
    let program = compile(
        &["examples/c/minimal_client.cpp"],
        Link::Shared,
        &dir.path().join("minimal_client"),
    );
    let out = dir.path().join("recordings");
    let (ok, output, stderr) = run_asan_apart(&program, &[&out, Path::new("2")]);
    assert!(ok, "{output}\n{stderr}");
    assert_eq!(stderr, "", "a default recording writes nothing to the host's stderr");
    let saved = output
        .lines()
        .find_map(|l| l.strip_prefix("saved "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("no `saved` line:\n{output}"));
    let p = probe(Path::new(saved));
    assert_eq!((p.width, p.height), (1280, 720));
    assert!((p.duration - 2.0).abs() < 0.3, "{} s", p.duration);
    assert_eq!(decode_errors(Path::new(saved)), "");
    assert!(
        output.contains("event 0 "),
        "the started event reached the callback:\n{output}"
    );
}

#[test]
fn hostile_input_gets_defined_results_under_asan() {
    let dir = TempDir::new("capi-hostile");
    let program = compile(&["tests/capi/hostile.c"], Link::Static, &dir.path().join("hostile"));
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let (ok, output, stderr) = run_asan_apart(&program, &[&scratch]);
    assert!(
        ok && output.contains("PASSED: 0 failure(s)"),
        "hostile:\n{output}\n{stderr}"
    );
    assert_eq!(stderr, "", "nothing reaches the host's stderr");
    // The recording with an hour-ahead frame and an INT64_MAX one plays, about 3 s long.
    let path = PathBuf::from(field(&output, "path"));
    let p = probe(&path);
    assert!((2.0..5.0).contains(&p.duration), "duration {} s", p.duration);
    assert_eq!(decode_errors(&path), "", "ffmpeg -v error must be silent");
    let checks = output.lines().filter(|l| l.starts_with("ok - ")).count();
    println!(
        "hostile: {checks} checks passed under AddressSanitizer; {:.3} s recorded",
        p.duration
    );
}
