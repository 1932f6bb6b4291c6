//! Test support: a loopback HTTP mirror (axum on 127.0.0.1:0) serving an
//! archive the tests build — packages (ar + data.tar.{xz,zst} holding the
//! fixture vmlinux), Packages(.xz), Release and InRelease/Release.gpg signed
//! with a throwaway key made here — with per-path fault injection and a log
//! of every request and byte served. [`launchpad`] serves Launchpad's API
//! shapes from the same server.

#![allow(dead_code)]

pub mod launchpad;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use ksurf_dataset::ImageId;
use ksurf_fetcher::plan::{PackageLocation, PlannedPackage};
use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::ser::Serialize;
use pgp::types::Password;
use sha2::{Digest, Sha256};

/// The repository's root, whether these helpers are compiled into the
/// fetcher's tests or (through `#[path]`) the root crate's.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if manifest.join("extractor").is_dir() {
        manifest.to_owned()
    } else {
        manifest.parent().unwrap().to_owned()
    }
}

/// The fixture vmlinux (x86-64 ELF with DWARF 5 and a GNU build-id).
pub fn fixture_vmlinux() -> Vec<u8> {
    std::fs::read(repo_root().join("extractor/tests/fixtures/bin/x86_64-dwarf5.elf")).unwrap()
}
pub const FIXTURE_SHA256: &str = "589a3b6691eda29bc14f20e789db08839ae57d0db8fb0e2896c27f72d530eb55";
pub const FIXTURE_BUILD_ID: &str = "18f010fe421acb8802b545b5f91a554e4cdb496b";

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Incompressible filler (xorshift32), so packages span many HTTP chunks.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataCompression {
    Xz,
    Zstd,
}

/// A Debian binary package whose data member holds a decoy file of
/// `noise_len` random bytes and `usr/lib/debug/boot/vmlinux-<release>`.
pub fn build_deb(
    release: &str,
    vmlinux: &[u8],
    compression: DataCompression,
    noise_len: usize,
) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for d in VMLINUX_DIRS
        .iter()
        .chain(&["./usr/share/", "./usr/share/doc/"])
    {
        append_entry(&mut tar, d, tar::EntryType::Directory, &[]);
    }
    append_entry(
        &mut tar,
        "./usr/share/doc/changelog.bin",
        tar::EntryType::Regular,
        &noise(noise_len, 0x1234_5678),
    );
    append_entry(
        &mut tar,
        &format!("./usr/lib/debug/boot/vmlinux-{release}"),
        tar::EntryType::Regular,
        vmlinux,
    );
    let data_tar = tar.into_inner().unwrap();
    let control = "Package: test\nVersion: 1\nArchitecture: amd64\nDescription: test\n";
    build_package(&data_tar, compression, &control_member(control))
}

/// The directory entries down to the vmlinux's, in the order dpkg-deb
/// writes them.
pub const VMLINUX_DIRS: [&str; 5] = [
    "./",
    "./usr/",
    "./usr/lib/",
    "./usr/lib/debug/",
    "./usr/lib/debug/boot/",
];

/// Appends an entry of `kind` holding `data` (mode 0755 for a directory,
/// 0644 otherwise; a fixed mtime).
pub fn append_entry(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    kind: tar::EntryType,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_size(data.len() as u64);
    h.set_mtime(1_700_000_000);
    tar.append_data(&mut h, path, data).unwrap();
}

/// A `control.tar.xz` member holding `./control` with `text`.
pub fn control_member(text: &str) -> Vec<u8> {
    let mut control_tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    control_tar
        .append_data(&mut h, "./control", text.as_bytes())
        .unwrap();
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(&control_tar.into_inner().unwrap()).unwrap();
    e.finish().unwrap()
}

/// A package with `control_xz` as its `control.tar.xz` member and
/// `data_tar` compressed as its data member.
pub fn build_package(data_tar: &[u8], compression: DataCompression, control_xz: &[u8]) -> Vec<u8> {
    let (name, data) = match compression {
        DataCompression::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(data_tar).unwrap();
            ("data.tar.xz", e.finish().unwrap())
        }
        DataCompression::Zstd => ("data.tar.zst", zstd::encode_all(data_tar, 3).unwrap()),
    };
    let mut ar = ar::Builder::new(Vec::new());
    for (id, bytes) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.xz", control_xz.to_vec()),
        (name, data),
    ] {
        let header = ar::Header::new(id.as_bytes().to_vec(), bytes.len() as u64);
        ar.append(&header, &bytes[..]).unwrap();
    }
    ar.into_inner().unwrap()
}

/// A throwaway OpenPGP signing key.
pub struct Signer {
    secret: SignedSecretKey,
}

impl Signer {
    pub fn new(uid: &str) -> Self {
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(uid.into());
        let secret = params
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap();
        Self { secret }
    }

    pub fn public(&self) -> SignedPublicKey {
        SignedPublicKey::from(self.secret.clone())
    }

    /// The public key as binary packets (a `.gpg` keyring).
    pub fn keyring_binary(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.public().to_writer(&mut out).unwrap();
        out
    }

    /// The public key ASCII-armored (an `.asc` keyring).
    pub fn keyring_armored(&self) -> String {
        self.public()
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }

    pub fn inrelease(&self, release: &str) -> String {
        CleartextSignedMessage::sign(
            rand::thread_rng(),
            release,
            &self.secret.primary_key,
            &Password::empty(),
        )
        .unwrap()
        .to_armored_string(ArmorOptions::default())
        .unwrap()
    }

    pub fn detached(&self, data: &[u8]) -> String {
        DetachedSignature::sign_binary_data(
            rand::thread_rng(),
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )
        .unwrap()
        .to_armored_string(ArmorOptions::default())
        .unwrap()
    }
}

/// One package in a test archive.
pub struct TestPackage {
    pub name: String,
    pub version: String,
    pub release: String,
    /// Archive-relative path (the index's `Filename:`).
    pub filename: String,
    pub bytes: Vec<u8>,
    /// Index fields in place of `Source: linux` (e.g. a signed stub's
    /// `Source` and `Depends`), each line ending in a newline.
    pub fields: Option<String>,
}

/// How the suite's signature is published.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    InRelease,
    Detached,
}

/// Adds a signed suite with `packages` to `files`: the pool files,
/// `dists/<suite>/main/binary-<arch>/Packages{,.xz}`, `Release` and
/// `InRelease` or `Release.gpg`. Returns the Release text.
pub fn add_suite(
    files: &mut HashMap<String, Bytes>,
    signer: &Signer,
    suite: &str,
    arch: &str,
    packages: &[TestPackage],
    signing: Signing,
    valid_until: Option<&str>,
) -> String {
    let mut index = String::new();
    for p in packages {
        index.push_str(&format!(
            "Package: {}\n{}Version: {}\nArchitecture: {arch}\nFilename: {}\nSize: {}\nSHA256: {}\nDescription: Linux kernel debug image\n\n",
            p.name,
            p.fields.as_deref().unwrap_or("Source: linux\n"),
            p.version,
            p.filename,
            p.bytes.len(),
            sha256_hex(&p.bytes)
        ));
        files.insert(p.filename.clone(), Bytes::from(p.bytes.clone()));
    }
    let xz = {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(index.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let dir = format!("main/binary-{arch}");
    let mut release = format!(
        "Origin: Test\nLabel: Test\nSuite: {suite}\nCodename: {suite}\nDate: Sat, 17 May 2025 08:57:45 UTC\n"
    );
    if let Some(v) = valid_until {
        release.push_str(&format!("Valid-Until: {v}\n"));
    }
    release.push_str(&format!(
        "Architectures: {arch}\nComponents: main\nSHA256:\n"
    ));
    for (name, bytes) in [("Packages", index.as_bytes()), ("Packages.xz", &xz[..])] {
        release.push_str(&format!(
            " {} {:>16} {dir}/{name}\n",
            sha256_hex(bytes),
            bytes.len()
        ));
    }
    let base = format!("dists/{suite}");
    files.insert(format!("{base}/{dir}/Packages"), Bytes::from(index.clone()));
    files.insert(format!("{base}/{dir}/Packages.xz"), Bytes::from(xz));
    files.insert(format!("{base}/Release"), Bytes::from(release.clone()));
    match signing {
        Signing::InRelease => {
            files.insert(
                format!("{base}/InRelease"),
                Bytes::from(signer.inrelease(&release)),
            );
        }
        Signing::Detached => {
            files.insert(
                format!("{base}/Release.gpg"),
                Bytes::from(signer.detached(release.as_bytes())),
            );
        }
    }
    release
}

/// A fault injected on one path.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The next body is cut (connection dropped) after this many bytes.
    DropAfter(u64),
    /// Answer with this status the next `n` times.
    Status(u16, u32),
    /// Serve the body with one byte changed (until cleared).
    Corrupt,
    /// Serve this many bytes, then stall for the duration.
    StallAfter(u64, Duration),
    /// Ignore Range headers (always 200 with the whole body), and cut the
    /// first body after this many bytes.
    IgnoreRangeDropAfter(u64),
    /// Ignore Range headers (what `IgnoreRangeDropAfter` becomes after its drop).
    IgnoreRange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub status: u16,
}

#[derive(Default)]
pub struct MirrorState {
    pub files: Mutex<HashMap<String, Bytes>>,
    pub faults: Mutex<HashMap<String, Fault>>,
    pub log: Mutex<Vec<Logged>>,
    pub served: Mutex<HashMap<String, u64>>,
    /// `start <path>` when a response body's first chunk is produced, `end
    /// <path>` when its last one is, in the order they happen.
    pub bodies: Mutex<Vec<String>>,
}

/// A running loopback mirror.
pub struct Mirror {
    pub state: Arc<MirrorState>,
    pub base: String,
    pub runtime: tokio::runtime::Runtime,
}

impl Mirror {
    pub fn start(files: HashMap<String, Bytes>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(MirrorState {
            files: Mutex::new(files),
            ..Default::default()
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            state,
            base: format!("http://{addr}/"),
            runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn fault(&self, path: &str, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .insert(path.to_owned(), fault);
    }

    pub fn clear_faults(&self) {
        self.state.faults.lock().unwrap().clear();
    }

    pub fn requests(&self, path: &str) -> Vec<Logged> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.path == path)
            .cloned()
            .collect()
    }

    pub fn all_requests(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn served(&self, path: &str) -> u64 {
        self.state
            .served
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// [`MirrorState::bodies`] so far.
    pub fn bodies(&self) -> Vec<String> {
        self.state.bodies.lock().unwrap().clone()
    }

    pub fn set_file(&self, path: &str, bytes: Vec<u8>) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.to_owned(), Bytes::from(bytes));
    }
}

const CHUNK: usize = 8 * 1024;

/// The key a request is served and logged under: its path without the
/// leading slash, and for a query-string URL (Launchpad's API) `?` and the
/// decoded query pairs sorted, so that equal queries match whatever their
/// order and encoding.
pub fn request_key(path: &str, query: Option<&str>) -> String {
    let path = path.trim_start_matches('/');
    match query {
        None => path.to_owned(),
        Some(q) => {
            let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            pairs.sort();
            let q: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{path}?{}", q.join("&"))
        }
    }
}

async fn serve(State(state): State<Arc<MirrorState>>, req: Request) -> Response {
    let path = request_key(req.uri().path(), req.uri().query());
    let header =
        |h: &HeaderMap, name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let range = header(req.headers(), "range");
    let if_range = header(req.headers(), "if-range");
    let log = |status: u16| {
        state.log.lock().unwrap().push(Logged {
            path: path.clone(),
            range: range.clone(),
            if_range: if_range.clone(),
            status,
        })
    };
    let file = state.files.lock().unwrap().get(&path).cloned();
    let Some(mut body) = file else {
        log(404);
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    let etag = format!("\"{}\"", &sha256_hex(&body)[..16]);
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        let fault = faults.get(&path).cloned();
        match &fault {
            Some(Fault::Status(code, n)) => {
                if *n <= 1 {
                    faults.remove(&path);
                } else {
                    faults.insert(path.clone(), Fault::Status(*code, n - 1));
                }
            }
            Some(Fault::DropAfter(_)) => {
                faults.remove(&path);
            }
            Some(Fault::IgnoreRangeDropAfter(_)) => {
                faults.insert(path.clone(), Fault::IgnoreRange);
            }
            _ => {}
        }
        fault
    };
    if let Some(Fault::Status(code, _)) = fault {
        log(code);
        return Response::builder()
            .status(code)
            .body(Body::from("fault"))
            .unwrap();
    }
    if let Some(Fault::Corrupt) = fault {
        let mut v = body.to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0xff;
        body = Bytes::from(v);
    }
    let total = body.len() as u64;
    let ignore_range = matches!(
        fault,
        Some(Fault::IgnoreRangeDropAfter(_)) | Some(Fault::IgnoreRange)
    );
    let start = range
        .as_deref()
        .filter(|_| !ignore_range)
        .filter(|_| if_range.as_deref().is_none_or(|v| v == etag))
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse::<u64>().ok())
        .filter(|&s| s < total);
    let mut response = Response::builder()
        .header("etag", HeaderValue::from_str(&etag).unwrap())
        .header("accept-ranges", "bytes");
    let status = if let Some(s) = start {
        response = response
            .status(StatusCode::PARTIAL_CONTENT)
            .header("content-range", format!("bytes {s}-{}/{total}", total - 1));
        body = body.slice(s as usize..);
        206
    } else {
        response = response.status(StatusCode::OK);
        200
    };
    log(status);
    response = response.header("content-length", body.len().to_string());
    let cut = match fault {
        Some(Fault::DropAfter(n)) | Some(Fault::IgnoreRangeDropAfter(n)) => Some((n, None)),
        Some(Fault::StallAfter(n, d)) => Some((n, Some(d))),
        _ => None,
    };
    let served_path = path.clone();
    let stream = futures_util::stream::unfold(
        (body, 0u64, cut, state.clone(), served_path),
        |(body, pos, cut, state, path)| async move {
            if pos as usize >= body.len() {
                return None;
            }
            if pos == 0 {
                state.bodies.lock().unwrap().push(format!("start {path}"));
            }
            let mut end = (pos as usize + CHUNK).min(body.len());
            if let Some((n, stall)) = cut {
                if pos >= n {
                    match stall {
                        None => {
                            // Let hyper flush what was sent before the drop.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            return Some((
                                Err(std::io::Error::other("injected connection drop")),
                                (body, u64::MAX, None, state, path),
                            ));
                        }
                        Some(d) => {
                            tokio::time::sleep(d).await;
                        }
                    }
                } else {
                    end = end.min(n as usize);
                }
            }
            let chunk = body.slice(pos as usize..end);
            if end == body.len() {
                state.bodies.lock().unwrap().push(format!("end {path}"));
            }
            *state
                .served
                .lock()
                .unwrap()
                .entry(path.clone())
                .or_default() += chunk.len() as u64;
            let cut = match cut {
                Some((n, Some(_))) if end as u64 >= n && pos >= n => None,
                other => other,
            };
            Some((
                Ok::<_, std::io::Error>(chunk),
                (body, end as u64, cut, state, path),
            ))
        },
    );
    response.body(Body::from_stream(stream)).unwrap()
}

/// The kernel packages in a Packages index, as planned packages (a minimal
/// stand-in for discovery: every paragraph whose package carries a vmlinux).
pub fn plan_from_index(
    index: &str,
    base: &str,
    distro: &str,
    arch: &str,
    releases: &[(&str, &str)],
) -> Vec<PlannedPackage> {
    let mut out = Vec::new();
    for para in index.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let field = |name: &str| {
            para.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_owned)
        };
        let package = field("Package").unwrap();
        let (release, flavor) = releases
            .iter()
            .find(|(r, _)| package.contains(r))
            .map(|(r, f)| (r.to_string(), f.to_string()))
            .unwrap();
        out.push(PlannedPackage {
            image: ImageId::new(distro, &release, arch).unwrap(),
            flavor,
            package,
            version: field("Version").unwrap(),
            source: "test".into(),
            location: PackageLocation::Url(format!("{base}{}", field("Filename").unwrap())),
            size: Some(field("Size").unwrap().parse().unwrap()),
            sha256: Some(field("SHA256").unwrap()),
            companion: None,
            modules: false,
            btf_from_dwarf: false,
        });
    }
    out
}

/// Every regular file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
