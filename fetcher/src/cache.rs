//! The content-addressed package cache: a verified package lives at
//! `<cache>/sha256/<first 2 hex>/<64 hex>.deb`, so a package is fetched
//! once whatever URL or run asks for it again.
//!
//! A download goes first to a partial file in `<cache>/tmp/` (same file
//! system) named after what is expected — `<sha256>.part`, or
//! `url-<sha256 of the URL>.part` when no hash is planned — and held under
//! an exclusive lock while written (see [`crate::partial`]). A download
//! killed in one process therefore leaves a partial that the next process
//! asking for the same package finds, locks and continues from its length
//! (an HTTP Range request); a second process asking while the first is
//! still downloading waits for it and then finds the package cached. Once
//! complete, the file is fsynced, checked against the expected size and
//! SHA-256, and only then renamed into `sha256/` (and the directory
//! fsynced): a file under `sha256/` is always complete and correct. A
//! partial that does not verify is removed (a resumed one is first
//! refetched from zero by the caller).
//!
//! [`Cache::open`] removes partials that nobody holds locked and that have
//! not been written to for [`KEEP_PARTIAL`] (kept until then so a later run
//! can resume them), and at once any other file in `tmp/` nobody holds.
//! Before each download the free space is checked against the bytes still
//! to come plus a margin.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::http::BodySink;
use crate::partial;

/// How long an abandoned partial download is kept for a later run to resume.
pub const KEEP_PARTIAL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The suffix of partial downloads in `tmp/`.
const PARTIAL_SUFFIX: &str = ".part";

/// A package cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    /// Free space required beyond a download's expected size.
    pub free_margin: u64,
}

/// What [`Cache::begin`] found.
pub enum Begun {
    /// The package is already cached (another process finished it while
    /// this one waited for its partial).
    Cached(PathBuf),
    /// A locked partial to write to; it may already hold a prefix.
    Writer(CacheWriter),
}

impl Cache {
    /// Opens (creating) the cache at `root` and removes what killed runs
    /// left in `tmp/` (see the module comment).
    pub fn open(root: &Path) -> Result<Self> {
        for dir in [root.join("sha256"), root.join("tmp")] {
            std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
                path: dir.clone(),
                action: "creating the cache directory",
                source,
            })?;
        }
        let cache = Self {
            root: root.to_owned(),
            free_margin: 256 << 20,
        };
        cache.sweep(KEEP_PARTIAL);
        Ok(cache)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes the files in `tmp/` that nobody holds locked: partial
    /// downloads last written more than `keep` ago, anything else at once.
    /// Returns the removed paths.
    pub fn sweep(&self, keep: Duration) -> Vec<PathBuf> {
        let now = SystemTime::now();
        let keep_partial = |path: &Path, meta: &std::fs::Metadata| {
            is_partial_name(path)
                && meta
                    .modified()
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_none_or(|age| age < keep)
        };
        partial::sweep(&self.root.join("tmp"), "", "", &keep_partial)
    }

    /// Where the package with this SHA-256 (lower-case hex) is kept.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root
            .join("sha256")
            .join(&sha256[..2.min(sha256.len())])
            .join(format!("{sha256}.deb"))
    }

    /// Where the partial download of a package is kept: named by its
    /// expected SHA-256, or by the SHA-256 of its URL when none is known.
    pub fn partial_path(&self, url: &str, sha256: Option<&str>) -> PathBuf {
        let name = match sha256.filter(|s| is_sha256(s)) {
            Some(sha) => format!("{sha}{PARTIAL_SUFFIX}"),
            None => format!(
                "url-{}{PARTIAL_SUFFIX}",
                crate::hex(&Sha256::digest(url.as_bytes()))
            ),
        };
        self.root.join("tmp").join(name)
    }

    /// The cached package with this hash, if present (and of `size` bytes
    /// when a size is given).
    pub fn lookup(&self, sha256: &str, size: Option<u64>) -> Option<PathBuf> {
        if !is_sha256(sha256) {
            return None;
        }
        let path = self.path_of(sha256);
        let meta = std::fs::metadata(&path).ok()?;
        (meta.is_file() && size.is_none_or(|s| s == meta.len())).then_some(path)
    }

    /// Refuses a download of `size` bytes (plus the margin) into `dir` when
    /// the file system has less room.
    pub fn check_space(dir: &Path, url: &str, size: u64, margin: u64) -> Result<()> {
        let stat = rustix::fs::statvfs(dir).map_err(|e| Error::Io {
            path: dir.to_owned(),
            action: "checking free disk space",
            source: e.into(),
        })?;
        let available = stat.f_bavail.saturating_mul(stat.f_frsize);
        let needed = size.saturating_add(margin);
        if available < needed {
            return Err(Error::DiskFull {
                path: dir.to_owned(),
                url: url.to_owned(),
                needed,
                available,
            });
        }
        Ok(())
    }

    /// Starts (or continues) a download of `url` into the cache: takes the
    /// partial's lock, waiting while another process holds it, and reads
    /// the prefix it already holds into the hash. A prefix longer than
    /// `size` is dropped. Then checks the free space against what is still
    /// to come. Blocks; run it off the async threads.
    pub fn begin(&self, url: &str, size: Option<u64>, sha256: Option<&str>) -> Result<Begun> {
        let path = self.partial_path(url, sha256);
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| Error::Io {
                path,
                action,
                source,
            }
        };
        let mut file = partial::open_locked(&path).map_err(io("opening the partial download"))?;
        if let Some(cached) = sha256.and_then(|sha| self.lookup(sha, size)) {
            // Finished by the process that held the lock before us; the
            // empty file we opened is removed while still ours.
            let _ = std::fs::remove_file(&path);
            drop(file);
            return Ok(Begun::Cached(cached));
        }
        let mut written = file
            .metadata()
            .map_err(io("reading the partial download"))?
            .len();
        if size.is_some_and(|size| written > size) {
            file.set_len(0).map_err(io("truncating"))?;
            written = 0;
        }
        let mut hasher = Sha256::new();
        if written > 0 {
            let mut buf = vec![0u8; 1 << 20];
            let mut left = written;
            file.rewind().map_err(io("reading the partial download"))?;
            while left > 0 {
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = file
                    .read(&mut buf[..want])
                    .map_err(io("reading the partial download"))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
            written -= left;
        }
        file.seek(SeekFrom::Start(written))
            .map_err(io("reading the partial download"))?;
        file.set_len(written).map_err(io("truncating"))?;
        let to_come = size.map_or(0, |s| s - written);
        Self::check_space(&self.root.join("tmp"), url, to_come, self.free_margin)?;
        Ok(Begun::Writer(CacheWriter {
            url: url.to_owned(),
            path,
            file,
            hasher,
            written,
            resumed_from: written,
            limit: size,
        }))
    }
}

/// Whether `path` is named like a partial download.
fn is_partial_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
        .is_some_and(|stem| is_sha256(stem) || stem.strip_prefix("url-").is_some_and(is_sha256))
}

/// A download on its way into the cache: the locked partial file.
pub struct CacheWriter {
    url: String,
    path: PathBuf,
    file: File,
    hasher: Sha256,
    written: u64,
    /// The partial's length when this process took it over.
    resumed_from: u64,
    /// The expected size: a longer body is refused as it arrives.
    limit: Option<u64>,
}

impl CacheWriter {
    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// Where the partial is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes a previous run had already downloaded (0 for a fresh start).
    pub fn resumed_from(&self) -> u64 {
        self.resumed_from
    }

    /// Drops the partial's content and starts from zero.
    pub fn start_over(&mut self) -> Result<()> {
        self.restart().map(|_| ())?;
        self.resumed_from = 0;
        Ok(())
    }

    /// Removes the partial (it did not verify).
    pub fn discard(self) {
        // Still holding the lock, so nobody else is using it.
        let _ = std::fs::remove_file(&self.path);
    }

    /// Fsyncs and checks size and SHA-256 against the expected values (when
    /// given). Returns the SHA-256. The partial stays as it is.
    pub fn verify(&mut self, size: Option<u64>, sha256: Option<&str>) -> Result<String> {
        self.file.sync_all().map_err(self.io("syncing"))?;
        let actual = crate::hex(&self.hasher.clone().finalize());
        if let Some(size) = size {
            if self.written != size {
                return Err(Error::Mismatch {
                    url: self.url.clone(),
                    what: "size",
                    expected: size.to_string(),
                    actual: self.written.to_string(),
                });
            }
        }
        if let Some(sha256) = sha256 {
            if actual != sha256 {
                return Err(Error::Mismatch {
                    url: self.url.clone(),
                    what: "SHA256",
                    expected: sha256.to_owned(),
                    actual,
                });
            }
        }
        Ok(actual)
    }

    /// Renames the verified partial into the cache as `sha256` (what
    /// [`CacheWriter::verify`] returned). Returns its path and size.
    pub fn publish(self, cache: &Cache, sha256: &str) -> Result<(PathBuf, u64)> {
        let path = cache.path_of(sha256);
        let dir = path.parent().expect("cache paths have a parent").to_owned();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            action: "creating the cache directory",
            source,
        })?;
        // Renamed while still locked: a process waiting for the partial
        // then finds its path gone and the package cached.
        std::fs::rename(&self.path, &path).map_err(|source| Error::Io {
            path: path.clone(),
            action: "renaming into the cache",
            source,
        })?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::Io {
                path: dir.clone(),
                action: "syncing the cache directory",
                source,
            })?;
        Ok((path, self.written))
    }
}

impl BodySink for CacheWriter {
    fn written(&self) -> u64 {
        self.written
    }

    fn write(&mut self, chunk: Bytes) -> impl std::future::Future<Output = Result<()>> + Send {
        if let Some(limit) = self.limit {
            if self.written + chunk.len() as u64 > limit {
                return std::future::ready(Err(Error::Mismatch {
                    url: self.url.clone(),
                    what: "size",
                    expected: limit.to_string(),
                    actual: format!("more than {limit}"),
                }));
            }
        }
        let result = self.file.write_all(&chunk).map_err(|source| Error::Io {
            path: self.path.clone(),
            action: "writing",
            source,
        });
        if result.is_ok() {
            self.hasher.update(&chunk);
            self.written += chunk.len() as u64;
        }
        std::future::ready(result)
    }

    fn restart(&mut self) -> Result<bool> {
        let file = &mut self.file;
        file.set_len(0)
            .and_then(|()| file.rewind())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                action: "truncating",
                source,
            })?;
        self.hasher = Sha256::new();
        self.written = 0;
        Ok(true)
    }
}

/// 64 lower-case hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
