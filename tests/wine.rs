//! The Windows build, run under Wine: `record.exe` and a C++ client linked to `classrec.dll`,
//! checked from Linux with ffprobe/ffmpeg, against a real S3 server and callback receiver on
//! 127.0.0.1. `scripts/test-windows.sh` builds the Windows binaries and runs these with
//! `--ignored` (a plain `cargo test` has no Windows build to run, so they are ignored there).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use common::s3::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};
use common::{cpp_client_config, decode_errors, probe, streams};

/// A Wine prefix and the Windows binaries that scripts/test-windows.sh prepared.
struct Wine {
    /// `/usr/lib/wine/wine64`.
    loader: PathBuf,
    /// `WINEPREFIX`: its `drive_c` is the Windows `C:`.
    prefix: PathBuf,
    /// The folder holding `record.exe`, `classrec.dll` and `end_to_end.exe`.
    bin: PathBuf,
    /// `WINEPATH`: the Wine-only shim DLLs and the mingw runtime.
    dll_path: String,
}

fn env_path(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run these tests through scripts/test-windows.sh"))
}

fn wine() -> Wine {
    Wine {
        loader: env_path("CLASSREC_WINE"),
        prefix: env_path("CLASSREC_WINEPREFIX"),
        bin: env_path("CLASSREC_WINE_BIN"),
        dll_path: std::env::var("CLASSREC_WINEPATH").unwrap_or_default(),
    }
}

impl Wine {
    /// `program` (a name in the bin folder, or a Wine built-in such as `cmd`) under Wine.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = Command::new(&self.loader);
        cmd.arg(if exe.exists() {
            exe.as_os_str()
        } else {
            program.as_ref()
        })
        .env("WINEPREFIX", &self.prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEPATH", &self.dll_path)
        // Wine turns the command line into UTF-16 through the Unix locale: UTF-8 here.
        .env("LC_ALL", "C.UTF-8")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .stdin(Stdio::null());
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let started = Instant::now();
        let output = self.command(program).args(args).output().expect("run wine64");
        println!(
            "  wine {program} {} ({:.1} s, {})",
            args.join(" "),
            started.elapsed().as_secs_f64(),
            output.status
        );
        output
    }

    /// Runs `record.exe`; returns the JSON line it printed on success.
    fn record(&self, args: &[&str]) -> serde_json::Value {
        let output = self.run("record.exe", args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "record.exe {args:?} failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("record.exe printed no JSON ({e}):\n{stdout}"))
    }

    /// The Linux path of a `C:\...` path.
    fn unix_path(&self, windows: &str) -> PathBuf {
        let rest = windows
            .strip_prefix("C:\\")
            .or_else(|| windows.strip_prefix("c:\\"))
            .unwrap_or_else(|| panic!("`{windows}` is not on C:"));
        rest.split('\\')
            .fold(self.prefix.join("drive_c"), |path, part| path.join(part))
    }

    /// A fresh folder `C:\classrec-tests\<name>` (emptied first); returns its Windows path.
    fn fresh_folder(&self, name: &str) -> String {
        let windows = format!("C:\\classrec-tests\\{name}");
        let unix = self.unix_path(&windows);
        let _ = std::fs::remove_dir_all(&unix);
        std::fs::create_dir_all(&unix).unwrap();
        windows
    }
}

/// The recording at `path`: ffprobe's duration, after checking it decodes clean with both tracks.
fn check_recording(path: &Path, expected_bytes: u64) -> f64 {
    let bytes = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len();
    assert_eq!(bytes, expected_bytes, "the size record.exe reported is the file's");
    assert_eq!(
        decode_errors(path),
        "",
        "ffmpeg -v error must be silent on {}",
        path.display()
    );
    let codecs: Vec<String> = streams(path).into_iter().map(|s| s.0).collect();
    assert_eq!(codecs, ["h264", "aac"], "{}", path.display());
    probe(path).duration
}

/// `record.exe` arguments: synthetic picture and sound for `seconds` into `folder`, uploaded to
/// `server` under `prefix`.
fn upload_args(seconds: &str, folder: &str, server: &S3Server, prefix: &str) -> Vec<String> {
    let bucket = format!("s3://{BUCKET}/{prefix}");
    let args = [
        "--seconds",
        seconds,
        "--audio",
        "synthetic",
        "--out-dir",
        folder,
        "--upload",
        &bucket,
    ];
    let mut args: Vec<String> = args.map(String::from).to_vec();
    args.extend(["--endpoint".into(), server.endpoint.clone()]);
    args
}

fn strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

#[test]
#[ignore = "needs the Windows build: scripts/test-windows.sh"]
fn record_exe_records_five_seconds_and_uploads_them() {
    let wine = wine();
    let Some(server) = S3Server::start("wine-record") else {
        return;
    };
    let folder = wine.fresh_folder("five-seconds");
    let json = wine.record(&strs(&upload_args("5", &folder, &server, "wine")));

    let windows_path = json["path"].as_str().unwrap();
    assert!(windows_path.starts_with(&folder), "{json}");
    let path = wine.unix_path(windows_path);
    let duration = check_recording(&path, json["bytes"].as_u64().unwrap());
    assert!((4.8..5.6).contains(&duration), "5 s recorded as {duration} s");
    let key = json["upload"]["key"].as_str().unwrap();
    assert!(
        server.get(key) == std::fs::read(&path).unwrap(),
        "the S3 object `{key}` equals the file Wine wrote"
    );
    println!("  {windows_path}: {duration:.3} s, uploaded to `{key}` byte-identical");
}

#[test]
#[ignore = "needs the Windows build: scripts/test-windows.sh"]
fn without_out_dir_the_file_lands_in_userprofile() {
    let wine = wine();
    let output = wine.run("cmd", &["/c", "echo", "%USERPROFILE%"]);
    let profile = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(profile.starts_with("C:\\"), "USERPROFILE is `{profile}`");
    let json = wine.record(&["--seconds", "2", "--audio", "none"]);
    let windows_path = json["path"].as_str().unwrap();
    let expected = format!("{profile}\\TClass\\record\\");
    assert!(
        windows_path.starts_with(&expected),
        "{windows_path} is not under {expected}"
    );
    let path = wine.unix_path(windows_path);
    assert_eq!(decode_errors(&path), "");
    std::fs::remove_file(&path).unwrap();
    println!("  default folder: {windows_path}");
}

#[test]
#[ignore = "needs the Windows build: scripts/test-windows.sh"]
fn a_folder_with_chinese_characters_and_spaces_works_from_record_exe() {
    let wine = wine();
    let folder = wine.fresh_folder("张老师\\My Classes\\录制");
    let json = wine.record(&["--seconds", "3", "--audio", "synthetic", "--out-dir", &folder]);
    let windows_path = json["path"].as_str().unwrap();
    assert!(windows_path.starts_with(&folder), "{json}");
    let path = wine.unix_path(windows_path);
    let duration = check_recording(&path, json["bytes"].as_u64().unwrap());
    assert!((2.8..3.6).contains(&duration), "3 s recorded as {duration} s");
    println!("  {}: {duration:.3} s", path.display());
}

/// The value of `key=` in the C++ client's output (Windows ends its lines with CRLF).
fn field<'a>(output: &'a str, key: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
        .map(str::trim_end)
        .unwrap_or_else(|| panic!("no `{key}=` in:\n{output}"))
}

#[test]
#[ignore = "needs the Windows build: scripts/test-windows.sh"]
fn cpp_client_linked_to_the_dll_records_to_a_chinese_folder_uploads_and_calls_back() {
    let wine = wine();
    let Some(server) = S3Server::start("wine-cpp") else {
        return;
    };
    let receiver = Receiver::start(vec![Reply::Code(0)]);
    let folder = wine.fresh_folder("张老师\\C++ 客户端");
    let prefix = "wine-cpp";
    // The same JSON a C++ client passes to classrec_recorder_start: UTF-8, with a Windows path.
    let config = cpp_client_config(PathBuf::from(&folder), server.config(prefix), &receiver.url, 78);
    let config = serde_json::to_string(&config).unwrap();
    // An ASCII path for the file itself: a C++ program's narrow argv is in the ANSI code page on
    // Windows, not UTF-8. Inside the JSON, the Chinese folder is UTF-8 as the C ABI expects.
    let config_windows = format!("{}\\config.json", wine.fresh_folder("cpp-config"));
    std::fs::write(wine.unix_path(&config_windows), config).unwrap();

    let output = wine.run("end_to_end.exe", &[&config_windows]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "end_to_end.exe failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let windows_path = field(&stdout, "path");
    assert!(windows_path.starts_with(&folder), "{stdout}");
    let path = wine.unix_path(windows_path);
    let duration = check_recording(&path, field(&stdout, "bytes").parse().unwrap());
    assert!(
        (5.9..7.5).contains(&duration),
        "6 s of pushed frames recorded as {duration} s"
    );
    assert_eq!(field(&stdout, "frames_captured"), "90");
    assert!(stdout.contains("started=1 stopped=1"), "{stdout}");
    assert!(
        stdout.contains("upload_complete=1 callback_delivered=1 failures=0"),
        "{stdout}"
    );

    let key = format!("{prefix}/{}", path.file_name().unwrap().to_string_lossy());
    assert!(
        server.get(&key) == std::fs::read(&path).unwrap(),
        "the S3 object `{key}` equals the file"
    );
    let requests = receiver.requests.lock().unwrap();
    assert_eq!(requests.len(), 1, "one callback per recording");
    let body: serde_json::Value = serde_json::from_str(&requests[0].1).unwrap();
    assert_eq!(body["data"]["record_info"]["file_id"], key.as_str());
    println!(
        "  {}: {duration:.3} s, `{key}` identical, callback delivered",
        path.display()
    );
}

#[test]
#[ignore = "needs the Windows build: scripts/test-windows.sh"]
fn a_recording_killed_mid_class_is_recovered_and_its_upload_completed() {
    let wine = wine();
    let Some(server) = S3Server::start("wine-crash") else {
        return;
    };
    let folder = wine.fresh_folder("crash");
    let prefix = "wine-crash";
    let list = upload_args("60", &folder, &server, prefix);
    let mut child = wine
        .command("record.exe")
        .args(&list)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once the first fragments are on disk and uploading (the file has grown past its header).
    // The recording's clock starts about when its file appears (Wine itself takes a while to start).
    let unix_folder = wine.unix_path(&folder);
    let spawned = Instant::now();
    let mut appeared = None;
    let mp4 = loop {
        let found = std::fs::read_dir(&unix_folder)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "mp4"));
        if let Some(path) = found {
            let since = *appeared.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(9) {
                break path;
            }
        }
        assert!(
            spawned.elapsed() < Duration::from_secs(60),
            "record.exe made no file in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // SIGKILL: the Windows process gets no chance to finalize or unlock anything.
    child.kill().unwrap();
    let killed_after = appeared.unwrap().elapsed().as_secs_f64();
    child.wait().unwrap();
    println!("  killed record.exe {killed_after:.1} s after its file appeared");

    // A new recording in the same folder recovers the file (locks left by the crash, rename-over).
    let output = wine.run(
        "record.exe",
        &["--seconds", "2", "--audio", "none", "--verbose", "--out-dir", &folder],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Recovered"),
        "the next start recovers the killed file:\n{stderr}"
    );
    // Then --resume completes its upload.
    // (--seconds and --audio are ignored by --resume.)
    let mut resume = upload_args("0", &folder, &server, prefix);
    resume.push("--resume".into());
    let json = wine.record(&strs(&resume));
    let name = mp4.file_name().unwrap().to_string_lossy().into_owned();
    let key = format!("{prefix}/{name}");
    let resumed = json["resumed"].as_array().unwrap();
    assert!(
        resumed.iter().any(|o| o["key"] == key.as_str()),
        "--resume completed `{key}`: {json}"
    );
    let local = std::fs::read(&mp4).unwrap();
    let duration = check_recording(&mp4, local.len() as u64);
    // At most the fragment being written is lost with the kill.
    assert!(
        (killed_after - 3.0..=killed_after + 0.5).contains(&duration),
        "recovered {duration:.2} s of a recording killed after {killed_after:.1} s"
    );
    assert!(
        server.get(&key) == local,
        "the S3 object `{key}` equals the recovered file"
    );
    println!("  recovered {duration:.2} s and completed `{key}` byte-identical");
}

#[test]
#[ignore = "needs the Windows build: scripts/test-windows.sh"]
fn window_capture_reports_itself_unavailable_without_crashing() {
    let wine = wine();
    let output = wine.run("record.exe", &["--source", "window:Classroom", "--seconds", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a clean failure, not a crash:\n{stderr}");
    assert!(
        stderr.contains("Windows.Graphics.Capture is unavailable"),
        "the error names what is missing:\n{stderr}"
    );
    println!("  {}", stderr.trim());
}
