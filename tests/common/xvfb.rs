//! A real X server for tests: Xvfb with Composite, on a free display, one test at a time
//! (`DISPLAY` is process-wide), and real X clients (the `x11_window` example) as windows.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

pub struct Xvfb {
    child: Child,
    pub display: String,
    _serial: MutexGuard<'static, ()>,
}

impl Xvfb {
    /// Starts Xvfb (1920x1080x24, Composite on) and points `DISPLAY` at it; None (skipping) where
    /// Xvfb is not installed outside CI.
    pub fn start() -> Option<Xvfb> {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        if Command::new("Xvfb")
            .arg("-help")
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the tests through scripts/test.sh (it installs Xvfb)"
            );
            eprintln!("skipped: Xvfb is not installed; run the tests with scripts/test.sh");
            return None;
        }
        let number = (90..400)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let display = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                "1920x1080x24",
                "+extension",
                "Composite",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start on {display}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The tests run one at a time under SERIAL, so nothing reads DISPLAY concurrently.
        std::env::set_var("DISPLAY", &display);
        Some(Xvfb {
            child,
            display,
            _serial: serial,
        })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real X client showing one window (the `x11_window` example).
pub struct TestWindow {
    child: Child,
    pub id: u32,
}

/// The `x11_window` example, built once per test binary.
fn x11_window() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| super::examples::example("x11_window"))
}

impl TestWindow {
    /// Opens a window titled `title` of `size` at `at`, painted `paint` (`bars` or
    /// `solid:RRGGBB`), and waits until it is shown.
    pub fn open(title: &str, size: (u32, u32), at: (i32, i32), paint: &str) -> TestWindow {
        let mut child = Command::new(x11_window())
            .args(["--title", title, "--paint", paint])
            .args(["--size", &format!("{}x{}", size.0, size.1)])
            .args(["--at", &format!("{},{}", at.0, at.1)])
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the x11_window example");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let id = line
            .trim()
            .strip_prefix("ready 0x")
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .unwrap_or_else(|| panic!("x11_window said `{line}`"));
        TestWindow { child, id }
    }

    /// Ends the client: the X server destroys its window.
    pub fn close(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestWindow {
    fn drop(&mut self) {
        self.close();
    }
}
