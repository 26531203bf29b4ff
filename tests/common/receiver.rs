//! A completion-callback receiver for tests: a tiny HTTP server on 127.0.0.1 that records each
//! request and answers from a script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// HTTP 200 with `{"error_code": N}`.
    Code(i64),
    /// Another HTTP status.
    Status(u16),
    /// No answer for longer than the client waits.
    Hang,
}

/// A tiny HTTP server: records each request (target, body) and answers from a script (the last
/// entry repeats).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    pub script: Arc<Mutex<Vec<Reply>>>,
}

impl Receiver {
    pub fn start(script: Vec<Reply>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        let receiver = Receiver {
            url,
            requests: Arc::default(),
            script: Arc::new(Mutex::new(script)),
        };
        let r = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let r = r.clone();
                std::thread::spawn(move || r.serve(stream));
            }
        });
        receiver
    }

    /// Answers one connection.
    fn serve(&self, stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or(0);
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let target = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let reply = {
            let mut requests = self.requests.lock().unwrap();
            requests.push((target, String::from_utf8_lossy(&body).into_owned()));
            let script = self.script.lock().unwrap();
            script[(requests.len() - 1).min(script.len() - 1)]
        };
        let mut stream = reader.into_inner();
        let (status, text) = match reply {
            Reply::Code(code) => (200, format!("{{\"error_code\":{code}}}")),
            Reply::Status(status) => (status, "{}".to_owned()),
            Reply::Hang => {
                std::thread::sleep(Duration::from_millis(1500));
                return;
            }
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}
