//! Launchpad discovery through the real HTTP retriever
//! ([`NetworkRetriever`]) against a fake Launchpad API on a loopback
//! server (`support::launchpad`): the recorded responses give the same
//! plan over HTTP as from memory; a 503 is retried; a 404 and a page that
//! is not JSON fail their source with the URL named; and a package planned
//! from the API is downloaded, checked against the API's size and SHA-256,
//! and unpacked byte for byte.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use ksurf_fetcher::discovery::{discover_and_plan, Outcome, Retrieve};
use ksurf_fetcher::download::{fetch_all, FetchOptions};
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::index::IndexRequest;
use ksurf_fetcher::progress::Progress;
use ksurf_fetcher::remote::NetworkRetriever;
use ksurf_fetcher::{Error, FetchConfig, PackageLocation, Result};
use support::launchpad::{
    api_root, files_root, key_of, recorded, serve_recorded, FakeBinary, FakeLaunchpad,
    RECORDED_API, RECORDED_FILES,
};
use support::*;

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

fn depsurf_config() -> FetchConfig {
    FetchConfig::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ubuntu-depsurf.toml"),
    )
    .unwrap()
}

/// Discovers `config` over HTTP with the API root set to the mirror's.
fn discover_over_http(mirror: &Mirror, config: &FetchConfig) -> Outcome {
    let client = HttpClient::new(fast_http()).unwrap();
    let mut retriever = NetworkRetriever::new(&mirror.runtime, &client, config);
    let api = api_root(mirror);
    let env = move |name: &str| (name == "KSURF_LAUNCHPAD_API").then(|| api.clone());
    discover_and_plan(config, &env, None, &mut retriever).unwrap()
}

/// The recorded responses from memory, as the discovery tests use them.
struct InMemory(HashMap<String, String>);

impl Retrieve for InMemory {
    fn packages_index(&mut self, _: &IndexRequest) -> Result<Option<String>> {
        Ok(None)
    }

    fn launchpad_get(&mut self, url: &str) -> Result<String> {
        self.0.get(url).cloned().ok_or_else(|| Error::Retrieve {
            label: url.to_owned(),
            message: "not recorded".to_owned(),
        })
    }
}

fn rows(outcome: &Outcome) -> Vec<String> {
    outcome
        .plan
        .packages
        .iter()
        .map(|p| format!("{} {} {} {}", p.image, p.package, p.version, p.source))
        .collect()
}

fn failures(outcome: &Outcome) -> Vec<String> {
    outcome.failures.iter().map(|e| e.to_string()).collect()
}

/// The `ws.op` of every API request the mirror saw, with its status.
fn operations(mirror: &Mirror) -> Vec<(String, u16)> {
    mirror
        .all_requests()
        .iter()
        .filter_map(|r| {
            let op = r
                .path
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("ws.op="))?;
            Some((op.to_owned(), r.status))
        })
        .collect()
}

fn count(ops: &[(String, u16)], op: &str) -> usize {
    ops.iter().filter(|(o, _)| o == op).count()
}

#[test]
fn recorded_api_over_http_gives_the_same_plan_as_from_memory() {
    let mirror = Mirror::start(HashMap::new());
    serve_recorded(&mirror);
    let config = depsurf_config();
    let outcome = discover_over_http(&mirror, &config);
    assert_eq!(failures(&outcome), Vec::<String>::new());

    let mut memory = InMemory(
        recorded()
            .into_iter()
            .map(|(url, body)| (url, body.to_string()))
            .collect(),
    );
    let env = |name: &str| (name == "KSURF_LAUNCHPAD_API").then(|| RECORDED_API.to_owned());
    let expected = discover_and_plan(&config, &env, None, &mut memory).unwrap();
    assert_eq!(rows(&outcome), rows(&expected));
    assert_eq!(outcome.plan.packages.len(), 25);
    for (got, want) in outcome.plan.packages.iter().zip(&expected.plan.packages) {
        let PackageLocation::Url(want_url) = &want.location else {
            panic!("url plan")
        };
        assert_eq!(
            got.location,
            PackageLocation::Url(want_url.replace(RECORDED_FILES, &files_root(&mirror)))
        );
        assert_eq!((got.size, &got.sha256), (want.size, &want.sha256));
    }
    assert_eq!(
        outcome.plan.packages[0].location,
        PackageLocation::Url(format!(
            "{}/ubuntu/+archive/primary/+files/linux-image-4.4.0-21-generic-dbgsym_4.4.0-21.37_amd64.ddeb",
            files_root(&mirror)
        ))
    );
    assert_eq!(outcome.plan.packages[0].size, Some(693_047_781));
    // Every request answered, as many as from memory (xenial's sources in
    // two pages through next_collection_link).
    let ops = operations(&mirror);
    assert!(ops.iter().all(|(_, status)| *status == 200), "{ops:?}");
    assert_eq!(count(&ops, "getPublishedSources"), 24);
    assert_eq!(count(&ops, "getPublishedBinaries"), 23);
    // One per planned image and one per companion looked at (18).
    assert_eq!(count(&ops, "binaryFileUrls"), 25 + 18);
    let second_page = mirror
        .all_requests()
        .iter()
        .filter(|r| r.path.contains("ws.start=1") && r.path.contains("xenial"))
        .count();
    assert_eq!(second_page, 1);
}

/// The second page of xenial's source publications.
fn xenial_second_page(mirror: &Mirror) -> (String, String) {
    let api = api_root(mirror);
    let url = format!(
        "{api}/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=linux&exact_match=true&distro_series={}&pocket=Release&order_by_date=true&ws.size=300&memo=1&ws.start=1",
        url::form_urlencoded::byte_serialize(format!("{api}/ubuntu/xenial").as_bytes())
            .collect::<String>()
    );
    (key_of(&url, &mirror.base), url)
}

#[test]
fn service_unavailable_page_is_retried() {
    let mirror = Mirror::start(HashMap::new());
    serve_recorded(&mirror);
    let (key, _) = xenial_second_page(&mirror);
    assert!(mirror.state.files.lock().unwrap().contains_key(&key));
    mirror.fault(&key, Fault::Status(503, 1));
    let outcome = discover_over_http(&mirror, &depsurf_config());
    assert_eq!(failures(&outcome), Vec::<String>::new());
    assert_eq!(outcome.plan.packages.len(), 25);
    assert_eq!(
        outcome.plan.packages[0].package,
        "linux-image-4.4.0-21-generic-dbgsym"
    );
    assert_eq!(
        mirror
            .requests(&key)
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [503, 200]
    );
}

#[test]
fn missing_and_garbage_pages_fail_their_source_naming_the_url() {
    let mirror = Mirror::start(HashMap::new());
    serve_recorded(&mirror);
    let api = api_root(&mirror);
    let encoded = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // focal-riscv: its source query answers 404.
    let riscv = format!(
        "{api}/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=linux-riscv&exact_match=true&distro_series={}&pocket=Release&order_by_date=true&ws.size=300",
        encoded(&format!("{api}/ubuntu/focal"))
    );
    let removed = mirror
        .state
        .files
        .lock()
        .unwrap()
        .remove(&key_of(&riscv, &mirror.base));
    assert!(removed.is_some());
    // xenial (generic-amd64): its second page is an HTML error page.
    let (key, xenial) = xenial_second_page(&mirror);
    mirror.set_file(
        &key,
        b"<html>Service temporarily unavailable</html>".to_vec(),
    );
    let outcome = discover_over_http(&mirror, &depsurf_config());
    assert_eq!(
        failures(&outcome),
        [
            format!("{xenial}: not a collection page as the API documents it: expected value at line 1 column 1"),
            format!("{riscv}: HTTP 404 (after 1 attempt)"),
        ]
    );
    // The other sources are planned: focal-arches and focal-flavors.
    assert_eq!(
        rows(&outcome),
        [
            "ubuntu/5.4.0-26-generic/arm64 linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal-arches",
            "ubuntu/5.4.0-26-generic/armhf linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal-arches",
            "ubuntu/5.4.0-26-generic/ppc64el linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal-arches",
            "ubuntu/5.4.0-26-lowlatency/amd64 linux-image-unsigned-5.4.0-26-lowlatency-dbgsym 5.4.0-26.30 focal-flavors",
            "ubuntu/5.4.0-1009-aws/amd64 linux-image-5.4.0-1009-aws-dbgsym 5.4.0-1009.9 focal-flavors",
            "ubuntu/5.4.0-1009-gcp/amd64 linux-image-unsigned-5.4.0-1009-gcp-dbgsym 5.4.0-1009.9 focal-flavors",
            "ubuntu/5.4.0-1010-azure/amd64 linux-image-unsigned-5.4.0-1010-azure-dbgsym 5.4.0-1010.10 focal-flavors",
        ]
    );
}

const LAUNCHPAD_CONFIG: &str = r#"
[[source]]
name = "lp"
kind = "launchpad"
url = "env:KSURF_LAUNCHPAD_API"
series = ["focal"]
pockets = ["release"]
launchpad_sources = ["linux"]
arches = ["amd64"]
flavors = ["generic"]
revision = "latest"
"#;

#[test]
fn package_planned_from_the_api_is_fetched_and_unpacked_byte_identical() {
    let mirror = Mirror::start(HashMap::new());
    let vmlinux = fixture_vmlinux();
    let real = build_deb(
        "5.4.0-26-generic",
        &vmlinux,
        DataCompression::Zstd,
        1_100_000,
    );
    let stub = noise(3000, 9);
    let mut lp = FakeLaunchpad::new(&mirror);
    lp.upload(
        "focal",
        "linux",
        "5.4.0-21.25",
        "Release",
        vec![FakeBinary {
            name: "linux-image-unsigned-5.4.0-21-generic-dbgsym".into(),
            arch: "amd64".into(),
            bytes: noise(10, 1),
        }],
    );
    lp.upload(
        "focal",
        "linux",
        "5.4.0-26.30",
        "Release",
        vec![
            FakeBinary {
                name: "linux-headers-5.4.0-26-generic".into(),
                arch: "amd64".into(),
                bytes: noise(10, 2),
            },
            FakeBinary {
                name: "linux-image-5.4.0-26-generic-dbgsym".into(),
                arch: "amd64".into(),
                bytes: stub,
            },
            FakeBinary {
                name: "linux-image-unsigned-5.4.0-26-generic-dbgsym".into(),
                arch: "amd64".into(),
                bytes: real.clone(),
            },
        ],
    );
    lp.install(&mirror, "Release");
    let config = FetchConfig::parse(LAUNCHPAD_CONFIG, "lp.toml").unwrap();
    let outcome = discover_over_http(&mirror, &config);
    assert_eq!(failures(&outcome), Vec::<String>::new());
    assert_eq!(
        rows(&outcome),
        ["ubuntu/5.4.0-26-generic/amd64 linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 lp"]
    );
    assert_eq!(
        outcome
            .plan
            .rejected
            .iter()
            .map(|r| format!("{} {} {} {}: {}", r.found_in, r.package, r.version, r.arch, r.reason))
            .collect::<Vec<_>>(),
        ["focal linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 amd64: 3000 bytes, under the 1048576-byte minimum of a kernel debug package"]
    );
    // Two pages of sources, the latest upload's binaries, the two
    // kernel-looking binaries' files.
    assert_eq!(
        operations(&mirror),
        [
            ("getPublishedSources".to_owned(), 200),
            ("getPublishedSources".to_owned(), 200),
            ("getPublishedBinaries".to_owned(), 200),
            ("binaryFileUrls".to_owned(), 200),
            ("binaryFileUrls".to_owned(), 200),
        ]
    );
    let plan = outcome.plan.packages[0].clone();
    let url = lp.file_url(
        "linux-image-unsigned-5.4.0-26-generic-dbgsym",
        "5.4.0-26.30",
        "amd64",
    );
    assert_eq!(plan.location, PackageLocation::Url(url.clone()));
    assert_eq!(plan.size, Some(real.len() as u64));
    assert_eq!(plan.sha256, Some(sha256_hex(&real)));

    let dir = tempfile::tempdir().unwrap();
    let mut options = FetchOptions::new(&dir.path().join("out"), &dir.path().join("cache"));
    options.free_margin = 0;
    let client = HttpClient::new(fast_http()).unwrap();
    let results = mirror.runtime.block_on(fetch_all(
        &client,
        vec![plan],
        &options,
        &Progress::hidden(),
    ));
    let fetched = results[0].1.as_ref().unwrap();
    assert_eq!(fetched.location, url);
    assert_eq!(fetched.package_sha256, sha256_hex(&real));
    assert_eq!(fetched.build_id.as_deref(), Some(FIXTURE_BUILD_ID));
    assert_eq!(
        fetched.vmlinux.path,
        dir.path()
            .join("out/vmlinux/ubuntu/amd64/vmlinux-5.4.0-26-generic")
    );
    assert_eq!(std::fs::read(&fetched.vmlinux.path).unwrap(), vmlinux);
    assert_eq!(
        mirror
            .requests(url.strip_prefix(&mirror.base).unwrap())
            .len(),
        1
    );
}
