//! In-progress files and directories — a vmlinux or a tree of kernel
//! modules being unpacked, a package being downloaded into the cache — and
//! telling the ones a killed run abandoned from the ones another run is
//! still writing, without guessing by age.
//!
//! A writer holds an exclusive advisory lock (`flock`) on its file for as
//! long as it has the file open. The kernel drops the lock when the file is
//! closed, which happens however the process ends (kill -9 included). So a
//! file that can be locked is abandoned, and one that cannot is in use.
//!
//! A directory is locked the same way, through a descriptor of the
//! directory itself ([`LockedTempDir`]).
//!
//! Creating and locking a file are two steps, and another process may
//! sweep the file in between (it can still lock it). So after locking, the
//! writer checks that its path still names the file it locked, and starts
//! over if not. The sweeper checks the same before it removes anything.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// Attempts at creating a file that stays in place once locked.
const CREATE_ATTEMPTS: usize = 16;

/// Takes `file`'s exclusive lock without waiting: `Ok(false)` if another
/// open file (in this process or another) holds it.
pub fn try_lock(file: &File) -> io::Result<bool> {
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Takes `file`'s exclusive lock, waiting for its holder to close it.
pub fn lock(file: &File) -> io::Result<()> {
    flock(file, FlockOperation::LockExclusive).map_err(Into::into)
}

/// Whether `path` still names the open `file`.
pub fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    let open = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates a new temp file `<dir>/<prefix><random><suffix>`, locked (see
/// the module comment). `mode` is its permission bits.
pub fn create_locked_temp(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    mode: u32,
) -> io::Result<tempfile::NamedTempFile> {
    for _ in 0..CREATE_ATTEMPTS {
        let mut builder = tempfile::Builder::new();
        builder.prefix(prefix).suffix(suffix);
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
        let tmp = builder.tempfile_in(dir)?;
        if try_lock(tmp.as_file())? && still_at(tmp.as_file(), tmp.path())? {
            return Ok(tmp);
        }
        // Swept between creation and lock: it is gone; make another. (A
        // `NamedTempFile` whose path names nothing is dropped quietly.)
    }
    Err(io::Error::other(format!(
        "{}: temp files kept disappearing before they could be locked",
        dir.display()
    )))
}

/// A new directory `<dir>/<prefix><random><suffix>`, locked (the lock is
/// held on a descriptor of the directory for as long as this value lives).
/// Dropped, it removes the directory and everything in it, unless
/// [`LockedTempDir::keep`] was called.
pub struct LockedTempDir {
    path: PathBuf,
    lock: File,
    keep: bool,
}

impl LockedTempDir {
    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open (and locked) directory, e.g. to fsync it.
    pub fn as_file(&self) -> &File {
        &self.lock
    }

    /// Stops the removal on drop (once the directory has been renamed into
    /// place); the lock goes with the value.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for LockedTempDir {
    fn drop(&mut self) {
        // Removed only while the path still names the directory locked
        // here: after a rename it names something else.
        if !self.keep && matches!(still_at(&self.lock, &self.path), Ok(true)) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Creates a new directory `<dir>/<prefix><random><suffix>` (mode 0755),
/// locked (see the module comment).
pub fn create_locked_temp_dir(dir: &Path, prefix: &str, suffix: &str) -> io::Result<LockedTempDir> {
    for _ in 0..CREATE_ATTEMPTS {
        let tmp = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(suffix)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .tempdir_in(dir)?;
        let lock = File::open(tmp.path())?;
        if try_lock(&lock)? && still_at(&lock, tmp.path())? {
            return Ok(LockedTempDir {
                path: tmp.keep(),
                lock,
                keep: false,
            });
        }
        // Swept between creation and lock; the `TempDir` drop finds nothing.
    }
    Err(io::Error::other(format!(
        "{}: temp directories kept disappearing before they could be locked",
        dir.display()
    )))
}

/// Opens (creating if needed) the file at `path` for reading and writing,
/// waiting for its lock; the file is never truncated. Returns it locked,
/// with the guarantee that `path` names it.
pub fn open_locked(path: &Path) -> io::Result<File> {
    for _ in 0..CREATE_ATTEMPTS {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        lock(&file)?;
        if still_at(&file, path)? {
            return Ok(file);
        }
        // Its previous holder renamed or removed it while we waited.
    }
    Err(io::Error::other(format!(
        "{}: kept being replaced while waiting for its lock",
        path.display()
    )))
}

/// Removes the files in `dir` (not below) whose names start with `prefix`
/// and end with `suffix` and that nobody holds locked. `keep` may spare a
/// lockable file (given its path and metadata). Returns the removed paths,
/// sorted. A directory that cannot be read sweeps nothing.
pub fn sweep(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    keep: &dyn Fn(&Path, &std::fs::Metadata) -> bool,
) -> Vec<PathBuf> {
    sweep_entries(
        dir,
        prefix,
        suffix,
        &|path| {
            let file = File::open(path).ok()?;
            let meta = file.metadata().ok()?;
            (meta.is_file() && !keep(path, &meta)).then_some(file)
        },
        &|path| std::fs::remove_file(path),
        "removed a file a killed run left",
    )
}

/// Removes the directories in `dir` (not below) whose names start with
/// `prefix` and end with `suffix` and that nobody holds locked, with
/// everything in them (symbolic links inside are removed, not followed).
/// Returns the removed paths, sorted. A directory that cannot be read
/// sweeps nothing.
pub fn sweep_dirs(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    sweep_entries(
        dir,
        prefix,
        suffix,
        &|path| {
            // Not through a symbolic link: only a real directory is ours.
            let meta = std::fs::symlink_metadata(path).ok()?;
            meta.is_dir().then(|| File::open(path).ok()).flatten()
        },
        &|path| std::fs::remove_dir_all(path),
        "removed a directory a killed run left",
    )
}

/// The one sweep loop: each entry of `dir` named `prefix…suffix` that
/// `claim` opens (`None`: not ours to remove), that nobody holds locked and
/// that is still at its path, is removed by `remove`. Sorted paths.
fn sweep_entries(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    claim: &dyn Fn(&Path) -> Option<File>,
    remove: &dyn Fn(&Path) -> io::Result<()>,
    what: &str,
) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(prefix) && name.ends_with(suffix)) {
            continue;
        }
        let path = entry.path();
        let Some(file) = claim(&path) else { continue };
        if matches!(try_lock(&file), Ok(true))
            && matches!(still_at(&file, &path), Ok(true))
            && remove(&path).is_ok()
        {
            tracing::info!(path = %path.display(), "{what}");
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_files_are_kept_and_abandoned_ones_swept() {
        let dir = tempfile::tempdir().unwrap();
        let held = create_locked_temp(dir.path(), ".x-", ".part", 0o644).unwrap();
        // Abandoned: created by someone whose file is closed now.
        let abandoned = dir.path().join(".x-abandoned.part");
        std::fs::write(&abandoned, b"half").unwrap();
        let other = dir.path().join("y.part");
        std::fs::write(&other, b"not ours").unwrap();
        let removed = sweep(dir.path(), ".x-", ".part", &|_, _| false);
        assert_eq!(removed, [abandoned]);
        assert!(held.path().exists());
        assert!(other.exists());
        // Another open file of the same path cannot lock it while it is held.
        let second = File::open(held.path()).unwrap();
        assert!(!try_lock(&second).unwrap());
        let path = held.path().to_owned();
        drop(held);
        assert!(!path.exists(), "a dropped temp file removes itself");
    }

    #[test]
    fn locked_dirs_are_kept_and_abandoned_ones_swept() {
        let dir = tempfile::tempdir().unwrap();
        let held = create_locked_temp_dir(dir.path(), ".m-", ".part").unwrap();
        std::fs::write(held.path().join("a.ko"), b"x").unwrap();
        let abandoned = dir.path().join(".m-abandoned.part");
        std::fs::create_dir_all(abandoned.join("kernel/fs")).unwrap();
        std::fs::write(abandoned.join("kernel/fs/x.ko"), b"half").unwrap();
        // A file of the same name pattern is not a directory: not swept here.
        let file = dir.path().join(".m-file.part");
        std::fs::write(&file, b"f").unwrap();
        let removed = sweep_dirs(dir.path(), ".m-", ".part");
        assert_eq!(removed, std::slice::from_ref(&abandoned));
        assert!(!abandoned.exists());
        assert!(held.path().join("a.ko").exists());
        assert!(file.exists());
        let path = held.path().to_owned();
        drop(held);
        assert!(!path.exists(), "a dropped temp dir removes itself");
        let kept = create_locked_temp_dir(dir.path(), ".m-", ".part").unwrap();
        let kept_path = kept.path().to_owned();
        kept.keep();
        assert!(kept_path.is_dir());
    }

    #[test]
    fn open_locked_keeps_content_and_waits_for_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        std::fs::write(&path, b"abc").unwrap();
        let first = open_locked(&path).unwrap();
        assert_eq!(first.metadata().unwrap().len(), 3);
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let f = open_locked(&p).unwrap();
            f.metadata().unwrap().len()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        // The holder publishes the file elsewhere and closes it: the waiter
        // gets a fresh empty file at the path, not the published one.
        std::fs::rename(&path, dir.path().join("done")).unwrap();
        drop(first);
        assert_eq!(waiter.join().unwrap(), 0);
    }
}
