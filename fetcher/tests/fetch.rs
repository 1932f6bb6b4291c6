//! Download tests against a loopback mirror the tests build and sign (see
//! `support`): the chain of trust (signature, Release dates, Packages hash),
//! cached and streamed fetches in Ubuntu ddebs and Debian layouts, the
//! `fetches` manifest, and injected faults — dropped connection (resumed
//! with Range), 503s, wrong bytes, slow server, full disk, a killed run.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ksurf_fetcher::archive::Archive;
use ksurf_fetcher::download::{fetch_all, FetchOptions, Fetched};
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::plan::PlannedPackage;
use ksurf_fetcher::progress::Progress;
use ksurf_fetcher::release::Keyring;
use ksurf_fetcher::Error;
use support::*;

const UBUNTU_SUITE: &str = "focal-updates";
const UBUNTU_GENERIC: &str =
    "pool/main/l/linux/linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb";
const UBUNTU_LOWLATENCY: &str =
    "pool/main/l/linux/linux-image-unsigned-5.4.0-26-lowlatency-dbgsym_5.4.0-26.30_amd64.ddeb";
const DEBIAN_SUITE: &str = "bookworm";
const DEBIAN_PKG: &str =
    "pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb";

/// The clock the Release date checks run at (the fixture Release is dated
/// 2025-05-17).
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-05-18T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

struct Fixture {
    mirror: Mirror,
    dir: tempfile::TempDir,
    keyring: PathBuf,
    suite: &'static str,
    distro: &'static str,
    releases: Vec<(&'static str, &'static str)>,
    /// Package bytes by archive path.
    packages: HashMap<String, Vec<u8>>,
}

fn ubuntu() -> Fixture {
    let vmlinux = fixture_vmlinux();
    let packages = vec![
        TestPackage {
            name: "linux-image-unsigned-5.4.0-26-generic-dbgsym".into(),
            version: "5.4.0-26.30".into(),
            release: "5.4.0-26-generic".into(),
            filename: UBUNTU_GENERIC.into(),
            bytes: build_deb("5.4.0-26-generic", &vmlinux, DataCompression::Xz, 200_000),
            fields: None,
        },
        TestPackage {
            name: "linux-image-unsigned-5.4.0-26-lowlatency-dbgsym".into(),
            version: "5.4.0-26.30".into(),
            release: "5.4.0-26-lowlatency".into(),
            filename: UBUNTU_LOWLATENCY.into(),
            bytes: build_deb(
                "5.4.0-26-lowlatency",
                &vmlinux,
                DataCompression::Zstd,
                150_000,
            ),
            fields: None,
        },
    ];
    fixture(
        packages,
        UBUNTU_SUITE,
        "ubuntu",
        Signing::InRelease,
        false,
        vec![
            ("5.4.0-26-generic", "generic"),
            ("5.4.0-26-lowlatency", "lowlatency"),
        ],
    )
}

fn debian() -> Fixture {
    let packages = vec![TestPackage {
        name: "linux-image-6.1.0-47-cloud-amd64-dbg".into(),
        version: "6.1.170-3".into(),
        release: "6.1.0-47-cloud-amd64".into(),
        filename: DEBIAN_PKG.into(),
        bytes: build_deb(
            "6.1.0-47-cloud-amd64",
            &fixture_vmlinux(),
            DataCompression::Xz,
            100_000,
        ),
        fields: None,
    }];
    fixture(
        packages,
        DEBIAN_SUITE,
        "debian",
        Signing::Detached,
        true,
        vec![("6.1.0-47-cloud-amd64", "cloud-amd64")],
    )
}

fn fixture(
    packages: Vec<TestPackage>,
    suite: &'static str,
    distro: &'static str,
    signing: Signing,
    armored: bool,
    releases: Vec<(&'static str, &'static str)>,
) -> Fixture {
    let signer = Signer::new("ksurf test archive <test@invalid>");
    let mut files = HashMap::new();
    add_suite(
        &mut files,
        &signer,
        suite,
        "amd64",
        &packages,
        signing,
        Some("Sat, 24 May 2025 08:57:45 UTC"),
    );
    let dir = tempfile::tempdir().unwrap();
    let keyring = if armored {
        let p = dir.path().join("archive.asc");
        std::fs::write(&p, signer.keyring_armored()).unwrap();
        p
    } else {
        let p = dir.path().join("archive.gpg");
        std::fs::write(&p, signer.keyring_binary()).unwrap();
        p
    };
    Fixture {
        mirror: Mirror::start(files),
        dir,
        keyring,
        suite,
        distro,
        releases,
        packages: packages
            .into_iter()
            .map(|p| (p.filename, p.bytes))
            .collect(),
    }
}

fn fast_http() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        attempts: 3,
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        per_host: 4,
    }
}

impl Fixture {
    fn client(&self) -> HttpClient {
        HttpClient::new(fast_http()).unwrap()
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn options(&self) -> FetchOptions {
        let mut o = FetchOptions::new(&self.out(), &self.cache());
        o.free_margin = 0;
        o
    }

    /// Verified Release → Packages → plan.
    fn discover(&self, client: &HttpClient) -> ksurf_fetcher::Result<Vec<PlannedPackage>> {
        let keyring = Keyring::load(&self.keyring)?;
        self.mirror.runtime.block_on(async {
            let archive = Archive::new(client, &self.mirror.base, &keyring);
            let release = archive.release_at(self.suite, now()).await?;
            let text = archive.packages(&release, "main", "amd64").await?;
            Ok(plan_from_index(
                &text,
                &self.mirror.base,
                self.distro,
                "amd64",
                &self.releases,
            ))
        })
    }

    fn fetch(
        &self,
        plans: Vec<PlannedPackage>,
        options: &FetchOptions,
    ) -> Vec<(PlannedPackage, ksurf_fetcher::Result<Fetched>)> {
        let client = self.client();
        self.mirror
            .runtime
            .block_on(fetch_all(&client, plans, options, &Progress::hidden()))
    }

    fn vmlinux_path(&self, release: &str) -> PathBuf {
        self.out()
            .join("vmlinux")
            .join(self.distro)
            .join("amd64")
            .join(format!("vmlinux-{release}"))
    }

    fn pool_requests(&self) -> usize {
        self.mirror
            .all_requests()
            .iter()
            .filter(|r| r.path.starts_with("pool/"))
            .count()
    }
}

fn assert_fetched(fx: &Fixture, plan: &PlannedPackage, fetched: &Fetched) {
    let PlannedPackage {
        location: ksurf_fetcher::plan::PackageLocation::Url(url),
        ..
    } = plan
    else {
        panic!("url plan")
    };
    let path = url.strip_prefix(&fx.mirror.base).unwrap();
    let bytes = &fx.packages[path];
    assert_eq!(fetched.location, *url);
    assert_eq!(fetched.package_size, bytes.len() as u64);
    assert_eq!(fetched.package_sha256, sha256_hex(bytes));
    assert_eq!(fetched.vmlinux.sha256, FIXTURE_SHA256);
    assert_eq!(fetched.vmlinux.size, fixture_vmlinux().len() as u64);
    assert_eq!(fetched.vmlinux.path, fx.vmlinux_path(&plan.image.release));
    assert_eq!(fetched.build_id.as_deref(), Some(FIXTURE_BUILD_ID));
    assert_eq!(
        std::fs::read(&fetched.vmlinux.path).unwrap(),
        fixture_vmlinux()
    );
}

fn cache_files(fx: &Fixture) -> Vec<String> {
    files_under(&fx.cache().join("sha256"))
}

#[test]
fn ubuntu_layout_cached_fetch_then_second_run_downloads_nothing() {
    let fx = ubuntu();
    let client = fx.client();
    let plans = fx.discover(&client).unwrap();
    assert_eq!(
        plans
            .iter()
            .map(|p| (p.image.to_string(), p.flavor.as_str(), p.package.as_str()))
            .collect::<Vec<_>>(),
        [
            (
                "ubuntu/5.4.0-26-generic/amd64".to_owned(),
                "generic",
                "linux-image-unsigned-5.4.0-26-generic-dbgsym"
            ),
            (
                "ubuntu/5.4.0-26-lowlatency/amd64".to_owned(),
                "lowlatency",
                "linux-image-unsigned-5.4.0-26-lowlatency-dbgsym"
            ),
        ]
    );
    // InRelease then Packages.xz only: the signed file and the first listed form.
    let index_requests: Vec<String> = fx
        .mirror
        .all_requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        index_requests,
        [
            "dists/focal-updates/InRelease",
            "dists/focal-updates/main/binary-amd64/Packages.xz",
        ]
    );

    let results = fx.fetch(plans.clone(), &fx.options());
    for (plan, result) in &results {
        assert_fetched(&fx, plan, result.as_ref().unwrap());
        assert_eq!(
            result.as_ref().unwrap().downloaded_bytes,
            fx.packages[plan_path(&fx, plan)].len() as u64
        );
    }
    let mut expected_cache: Vec<String> = fx
        .packages
        .values()
        .map(|b| {
            let h = sha256_hex(b);
            format!("{}/{h}.deb", &h[..2])
        })
        .collect();
    expected_cache.sort();
    assert_eq!(cache_files(&fx), expected_cache);
    assert_eq!(files_under(&fx.cache().join("tmp")), Vec::<String>::new());
    assert_eq!(fx.pool_requests(), 2);

    // Second run: everything from the cache, no request for a package.
    std::fs::remove_dir_all(fx.out()).unwrap();
    let again = fx.fetch(plans, &fx.options());
    for (plan, result) in &again {
        let fetched = result.as_ref().unwrap();
        assert_fetched(&fx, plan, fetched);
        assert_eq!(fetched.downloaded_bytes, 0);
    }
    assert_eq!(fx.pool_requests(), 2);
}

fn plan_path<'a>(fx: &Fixture, plan: &'a PlannedPackage) -> &'a str {
    match &plan.location {
        ksurf_fetcher::plan::PackageLocation::Url(u) => &u[fx.mirror.base.len()..],
        _ => unreachable!(),
    }
}

#[test]
fn debian_layout_detached_signature_and_streamed_fetch_keeps_no_package() {
    let fx = debian();
    let client = fx.client();
    let plans = fx.discover(&client).unwrap();
    let index_requests: Vec<(String, u16)> = fx
        .mirror
        .all_requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        index_requests,
        [
            ("dists/bookworm/InRelease".to_owned(), 404),
            ("dists/bookworm/Release".to_owned(), 200),
            ("dists/bookworm/Release.gpg".to_owned(), 200),
            (
                "dists/bookworm/main/binary-amd64/Packages.xz".to_owned(),
                200
            ),
        ]
    );
    let mut options = fx.options();
    options.stream = true;
    let results = fx.fetch(plans, &options);
    let (plan, result) = &results[0];
    assert_eq!(plan.image.to_string(), "debian/6.1.0-47-cloud-amd64/amd64");
    assert_fetched(&fx, plan, result.as_ref().unwrap());
    assert!(!fx.cache().exists(), "streaming must not create the cache");
    assert_eq!(
        files_under(&fx.out()),
        ["vmlinux/debian/amd64/vmlinux-6.1.0-47-cloud-amd64"]
    );
}

#[test]
fn manifest_row_is_written_through_the_dataset() {
    use arrow::array::{Array, StringArray, UInt64Array};
    let fx = debian();
    let plans = fx.discover(&fx.client()).unwrap();
    let results = fx.fetch(plans, &fx.options());
    let (plan, fetched) = (&results[0].0, results[0].1.as_ref().unwrap());
    let dataset = ksurf_dataset::Dataset::open_local(&fx.dir.path().join("dataset")).unwrap();
    ksurf_fetcher::manifest::record(&dataset, plan, fetched, None).unwrap();
    assert_eq!(
        files_under(&fx.dir.path().join("dataset")),
        ["fetches/distro=debian/release=6.1.0-47-cloud-amd64/arch=amd64/part-0.parquet"]
    );
    let batch = dataset
        .read_table(&plan.image, ksurf_dataset::TableName::Fetches)
        .unwrap();
    assert_eq!(batch.num_rows(), 1);
    let s = |name: &str| {
        let col = batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        (!col.is_null(0)).then(|| col.value(0).to_owned())
    };
    let u = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap()
            .value(0)
    };
    let pkg = &fx.packages[DEBIAN_PKG];
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(s("role").as_deref(), Some("vmlinux"));
    assert_eq!(s("flavor").as_deref(), Some("cloud-amd64"));
    assert_eq!(
        s("package").as_deref(),
        Some("linux-image-6.1.0-47-cloud-amd64-dbg")
    );
    assert_eq!(s("version").as_deref(), Some("6.1.170-3"));
    assert_eq!(s("source").as_deref(), Some("test"));
    assert_eq!(s("url"), Some(fx.mirror.url(DEBIAN_PKG)));
    assert_eq!(u("package_size"), pkg.len() as u64);
    assert_eq!(s("package_sha256"), Some(sha256_hex(pkg)));
    assert_eq!(s("file_sha256").as_deref(), Some(FIXTURE_SHA256));
    assert_eq!(u("file_size"), fixture_vmlinux().len() as u64);
    assert_eq!(s("build_id").as_deref(), Some(FIXTURE_BUILD_ID));
    assert_eq!(s("fetched_at"), Some(fetched.fetched_at_rfc3339()));
    assert!(DateTime::parse_from_rfc3339(&s("fetched_at").unwrap()).is_ok());
}

/// The connection drops mid-body; the download resumes with a Range request
/// from the dropped offset, in cached and streamed mode.
#[test]
fn dropped_connection_resumes_from_the_offset() {
    for stream in [false, true] {
        let fx = debian();
        let plans = fx.discover(&fx.client()).unwrap();
        let size = fx.packages[DEBIAN_PKG].len() as u64;
        let cut = size / 2;
        fx.mirror.fault(DEBIAN_PKG, Fault::DropAfter(cut));
        let mut options = fx.options();
        options.stream = stream;
        let results = fx.fetch(plans, &options);
        assert_fetched(&fx, &results[0].0, results[0].1.as_ref().unwrap());
        let requests = fx.mirror.requests(DEBIAN_PKG);
        assert_eq!(requests.len(), 2, "stream={stream}: {requests:?}");
        assert_eq!(
            (requests[0].range.as_deref(), requests[0].status),
            (None, 200)
        );
        let etag = format!("\"{}\"", &sha256_hex(&fx.packages[DEBIAN_PKG])[..16]);
        assert_eq!(
            (
                requests[1].range.clone(),
                requests[1].if_range.clone(),
                requests[1].status
            ),
            (Some(format!("bytes={cut}-")), Some(etag), 206)
        );
        assert_eq!(fx.mirror.served(DEBIAN_PKG), size, "each byte served once");
        assert!(fx.mirror.served(DEBIAN_PKG) < 2 * size);
    }
}

/// A server that ignores Range: the cached download starts over cleanly
/// (the sink is truncated), the streamed one skips the repeated prefix.
#[test]
fn server_ignoring_range_restarts_cleanly() {
    for stream in [false, true] {
        let fx = debian();
        let plans = fx.discover(&fx.client()).unwrap();
        let size = fx.packages[DEBIAN_PKG].len() as u64;
        let cut = size / 3;
        fx.mirror
            .fault(DEBIAN_PKG, Fault::IgnoreRangeDropAfter(cut));
        let mut options = fx.options();
        options.stream = stream;
        let results = fx.fetch(plans, &options);
        assert_fetched(&fx, &results[0].0, results[0].1.as_ref().unwrap());
        let requests = fx.mirror.requests(DEBIAN_PKG);
        assert_eq!(
            requests.iter().map(|r| r.status).collect::<Vec<_>>(),
            [200, 200]
        );
        assert_eq!(requests[1].range, Some(format!("bytes={cut}-")));
        assert_eq!(fx.mirror.served(DEBIAN_PKG), cut + size);
    }
}

#[test]
fn service_unavailable_then_success() {
    let fx = ubuntu();
    let plans = fx.discover(&fx.client()).unwrap();
    fx.mirror.fault(UBUNTU_GENERIC, Fault::Status(503, 2));
    let results = fx.fetch(plans, &fx.options());
    for (plan, result) in &results {
        assert_fetched(&fx, plan, result.as_ref().unwrap());
    }
    let statuses: Vec<u16> = fx
        .mirror
        .requests(UBUNTU_GENERIC)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[test]
fn not_found_is_not_retried_and_does_not_stop_the_others() {
    let fx = ubuntu();
    let plans = fx.discover(&fx.client()).unwrap();
    fx.mirror.state.files.lock().unwrap().remove(UBUNTU_GENERIC);
    let results = fx.fetch(plans, &fx.options());
    let err = results[0].1.as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: HTTP 404 (after 1 attempt)",
            fx.mirror.url(UBUNTU_GENERIC)
        )
    );
    assert_fetched(&fx, &results[1].0, results[1].1.as_ref().unwrap());
    assert_eq!(fx.mirror.requests(UBUNTU_GENERIC).len(), 1);
}

#[test]
fn wrong_bytes_are_refused_and_never_poison_the_cache() {
    for stream in [false, true] {
        let fx = debian();
        let plans = fx.discover(&fx.client()).unwrap();
        fx.mirror.fault(DEBIAN_PKG, Fault::Corrupt);
        let mut options = fx.options();
        options.stream = stream;
        let results = fx.fetch(plans.clone(), &options);
        let err = results[0].1.as_ref().unwrap_err();
        let good = sha256_hex(&fx.packages[DEBIAN_PKG]);
        let mut bad_bytes = fx.packages[DEBIAN_PKG].clone();
        let mid = bad_bytes.len() / 2;
        bad_bytes[mid] ^= 0xff;
        // Streamed, the corrupt byte may break the xz stream before the hash
        // is checked; either way the error names the URL.
        match err {
            Error::Mismatch {
                url,
                what,
                expected,
                actual,
            } => {
                assert_eq!(url, &fx.mirror.url(DEBIAN_PKG));
                assert_eq!(*what, "SHA256");
                assert_eq!(expected, &good);
                assert_eq!(actual, &sha256_hex(&bad_bytes));
                assert_eq!(
                    err.to_string(),
                    format!(
                        "{}: SHA256 mismatch: expected {good}, got {}",
                        fx.mirror.url(DEBIAN_PKG),
                        sha256_hex(&bad_bytes)
                    )
                );
            }
            Error::Corrupt { label, .. } | Error::Truncated { label, .. } if stream => {
                assert_eq!(label, &fx.mirror.url(DEBIAN_PKG))
            }
            other => panic!("stream={stream}: unexpected {other:?}"),
        }
        assert_eq!(
            files_under(&fx.out()),
            Vec::<String>::new(),
            "nothing published"
        );
        assert_eq!(cache_files(&fx), Vec::<String>::new(), "cache not poisoned");
        assert_eq!(files_under(&fx.cache().join("tmp")), Vec::<String>::new());

        fx.mirror.clear_faults();
        let results = fx.fetch(plans, &options);
        assert_fetched(&fx, &results[0].0, results[0].1.as_ref().unwrap());
    }
}

#[test]
fn bad_signature_is_refused_before_any_index_is_fetched() {
    let fx = ubuntu();
    let path = "dists/focal-updates/InRelease";
    let signed = String::from_utf8(fx.mirror.state.files.lock().unwrap()[path].to_vec()).unwrap();
    fx.mirror.set_file(
        path,
        signed
            .replace("Label: Test", "Label: Tampered")
            .into_bytes(),
    );
    let err = fx.discover(&fx.client()).unwrap_err();
    match &err {
        Error::Signature { url, message } => {
            assert_eq!(url, &fx.mirror.url(path));
            assert!(message.starts_with("bad signature by "), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        fx.mirror.all_requests().len(),
        1,
        "only InRelease was fetched"
    );
}

#[test]
fn unknown_key_is_refused() {
    let fx = ubuntu();
    let other = Signer::new("someone else <x@invalid>");
    std::fs::write(&fx.keyring, other.keyring_binary()).unwrap();
    let err = fx.discover(&fx.client()).unwrap_err();
    let Error::Signature { url, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(url, &fx.mirror.url("dists/focal-updates/InRelease"));
    assert!(
        message.ends_with(&format!(
            "which is not in the keyring {}",
            fx.keyring.display()
        )),
        "{message}"
    );
    assert_eq!(fx.mirror.all_requests().len(), 1);
    assert_eq!(fx.pool_requests(), 0);
}

#[test]
fn packages_hash_mismatch_is_refused() {
    let fx = ubuntu();
    let path = "dists/focal-updates/main/binary-amd64/Packages.xz";
    let good = fx.mirror.state.files.lock().unwrap()[path].to_vec();
    let mut bad = good.clone();
    let last = bad.len() - 20;
    bad[last] ^= 1;
    fx.mirror.set_file(path, bad.clone());
    let err = fx.discover(&fx.client()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: SHA256 mismatch: expected {}, got {}",
            fx.mirror.url(path),
            sha256_hex(&good),
            sha256_hex(&bad)
        )
    );
    fx.mirror
        .set_file(path, [good.clone(), b"x".to_vec()].concat());
    let err = fx.discover(&fx.client()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: size mismatch: expected {}, got {}",
            fx.mirror.url(path),
            good.len(),
            good.len() + 1
        )
    );
    assert_eq!(fx.pool_requests(), 0);
}

#[test]
fn expired_release_is_refused_unless_allowed() {
    let fx = ubuntu();
    let keyring = Keyring::load(&fx.keyring).unwrap();
    let client = fx.client();
    let later = DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let url = fx.mirror.url("dists/focal-updates/InRelease");
    fx.mirror.runtime.block_on(async {
        let mut archive = Archive::new(&client, &fx.mirror.base, &keyring);
        let err = archive.release_at(UBUNTU_SUITE, later).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{url}: expired: Valid-Until 2025-05-24T08:57:45+00:00 is before now (2025-06-01T00:00:00+00:00); set allow_expired to accept it")
        );
        archive.allow_expired = true;
        let release = archive.release_at(UBUNTU_SUITE, later).await.unwrap();
        assert_eq!(release.release.suite.as_deref(), Some(UBUNTU_SUITE));
    });
}

#[test]
fn slow_server_times_out_after_the_configured_timeout() {
    let fx = debian();
    let plans = fx.discover(&fx.client()).unwrap();
    // Headers, then nothing: no attempt makes progress.
    fx.mirror
        .fault(DEBIAN_PKG, Fault::StallAfter(0, Duration::from_secs(3)));
    let client = HttpClient::new(HttpOptions {
        read_timeout: Duration::from_millis(300),
        attempts: 2,
        ..fast_http()
    })
    .unwrap();
    let results = fx.mirror.runtime.block_on(fetch_all(
        &client,
        plans,
        &fx.options(),
        &Progress::hidden(),
    ));
    let err = results[0].1.as_ref().unwrap_err();
    let Error::Http {
        url,
        message,
        attempts,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(url, &fx.mirror.url(DEBIAN_PKG));
    assert!(message.starts_with("timed out"), "{message}");
    assert_eq!(*attempts, 2);
    assert_eq!(fx.mirror.requests(DEBIAN_PKG).len(), 2);
    assert_eq!(files_under(&fx.out()), Vec::<String>::new());
    assert_eq!(cache_files(&fx), Vec::<String>::new());
}

#[test]
fn too_little_disk_space_is_refused_before_downloading() {
    let fx = debian();
    let plans = fx.discover(&fx.client()).unwrap();
    let mut options = fx.options();
    options.free_margin = u64::MAX / 2;
    let results = fx.fetch(plans, &options);
    let err = results[0].1.as_ref().unwrap_err();
    let Error::DiskFull {
        path, url, needed, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(path, &fx.cache().join("tmp"));
    assert_eq!(url, &fx.mirror.url(DEBIAN_PKG));
    assert_eq!(*needed, u64::MAX / 2 + fx.packages[DEBIAN_PKG].len() as u64);
    assert!(err.to_string().contains("not enough free disk space"));
    assert_eq!(fx.pool_requests(), 0);
}

#[test]
fn local_file_location_is_checked_and_unpacked() {
    let fx = debian();
    let plans = fx.discover(&fx.client()).unwrap();
    let local = fx.dir.path().join("local.deb");
    std::fs::write(&local, &fx.packages[DEBIAN_PKG]).unwrap();
    let mut plan = plans[0].clone();
    plan.location = ksurf_fetcher::plan::PackageLocation::File(local.clone());
    let results = fx.fetch(vec![plan.clone()], &fx.options());
    let fetched = results[0].1.as_ref().unwrap();
    assert_eq!(fetched.location, local.display().to_string());
    assert_eq!(fetched.vmlinux.sha256, FIXTURE_SHA256);
    assert_eq!(fetched.downloaded_bytes, 0);
    // A planned hash the file does not have: nothing published.
    std::fs::remove_dir_all(fx.out()).unwrap();
    plan.sha256 = Some("0".repeat(64));
    let results = fx.fetch(vec![plan], &fx.options());
    assert_eq!(
        results[0].1.as_ref().unwrap_err().to_string(),
        format!(
            "{}: SHA256 mismatch: expected {}, got {}",
            local.display(),
            "0".repeat(64),
            sha256_hex(&fx.packages[DEBIAN_PKG])
        )
    );
    assert_eq!(files_under(&fx.out()), Vec::<String>::new());
}

/// Run as a child process by the kill tests: fetches `KSURF_KILL_URL`
/// into `KSURF_KILL_DIR` (streamed when `KSURF_KILL_STREAM` is set).
#[test]
#[ignore = "child process of the kill tests"]
fn kill_child() {
    let (Ok(url), Ok(dir)) = (
        std::env::var("KSURF_KILL_URL"),
        std::env::var("KSURF_KILL_DIR"),
    ) else {
        return;
    };
    let sum = std::env::var("KSURF_KILL_SUM").unwrap();
    let (size, sha) = sum.split_once(' ').unwrap();
    let plan = plan_for_kill(&url, size.parse().unwrap(), sha);
    let dir = Path::new(&dir);
    let mut options = FetchOptions::new(&dir.join("out"), &dir.join("cache"));
    options.free_margin = 0;
    options.stream = std::env::var_os("KSURF_KILL_STREAM").is_some();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = HttpClient::new(fast_http()).unwrap();
    let results = rt.block_on(fetch_all(
        &client,
        vec![plan],
        &options,
        &Progress::hidden(),
    ));
    results[0].1.as_ref().unwrap();
}

fn plan_for_kill(url: &str, size: u64, sha: &str) -> PlannedPackage {
    PlannedPackage {
        image: "debian/6.1.0-47-cloud-amd64/amd64".parse().unwrap(),
        flavor: "cloud-amd64".into(),
        package: "linux-image-6.1.0-47-cloud-amd64-dbg".into(),
        version: "6.1.170-3".into(),
        source: "test".into(),
        location: ksurf_fetcher::plan::PackageLocation::Url(url.to_owned()),
        size: Some(size),
        sha256: Some(sha.to_owned()),
        companion: None,
        modules: false,
        btf_from_dwarf: false,
    }
}

/// Starts `kill_child` on the fixture's Debian package, waits until the
/// server has sent `cut` bytes and `ready` holds, and kills it with SIGKILL.
fn run_and_kill(fx: &Fixture, stream: bool, cut: u64, ready: &dyn Fn() -> bool) {
    let bytes = &fx.packages[DEBIAN_PKG];
    fx.mirror
        .fault(DEBIAN_PKG, Fault::StallAfter(cut, Duration::from_secs(30)));
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "kill_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KSURF_KILL_URL", fx.mirror.url(DEBIAN_PKG))
        .env("KSURF_KILL_DIR", fx.dir.path())
        .env(
            "KSURF_KILL_SUM",
            format!("{} {}", bytes.len(), sha256_hex(bytes)),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if stream {
        command.env("KSURF_KILL_STREAM", "1");
    }
    let mut child = command.spawn().unwrap();
    // Wait until the child is mid-transfer (the server has sent `cut` bytes and stalls).
    let started = std::time::Instant::now();
    while fx.mirror.served(DEBIAN_PKG) < cut || !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child never got far enough"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    fx.mirror.clear_faults();
}

/// Files under `dir` whose names do not start with a dot.
fn visible_files(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| {
            !Path::new(f)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with('.')
        })
        .collect()
}

/// A download killed in one process is resumed by the next from the bytes
/// the first one kept: its partial is named by the package's SHA-256.
#[test]
fn killed_download_is_resumed_by_the_next_process() {
    let fx = debian();
    let bytes = fx.packages[DEBIAN_PKG].clone();
    let size = bytes.len() as u64;
    let h = sha256_hex(&bytes);
    let cut = size / 2;
    run_and_kill(&fx, false, cut, &|| true);
    assert_eq!(
        cache_files(&fx),
        Vec::<String>::new(),
        "no package visible in the cache"
    );
    assert_eq!(
        visible_files(&fx.out()),
        Vec::<String>::new(),
        "no vmlinux visible"
    );
    assert_eq!(
        files_under(&fx.cache().join("tmp")),
        [format!("{h}.part")],
        "the partial download is kept under the package's SHA-256"
    );
    let partial = std::fs::read(fx.cache().join("tmp").join(format!("{h}.part"))).unwrap();
    let kept = partial.len() as u64;
    assert!(kept > 0 && kept <= cut, "kept {kept} of {cut}");
    assert_eq!(partial, bytes[..kept as usize]);

    let plan = plan_for_kill(&fx.mirror.url(DEBIAN_PKG), size, &h);
    let results = fx.fetch(vec![plan], &fx.options());
    let fetched = results[0].1.as_ref().unwrap();
    assert_fetched(&fx, &results[0].0, fetched);
    assert_eq!(fetched.downloaded_bytes, size - kept);
    let requests = fx.mirror.requests(DEBIAN_PKG);
    assert_eq!(
        requests
            .iter()
            .map(|r| (r.range.clone(), r.status))
            .collect::<Vec<_>>(),
        [(None, 200), (Some(format!("bytes={kept}-")), 206)]
    );
    assert_eq!(fx.mirror.served(DEBIAN_PKG), cut + (size - kept));
    assert_eq!(cache_files(&fx), [format!("{}/{h}.deb", &h[..2])]);
    assert_eq!(
        std::fs::read(
            fx.cache()
                .join("sha256")
                .join(&h[..2])
                .join(format!("{h}.deb"))
        )
        .unwrap(),
        bytes
    );
    assert_eq!(files_under(&fx.cache().join("tmp")), Vec::<String>::new());
}

/// A partial that does not verify once completed is refetched from zero;
/// nothing wrong enters the cache.
#[test]
fn partial_that_does_not_verify_is_refetched_from_zero() {
    let fx = debian();
    let bytes = fx.packages[DEBIAN_PKG].clone();
    let size = bytes.len() as u64;
    let h = sha256_hex(&bytes);
    let kept = size / 3;
    let mut wrong = bytes[..kept as usize].to_vec();
    wrong[10] ^= 0xff;
    std::fs::create_dir_all(fx.cache().join("tmp")).unwrap();
    std::fs::write(fx.cache().join("tmp").join(format!("{h}.part")), &wrong).unwrap();
    let plan = plan_for_kill(&fx.mirror.url(DEBIAN_PKG), size, &h);
    let results = fx.fetch(vec![plan], &fx.options());
    let fetched = results[0].1.as_ref().unwrap();
    assert_fetched(&fx, &results[0].0, fetched);
    assert_eq!(fetched.downloaded_bytes, (size - kept) + size);
    let requests = fx.mirror.requests(DEBIAN_PKG);
    assert_eq!(
        requests
            .iter()
            .map(|r| (r.range.clone(), r.status))
            .collect::<Vec<_>>(),
        [(Some(format!("bytes={kept}-")), 206), (None, 200)]
    );
    assert_eq!(cache_files(&fx), [format!("{}/{h}.deb", &h[..2])]);
    assert_eq!(files_under(&fx.cache().join("tmp")), Vec::<String>::new());
}

/// A streamed fetch killed mid-way leaves its locked-while-written vmlinux
/// temp file; the next run into the same directory removes it.
#[test]
fn killed_stream_leaves_a_part_file_that_the_next_run_removes() {
    let fx = debian();
    let bytes = fx.packages[DEBIAN_PKG].clone();
    let dir = fx.vmlinux_path("x").parent().unwrap().to_owned();
    let parts = |dir: &Path| -> Vec<String> {
        files_under(dir)
            .into_iter()
            .filter(|f| f.starts_with(".vmlinux-") && f.ends_with(".part"))
            .collect()
    };
    // Stall just before the end: the vmlinux entry is being written.
    let cut = bytes.len() as u64 - 200;
    run_and_kill(&fx, true, cut, &|| parts(&dir).len() == 1);
    assert_eq!(parts(&dir).len(), 1, "{:?}", files_under(&dir));
    assert_eq!(visible_files(&fx.out()), Vec::<String>::new());
    assert!(!fx.cache().exists(), "streaming keeps no package");

    let plan = plan_for_kill(
        &fx.mirror.url(DEBIAN_PKG),
        bytes.len() as u64,
        &sha256_hex(&bytes),
    );
    let mut options = fx.options();
    options.stream = true;
    let results = fx.fetch(vec![plan], &options);
    assert_fetched(&fx, &results[0].0, results[0].1.as_ref().unwrap());
    assert_eq!(
        files_under(&fx.out()),
        ["vmlinux/debian/amd64/vmlinux-6.1.0-47-cloud-amd64"]
    );
}

#[test]
fn longer_body_than_the_index_says_is_refused_as_it_arrives() {
    for stream in [false, true] {
        let fx = debian();
        let plans = fx.discover(&fx.client()).unwrap();
        let size = fx.packages[DEBIAN_PKG].len();
        fx.mirror.set_file(
            DEBIAN_PKG,
            [fx.packages[DEBIAN_PKG].clone(), noise(50_000, 7)].concat(),
        );
        let mut options = fx.options();
        options.stream = stream;
        let results = fx.fetch(plans, &options);
        assert_eq!(
            results[0].1.as_ref().unwrap_err().to_string(),
            format!(
                "{}: size mismatch: expected {size}, got more than {size}",
                fx.mirror.url(DEBIAN_PKG)
            ),
            "stream={stream}"
        );
        assert_eq!(files_under(&fx.out()), Vec::<String>::new());
        assert_eq!(cache_files(&fx), Vec::<String>::new());
    }
}

/// A package laid out as dpkg-deb writes Debian's -dbg packages (paths in
/// order, the vmlinux early), with 4 MiB of noise after the vmlinux whose
/// compressed bytes are corrupted 64 KiB before the package's end (the data
/// member is the last one).
fn dpkg_ordered_package_with_corrupt_tail() -> Vec<u8> {
    use tar::EntryType::{Directory, Regular};
    let mut tar = tar::Builder::new(Vec::new());
    for d in VMLINUX_DIRS {
        append_entry(&mut tar, d, Directory, &[]);
    }
    append_entry(
        &mut tar,
        "./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64",
        Regular,
        &fixture_vmlinux(),
    );
    append_entry(&mut tar, "./usr/share/", Directory, &[]);
    append_entry(
        &mut tar,
        "./usr/share/modules.bin",
        Regular,
        &noise(4 << 20, 7),
    );
    let control = "Package: test\nVersion: 1\nArchitecture: amd64\nDescription: test\n";
    let mut package = build_package(
        &tar.into_inner().unwrap(),
        DataCompression::Xz,
        &control_member(control),
    );
    let at = package.len() - (64 << 10);
    package[at] ^= 0x55;
    package[at + 1] ^= 0xaa;
    package
}

#[test]
fn a_package_checked_against_the_index_is_decompressed_only_up_to_its_vmlinux() {
    let package = dpkg_ordered_package_with_corrupt_tail();
    let fx = fixture(
        vec![TestPackage {
            name: "linux-image-6.1.0-47-cloud-amd64-dbg".into(),
            version: "6.1.170-3".into(),
            release: "6.1.0-47-cloud-amd64".into(),
            filename: DEBIAN_PKG.into(),
            bytes: package.clone(),
            fields: None,
        }],
        DEBIAN_SUITE,
        "debian",
        Signing::Detached,
        true,
        vec![("6.1.0-47-cloud-amd64", "cloud-amd64")],
    );
    let plans = fx.discover(&fx.client()).unwrap();
    // From the archive, cached then streamed: the SHA-256 from the signed
    // index covers every byte, so decompression stops after the vmlinux
    // and the corrupt tail is never decoded.
    for stream in [false, true] {
        let mut options = fx.options();
        options.stream = stream;
        let results = fx.fetch(plans.clone(), &options);
        let fetched = results[0].1.as_ref().unwrap();
        assert_eq!(fetched.package_sha256, sha256_hex(&package));
        assert_eq!(fetched.vmlinux.sha256, FIXTURE_SHA256);
        std::fs::remove_dir_all(fx.out()).unwrap();
    }
    // The same bytes as a local file, whose hash is only its own: read to
    // the end, so the corruption is found and nothing is published.
    let local = fx.dir.path().join("local.deb");
    std::fs::write(&local, &package).unwrap();
    let mut plan = plans[0].clone();
    plan.location = ksurf_fetcher::plan::PackageLocation::File(local.clone());
    let results = fx.fetch(vec![plan], &fx.options());
    let err = results[0].1.as_ref().unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { label, member, .. } if *label == local.display().to_string() && member == "data.tar.xz"),
        "{err}"
    );
    assert_eq!(files_under(&fx.out()), Vec::<String>::new());
}

/// A download slot that records, when dropped, how many bytes of the
/// package the mirror had served by then.
struct RecordingSlot {
    events: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    mirror: std::sync::Arc<MirrorState>,
}

impl Drop for RecordingSlot {
    fn drop(&mut self) {
        let served = self.mirror.served.lock().unwrap().get(DEBIAN_PKG).copied();
        self.events.lock().unwrap().push(format!(
            "download slot dropped, {} served",
            served.unwrap_or(0)
        ));
    }
}

#[test]
fn a_schedule_holds_the_download_slot_while_downloading_and_unpacks_in_turn() {
    use ksurf_fetcher::download::{fetch_package_scheduled, Schedule};
    let fx = debian();
    let plans = fx.discover(&fx.client()).unwrap();
    let len = fx.packages[DEBIAN_PKG].len() as u64;
    let local = fx.dir.path().join("local.deb");
    std::fs::write(&local, &fx.packages[DEBIAN_PKG]).unwrap();
    let mut local_plan = plans[0].clone();
    local_plan.location = ksurf_fetcher::plan::PackageLocation::File(local);
    let cache = ksurf_fetcher::cache::Cache::open(&fx.cache()).unwrap();
    let client = fx.client();
    let fetch = |plan: &PlannedPackage, cache: Option<&ksurf_fetcher::cache::Cache>| {
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let schedule = Schedule {
            download_slot: RecordingSlot {
                events: events.clone(),
                mirror: fx.mirror.state.clone(),
            },
            unpack_turn: {
                let (events, mirror) = (events.clone(), fx.mirror.state.clone());
                async move {
                    let served = mirror.served.lock().unwrap().get(DEBIAN_PKG).copied();
                    events
                        .lock()
                        .unwrap()
                        .push(format!("unpack turn, {} served", served.unwrap_or(0)));
                }
            },
        };
        let fetched = fx
            .mirror
            .runtime
            .block_on(fetch_package_scheduled(
                &client,
                cache,
                plan,
                &fx.options(),
                &Progress::hidden(),
                schedule,
            ))
            .unwrap();
        assert_eq!(fetched.vmlinux.sha256, FIXTURE_SHA256);
        std::fs::remove_dir_all(fx.out()).unwrap();
        let events = events.lock().unwrap().clone();
        events
    };
    // Into the cache: the slot goes once every byte is in, before the turn.
    assert_eq!(
        fetch(&plans[0], Some(&cache)),
        [
            format!("download slot dropped, {len} served"),
            format!("unpack turn, {len} served"),
        ]
    );
    // Streamed: the turn first (unpacking starts with the download), the
    // slot at the end of the stream.
    assert_eq!(
        fetch(&plans[0], None),
        [
            format!("unpack turn, {len} served"),
            format!("download slot dropped, {} served", 2 * len),
        ]
    );
    // A local file downloads nothing: the slot goes at once.
    assert_eq!(
        fetch(&local_plan, Some(&cache)),
        [
            format!("download slot dropped, {} served", 2 * len),
            format!("unpack turn, {} served", 2 * len),
        ]
    );
}

/// A Debian -dbg package in dpkg-deb's order with two modules (`.ko`,
/// `.ko.xz`) after the vmlinux and a doc file after them.
fn package_with_modules() -> Vec<u8> {
    use tar::EntryType::{Directory, Regular};
    let moddir = "./usr/lib/debug/lib/modules/6.1.0-47-cloud-amd64";
    let mut tar = tar::Builder::new(Vec::new());
    for d in VMLINUX_DIRS {
        append_entry(&mut tar, d, Directory, &[]);
    }
    append_entry(
        &mut tar,
        "./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64",
        Regular,
        &fixture_vmlinux(),
    );
    append_entry(
        &mut tar,
        &format!("{moddir}/kernel/fs/xfs/xfs.ko"),
        Regular,
        &noise(5000, 1),
    );
    let mut btrfs_xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    std::io::Write::write_all(&mut btrfs_xz, &noise(7000, 2)).unwrap();
    append_entry(
        &mut tar,
        &format!("{moddir}/kernel/fs/btrfs/btrfs.ko.xz"),
        Regular,
        &btrfs_xz.finish().unwrap(),
    );
    append_entry(&mut tar, "./usr/share/doc/x", Regular, &noise(1000, 3));
    let control = "Package: test\nVersion: 1\nArchitecture: amd64\nDescription: test\n";
    build_package(
        &tar.into_inner().unwrap(),
        DataCompression::Xz,
        &control_member(control),
    )
}

/// A plan's `modules` flag reaches the unpacker, cached and streamed: the
/// modules land in `modules-<release>/` beside the vmlinux, and without the
/// flag nothing but the vmlinux is written.
#[test]
fn a_plan_with_modules_gets_them_beside_the_vmlinux() {
    let fx = fixture(
        vec![TestPackage {
            name: "linux-image-6.1.0-47-cloud-amd64-dbg".into(),
            version: "6.1.170-3".into(),
            release: "6.1.0-47-cloud-amd64".into(),
            filename: DEBIAN_PKG.into(),
            bytes: package_with_modules(),
            fields: None,
        }],
        DEBIAN_SUITE,
        "debian",
        Signing::Detached,
        true,
        vec![("6.1.0-47-cloud-amd64", "cloud-amd64")],
    );
    let plans = fx.discover(&fx.client()).unwrap();
    assert!(!plans[0].modules, "plan_from_index plans none");
    let dir = fx.out().join("vmlinux/debian/amd64");
    for stream in [false, true] {
        let mut options = fx.options();
        options.stream = stream;
        let mut plan = plans[0].clone();
        plan.modules = true;
        let results = fx.fetch(vec![plan], &options);
        let fetched = results[0].1.as_ref().unwrap();
        assert_eq!(fetched.vmlinux.sha256, FIXTURE_SHA256);
        let modules = fetched.vmlinux.modules.as_ref().unwrap();
        assert_eq!(
            (modules.count, modules.bytes, modules.failed.len()),
            (2, 12_000, 0)
        );
        assert_eq!(modules.dir, dir.join("modules-6.1.0-47-cloud-amd64"));
        assert_eq!(
            std::fs::read(modules.dir.join("kernel/fs/btrfs/btrfs.ko")).unwrap(),
            noise(7000, 2)
        );
        assert_eq!(
            files_under(&dir),
            [
                "modules-6.1.0-47-cloud-amd64/kernel/fs/btrfs/btrfs.ko",
                "modules-6.1.0-47-cloud-amd64/kernel/fs/xfs/xfs.ko",
                "vmlinux-6.1.0-47-cloud-amd64"
            ],
            "stream {stream}"
        );
        std::fs::remove_dir_all(fx.out()).unwrap();

        let results = fx.fetch(plans.clone(), &options);
        let fetched = results[0].1.as_ref().unwrap();
        assert_eq!(fetched.vmlinux.modules, None);
        assert_eq!(files_under(&dir), ["vmlinux-6.1.0-47-cloud-amd64"]);
        std::fs::remove_dir_all(fx.out()).unwrap();
    }
}
