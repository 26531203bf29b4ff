//! A real PulseAudio daemon for tests, one at a time (the server's address is process-wide
//! environment): started as root with `--system=false`, `HOME`/`XDG_RUNTIME_DIR` in temp dirs,
//! with null sinks whose `.monitor` sources are captured; stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// The "system" sink: what the computer plays (its monitor is the loopback).
pub const SYSTEM_SINK: &str = "classrec_system";
/// A second null sink whose monitor stands in for the microphone.
pub const MIC_SINK: &str = "classrec_mic";

pub struct Pulse {
    dir: PathBuf,
    env: Vec<(String, String)>,
    _serial: MutexGuard<'static, ()>,
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl Pulse {
    /// Starts the daemon with the two null sinks, and points this process at it. Panics (the test
    /// fails) when PulseAudio, pactl/paplay or sox are missing: run `scripts/test.sh`, which
    /// installs them (`install_audio_test_deps`).
    pub fn start() -> Pulse {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        for tool in ["pulseaudio", "pactl", "paplay", "sox"] {
            assert!(
                installed(tool),
                "`{tool}` is not installed: the audio capture tests need a real PulseAudio; run them through \
                 scripts/test.sh, or `source scripts/deps.sh && install_audio_test_deps`"
            );
        }
        let dir = std::env::temp_dir().join(format!("classrec-pulse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let runtime = dir.join("runtime");
        let home = dir.join("home");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let socket = runtime.join("pulse/native");
        let env = vec![
            ("HOME".to_owned(), home.display().to_string()),
            ("XDG_RUNTIME_DIR".to_owned(), runtime.display().to_string()),
            (
                "PULSE_RUNTIME_PATH".to_owned(),
                runtime.join("pulse").display().to_string(),
            ),
            ("PULSE_SERVER".to_owned(), format!("unix:{}", socket.display())),
        ];
        for (key, value) in &env {
            std::env::set_var(key, value);
        }
        let pulse = Pulse {
            dir,
            env,
            _serial: serial,
        };
        let status = pulse
            .command("pulseaudio")
            .args([
                "-D",
                "--exit-idle-time=-1",
                "--system=false",
                "--disallow-exit",
                "--no-cpu-limit",
                "-n", // no default.pa: only what we load
                "--load=module-native-protocol-unix",
            ])
            .status()
            .expect("run pulseaudio");
        assert!(
            status.success(),
            "pulseaudio -D failed ({status}); see its log in the syslog"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while pulse.pactl(&["info"]).is_none() {
            assert!(
                Instant::now() < deadline,
                "PulseAudio did not answer on {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        for sink in [SYSTEM_SINK, MIC_SINK] {
            pulse
                .pactl(&[
                    "load-module",
                    "module-null-sink",
                    &format!("sink_name={sink}"),
                    "rate=48000",
                ])
                .unwrap_or_else(|| panic!("cannot load a null sink {sink}"));
        }
        pulse
            .pactl(&["set-default-sink", SYSTEM_SINK])
            .expect("set the default sink");
        pulse
            .pactl(&["set-default-source", &format!("{MIC_SINK}.monitor")])
            .expect("set the default source");
        pulse
    }

    /// A command with this daemon's environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs `pactl args`; its stdout, or None when it failed.
    pub fn pactl(&self, args: &[&str]) -> Option<String> {
        let out = self.command("pactl").args(args).stderr(Stdio::null()).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into())
    }

    /// A `seconds`-long sine of `freq` Hz at `amplitude` (of full scale), 48 kHz mono f32 WAV.
    pub fn tone(&self, freq: u32, amplitude: f32, seconds: f32) -> PathBuf {
        let path = self.dir.join(format!("tone-{freq}-{amplitude}.wav"));
        let status = Command::new("sox")
            .args(["-n", "-r", "48000", "-c", "1", "-e", "floating-point", "-b", "32"])
            .arg(&path)
            .args([
                "synth",
                &seconds.to_string(),
                "sine",
                &freq.to_string(),
                "vol",
                &amplitude.to_string(),
            ])
            .status()
            .expect("run sox");
        assert!(status.success(), "sox could not make the tone");
        path
    }

    /// Plays `wav` into `sink` in the background, until the player is dropped.
    pub fn play(&self, sink: &str, wav: &Path) -> Player {
        Player(
            self.command("paplay")
                .args(["-d", sink, "--volume=65536"])
                .arg(wav)
                .stderr(Stdio::null())
                .spawn()
                .expect("run paplay"),
        )
    }

    /// Unloads the module that made `sink` (as if the headset were unplugged).
    pub fn unload_sink(&self, sink: &str) {
        let modules = self.pactl(&["list", "short", "modules"]).unwrap_or_default();
        let id = modules
            .lines()
            .find(|l| l.contains(&format!("sink_name={sink}")))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no module for {sink}: {modules}"))
            .to_owned();
        self.pactl(&["unload-module", &id]).expect("unload the sink");
    }

    /// Loads a null sink `sink` again (the headset plugged back in).
    pub fn load_sink(&self, sink: &str) {
        self.pactl(&[
            "load-module",
            "module-null-sink",
            &format!("sink_name={sink}"),
            "rate=48000",
        ])
        .expect("load the sink");
    }
}

/// A running `paplay`, stopped on drop.
pub struct Player(Child);

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.command("pulseaudio").arg("--kill").status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
