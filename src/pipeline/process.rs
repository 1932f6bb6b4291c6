//! Fetch → unpack → extract → write for a list of planned packages, with
//! the stages overlapped: fetch tasks on the async runtime download the
//! next packages in plan order, [`ProcessOptions::downloads`] at a time
//! (each at the link's full speed), and unpack them one at a time in plan
//! order (the decompressor's threads take the cores), while this thread
//! extracts image i (rayon over the cores) and writes its tables. At most
//! `downloads + 2` packages are downloading, waiting or being extracted at
//! once, which bounds the disk; images are written in plan order.
//! `KSURF_LOG=ksurf::pipeline=debug` logs, per image, the fetch time, how
//! long the extraction thread waited for it, how long the fetch task
//! waited for the extraction, and the extract + write time: where an
//! overlapped run spends its time (bench/run-vs-stages.sh prints them).
//!
//! A package planned with a companion (an archive's package carrying the
//! kernel's build configuration) has it fetched by the same task once its
//! own package is unpacked (`ksurf_fetcher::download::fetch_companion`:
//! the cache, the signed index's size and SHA-256, the one unpacker), so
//! its download overlaps the next package's; an image without a config of
//! its own gets that one, and a companion that cannot be fetched or read
//! is a `config` kind error of the image, never a failure of it.
//!
//! Per image, in this order: the `fetches` rows, then the image's tables
//! with its `images` marker last (naming the package's SHA-256), then —
//! unless `keep` — its vmlinux, its modules, its config file and the
//! downloaded packages are deleted. A crash
//! at any point leaves at most an image without a marker, which the next
//! run does again from the start, writing the same bytes. One image that
//! fails is logged and the others go on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ksurf_dataset::{Dataset, ImageState};
use ksurf_extractor::{extract, tables, IdentityOverrides};
use ksurf_fetcher::cache::Cache;
use ksurf_fetcher::download::{
    fetch_companion, fetch_package_scheduled, FetchOptions, Fetched, Schedule,
};
use ksurf_fetcher::http::HttpClient;
use ksurf_fetcher::progress::Progress;
use ksurf_fetcher::{manifest, PackageLocation, PlannedPackage};

use super::log::{LogRow, Outcome, Stage};

/// How [`process`] works.
pub struct ProcessOptions {
    /// Where vmlinux files (`<work>/vmlinux/`) and downloaded packages
    /// (`<work>/cache/`) live while an image is processed.
    pub work_dir: PathBuf,
    /// Keep each package and vmlinux after its tables are written.
    pub keep: bool,
    /// Unpack while downloading: the package never touches the disk.
    pub stream: bool,
    /// Packages downloading at once (at least 1).
    pub downloads: usize,
}

/// What [`process`] did.
pub struct Processed {
    pub rows: Vec<LogRow>,
    /// Images written with unit or kind errors (still done).
    pub with_unit_errors: usize,
    pub failed: usize,
}

/// Fetches, extracts and writes every package's image into `dataset`.
pub fn process(
    runtime: &tokio::runtime::Runtime,
    client: &HttpClient,
    dataset: &Dataset,
    packages: Vec<PlannedPackage>,
    options: &ProcessOptions,
    progress: &Progress,
) -> Processed {
    let mut fetch_options = FetchOptions::new(&options.work_dir, &options.work_dir.join("cache"));
    fetch_options.stream = options.stream;
    let cache = if options.stream {
        None
    } else {
        match Cache::open(&fetch_options.cache_dir) {
            Ok(cache) => Some(Arc::new(cache)),
            Err(e) => {
                let message = e.to_string();
                let rows: Vec<LogRow> = packages
                    .iter()
                    .map(|p| failed_row(p, Stage::Fetch, message.clone(), 0.0))
                    .collect();
                let failed = rows.len();
                return Processed {
                    rows,
                    with_unit_errors: 0,
                    failed,
                };
            }
        }
    };
    let images = progress.steps("images", packages.len() as u64);
    for p in &packages {
        progress.expect(p.size.unwrap_or(0));
        if let Some(c) = &p.companion {
            progress.expect(c.size);
        }
    }

    // Packages in flight: downloading, unpacking or waiting to, or being
    // extracted. A permit is taken before a fetch starts and given back
    // once the image's work files are deleted, so the disk never holds more
    // than `downloads + 2` packages' worth: the ones downloading, one
    // unpacking and one being extracted. Download slots are taken in plan
    // order and given back when the package is downloaded, so the link
    // serves the packages needed first (all of it to one package, by
    // default) and goes on to the next while this thread extracts.
    let downloads = options.downloads.max(1);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(downloads + 2));
    let download_slots = Arc::new(tokio::sync::Semaphore::new(downloads));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let kept_cache = cache.clone();
    let producer = {
        let client = client.clone();
        let progress = progress.clone();
        let in_flight = in_flight.clone();
        let download_slots = download_slots.clone();
        runtime.spawn(async move {
            // Each fetch unpacks once the one before it has finished (its
            // sender dropped): the decompressors take the cores one package
            // at a time, in plan order.
            let mut previous_done: Option<tokio::sync::oneshot::Receiver<()>> = None;
            for package in packages {
                let blocked = Instant::now();
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    break;
                };
                tracing::debug!(
                    image = %package.image,
                    seconds = blocked.elapsed().as_secs_f64(),
                    "fetch waited for the extraction"
                );
                let Ok(download_slot) = download_slots.clone().acquire_owned().await else {
                    break;
                };
                let fetch = {
                    let (client, cache, options, progress, package) = (
                        client.clone(),
                        cache.clone(),
                        fetch_options.clone(),
                        progress.clone(),
                        package.clone(),
                    );
                    let (done, next) = tokio::sync::oneshot::channel::<()>();
                    let turn = previous_done.replace(next);
                    tokio::spawn(async move {
                        let started = Instant::now();
                        let schedule = Schedule {
                            download_slot,
                            unpack_turn: async move {
                                if let Some(previous) = turn {
                                    // Err: the previous fetch finished.
                                    let _ = previous.await;
                                }
                            },
                        };
                        let fetched = fetch_package_scheduled(
                            &client,
                            cache.as_deref(),
                            &package,
                            &options,
                            &progress,
                            schedule,
                        )
                        .await;
                        drop(done);
                        // The companion once the package is in: its
                        // download overlaps the next package's.
                        let config = match &fetched {
                            Ok(_) => {
                                fetch_companion(
                                    &client,
                                    cache.as_deref(),
                                    &package,
                                    &options,
                                    &progress,
                                )
                                .await
                            }
                            Err(_) => None,
                        };
                        if fetched.is_ok() {
                            fail::fail_point!("pipeline::after-fetch", |_| std::process::abort());
                        }
                        let seconds = started.elapsed().as_secs_f64();
                        tracing::debug!(image = %package.image, seconds, "fetched");
                        (fetched, config, seconds)
                    })
                };
                if tx.send((package, fetch, permit)).is_err() {
                    break;
                }
            }
        })
    };

    let mut processed = Processed {
        rows: Vec::new(),
        with_unit_errors: 0,
        failed: 0,
    };
    let mut idle = Instant::now();
    while let Some((package, fetch, permit)) = rx.blocking_recv() {
        let (fetched, config, fetch_seconds) = match runtime.block_on(fetch) {
            Ok(done) => done,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        tracing::debug!(
            image = %package.image,
            seconds = idle.elapsed().as_secs_f64(),
            "extraction waited for the fetch"
        );
        let working = Instant::now();
        images.set_message(package.image.to_string());
        let row = match fetched {
            Err(e) => {
                eprintln!("ksurf: error: {}: {e}", package.image);
                failed_row(&package, Stage::Fetch, e.to_string(), fetch_seconds)
            }
            Ok(fetched) => {
                let started = Instant::now();
                let result = store_image(
                    dataset,
                    &package,
                    &fetched,
                    config.as_ref(),
                    &options.work_dir,
                );
                let seconds = fetch_seconds + started.elapsed().as_secs_f64();
                if !options.keep {
                    remove_work_files(&package, &fetched, config.as_ref(), kept_cache.as_deref());
                }
                match result {
                    Ok(stored) => {
                        let message = match stored {
                            Stored::Written {
                                unit_errors: 0,
                                kind_errors: 0,
                                btf_error: false,
                                modules_failed: 0,
                            } => None,
                            Stored::Written {
                                unit_errors,
                                kind_errors,
                                btf_error,
                                modules_failed,
                            } => {
                                processed.with_unit_errors += 1;
                                let mut parts = Vec::new();
                                if unit_errors > 0 {
                                    parts.push(format!("{unit_errors} compile units failed"));
                                }
                                if kind_errors > 0 {
                                    parts.push(format!("{kind_errors} kinds of dependency failed"));
                                }
                                if btf_error {
                                    parts.push("no BTF (images.btf_error)".to_owned());
                                }
                                if modules_failed > 0 {
                                    parts.push(format!("{modules_failed} modules failed"));
                                }
                                Some(parts.join(", "))
                            }
                            Stored::Unchanged => None,
                        };
                        let what = if stored == Stored::Unchanged {
                            "unchanged"
                        } else {
                            "extracted"
                        };
                        match &message {
                            Some(m) => println!("{}: {what}, {m} ({seconds:.1}s)", package.image),
                            None => println!("{}: {what} ({seconds:.1}s)", package.image),
                        }
                        LogRow {
                            image: Some(package.image.to_string()),
                            group: None,
                            package: Some(package.package.clone()),
                            package_sha256: Some(fetched.package_sha256.clone()),
                            stage: Stage::Extract,
                            outcome: if stored == Stored::Unchanged {
                                Outcome::Skipped
                            } else {
                                Outcome::Done
                            },
                            message,
                            seconds,
                        }
                    }
                    Err(e) => {
                        let message = crate::error_message(&e);
                        eprintln!("ksurf: error: {}: {message}", package.image);
                        let mut row = failed_row(&package, Stage::Extract, message, seconds);
                        row.package_sha256 = Some(fetched.package_sha256.clone());
                        row
                    }
                }
            }
        };
        drop(permit);
        if row.outcome == Outcome::Failed {
            processed.failed += 1;
        }
        tracing::debug!(
            image = %package.image,
            seconds = working.elapsed().as_secs_f64(),
            "extracted and written"
        );
        processed.rows.push(row);
        images.inc(1);
        idle = Instant::now();
    }
    if let Err(e) = runtime.block_on(producer) {
        std::panic::resume_unwind(e.into_panic());
    }
    images.finish_and_clear();
    progress.finish();
    processed
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stored {
    Written {
        unit_errors: usize,
        /// Interface kinds that could not be read (`images.kind_errors`).
        kind_errors: usize,
        /// The image has no BTF though it should (`images.btf_error`).
        btf_error: bool,
        /// Modules that could not be read (`modules.error`).
        modules_failed: usize,
    },
    /// The dataset already had this image from this very package (found
    /// out only after fetching, when the plan had no SHA-256).
    Unchanged,
}

/// Writes one fetched image: `fetches` rows, tables, `images` marker last.
/// `config` is the outcome of fetching the package's companion, when it
/// has one.
fn store_image(
    dataset: &Dataset,
    package: &PlannedPackage,
    fetched: &Fetched,
    config: Option<&ksurf_fetcher::Result<Fetched>>,
    work_dir: &std::path::Path,
) -> anyhow::Result<Stored> {
    if dataset.image_state(&package.image)?
        == (ImageState::Complete {
            package_sha256: Some(fetched.package_sha256.clone()),
        })
    {
        return Ok(Stored::Unchanged);
    }
    let overrides = IdentityOverrides {
        distro: Some(package.image.distro.clone()),
        release: Some(package.image.release.clone()),
        flavor: Some(package.flavor.clone()),
        arch: Some(package.image.arch.clone()),
    };
    let mut extraction = extract(&fetched.vmlinux.path, &overrides)?;
    extraction.info.package_sha256 = Some(fetched.package_sha256.clone());
    if extraction.config_source.is_none() {
        match (&package.companion, config) {
            (Some(companion), Some(config)) => companion_config(&mut extraction, companion, config),
            _ => local_config(&mut extraction, package, work_dir),
        }
    }
    if package.btf_from_dwarf {
        ksurf_extractor::btf_from_dwarf(&mut extraction, &fetched.vmlinux.path, work_dir);
    }
    if let Some(modules) = &fetched.vmlinux.modules {
        ksurf_extractor::extract_modules(&mut extraction, &modules.dir)?;
        // Modules the unpacker could not decompress are failed modules
        // of the image, like those the extractor could not read.
        for failed in &modules.failed {
            extraction.add_failed_module(
                failed.path.clone(),
                format!("{}: {}", failed.entry, failed.message),
            );
        }
    }
    let batches = tables::image_tables(&extraction)?;
    let module_batches = tables::module_tables(&extraction)?;
    let config = config.and_then(|c| c.as_ref().ok());
    manifest::record(dataset, package, fetched, config)?;
    fail::fail_point!("pipeline::after-fetches-row", |_| std::process::abort());
    let btf = extraction
        .btf
        .as_ref()
        .map(|b| bytes::Bytes::from(b.bytes.clone()));
    dataset.write_image_parts(&extraction.info.id, &batches, &module_batches, btf)?;
    let modules_failed = crate::cmd::report_module_errors(Some(&package.image), &extraction);
    for e in &extraction.unit_errors {
        eprintln!("ksurf: unit error: {}: {}", package.image, e.message);
    }
    for e in &extraction.kind_errors {
        eprintln!(
            "ksurf: {} error: {}: {}",
            e.kind.as_str(),
            package.image,
            e.message
        );
    }
    if let Some(e) = &extraction.btf_error {
        eprintln!("ksurf: btf error: {}: {e}", package.image);
    }
    Ok(Stored::Written {
        unit_errors: extraction.unit_errors.len(),
        kind_errors: extraction.kind_errors.len(),
        btf_error: extraction.btf_error.is_some(),
        modules_failed,
    })
}

/// Gives an image without a config of its own the one its companion
/// package carried (`package:<file name>`): the config file the fetch
/// unpacked, or — when the companion could not be downloaded, did not
/// match the signed index, or held no readable config — a `config` kind
/// error naming it.
fn companion_config(
    extraction: &mut ksurf_extractor::Extraction,
    companion: &ksurf_fetcher::plan::Companion,
    config: &ksurf_fetcher::Result<Fetched>,
) {
    use ksurf_extractor::kconfig::{attach, attach_error, ConfigSource};
    let source = ConfigSource::Package(companion.file_name().to_owned());
    let read = config
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|fetched| {
            std::fs::read(&fetched.vmlinux.path)
                .map(|text| (fetched, text))
                .map_err(|e| format!("{}: {e}", fetched.vmlinux.path.display()))
        });
    match read {
        Ok((fetched, text)) => {
            let label = format!("{}: {}", fetched.location, fetched.vmlinux.entry);
            attach(extraction, source, &label, &text);
        }
        Err(message) => {
            attach_error(extraction, source, message);
        }
    }
}

/// Gives an image without a config of its own the one beside its package
/// in a local directory (`ksurf_fetcher::companion`: a `config-<release>`
/// file, else a companion image package). A config found but not
/// readable is a config kind error; none found leaves the image without
/// one. Downloaded packages have no directory to look in.
fn local_config(
    extraction: &mut ksurf_extractor::Extraction,
    package: &PlannedPackage,
    work_dir: &std::path::Path,
) {
    use ksurf_extractor::kconfig::{attach, attach_error, ConfigSource};
    use ksurf_fetcher::companion::{self, LocalConfig};
    let PackageLocation::File(path) = &package.location else {
        return;
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let release = &package.image.release;
    let found = match companion::find(dir, release, &package.image.arch, &package.version) {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => {
            // The directory the package was just read from cannot be
            // listed: no config, said once.
            eprintln!("ksurf: config: {}: {e}", package.image);
            return;
        }
    };
    let source = match &found {
        LocalConfig::File(_) => ConfigSource::File(found.file_name()),
        LocalConfig::Package(_) => ConfigSource::Package(found.file_name()),
    };
    match companion::read(&found, release, &work_dir.join("config")) {
        Ok(text) => {
            let label = match &found {
                LocalConfig::File(p) => p.display().to_string(),
                LocalConfig::Package(p) => format!("{}: boot/config-{release}", p.display()),
            };
            attach(extraction, source, &label, &text);
        }
        Err(e) => {
            attach_error(extraction, source, e.to_string());
        }
    }
}

/// Deletes the image's vmlinux, modules directory and config file and, for
/// downloaded packages, the cached debug and companion packages. A local source's
/// package is the user's and stays.
fn remove_work_files(
    package: &PlannedPackage,
    fetched: &Fetched,
    config: Option<&ksurf_fetcher::Result<Fetched>>,
    cache: Option<&Cache>,
) {
    let _ = std::fs::remove_file(&fetched.vmlinux.path);
    if let Some(modules) = &fetched.vmlinux.modules {
        let _ = std::fs::remove_dir_all(&modules.dir);
    }
    if let Some(Ok(config)) = config {
        let _ = std::fs::remove_file(&config.vmlinux.path);
    }
    if let (PackageLocation::Url(_), Some(cache)) = (&package.location, cache) {
        let _ = std::fs::remove_file(cache.path_of(&fetched.package_sha256));
        // The companion's cached file, even when it did not unpack.
        if let Some(companion) = &package.companion {
            if ksurf_fetcher::cache::is_sha256(&companion.sha256) {
                let _ = std::fs::remove_file(cache.path_of(&companion.sha256));
            }
        }
    }
}

fn failed_row(package: &PlannedPackage, stage: Stage, message: String, seconds: f64) -> LogRow {
    LogRow {
        image: Some(package.image.to_string()),
        group: None,
        package: Some(package.package.clone()),
        package_sha256: package.sha256.clone(),
        stage,
        outcome: Outcome::Failed,
        message: Some(message),
        seconds,
    }
}
