//! An S3-compatible object store for tests: the `moto` server (PyPI,
//! installed by `.ci/run`) on loopback, its buckets, and `ksurf` run with
//! the environment that points object_store's S3 builder at it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What tests set `SOURCE_DATE_EPOCH` to: 2025-01-14T00:00:00Z.
pub const SOURCE_DATE_EPOCH: &str = "1736812800";

/// A moto server on 127.0.0.1, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `python3 -m moto.server` on a free port, or returns `None` when
/// moto is not installed.
pub fn start_moto() -> Option<Moto> {
    let installed = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting moto");
    // Werkzeug prints `Running on http://127.0.0.1:PORT` on stderr.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().ok());
                    sent = true;
                }
            }
            // Keep draining so the server never blocks on a full pipe.
        }
    });
    let port = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(port)) => port,
        other => {
            let _ = child.kill();
            panic!("moto did not report its port: {other:?}");
        }
    };
    Some(Moto { child, port })
}

/// Says on stderr, past the test harness's capture, that `test` is skipped
/// because moto is not installed.
pub fn report_skip(test: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: moto is not installed (python3 -m pip install 'moto[server]')"
    );
}

/// One plain HTTP/1.1 request to moto (which does not check signatures on
/// bucket creation), returning the status and body.
pub fn http(port: u16, method: &str, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response has headers");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response[split + 4..].to_vec();
    assert!(
        !head.contains("transfer-encoding: chunked"),
        "unexpected chunked response: {head}"
    );
    (status, body)
}

/// Creates `bucket` on the server.
pub fn create_bucket(port: u16, bucket: &str) {
    let (status, body) = http(port, "PUT", &format!("/{bucket}"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

/// The environment pointing object_store's S3 builder at moto, with dummy
/// credentials.
pub fn aws_env(port: u16) -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "ksurf-test".into()),
        ("AWS_SECRET_ACCESS_KEY", "ksurf-test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// A `ksurf` command against the moto server: the caller's `AWS_*`,
/// `KSURF_THREADS`, `FAILPOINTS` and `JOB_COMPLETION_INDEX` removed,
/// [`SOURCE_DATE_EPOCH`] set. Add arguments and run it.
pub fn ksurf_command(port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksurf"));
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("AWS_")) {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("KSURF_THREADS")
        .env_remove("FAILPOINTS")
        .env_remove("JOB_COMPLETION_INDEX")
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .envs(aws_env(port));
    cmd
}

/// Runs ksurf with `args` against the moto server.
pub fn ksurf(port: u16, args: &[&str]) -> Output {
    ksurf_command(port)
        .args(args)
        .output()
        .expect("running ksurf")
}

/// `o`, after asserting it succeeded (stderr in the failure message).
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}: {}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}
