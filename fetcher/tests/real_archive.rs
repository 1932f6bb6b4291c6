//! Real-archive check (ignored unless KSURF_REAL_ARCHIVE=1): the first
//! `deb` source of this machine's apt configuration (its URI, suite and
//! `Signed-By` keyring, read at run time; no host is written here) is
//! verified end to end: InRelease signature against the system keyring,
//! Release dates, then `main/binary-<arch>/Packages` checked against the
//! signed SHA-256. Run with
//!
//! ```sh
//! KSURF_REAL_ARCHIVE=1 cargo test -p ksurf-fetcher --test real_archive -- --ignored --nocapture
//! ```

use std::path::{Path, PathBuf};

use ksurf_fetcher::archive::Archive;
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::release::Keyring;

/// One `deb` line of the apt sources.
#[derive(Debug)]
struct AptSource {
    uri: String,
    suite: String,
    keyring: PathBuf,
}

const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// `deb` sources from `/etc/apt/sources.list{,.d/*.list}` (one-line) and
/// `/etc/apt/sources.list.d/*.sources` (deb822).
fn apt_sources() -> Vec<AptSource> {
    let mut out = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => {
                for para in text.split("\n\n") {
                    let field = |name: &str| {
                        para.lines()
                            .filter(|l| !l.starts_with('#'))
                            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                            .map(|v| v.trim().to_owned())
                    };
                    if !field("Types").is_some_and(|t| t.split_whitespace().any(|t| t == "deb")) {
                        continue;
                    }
                    if field("Enabled").is_some_and(|e| e == "no") {
                        continue;
                    }
                    let keyring = field("Signed-By")
                        .map(PathBuf::from)
                        .unwrap_or(DEFAULT_KEYRING.into());
                    for uri in field("URIs").unwrap_or_default().split_whitespace() {
                        for suite in field("Suites").unwrap_or_default().split_whitespace() {
                            out.push(AptSource {
                                uri: uri.to_owned(),
                                suite: suite.to_owned(),
                                keyring: keyring.clone(),
                            });
                        }
                    }
                }
            }
            Some("list") | None => {
                for line in text.lines() {
                    let line = line.split('#').next().unwrap().trim();
                    let mut words = line.split_whitespace();
                    if words.next() != Some("deb") {
                        continue;
                    }
                    let mut rest: Vec<&str> = words.collect();
                    let mut keyring = PathBuf::from(DEFAULT_KEYRING);
                    if rest.first().is_some_and(|w| w.starts_with('[')) {
                        while let Some(w) = rest.first().copied() {
                            rest.remove(0);
                            if let Some(k) = w.trim_matches(['[', ']']).strip_prefix("signed-by=") {
                                keyring = k.into();
                            }
                            if w.ends_with(']') {
                                break;
                            }
                        }
                    }
                    if let [uri, suite, ..] = rest.as_slice() {
                        out.push(AptSource {
                            uri: (*uri).to_owned(),
                            suite: (*suite).to_owned(),
                            keyring,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|s| {
        s.uri.starts_with("http") && !s.suite.ends_with('/') && Path::new(&s.keyring).is_file()
    });
    out
}

#[test]
#[ignore = "reaches the machine's apt mirror: set KSURF_REAL_ARCHIVE=1"]
fn real_archive_chain_of_trust() {
    if std::env::var("KSURF_REAL_ARCHIVE").as_deref() != Ok("1") {
        eprintln!("KSURF_REAL_ARCHIVE=1 not set; skipping");
        return;
    }
    let sources = apt_sources();
    let source = sources
        .first()
        .expect("no usable deb source in the apt configuration");
    eprintln!("apt source: {source:?}");
    let keyring = Keyring::load(&source.keyring).unwrap();
    eprintln!(
        "keyring {} holds {} keys",
        source.keyring.display(),
        keyring.fingerprints().len()
    );
    let arch = String::from_utf8(
        std::process::Command::new("dpkg")
            .arg("--print-architecture")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let client = HttpClient::new(HttpOptions::default()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let archive = Archive::new(&client, &source.uri, &keyring);
        let started = std::time::Instant::now();
        let release = archive.release(&source.suite).await.unwrap();
        eprintln!(
            "{} verified in {:.1?}: signed by {}, {} SHA256 entries, Date {:?}, Valid-Until {:?}",
            release.url,
            started.elapsed(),
            release.signed_by,
            release.release.sha256.len(),
            release.release.date,
            release.release.valid_until
        );
        assert!(keyring.knows(&release.signed_by), "{}", release.signed_by);
        assert!(!release.release.sha256.is_empty());
        let started = std::time::Instant::now();
        let text = archive.packages(&release, "main", &arch).await.unwrap();
        let packages = text.matches("\nPackage: ").count() + usize::from(text.starts_with("Package: "));
        eprintln!("main/binary-{arch}/Packages: {} bytes, {packages} packages, fetched and checked in {:.1?}", text.len(), started.elapsed());
        assert!(packages > 1000, "{packages}");
        assert!(text.contains("\nPackage: linux-image-"), "no kernel package in the index");
    });
}
