//! Fetching planned packages: each [`PlannedPackage`] is got (from the
//! cache, a local file or its URL), checked against the size and SHA-256
//! the index gave, and unpacked into `<out>/vmlinux/<distro>/<arch>/
//! vmlinux-<release>`. Two modes:
//!
//! - cached (default): the package is downloaded into the [`Cache`]
//!   (verified before it is renamed in), then unpacked from there; a package
//!   already cached is not downloaded again.
//! - streamed: the HTTP body is fed to the unpacker as it arrives and hashed
//!   on the way; the package never touches the disk, and the vmlinux is
//!   published only once the whole package has arrived and its size and
//!   SHA-256 match.
//!
//! Either way the unpacked file is re-hashed on its way through the
//! unpacker and published only if it matches, and the vmlinux must be the
//! planned release's. A package whose SHA-256 the plan knows from a signed
//! index is decompressed only up to its vmlinux
//! ([`UnpackOptions::stop_after_vmlinux`]); a local file to its end.
//! [`fetch_all`] runs many packages at once (bounded); one failure does not
//! stop the others. [`fetch_package_scheduled`] lets a caller order the
//! downloads and the unpacking of many packages ([`Schedule`]).
//! [`fetch_companion`] gets a planned package's companion the same way
//! and unpacks its build configuration instead of a vmlinux. A package
//! planned with [`PlannedPackage::modules`] has its kernel modules
//! unpacked in the same pass into `modules-<release>/` beside the vmlinux
//! ([`crate::unpack::Modules`], on [`Fetched::vmlinux`]).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, Semaphore};

use crate::cache::{Begun, Cache, CacheWriter};
use crate::error::{Error, Result};
use crate::http::{BodySink, HttpClient};
use crate::plan::{PackageLocation, PlannedPackage};
use crate::progress::{Progress, Transfer};
use crate::unpack::{unpack_vmlinux_checked, UnpackOptions, Vmlinux};

/// How [`fetch_all`] fetches.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Root of the output: vmlinux files go under `<out>/vmlinux/`.
    pub out_dir: PathBuf,
    /// The package cache (unused when streaming).
    pub cache_dir: PathBuf,
    /// Unpack while downloading; keep no package.
    pub stream: bool,
    /// Packages fetched at once (the HTTP client also bounds each host).
    pub concurrency: usize,
    /// Free space required beyond each download's size.
    pub free_margin: u64,
    /// Limits and tuning of the unpacker; `stop_after_vmlinux` and
    /// `modules` are set per package from its plan.
    pub unpack: UnpackOptions,
}

impl FetchOptions {
    pub fn new(out_dir: &Path, cache_dir: &Path) -> Self {
        Self {
            out_dir: out_dir.to_owned(),
            cache_dir: cache_dir.to_owned(),
            stream: false,
            concurrency: 4,
            free_margin: 256 << 20,
            unpack: UnpackOptions::default(),
        }
    }
}

/// Where the vmlinux of `image` is written: `<out>/vmlinux/<distro>/<arch>/`.
pub fn vmlinux_dir(out_dir: &Path, image: &ksurf_dataset::ImageId) -> PathBuf {
    out_dir
        .join("vmlinux")
        .join(&image.distro)
        .join(&image.arch)
}

/// One package fetched and unpacked.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it came from: the URL, or the local file's path.
    pub location: String,
    pub package_size: u64,
    /// Lower-case hex.
    pub package_sha256: String,
    pub vmlinux: Vmlinux,
    /// GNU build-id of the vmlinux (lower-case hex), when it has one.
    pub build_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
    /// Bytes received over the network for it (0 for a cache hit or a file).
    pub downloaded_bytes: u64,
}

impl Fetched {
    /// `fetched_at` as RFC 3339 in UTC, to the second.
    pub fn fetched_at_rfc3339(&self) -> String {
        self.fetched_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// The time a `fetches` row records: `SOURCE_DATE_EPOCH` when set (for
/// reproducible datasets, as the manifest does), else now.
pub fn fetch_time() -> DateTime<Utc> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(Utc::now)
}

/// The plan's location as a string (for messages and the manifest).
pub fn location_label(plan: &PlannedPackage) -> String {
    match &plan.location {
        PackageLocation::Url(url) => url.clone(),
        PackageLocation::File(path) => path.display().to_string(),
    }
}

/// Fetches every package, at most `options.concurrency` at once, and
/// returns each plan with its outcome, in plan order.
pub async fn fetch_all(
    client: &HttpClient,
    plans: Vec<PlannedPackage>,
    options: &FetchOptions,
    progress: &Progress,
) -> Vec<(PlannedPackage, Result<Fetched>)> {
    let cache = if options.stream {
        None
    } else {
        match Cache::open(&options.cache_dir) {
            Ok(mut cache) => {
                cache.free_margin = options.free_margin;
                Some(Arc::new(cache))
            }
            Err(e) => {
                let message = e.to_string();
                return plans
                    .into_iter()
                    .map(|p| {
                        let e = Error::Io {
                            path: options.cache_dir.clone(),
                            action: "opening the cache",
                            source: io::Error::other(message.clone()),
                        };
                        (p, Err(e))
                    })
                    .collect();
            }
        }
    };
    for plan in &plans {
        progress.expect(plan.size.unwrap_or(0));
    }
    let pool = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(plans.len());
    for plan in plans {
        let client = client.clone();
        let options = options.clone();
        let cache = cache.clone();
        let progress = progress.clone();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = pool.acquire_owned().await.expect("pool is never closed");
            let result = fetch_package(&client, cache.as_deref(), &plan, &options, &progress).await;
            (plan, result)
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(pair) => out.push(pair),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    progress.finish();
    out
}

/// Fetches and unpacks one package. `cache` is `None` in stream mode.
pub async fn fetch_package(
    client: &HttpClient,
    cache: Option<&Cache>,
    plan: &PlannedPackage,
    options: &FetchOptions,
    progress: &Progress,
) -> Result<Fetched> {
    let schedule = Schedule {
        download_slot: (),
        unpack_turn: std::future::ready(()),
    };
    fetch_package_scheduled(client, cache, plan, options, progress, schedule).await
}

/// When [`fetch_package_scheduled`] may use the link and the cores. A
/// caller that uses the images in plan order hands out download slots and
/// unpack turns in that order: the link carries one (or a few) downloads at
/// a time, each at full speed, and the decompressors take the cores one
/// package at a time, so the first image is ready as early as it can be.
pub struct Schedule<S, T> {
    /// Held while the package downloads and dropped once its bytes are in
    /// the cache. A streamed download (which unpacks as it downloads) holds
    /// it to the end of the stream; a local file drops it at once.
    pub download_slot: S,
    /// Ready once the package may be unpacked: awaited after a cached
    /// download, before a streamed download or a local file.
    pub unpack_turn: T,
}

/// [`fetch_package`] on a [`Schedule`].
pub async fn fetch_package_scheduled<S, T: std::future::Future<Output = ()>>(
    client: &HttpClient,
    cache: Option<&Cache>,
    plan: &PlannedPackage,
    options: &FetchOptions,
    progress: &Progress,
    schedule: Schedule<S, T>,
) -> Result<Fetched> {
    let Schedule {
        download_slot,
        unpack_turn,
    } = schedule;
    if let Some(sha) = &plan.sha256 {
        if !crate::cache::is_sha256(sha) {
            return Err(Error::Mismatch {
                url: location_label(plan),
                what: "planned SHA256",
                expected: "64 lower-case hex digits".into(),
                actual: sha.clone(),
            });
        }
    }
    let out_dir = vmlinux_dir(&options.out_dir, &plan.image);
    let label = location_label(plan);
    let (fetched, downloaded) = match (&plan.location, cache) {
        (PackageLocation::File(path), _) => {
            drop(download_slot);
            unpack_turn.await;
            let file = File::open(path).map_err(|source| Error::Io {
                path: path.clone(),
                action: "opening the package",
                source,
            })?;
            (
                unpack_blocking(file, plan, &label, &out_dir, options).await?,
                0,
            )
        }
        (PackageLocation::Url(url), Some(cache)) => {
            let (path, downloaded) = cached_package(client, cache, plan, url, progress).await?;
            drop(download_slot);
            unpack_turn.await;
            let file = File::open(&path).map_err(|source| Error::Io {
                path: path.clone(),
                action: "opening the cached package",
                source,
            })?;
            let fetched = match unpack_blocking(file, plan, &label, &out_dir, options).await {
                // A cached file that no longer matches its name is dropped so
                // the next run downloads it again.
                Err(e @ Error::Mismatch { .. }) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
                other => other?,
            };
            (fetched, downloaded)
        }
        (PackageLocation::Url(url), None) => {
            unpack_turn.await;
            let streamed = stream_package(client, plan, url, &out_dir, options, progress).await?;
            drop(download_slot);
            streamed
        }
    };
    let (vmlinux, size, sha256) = fetched;
    let build_id = match options.unpack.target {
        crate::unpack::Target::Vmlinux => {
            let path = vmlinux.path.clone();
            tokio::task::spawn_blocking(move || read_build_id(&path))
                .await
                .expect("build-id reader panicked")?
        }
        crate::unpack::Target::Config => None,
    };
    Ok(Fetched {
        location: label,
        package_size: size,
        package_sha256: sha256,
        vmlinux,
        build_id,
        fetched_at: fetch_time(),
        downloaded_bytes: downloaded,
    })
}

/// Fetches `debug`'s companion package ([`PlannedPackage::companion`]) the
/// way [`fetch_package`] fetches a debug package — the cache (or a stream
/// in stream mode), a resumable download checked against the signed
/// index's size and SHA-256 — and unpacks its build configuration
/// ([`crate::unpack::Target::Config`]) to `<out>/vmlinux/<distro>/<arch>/
/// config-<release>`. In the result, `vmlinux` is that config file and
/// `build_id` is `None`. `None` when the plan has no companion.
///
/// Errors: a download that fails or does not match ([`Error::Mismatch`]),
/// a package the unpacker refuses, one without the config
/// ([`Error::NoConfig`]) or with another release's ([`Error::WrongRelease`]).
pub async fn fetch_companion(
    client: &HttpClient,
    cache: Option<&Cache>,
    debug: &PlannedPackage,
    options: &FetchOptions,
    progress: &Progress,
) -> Option<Result<Fetched>> {
    let companion = debug.companion.as_ref()?.as_planned(debug);
    let mut options = options.clone();
    options.unpack.target = crate::unpack::Target::Config;
    Some(fetch_package(client, cache, &companion, &options, progress).await)
}

/// The cached package for `plan`, downloading it first if needed. Returns
/// its path and the bytes downloaded.
async fn cached_package(
    client: &HttpClient,
    cache: &Cache,
    plan: &PlannedPackage,
    url: &str,
    progress: &Progress,
) -> Result<(PathBuf, u64)> {
    if let Some(path) = plan
        .sha256
        .as_deref()
        .and_then(|sha| cache.lookup(sha, plan.size))
    {
        tracing::info!(package = %plan.package, path = %path.display(), "in the cache");
        progress.expect_done(plan.size.unwrap_or(0));
        return Ok((path, 0));
    }
    if plan.sha256.is_none() {
        tracing::warn!(%url, "no SHA-256 planned: the download is checked only for its size");
    }
    let begun = {
        let cache = cache.clone();
        let url = url.to_owned();
        let (size, sha) = (plan.size, plan.sha256.clone());
        tokio::task::spawn_blocking(move || cache.begin(&url, size, sha.as_deref()))
            .await
            .expect("cache writer setup panicked")?
    };
    let mut writer = match begun {
        Begun::Cached(path) => {
            progress.expect_done(plan.size.unwrap_or(0));
            return Ok((path, 0));
        }
        Begun::Writer(writer) => writer,
    };
    let transfer = progress.transfer(&plan.package, plan.size);
    let result = download_into(client, &mut writer, plan, url, &transfer).await;
    transfer.finish();
    match result {
        Ok((sha, received)) => {
            let (path, _) = writer.publish(cache, &sha)?;
            Ok((path, received))
        }
        // Wrong bytes: nothing of them is kept.
        Err(e @ Error::Mismatch { .. }) => {
            writer.discard();
            Err(e)
        }
        // Interrupted: the partial stays for the next run to resume.
        Err(e) => Err(e),
    }
}

/// Downloads the rest of `url` into `writer` and verifies the whole. A
/// partial taken over from an earlier run that does not verify (or that
/// the server refuses to continue) is refetched once from zero. Returns the
/// SHA-256 and the bytes received.
async fn download_into(
    client: &HttpClient,
    writer: &mut CacheWriter,
    plan: &PlannedPackage,
    url: &str,
    transfer: &Transfer,
) -> Result<(String, u64)> {
    let mut received = 0u64;
    loop {
        let resumed = writer.resumed_from();
        if resumed > 0 {
            tracing::info!(%url, bytes = resumed, "resuming a download an earlier run left");
            transfer.inc(resumed);
        }
        let complete = resumed > 0 && plan.size == Some(resumed);
        let got = if complete {
            Ok(0)
        } else {
            client
                .download(url, writer, transfer)
                .await
                .map(|_| writer.written() - resumed)
        };
        let checked = got.and_then(|n| {
            received += n;
            writer.verify(plan.size, plan.sha256.as_deref())
        });
        match checked {
            Ok(sha) => return Ok((sha, received)),
            Err(Error::Mismatch { .. } | Error::HttpStatus { status: 416, .. }) if resumed > 0 => {
                tracing::warn!(%url, "the partial download from an earlier run does not check out; starting from zero");
                writer.start_over()?;
                transfer.restart();
            }
            Err(e) => return Err(e),
        }
    }
}

/// Streams the package at `url` into the unpacker.
async fn stream_package(
    client: &HttpClient,
    plan: &PlannedPackage,
    url: &str,
    out_dir: &Path,
    options: &FetchOptions,
    progress: &Progress,
) -> Result<((Vmlinux, u64, String), u64)> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_owned(),
        action: "creating the output directory",
        source,
    })?;
    Cache::check_space(out_dir, url, plan.size.unwrap_or(0), options.free_margin)?;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(64);
    let reader = ChannelReader {
        rx,
        current: Bytes::new(),
    };
    let unpack = unpack_blocking(reader, plan, url, out_dir, options);
    let mut sink = StreamSink {
        tx,
        written: 0,
        url: url.to_owned(),
        limit: plan.size,
    };
    let transfer = progress.transfer(&plan.package, plan.size);
    let download = async {
        let result = client.download(url, &mut sink, &transfer).await;
        if let Err(e) = &result {
            // Tell the unpacker the input failed (it may already be gone).
            let _ = sink.tx.send(Err(io::Error::other(e.to_string()))).await;
        }
        drop(sink);
        result
    };
    let (downloaded, unpacked) = tokio::join!(download, unpack);
    transfer.finish();
    match (downloaded, unpacked) {
        (Ok(n), Ok(fetched)) => Ok((fetched, n)),
        // The download's own error says more than the unpacker's "input failed".
        (Err(e), Err(Error::Read { .. })) => Err(e),
        // The unpacker stopped first (corrupt package): its error is the cause.
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(e),
    }
}

/// Unpacks `input` on a blocking thread, hashing it; publishes only if the
/// whole input matches the planned size and SHA-256 and every vmlinux is
/// the planned release. Returns the vmlinux and the input's size and hash.
async fn unpack_blocking<R: Read + Send + 'static>(
    input: R,
    plan: &PlannedPackage,
    label: &str,
    out_dir: &Path,
    options: &FetchOptions,
) -> Result<(Vmlinux, u64, String)> {
    let label = label.to_owned();
    let out_dir = out_dir.to_owned();
    let mut unpack_options = options.unpack.clone();
    // Stop decompressing after the vmlinux only when the whole package is
    // then checked against a SHA-256 from a signed index or Launchpad; a
    // local file's hash is its own, so it is decompressed to its end.
    unpack_options.stop_after_vmlinux =
        matches!(plan.location, PackageLocation::Url(_)) && plan.sha256.is_some();
    // Modules as the plan's source asks (never for a companion's config).
    unpack_options.modules = plan.modules;
    let expected_size = plan.size;
    let expected_sha = plan.sha256.clone();
    let release = plan.image.release.clone();
    let target = unpack_options.target;
    let prefix = match target {
        crate::unpack::Target::Vmlinux => crate::unpack::VMLINUX_PREFIX,
        crate::unpack::Target::Config => crate::unpack::CONFIG_PREFIX,
    };
    tokio::task::spawn_blocking(move || {
        let mut hashed = HashingReader {
            inner: input,
            hasher: Sha256::new(),
            read: 0,
        };
        let mut sums: Option<(u64, String)> = None;
        let unpacked = unpack_vmlinux_checked(
            &mut hashed,
            &label,
            &out_dir,
            &unpack_options,
            |rest, staged| {
                io::copy(rest, &mut io::sink()).map_err(|source| Error::Read {
                    label: label.clone(),
                    source,
                })?;
                let size = rest.read;
                let sha = crate::hex(&rest.hasher.clone().finalize());
                if let Some(expected) = expected_size {
                    if size != expected {
                        return Err(Error::Mismatch {
                            url: label.clone(),
                            what: "size",
                            expected: expected.to_string(),
                            actual: size.to_string(),
                        });
                    }
                }
                if let Some(expected) = &expected_sha {
                    if &sha != expected {
                        return Err(Error::Mismatch {
                            url: label.clone(),
                            what: "SHA256",
                            expected: expected.clone(),
                            actual: sha,
                        });
                    }
                }
                let planned = staged.iter().find(|v| v.release == release);
                if planned.is_none() || staged.len() != 1 {
                    let found = staged
                        .iter()
                        .map(|v| format!("{prefix}{}", v.release))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let (label, expected) = (label.clone(), release.clone());
                    return Err(match target {
                        crate::unpack::Target::Vmlinux => Error::WrongRelease {
                            label,
                            expected,
                            found,
                        },
                        crate::unpack::Target::Config => Error::ConfigRelease {
                            label,
                            expected,
                            found,
                        },
                    });
                }
                sums = Some((size, sha));
                Ok(())
            },
        )?;
        let (size, sha) = sums.expect("the check ran before publishing");
        let vmlinux = unpacked
            .vmlinux
            .into_iter()
            .next()
            .expect("exactly one vmlinux was checked");
        Ok((vmlinux, size, sha))
    })
    .await
    .expect("unpack thread panicked")
}

/// Reads the GNU build-id note of an ELF file.
pub fn read_build_id(path: &Path) -> Result<Option<String>> {
    use object::Object;
    let io_err = |source| Error::Io {
        path: path.to_owned(),
        action: "reading the build-id",
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    // SAFETY: the file was just published by this process and is not
    // modified while mapped; a concurrent truncation would at worst raise
    // SIGBUS, as for any reader of the output directory.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
    let elf = object::File::parse(&*map).map_err(|e| io_err(io::Error::other(e.to_string())))?;
    let id = elf
        .build_id()
        .map_err(|e| io_err(io::Error::other(e.to_string())))?;
    Ok(id.map(crate::hex))
}

/// Hashes and counts what passes through.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The blocking side of a streamed download.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(e),
                Some(Ok(chunk)) => self.current = chunk,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The async side of a streamed download: it cannot start over, so a
/// server that ignores a Range request has its repeated prefix skipped.
struct StreamSink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    written: u64,
    url: String,
    /// The expected size: a longer body is refused as it arrives.
    limit: Option<u64>,
}

impl BodySink for StreamSink {
    fn written(&self) -> u64 {
        self.written
    }

    fn write(&mut self, chunk: Bytes) -> impl std::future::Future<Output = Result<()>> + Send {
        let over = self
            .limit
            .filter(|&limit| self.written + chunk.len() as u64 > limit);
        self.written += chunk.len() as u64;
        let tx = self.tx.clone();
        let url = self.url.clone();
        async move {
            if let Some(limit) = over {
                return Err(Error::Mismatch {
                    url,
                    what: "size",
                    expected: limit.to_string(),
                    actual: format!("more than {limit}"),
                });
            }
            tx.send(Ok(chunk)).await.map_err(|_| Error::Read {
                label: url,
                source: io::Error::other("the unpacker stopped reading"),
            })
        }
    }

    fn restart(&mut self) -> Result<bool> {
        Ok(false)
    }
}
