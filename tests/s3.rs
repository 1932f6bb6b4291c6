//! The dataset on a real S3-compatible server: `moto` (PyPI, installed by
//! `.ci/run`) on loopback. Extraction to `s3://` must give the same table
//! files, export, manifest and snapshot archive as a local run.
//! Skipped, saying so, when moto is not installed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BUCKET: &str = "ksurf-test";

/// A moto server on 127.0.0.1, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `moto_server` (or `python3 -m moto.server`) on a free port, or
/// returns `None` when moto is not installed.
fn start_moto() -> Option<Moto> {
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

/// One plain HTTP/1.1 request to moto (which does not check signatures on
/// bucket creation), returning the status and body.
fn http(port: u16, method: &str, path: &str) -> (u16, Vec<u8>) {
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

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("extractor/tests/fixtures/bin")
        .join(format!("{name}.elf"))
        .display()
        .to_string()
}

/// The environment pointing object_store's S3 builder at moto, with dummy
/// credentials.
fn aws_env(port: u16) -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "ksurf-test".into()),
        ("AWS_SECRET_ACCESS_KEY", "ksurf-test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// Runs ksurf against the moto server.
fn ksurf(port: u16, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksurf"));
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("AWS_")) {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .env_remove("KSURF_THREADS")
        .env("SOURCE_DATE_EPOCH", "1736812800")
        .envs(aws_env(port))
        .output()
        .expect("running ksurf")
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_s3_dataset_equals_a_local_one() {
    let Some(moto) = start_moto() else {
        // Straight to stderr, past the test harness's capture, so the skip shows.
        let _ = std::io::stderr().write_all(
            b"skipping an_s3_dataset_equals_a_local_one: moto is not installed \
              (python3 -m pip install 'moto[server]')\n",
        );
        return;
    };
    let port = moto.port;
    let (status, body) = http(port, "PUT", &format!("/{BUCKET}"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("ds");
    let local = local.to_str().unwrap();
    let remote = format!("s3://{BUCKET}/nightly/ds");
    let builds = ["x86_64-dwarf5", "aarch64"];
    for build in builds {
        for out in [local, remote.as_str()] {
            let o = ok(ksurf(port, &["extract", &fixture(build), "--out", out]));
            assert!(
                String::from_utf8_lossy(&o.stdout).contains(": 42 functions, 47 instances, "),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }

    // Same export, same table bytes.
    for image in [
        "debian/6.1.0-99-mini-amd64/amd64",
        "debian/6.1.0-99-mini-arm64/arm64",
    ] {
        let export = |ds: &str| {
            ok(ksurf(
                port,
                &[
                    "export",
                    "depsurf-groups",
                    "--dataset",
                    ds,
                    "--image",
                    image,
                ],
            ))
            .stdout
        };
        let want = export(local);
        assert_eq!(String::from_utf8_lossy(&want).lines().count(), 42);
        assert!(export(&remote) == want, "export of {image} differs");
    }
    // Read back through the dataset crate with the same environment: the
    // bucket holds exactly the local files, byte for byte.
    for (key, value) in aws_env(port) {
        std::env::set_var(key, value);
    }
    let on_s3 = ksurf_dataset::Dataset::open_existing(&remote).unwrap();
    let local_files = files(Path::new(local));
    assert_eq!(local_files.len(), 10);
    let listed: Vec<String> = on_s3
        .list(None)
        .unwrap()
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    let want: Vec<String> = local_files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(listed, want);
    for rel in &want {
        let body = on_s3.get(&rel.as_str().into()).unwrap();
        assert!(
            body == std::fs::read(Path::new(local).join(rel)).unwrap(),
            "{rel} differs on S3"
        );
    }

    // The manifest lists the same files, so snapshots are byte-identical.
    for ds in [local, remote.as_str()] {
        ok(ksurf(port, &["manifest", "--dataset", ds]));
        ok(ksurf(port, &["verify", "--dataset", ds]));
    }
    assert_eq!(
        on_s3.get(&"_manifest.json".into()).unwrap(),
        std::fs::read(Path::new(local).join("_manifest.json")).unwrap()
    );
    let from_local = dir.path().join("dist-local");
    let from_s3 = dir.path().join("dist-s3");
    ok(ksurf(
        port,
        &[
            "publish",
            "--dataset",
            local,
            "--out",
            from_local.to_str().unwrap(),
        ],
    ));
    ok(ksurf(
        port,
        &[
            "publish",
            "--dataset",
            &remote,
            "--out",
            from_s3.to_str().unwrap(),
        ],
    ));
    let published = files(&from_local);
    assert_eq!(published.len(), 2);
    assert_eq!(files(&from_s3), published);
    for name in &published {
        assert!(
            std::fs::read(from_local.join(name)).unwrap()
                == std::fs::read(from_s3.join(name)).unwrap(),
            "{} differs",
            name.display()
        );
    }

    // Re-extracting over S3 keeps the dataset identical (marker removed
    // first, written last, every file replaced in one put).
    ok(ksurf(
        port,
        &["extract", &fixture("aarch64"), "--out", &remote],
    ));
    ok(ksurf(port, &["verify", "--dataset", &remote]));

    // A missing bucket is an error naming the object.
    let o = ksurf(
        port,
        &[
            "export",
            "depsurf-groups",
            "--dataset",
            "s3://no-such-bucket/ds",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("ksurf: error: dataset location s3://no-such-bucket/ds/images: "),
        "{err}"
    );
}
