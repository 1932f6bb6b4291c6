//! The content-addressed package cache: a verified package lives at
//! `<cache>/sha256/<first 2 hex>/<64 hex>.deb`, so a package is fetched
//! once whatever URL or run asks for it again. Downloads go to a hidden temp
//! file in `<cache>/tmp/` (same file system), are fsynced, checked against
//! the expected size and SHA-256, and only then renamed into place (and the
//! directory fsynced): a file under `sha256/` is always complete and
//! correct. A failed or mismatched download removes its temp file; one
//! killed outright leaves a `tmp/` file that the next [`Cache::open`] clears.
//! Before each download the free space is checked against the expected size
//! plus a margin.

use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::http::BodySink;

/// Temp files in `tmp/` older than this are left by a killed run and removed.
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);

/// A package cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    /// Free space required beyond a download's expected size.
    pub free_margin: u64,
}

impl Cache {
    /// Opens (creating) the cache at `root` and removes stale temp files.
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
        cache.clear_stale(STALE_TMP);
        Ok(cache)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes temp files older than `age` (what a killed download left).
    pub fn clear_stale(&self, age: Duration) {
        let Ok(entries) = std::fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|d| d >= age);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Where the package with this SHA-256 (lower-case hex) is kept.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root
            .join("sha256")
            .join(&sha256[..2.min(sha256.len())])
            .join(format!("{sha256}.deb"))
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

    /// Starts a download of `url` into the cache, after the free-space check
    /// against `size` when it is known.
    pub fn begin(&self, url: &str, size: Option<u64>) -> Result<CacheWriter> {
        let tmp_dir = self.root.join("tmp");
        Self::check_space(&tmp_dir, url, size.unwrap_or(0), self.free_margin)?;
        let file = tempfile::Builder::new()
            .prefix(".download-")
            .suffix(".part")
            .tempfile_in(&tmp_dir)
            .map_err(|source| Error::Io {
                path: tmp_dir.clone(),
                action: "creating a temp file",
                source,
            })?;
        Ok(CacheWriter {
            url: url.to_owned(),
            file,
            hasher: Sha256::new(),
            written: 0,
            limit: size,
        })
    }
}

/// A download on its way into the cache.
pub struct CacheWriter {
    url: String,
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    written: u64,
    /// The expected size: a longer body is refused as it arrives.
    limit: Option<u64>,
}

impl CacheWriter {
    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: self.file.path().to_owned(),
            action,
            source,
        }
    }

    /// Fsyncs, checks size and SHA-256 against the expected values (when
    /// given) and renames the file into the cache. Returns its path, size
    /// and SHA-256. On a mismatch the temp file is removed and nothing
    /// enters the cache.
    pub fn finish(
        self,
        cache: &Cache,
        size: Option<u64>,
        sha256: Option<&str>,
    ) -> Result<(PathBuf, u64, String)> {
        self.file.as_file().sync_all().map_err(self.io("syncing"))?;
        let actual = crate::hex(&self.hasher.clone().finalize());
        if let Some(size) = size {
            if self.written != size {
                return Err(Error::Mismatch {
                    url: self.url,
                    what: "size",
                    expected: size.to_string(),
                    actual: self.written.to_string(),
                });
            }
        }
        if let Some(sha256) = sha256 {
            if actual != sha256 {
                return Err(Error::Mismatch {
                    url: self.url,
                    what: "SHA256",
                    expected: sha256.to_owned(),
                    actual,
                });
            }
        }
        let path = cache.path_of(&actual);
        let dir = path.parent().expect("cache paths have a parent").to_owned();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            action: "creating the cache directory",
            source,
        })?;
        self.file.persist(&path).map_err(|e| Error::Io {
            path: path.clone(),
            action: "renaming into the cache",
            source: e.error,
        })?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::Io {
                path: dir.clone(),
                action: "syncing the cache directory",
                source,
            })?;
        Ok((path, self.written, actual))
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
        let result = self
            .file
            .as_file()
            .write_all(&chunk)
            .map_err(self.io("writing"));
        if result.is_ok() {
            self.hasher.update(&chunk);
            self.written += chunk.len() as u64;
        }
        std::future::ready(result)
    }

    fn restart(&mut self) -> Result<bool> {
        let file = self.file.as_file_mut();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .map_err(|source| Error::Io {
                path: self.file.path().to_owned(),
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
