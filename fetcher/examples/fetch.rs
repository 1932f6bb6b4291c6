//! Fetches one kernel debug package from a Debian-format archive with the
//! fetcher's full chain: signed Release (keyring) → hash-checked Packages →
//! package (size + SHA-256) → vmlinux under `<out>/vmlinux/<distro>/<arch>/`,
//! plus its `fetches` manifest row when `--dataset` is given. Used by
//! `scripts/real-fetch-check.sh` and the kill test.
//!
//! ```sh
//! cargo run --release -p ksurf-fetcher --example fetch -- \
//!   --mirror URL --suite SUITE --keyring FILE --package NAME \
//!   --distro debian --out DIR [--component main] [--arch amd64] \
//!   [--cache DIR] [--stream] [--dataset DIR] [--allow-expired]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use ksurf_fetcher::archive::Archive;
use ksurf_fetcher::download::{fetch_all, FetchOptions};
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::plan::{PackageLocation, PlannedPackage};
use ksurf_fetcher::progress::Progress;
use ksurf_fetcher::release::Keyring;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut opt = std::collections::HashMap::new();
    let mut flags = std::collections::HashSet::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--stream" | "--allow-expired" => {
                flags.insert(a);
            }
            _ if a.starts_with("--") => {
                let v = args.next().ok_or(format!("{a} needs a value"))?;
                opt.insert(a[2..].to_owned(), v);
            }
            _ => return Err(format!("unexpected argument {a:?}").into()),
        }
    }
    let need = |k: &str| opt.get(k).cloned().ok_or(format!("--{k} is required"));
    let (mirror, suite, package, distro) = (
        need("mirror")?,
        need("suite")?,
        need("package")?,
        need("distro")?,
    );
    let keyring = Keyring::load(&PathBuf::from(need("keyring")?))?;
    let out = PathBuf::from(need("out")?);
    let component = opt.get("component").cloned().unwrap_or("main".into());
    let arch = opt.get("arch").cloned().unwrap_or("amd64".into());
    let cache = opt
        .get("cache")
        .map(PathBuf::from)
        .unwrap_or(out.join("cache"));

    let client = HttpClient::new(HttpOptions::default())?;
    let rt = tokio::runtime::Runtime::new()?;
    let started = std::time::Instant::now();
    let plan = rt.block_on(async {
        let mut archive = Archive::new(&client, &mirror, &keyring);
        archive.allow_expired = flags.contains("--allow-expired");
        let release = archive.release(&suite).await?;
        eprintln!("{}: signed by {}", release.url, release.signed_by);
        let index = archive.packages(&release, &component, &arch).await?;
        Ok::<_, ksurf_fetcher::Error>(plan_of(&index, &archive, &package, &distro, &arch))
    })?;
    let plan = plan.ok_or(format!("{package} is not in the index"))?;
    eprintln!(
        "planned: {} {} ({:?} bytes)",
        plan.package, plan.version, plan.size
    );

    let mut options = FetchOptions::new(&out, &cache);
    options.stream = flags.contains("--stream");
    let results = rt.block_on(fetch_all(&client, vec![plan], &options, &Progress::auto()));
    let (plan, result) = results.into_iter().next().expect("one plan");
    let fetched = result?;
    eprintln!("fetched in {:.1?}", started.elapsed());
    println!(
        "{} {} {} build-id={}",
        fetched.vmlinux.path.display(),
        fetched.vmlinux.size,
        fetched.vmlinux.sha256,
        fetched.build_id.as_deref().unwrap_or("-")
    );
    if let Some(dir) = opt.get("dataset") {
        let dataset = ksurf_dataset::Dataset::open_local(&PathBuf::from(dir))?;
        ksurf_fetcher::manifest::record(&dataset, &plan, &fetched, None)?;
    }
    Ok(())
}

/// The paragraph of `package` in the index, as a plan; the release is the
/// vmlinux name the package must hold (`linux-image-<release>-dbg[sym]`).
fn plan_of(
    index: &str,
    archive: &Archive<'_>,
    package: &str,
    distro: &str,
    arch: &str,
) -> Option<PlannedPackage> {
    let para = index
        .split("\n\n")
        .find(|p| p.lines().any(|l| l == format!("Package: {package}")))?;
    let field = |name: &str| {
        para.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    let release = package
        .trim_start_matches("linux-image-")
        .trim_start_matches("unsigned-")
        .trim_end_matches("-dbgsym")
        .trim_end_matches("-dbg")
        .to_owned();
    let flavor = release.splitn(3, '-').nth(2).unwrap_or("").to_owned();
    Some(PlannedPackage {
        image: ksurf_dataset::ImageId::new(distro, &release, arch).ok()?,
        flavor,
        package: package.to_owned(),
        version: field("Version")?,
        source: "example".into(),
        location: PackageLocation::Url(archive.url_of(&field("Filename")?)),
        size: field("Size")?.parse().ok(),
        sha256: field("SHA256"),
        companion: None,
        modules: false,
        btf_from_dwarf: false,
    })
}
