//! Headless Chromium (Debian's `chromium`, installed by scripts/test.sh) driven over the DevTools
//! protocol on a pipe: `--remote-debugging-pipe` reads commands on fd 3 and writes replies on
//! fd 4, each a JSON message ending in a NUL byte. The shell hands it our stdin and stdout as those
//! two descriptors, so no WebSocket client is needed.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::TempDir;

/// How long one command (a whole playback included) may take.
const TIMEOUT: Duration = Duration::from_secs(120);

pub struct Chromium {
    child: Child,
    commands: ChildStdin,
    replies: mpsc::Receiver<Value>,
    /// Events read while waiting for something else.
    events: Vec<Value>,
    next_id: u64,
    profile: TempDir,
}

/// A `file://` URL for a local file.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Chromium {
    /// Starts a headless browser with its own profile, allowed to play sound without a click.
    pub fn start(name: &str) -> Chromium {
        let profile = TempDir::new(&format!("chromium-{name}"));
        let script = format!(
            "exec chromium --headless=new --no-sandbox --no-first-run --remote-debugging-pipe \
             --autoplay-policy=no-user-gesture-required --user-data-dir='{}' about:blank \
             3<&0 4>&1 </dev/null >'{}' 2>&1",
            profile.path().join("data").display(),
            profile.path().join("chromium.log").display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start chromium (scripts/test.sh installs it)");
        let commands = child.stdin.take().unwrap();
        let mut from = BufReader::new(child.stdout.take().unwrap());
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut message = Vec::new();
            match from.read_until(0, &mut message) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    message.pop();
                    if let Ok(value) = serde_json::from_slice(&message) {
                        if tx.send(value).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Chromium {
            child,
            commands,
            replies,
            events: Vec::new(),
            next_id: 1,
            profile,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default()
    }

    /// The next message that `wanted` accepts; events passed over are kept for `wait_event`.
    fn next(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.events.iter().position(&wanted) {
            return self.events.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(message) if wanted(&message) => return message,
                Ok(message) => self.events.push(message),
                Err(e) => panic!("chromium: no {what} ({e}); its log:\n{}", self.log()),
            }
        }
    }

    /// Sends one command (to a page when `session` is given) and returns its result.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).expect("write to chromium");
        let reply = self.next(method, |m| m["id"] == id);
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// Opens `url` in a new tab and waits for its load event; returns the tab's session.
    pub fn open(&mut self, url: &str) -> String {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        self.call(Some(&session), "Page.enable", json!({}));
        let navigated = self.call(Some(&session), "Page.navigate", json!({"url": url}));
        assert!(navigated.get("errorText").is_none(), "cannot open {url}: {navigated}");
        let s = session.clone();
        self.next("load event", |m| {
            m["method"] == "Page.loadEventFired" && m["sessionId"] == s.as_str()
        });
        session
    }

    /// Evaluates `expression` in the tab (awaiting a promise) and returns its value.
    pub fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
        );
        assert!(result.get("exceptionDetails").is_none(), "script failed: {result}");
        result["result"]["value"].clone()
    }
}

impl Drop for Chromium {
    /// Asks the browser to close (it takes its renderers with it); kills it after 10 s.
    fn drop(&mut self) {
        let _ = self.commands.write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
