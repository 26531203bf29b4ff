//! A real S3 server for tests: SeaweedFS (`weed mini`, installed by scripts/test.sh from PyPI),
//! on 127.0.0.1 only, with its own data folder, one identity and one bucket.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use classrec::{UploadConfig, UploadTarget, Uploader};

pub const ACCESS_KEY: &str = "classrec-test-key";
pub const SECRET_KEY: &str = "classrec-test-secret";
pub const BUCKET: &str = "classrec-test";

/// S3 tests run one at a time (each server takes 13 ports and ~130 MB).
static SERIAL: Mutex<()> = Mutex::new(());

pub struct S3Server {
    pub endpoint: String,
    args: Vec<String>,
    dir: PathBuf,
    child: Option<Child>,
    _serial: MutexGuard<'static, ()>,
}

fn weed() -> Option<String> {
    std::env::var("CLASSREC_WEED")
        .ok()
        .filter(|w| std::path::Path::new(w).exists())
}

/// A base port P with P..P+7 and P+10000..P+10007 free on 127.0.0.1.
fn free_base_port() -> u16 {
    let seed = std::process::id() as u16;
    (0..500)
        .map(|i| 20000 + (seed.wrapping_mul(7).wrapping_add(i * 13) % 900) * 10)
        .find(|&p| {
            (0..8).all(|k| {
                TcpListener::bind(("127.0.0.1", p + k)).is_ok()
                    && TcpListener::bind(("127.0.0.1", p + 10000 + k)).is_ok()
            })
        })
        .expect("no free port range for SeaweedFS")
}

impl S3Server {
    /// Starts a server, or returns None (skipping) where SeaweedFS is not installed outside CI.
    pub fn start(name: &str) -> Option<S3Server> {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let Some(weed) = weed() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the tests through scripts/test.sh (it installs SeaweedFS)"
            );
            eprintln!("skipped: CLASSREC_WEED is not set; run the tests with scripts/test.sh");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("classrec-s3-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ids = dir.join("identities.json");
        std::fs::write(
            &ids,
            format!(r#"{{"identities":[{{"name":"classrec","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#),
        )
        .unwrap();
        let p = free_base_port();
        let flag = |name: &str, v: u16| format!("-{name}={v}");
        let args = vec![
            weed,
            "mini".into(),
            format!("-dir={}", dir.join("data").display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            flag("master.port", p),
            flag("volume.port", p + 1),
            flag("filer.port", p + 2),
            flag("s3.port", p + 3),
            flag("admin.port", p + 4),
            flag("s3.port.iceberg", p + 5),
            flag("s3.port.lance", p + 6),
            flag("metricsPort", p + 7),
            "-webdav=false".into(),
            "-admin.ui=false".into(),
            format!("-s3.config={}", ids.display()),
            format!("-bucket={BUCKET}"),
            "-s3.autoCreateBucket=false".into(),
        ];
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let mut server = S3Server {
            endpoint: format!("http://127.0.0.1:{}", p + 3),
            args,
            dir,
            child: None,
            _serial: serial,
        };
        server.run();
        Some(server)
    }

    fn run(&mut self) {
        let log = std::fs::File::create(self.dir.join("weed.log")).unwrap();
        let child = Command::new(&self.args[0])
            .args(&self.args[1..])
            .current_dir(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot start SeaweedFS");
        self.child = Some(child);
        // Ready when a signed ListObjectsV2 succeeds. A cancelled uploader tries each call once.
        let uploader = Uploader::new(&self.config("")).unwrap();
        uploader.cancel();
        let start = Instant::now();
        while uploader.list("").is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "SeaweedFS did not become ready; see {}",
                self.dir.join("weed.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server (SIGKILL), keeping its data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports and data.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// An upload configuration for this server's bucket, with explicit credentials.
    pub fn config(&self, prefix: &str) -> UploadConfig {
        UploadConfig {
            target: UploadTarget::S3 {
                endpoint: self.endpoint.clone(),
                region: Some("us-east-1".into()),
                bucket: BUCKET.into(),
                prefix: prefix.into(),
                path_style: true,
                access_key: Some(ACCESS_KEY.into()),
                secret_key: Some(classrec::Secret(SECRET_KEY.into())),
                session_token: None,
            },
            part_size: classrec::MIN_PART_SIZE,
            bandwidth_limit: None,
        }
    }

    /// GETs an object through a presigned URL.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let uploader = Uploader::new(&self.config("")).unwrap();
        let url = uploader.presign_get(key, Duration::from_secs(300)).unwrap();
        let mut response = ureq::get(&url).call().expect("GET the object");
        response.body_mut().with_config().limit(1 << 31).read_to_vec().unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
