//! Plans for the shipped configs over recorded indices and Launchpad
//! responses: exact package lists, stub rejections, pocket dedupe,
//! revision policies and per-source failures.
//!
//! Fixtures: `fixtures/indices/debian` holds real stanzas of Debian's
//! bookworm and bookworm-security amd64 indices (maintainer addresses
//! replaced); `fixtures/indices/ubuntu` and `fixtures/launchpad` are written
//! by `fixtures/make_ubuntu_fixtures.py` in the ddebs archive's and the
//! Launchpad API's shapes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ksurf_fetcher::apt::{parse_deb822, AptSources};
use ksurf_fetcher::discovery::{discover_and_plan, Outcome, Retrieve};
use ksurf_fetcher::index::IndexRequest;
use ksurf_fetcher::naming::{Distro, Rejection};
use ksurf_fetcher::plan::Companion;
use ksurf_fetcher::{Error, FetchConfig, PackageLocation, Result};

mod support;
use support::{build_package, control_member, noise, sha256_hex, DataCompression};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn config(name: &str) -> FetchConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(name);
    FetchConfig::load(&path).unwrap()
}

/// Serves the recorded fixtures; indices without a fixture are "not listed
/// in the Release file" (`None`).
struct Fixtures {
    launchpad: BTreeMap<String, serde_json::Value>,
    requests: RefCell<Vec<String>>,
    broken_index: Option<(String, String)>,
}

impl Fixtures {
    fn new() -> Self {
        let text = std::fs::read_to_string(fixtures().join("launchpad/responses.json")).unwrap();
        Fixtures {
            launchpad: serde_json::from_str(&text).unwrap(),
            requests: RefCell::new(Vec::new()),
            broken_index: None,
        }
    }
}

impl Retrieve for Fixtures {
    fn packages_index(&mut self, r: &IndexRequest) -> Result<Option<String>> {
        self.requests.borrow_mut().push(r.packages_url());
        if let Some((url, text)) = &self.broken_index {
            if *url == r.packages_url() {
                return Ok(Some(text.clone()));
            }
        }
        let distro = match r.distro {
            Distro::Ubuntu => "ubuntu",
            Distro::Debian => "debian",
        };
        let path = fixtures()
            .join("indices")
            .join(distro)
            .join("dists")
            .join(&r.suite)
            .join(r.packages_path());
        Ok(std::fs::read_to_string(path).ok())
    }

    fn launchpad_get(&mut self, url: &str) -> Result<String> {
        self.requests.borrow_mut().push(url.to_owned());
        match self.launchpad.get(url) {
            Some(body) => Ok(body.to_string()),
            None => Err(Error::Retrieve {
                label: url.to_owned(),
                message: "404 Not Found".to_owned(),
            }),
        }
    }
}

fn env(name: &str) -> Option<String> {
    match name {
        "KSURF_LAUNCHPAD_API" => Some("https://lp-api.test/devel".to_owned()),
        "KSURF_UBUNTU_DDEBS_URL" => Some("https://ddebs.test/".to_owned()),
        _ => None,
    }
}

fn plan(config: &FetchConfig, apt: Option<&AptSources>, fixtures: &mut Fixtures) -> Outcome {
    discover_and_plan(config, &env, apt, fixtures).unwrap()
}

/// image, package, version, source of every planned package.
fn rows(outcome: &Outcome) -> Vec<String> {
    outcome
        .plan
        .packages
        .iter()
        .map(|p| format!("{} {} {} {}", p.image, p.package, p.version, p.source))
        .collect()
}

fn rejected(outcome: &Outcome) -> Vec<String> {
    outcome
        .plan
        .rejected
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}: {}",
                r.found_in, r.package, r.version, r.arch, r.reason
            )
        })
        .collect()
}

fn no_failures(outcome: &Outcome) {
    let messages: Vec<String> = outcome.failures.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages, Vec::<String>::new());
}

#[test]
fn ubuntu_depsurf_plan_is_depsurfs_25_images() {
    let mut f = Fixtures::new();
    let outcome = plan(&config("ubuntu-depsurf.toml"), None, &mut f);
    no_failures(&outcome);
    assert_eq!(
        rows(&outcome),
        [
            "ubuntu/4.4.0-21-generic/amd64 linux-image-4.4.0-21-generic-dbgsym 4.4.0-21.37 generic-amd64",
            "ubuntu/4.8.0-22-generic/amd64 linux-image-4.8.0-22-generic-dbgsym 4.8.0-22.24 generic-amd64",
            "ubuntu/4.10.0-19-generic/amd64 linux-image-4.10.0-19-generic-dbgsym 4.10.0-19.21 generic-amd64",
            "ubuntu/4.13.0-16-generic/amd64 linux-image-4.13.0-16-generic-dbgsym 4.13.0-16.19 generic-amd64",
            "ubuntu/4.15.0-20-generic/amd64 linux-image-unsigned-4.15.0-20-generic-dbgsym 4.15.0-20.21 generic-amd64",
            "ubuntu/4.18.0-10-generic/amd64 linux-image-unsigned-4.18.0-10-generic-dbgsym 4.18.0-10.11 generic-amd64",
            "ubuntu/5.0.0-13-generic/amd64 linux-image-unsigned-5.0.0-13-generic-dbgsym 5.0.0-13.14 generic-amd64",
            "ubuntu/5.3.0-18-generic/amd64 linux-image-unsigned-5.3.0-18-generic-dbgsym 5.3.0-18.19 generic-amd64",
            "ubuntu/5.4.0-24-generic/riscv64 linux-image-5.4.0-24-generic-dbgsym 5.4.0-24.28 focal-riscv64",
            "ubuntu/5.4.0-26-generic/amd64 linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 generic-amd64",
            "ubuntu/5.4.0-26-generic/arm64 linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal-arches",
            "ubuntu/5.4.0-26-generic/armhf linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal-arches",
            "ubuntu/5.4.0-26-generic/ppc64el linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal-arches",
            "ubuntu/5.4.0-26-lowlatency/amd64 linux-image-unsigned-5.4.0-26-lowlatency-dbgsym 5.4.0-26.30 focal-flavors",
            "ubuntu/5.4.0-1009-aws/amd64 linux-image-5.4.0-1009-aws-dbgsym 5.4.0-1009.9 focal-flavors",
            "ubuntu/5.4.0-1009-gcp/amd64 linux-image-unsigned-5.4.0-1009-gcp-dbgsym 5.4.0-1009.9 focal-flavors",
            "ubuntu/5.4.0-1010-azure/amd64 linux-image-unsigned-5.4.0-1010-azure-dbgsym 5.4.0-1010.10 focal-flavors",
            "ubuntu/5.8.0-25-generic/amd64 linux-image-unsigned-5.8.0-25-generic-dbgsym 5.8.0-25.26 generic-amd64",
            "ubuntu/5.11.0-16-generic/amd64 linux-image-unsigned-5.11.0-16-generic-dbgsym 5.11.0-16.17 generic-amd64",
            "ubuntu/5.13.0-19-generic/amd64 linux-image-unsigned-5.13.0-19-generic-dbgsym 5.13.0-19.19 generic-amd64",
            "ubuntu/5.15.0-25-generic/amd64 linux-image-unsigned-5.15.0-25-generic-dbgsym 5.15.0-25.25 generic-amd64",
            "ubuntu/5.19.0-21-generic/amd64 linux-image-unsigned-5.19.0-21-generic-dbgsym 5.19.0-21.21 generic-amd64",
            "ubuntu/6.2.0-20-generic/amd64 linux-image-unsigned-6.2.0-20-generic-dbgsym 6.2.0-20.20 generic-amd64",
            "ubuntu/6.5.0-9-generic/amd64 linux-image-unsigned-6.5.0-9-generic-dbgsym 6.5.0-9.9 generic-amd64",
            "ubuntu/6.8.0-31-generic/amd64 linux-image-unsigned-6.8.0-31-generic-dbgsym 6.8.0-31.31 generic-amd64",
        ]
    );
    assert_eq!(rejected(&outcome), Vec::<String>::new());
    // The DepSurf-compatible config says `modules = false` on every source.
    assert!(outcome.plan.packages.iter().all(|p| !p.modules));
    // Everything the download step needs comes from binaryFileUrls.
    let first = &outcome.plan.packages[0];
    assert_eq!(
        first.location,
        PackageLocation::Url(
            "https://lp-files.test/ubuntu/+archive/primary/+files/linux-image-4.4.0-21-generic-dbgsym_4.4.0-21.37_amd64.ddeb".into()
        )
    );
    assert_eq!(first.flavor, "generic");
    assert_eq!(first.size, Some(693_047_781));
    assert_eq!(
        first.sha256.as_deref(),
        Some("a217c1fe48aa95796465926e516e71006d9238f63508818f2ef4f1930bd2431b")
    );
    // Its config comes from the same upload's linux-modules package, sized
    // and hashed by its binaryFileUrls answer.
    assert_eq!(
        first.companion,
        Some(Companion {
            package: "linux-modules-4.4.0-21-generic".into(),
            version: "4.4.0-21.37".into(),
            url: "https://lp-files.test/ubuntu/+archive/primary/+files/linux-modules-4.4.0-21-generic_4.4.0-21.37_amd64.deb".into(),
            size: 415_753_834,
            sha256: "2fbca26e597018ac8dbeb8ba6501ca9da3200d388f9441b5a74298451c4b9997".into(),
        })
    );
    let with_companion = outcome
        .plan
        .packages
        .iter()
        .filter(|p| p.companion.is_some())
        .count();
    // The 17 generic amd64 uploads and azure list a linux-modules package;
    // the other uploads list none of their flavor and architecture.
    assert_eq!(with_companion, 18);
    // Requests: 17 + 1 + 1 + 4 source queries (xenial's in two pages), as
    // many binary listings, and one file listing per planned image (aws's
    // arm64 build and lowlatency's other arches are never asked for) and
    // per companion looked at (18 linux-modules packages).
    let requests = f.requests.borrow();
    let count = |op: &str| requests.iter().filter(|u| u.contains(op)).count();
    assert_eq!(count("getPublishedSources"), 24);
    assert_eq!(count("getPublishedBinaries"), 23);
    assert_eq!(count("binaryFileUrls"), 25 + 18);
}

const UBUNTU_PLAN: [&str; 17] = [
    "ubuntu/4.4.0-21-generic/amd64 linux-image-4.4.0-21-generic-dbgsym 4.4.0-21.37 ubuntu-ddebs",
    "ubuntu/4.4.0-21-lowlatency/amd64 linux-image-4.4.0-21-lowlatency-dbgsym 4.4.0-21.37 ubuntu-ddebs",
    "ubuntu/5.4.0-26-generic/amd64 linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 ubuntu-ddebs",
    "ubuntu/5.4.0-26-generic/arm64 linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 ubuntu-ddebs",
    "ubuntu/5.4.0-26-generic/armhf linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 ubuntu-ddebs",
    "ubuntu/5.4.0-26-generic-lpae/armhf linux-image-5.4.0-26-generic-lpae-dbgsym 5.4.0-26.30 ubuntu-ddebs",
    "ubuntu/5.4.0-26-lowlatency/amd64 linux-image-unsigned-5.4.0-26-lowlatency-dbgsym 5.4.0-26.30 ubuntu-ddebs",
    "ubuntu/5.4.0-215-generic/amd64 linux-image-unsigned-5.4.0-215-generic-dbgsym 5.4.0-215.235 ubuntu-ddebs",
    "ubuntu/5.4.0-216-generic/amd64 linux-image-unsigned-5.4.0-216-generic-dbgsym 5.4.0-216.236 ubuntu-ddebs",
    "ubuntu/5.4.0-1009-aws/amd64 linux-image-5.4.0-1009-aws-dbgsym 5.4.0-1009.9 ubuntu-ddebs",
    "ubuntu/5.4.0-1009-aws/arm64 linux-image-5.4.0-1009-aws-dbgsym 5.4.0-1009.9 ubuntu-ddebs",
    "ubuntu/5.4.0-1010-azure/amd64 linux-image-unsigned-5.4.0-1010-azure-dbgsym 5.4.0-1010.10 ubuntu-ddebs",
    "ubuntu/6.8.0-31-generic/amd64 linux-image-unsigned-6.8.0-31-generic-dbgsym 6.8.0-31.31 ubuntu-ddebs",
    "ubuntu/6.8.0-31-generic/ppc64el linux-image-6.8.0-31-generic-dbgsym 6.8.0-31.31 ubuntu-ddebs",
    "ubuntu/6.8.0-31-lowlatency/amd64 linux-image-unsigned-6.8.0-31-lowlatency-dbgsym 6.8.0-31.31.1 ubuntu-ddebs",
    "ubuntu/6.8.0-90-generic/amd64 linux-image-unsigned-6.8.0-90-generic-dbgsym 6.8.0-90.91 ubuntu-ddebs",
    "ubuntu/6.14.0-37-generic/amd64 linux-image-unsigned-6.14.0-37-generic-dbgsym 6.14.0-37.37~24.04.1 ubuntu-ddebs",
];

#[test]
fn ubuntu_plan_lists_every_current_kernel_and_rejects_the_stubs() {
    let mut f = Fixtures::new();
    let outcome = plan(&config("ubuntu.toml"), None, &mut f);
    no_failures(&outcome);
    assert_eq!(rows(&outcome), UBUNTU_PLAN);
    // The shipped ubuntu.toml extracts every kernel's modules.
    assert!(outcome.plan.packages.iter().all(|p| p.modules));
    let signed = "stub built by source linux-signed (signed kernels carry no debug image)";
    assert_eq!(
        rejected(&outcome),
        [
            format!("focal linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 amd64: {signed}"),
            format!("focal linux-image-5.4.0-26-lowlatency-dbgsym 5.4.0-26.30 amd64: {signed}"),
            "focal linux-image-5.4.0-1010-azure-dbgsym 5.4.0-1010.10 amd64: stub built by source linux-signed-azure (signed kernels carry no debug image)".to_owned(),
            format!("focal linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 arm64: {signed}"),
            format!("focal-updates linux-image-5.4.0-215-generic-dbgsym 5.4.0-215.235 amd64: {signed}"),
            format!("focal-updates linux-image-5.4.0-216-generic-dbgsym 5.4.0-216.236 amd64: {signed}"),
            format!("noble linux-image-6.8.0-31-generic-dbgsym 6.8.0-31.31 amd64: {signed}"),
            "noble linux-image-6.8.0-31-lowlatency-dbgsym 6.8.0-31.31.1 amd64: stub built by source linux-signed-lowlatency (signed kernels carry no debug image)".to_owned(),
            format!("noble-updates linux-image-6.8.0-90-generic-dbgsym 6.8.0-90.91 amd64: {signed}"),
            format!("noble-updates linux-image-6.14.0-37-generic-dbgsym 6.14.0-37.37~24.04.1 amd64: {signed}"),
        ]
    );
    // 5.4.0-216 is in -updates and -security: planned once, from the
    // pocket listed first.
    let p = outcome
        .plan
        .packages
        .iter()
        .find(|p| p.image.release == "5.4.0-216-generic")
        .unwrap();
    assert_eq!(
        p.location,
        PackageLocation::Url("https://ddebs.test/pool/main/l/linux/linux-image-unsigned-5.4.0-216-generic-dbgsym_5.4.0-216.236_amd64.ddeb".into())
    );
    // Every series × pocket × arch index was asked for.
    assert_eq!(f.requests.borrow().len(), 7 * 4 * 6);
    assert_eq!(
        f.requests.borrow()[0],
        "https://ddebs.test/dists/xenial/main/binary-amd64/Packages"
    );
}

#[test]
fn revision_policies_pick_per_kernel_version() {
    let run = |policy: &str| -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ubuntu.toml");
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("revision = \"all\"", &format!("revision = \"{policy}\""))
            .replace(
                "arches = [\"amd64\", \"arm64\", \"armhf\", \"ppc64el\", \"riscv64\", \"s390x\"]",
                "arches = [\"amd64\"]",
            )
            .replace("flavors = [\"*\"]", "flavors = [\"generic\"]");
        let outcome = plan(
            &FetchConfig::parse(&text, "v.toml").unwrap(),
            None,
            &mut Fixtures::new(),
        );
        no_failures(&outcome);
        outcome
            .plan
            .packages
            .iter()
            .map(|p| p.image.to_string())
            .collect()
    };
    // 6.8 and 6.14 are different kernel versions: each keeps its own.
    assert_eq!(
        run("first"),
        [
            "ubuntu/4.4.0-21-generic/amd64",
            "ubuntu/5.4.0-26-generic/amd64",
            "ubuntu/6.8.0-31-generic/amd64",
            "ubuntu/6.14.0-37-generic/amd64"
        ]
    );
    assert_eq!(
        run("latest"),
        [
            "ubuntu/4.4.0-21-generic/amd64",
            "ubuntu/5.4.0-216-generic/amd64",
            "ubuntu/6.8.0-90-generic/amd64",
            "ubuntu/6.14.0-37-generic/amd64"
        ]
    );
    assert_eq!(run("all").len(), 7);
}

#[test]
fn version_and_release_selectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ubuntu.toml");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "flavors = [\"*\"]",
        "flavors = [\"generic*\"]\nversions = [\"5.*\"]\nreleases = [\"*-26-*\"]",
    );
    let outcome = plan(
        &FetchConfig::parse(&text, "v.toml").unwrap(),
        None,
        &mut Fixtures::new(),
    );
    no_failures(&outcome);
    assert_eq!(
        outcome
            .plan
            .packages
            .iter()
            .map(|p| p.image.to_string())
            .collect::<Vec<_>>(),
        [
            "ubuntu/5.4.0-26-generic/amd64",
            "ubuntu/5.4.0-26-generic/arm64",
            "ubuntu/5.4.0-26-generic/armhf",
            "ubuntu/5.4.0-26-generic-lpae/armhf"
        ]
    );
}

const APT_SOURCES: &str = "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://security.test/debian-security\nSuites: bookworm-security\nComponents: main\n";

#[test]
fn debian_plan_reads_the_apt_mirror_and_rejects_meta_packages() {
    let apt = AptSources {
        entries: parse_deb822(APT_SOURCES, "debian.sources").unwrap(),
        files: vec!["debian.sources".into()],
    };
    let mut f = Fixtures::new();
    let outcome = plan(&config("debian.toml"), Some(&apt), &mut f);
    no_failures(&outcome);
    assert_eq!(
        rows(&outcome),
        [
            "debian/6.1.0-47-amd64/amd64 linux-image-6.1.0-47-amd64-dbg 6.1.170-3 debian",
            "debian/6.1.0-47-cloud-amd64/amd64 linux-image-6.1.0-47-cloud-amd64-dbg 6.1.170-3 debian",
            "debian/6.1.0-47-rt-amd64/amd64 linux-image-6.1.0-47-rt-amd64-dbg 6.1.170-3 debian",
            "debian/6.1.0-50-cloud-amd64/amd64 linux-image-6.1.0-50-cloud-amd64-dbg 6.1.176-1 debian",
            "debian/6.1.0-56-amd64/amd64 linux-image-6.1.0-56-amd64-dbg 6.1.192-2 debian",
            "debian/6.1.0-56-cloud-amd64/amd64 linux-image-6.1.0-56-cloud-amd64-dbg 6.1.192-2 debian",
            "debian/6.12.117+deb12-cloud-amd64/amd64 linux-image-6.12.117+deb12-cloud-amd64-dbg 6.12.117-1~deb12u1 debian",
        ]
    );
    let meta = "meta package (no versioned kernel release in its name)";
    assert_eq!(
        rejected(&outcome),
        [
            format!("bookworm linux-image-amd64-dbg 6.1.176-1 amd64: {meta}"),
            format!("bookworm linux-image-cloud-amd64-dbg 6.1.176-1 amd64: {meta}"),
            format!("bookworm-security linux-image-6.12-cloud-amd64-dbg 6.12.117-1~deb12u1 amd64: {meta}"),
            format!("bookworm-security linux-image-cloud-amd64-dbg 6.1.192-2 amd64: {meta}"),
        ]
    );
    let p = &outcome.plan.packages[1];
    assert_eq!(
        p.location,
        PackageLocation::Url("http://mirror.test/debian/pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb".into())
    );
    assert_eq!(
        (p.size, p.flavor.as_str()),
        (Some(281_462_948), "cloud-amd64")
    );
    assert_eq!(
        p.sha256.as_deref(),
        Some("7ad48c59de359b78ceec77ab8330fbfa982360c674444a1df7be8eaf11d3863b")
    );
    let security = &outcome.plan.packages[6];
    assert!(
        matches!(&security.location, PackageLocation::Url(u) if u.starts_with("http://security.test/debian-security/pool/updates/main/l/linux-6.12/")),
        "{:?}",
        security.location
    );
    // trixie is not in the machine's sources: read from the same mirrors.
    let requests = f.requests.borrow();
    assert!(requests
        .contains(&"http://mirror.test/debian/dists/trixie/main/binary-s390x/Packages".to_owned()));
    assert!(requests.contains(
        &"http://security.test/debian-security/dists/trixie-security/main/binary-amd64/Packages"
            .to_owned()
    ));
    assert_eq!(requests.len(), 6 * 5);
}

#[test]
fn one_failing_index_or_source_does_not_stop_the_others() {
    let apt = AptSources {
        entries: parse_deb822(APT_SOURCES, "debian.sources").unwrap(),
        files: vec![],
    };
    let mut f = Fixtures::new();
    let url =
        "http://security.test/debian-security/dists/bookworm-security/main/binary-amd64/Packages";
    f.broken_index = Some((
        url.to_owned(),
        "Package: x\n no\n\n continuation\n".to_owned(),
    ));
    let outcome = plan(&config("debian.toml"), Some(&apt), &mut f);
    assert_eq!(
        outcome.failures.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        [format!("{url}:4: continuation line outside a field (a line starting with a space must continue the field above it)")]
    );
    assert_eq!(outcome.plan.packages.len(), 4);

    // A Launchpad source whose API answers 404 fails alone.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ubuntu-depsurf.toml"),
    )
    .unwrap()
    .replace(
        "launchpad_sources = [\"linux-riscv\"]",
        "launchpad_sources = [\"linux-riscv-missing\"]",
    );
    let outcome = plan(
        &FetchConfig::parse(&text, "d.toml").unwrap(),
        None,
        &mut Fixtures::new(),
    );
    assert_eq!(
        outcome.failures.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        ["https://lp-api.test/devel/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=linux-riscv-missing&exact_match=true&distro_series=https%3A%2F%2Flp-api.test%2Fdevel%2Fubuntu%2Ffocal&pocket=Release&order_by_date=true&ws.size=300: 404 Not Found"]
    );
    assert_eq!(outcome.plan.packages.len(), 24);
}

#[test]
fn launchpad_links_must_stay_under_the_api_root() {
    let mut f = Fixtures::new();
    for body in f.launchpad.values_mut() {
        if let Some(entries) = body.get_mut("entries").and_then(|e| e.as_array_mut()) {
            for e in entries {
                if let Some(link) = e.get("self_link").and_then(|l| l.as_str()) {
                    if link.contains("+sourcepub/") {
                        e["self_link"] = link.replace("lp-api.test", "elsewhere.test").into();
                    }
                }
            }
        }
    }
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ubuntu-depsurf.toml"),
    )
    .unwrap();
    let outcome = plan(&FetchConfig::parse(&text, "d.toml").unwrap(), None, &mut f);
    assert_eq!(outcome.plan.packages.len(), 0);
    assert_eq!(outcome.failures.len(), 4);
    let message = outcome.failures[0].to_string();
    assert!(
        message.starts_with("https://elsewhere.test/devel/ubuntu/+archive/primary/+sourcepub/")
            && message.contains(
                ": link \"https://elsewhere.test/devel/ubuntu/+archive/primary/+sourcepub/"
            )
            && message.ends_with("\" leaves the configured API root \"https://lp-api.test/devel\""),
        "{message}"
    );
}

/// A package whose control file is `control` and whose data member holds
/// `pad` bytes of noise (zstd, so building it is quick).
fn local_deb(control: &str, pad: usize) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(pad as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    tar.append_data(&mut h, "./usr/share/doc/pad", &noise(pad, 7)[..])
        .unwrap();
    build_package(
        &tar.into_inner().unwrap(),
        DataCompression::Zstd,
        &control_member(control),
    )
}

fn debian_control(package: &str, version: &str, arch: &str, extra: &str) -> String {
    format!("Package: {package}\nSource: linux ({version})\nVersion: {version}\nArchitecture: {arch}\nMaintainer: ksurf tests <tests@ksurf.invalid>\n{extra}Description: test\n")
}

fn local_config(dir: &Path) -> FetchConfig {
    let text = format!(
        "[[source]]\nname = \"debian-local\"\nkind = \"local\"\npath = {:?}\nflavors = [\"*\"]\n",
        dir.display().to_string()
    );
    FetchConfig::parse(&text, "l.toml").unwrap()
}

#[test]
fn debian_local_plan_hashes_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: Vec<u8>| {
        std::fs::write(dir.path().join(name), &bytes).unwrap();
        bytes
    };
    let cloud = file(
        "linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb",
        local_deb(
            &debian_control(
                "linux-image-6.1.0-47-cloud-amd64-dbg",
                "6.1.170-3",
                "amd64",
                "",
            ),
            3 << 20,
        ),
    );
    let arm = file(
        "linux-image-6.1.0-47-arm64-dbg_6.1.170-3_arm64.deb",
        local_deb(
            &debian_control("linux-image-6.1.0-47-arm64-dbg", "6.1.170-3", "arm64", ""),
            1 << 20,
        ),
    );
    file(
        "linux-image-cloud-amd64-dbg_6.1.176-1_amd64.deb",
        local_deb(
            &debian_control(
                "linux-image-cloud-amd64-dbg",
                "6.1.176-1",
                "amd64",
                "Depends: linux-image-6.1.0-47-cloud-amd64-dbg (= 6.1.170-3)\n",
            ),
            0,
        ),
    );
    let small = file(
        "linux-image-6.1.0-46-cloud-amd64-dbg_6.1.160-1_amd64.deb",
        local_deb(
            &debian_control(
                "linux-image-6.1.0-46-cloud-amd64-dbg",
                "6.1.160-1",
                "amd64",
                "",
            ),
            4096,
        ),
    );
    // Not a debug package by name: never opened (not even a package).
    file(
        "linux-image-6.1.0-47-cloud-amd64_6.1.170-3_amd64.deb",
        vec![0; 100],
    );
    file("notes.txt", vec![1; 10]);
    std::fs::create_dir(dir.path().join("sub.deb")).unwrap();
    let shipped = config("debian-local.toml");
    assert_eq!(
        shipped.sources[0].path.as_deref(),
        Some(Path::new("work/debs"))
    );
    let outcome = plan(&local_config(dir.path()), None, &mut Fixtures::new());
    no_failures(&outcome);
    let planned: Vec<(String, PackageLocation, Option<u64>, Option<String>)> = outcome
        .plan
        .packages
        .iter()
        .map(|p| {
            (
                p.image.to_string(),
                p.location.clone(),
                p.size,
                p.sha256.clone(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        [
            (
                "debian/6.1.0-47-arm64/arm64".to_owned(),
                PackageLocation::File(
                    dir.path()
                        .join("linux-image-6.1.0-47-arm64-dbg_6.1.170-3_arm64.deb")
                ),
                Some(arm.len() as u64),
                Some(sha256_hex(&arm)),
            ),
            (
                "debian/6.1.0-47-cloud-amd64/amd64".to_owned(),
                PackageLocation::File(
                    dir.path()
                        .join("linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb")
                ),
                Some(cloud.len() as u64),
                Some(sha256_hex(&cloud)),
            ),
        ]
    );
    assert_eq!(
        outcome
            .plan
            .rejected
            .iter()
            .map(|r| (r.package.as_str(), r.reason.clone()))
            .collect::<Vec<_>>(),
        [
            (
                "linux-image-6.1.0-46-cloud-amd64-dbg",
                Rejection::TooSmall(small.len() as u64)
            ),
            ("linux-image-cloud-amd64-dbg", Rejection::Meta),
        ]
    );
}

/// File names that look like real kernel packages do not decide: the
/// control file inside does, with the index path's rules.
#[test]
fn local_packages_are_judged_by_their_control_file() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    // A signed stub of a few KB, named like the real package.
    write(
        "linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb",
        &local_deb(
            "Package: linux-image-5.4.0-26-generic-dbgsym\nSource: linux-signed (5.4.0-26.30)\nVersion: 5.4.0-26.30\nArchitecture: amd64\nDepends: linux-image-unsigned-5.4.0-26-generic-dbgsym (= 5.4.0-26.30)\nDescription: stub\n",
            2048,
        ),
    );
    // A big package whose control says it only pulls the real one in.
    write(
        "linux-image-6.1.0-48-cloud-amd64-dbg_6.1.171-1_amd64.deb",
        &local_deb(
            &debian_control(
                "linux-image-6.1.0-48-cloud-amd64-dbg",
                "6.1.171-1",
                "amd64",
                "Depends: linux-image-6.1.0-49-cloud-amd64-dbg (= 6.1.172-1)\n",
            ),
            1 << 20,
        ),
    );
    // A meta package under a versioned name.
    write(
        "linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb",
        &local_deb(
            &debian_control(
                "linux-image-cloud-amd64-dbg",
                "6.1.170-3",
                "amd64",
                "Depends: linux-image-6.1.0-47-cloud-amd64-dbg (= 6.1.170-3)\n",
            ),
            1 << 20,
        ),
    );
    // A corrupt control member: an xz stream with its middle flipped.
    let good_control = control_member(&debian_control(
        "linux-image-6.1.0-50-cloud-amd64-dbg",
        "6.1.173-1",
        "amd64",
        "",
    ));
    let mut bad_control = good_control.clone();
    let mid = bad_control.len() / 2;
    bad_control[mid] ^= 0x55;
    let corrupt = build_package(b"", DataCompression::Zstd, &bad_control);
    write(
        "linux-image-6.1.0-50-cloud-amd64-dbg_6.1.173-1_amd64.deb",
        &corrupt,
    );
    // Not a package at all.
    write(
        "linux-image-6.1.0-51-cloud-amd64-dbg_6.1.174-1_amd64.deb",
        &[0u8; 4096],
    );
    // And a real one, still planned beside the failures.
    write(
        "linux-image-6.1.0-52-cloud-amd64-dbg_6.1.175-1_amd64.deb",
        &local_deb(
            &debian_control(
                "linux-image-6.1.0-52-cloud-amd64-dbg",
                "6.1.175-1",
                "amd64",
                "",
            ),
            1 << 20,
        ),
    );
    let outcome = plan(&local_config(dir.path()), None, &mut Fixtures::new());
    assert_eq!(rows(&outcome), ["debian/6.1.0-52-cloud-amd64/amd64 linux-image-6.1.0-52-cloud-amd64-dbg 6.1.175-1 debian-local"]);
    let d = dir.path().display();
    assert_eq!(
        rejected(&outcome),
        [
            format!("{d} linux-image-cloud-amd64-dbg 6.1.170-3 amd64: meta package (no versioned kernel release in its name)"),
            format!("{d} linux-image-6.1.0-48-cloud-amd64-dbg 6.1.171-1 amd64: stub that depends on the kernel debug package linux-image-6.1.0-49-cloud-amd64-dbg"),
            format!("{d} linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 amd64: stub built by source linux-signed (signed kernels carry no debug image)"),
        ]
    );
    let failures: Vec<String> = outcome.failures.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        failures,
        [
            format!("{d}/linux-image-6.1.0-50-cloud-amd64-dbg_6.1.173-1_amd64.deb: control.tar.xz: corrupt: ./control: lzma data error"),
            format!("{d}/linux-image-6.1.0-51-cloud-amd64-dbg_6.1.174-1_amd64.deb: not a Debian binary package (.deb/.ddeb): Not an archive file (invalid global header)"),
        ]
    );
}
