//! Streaming extraction of the vmlinux from a Debian-format binary package
//! (.deb/.ddeb): `ar` archive → `data.tar.*` member → decoder chosen by
//! magic bytes → tar → the regular files `usr/lib/debug/boot/vmlinux-*`,
//! hashed (SHA-256) while written. Reads its input once, front to back, so
//! it can be fed from a download as it arrives. The same reader takes the
//! build configuration `boot/config-<release>` out of a kernel's image
//! package, or `usr/lib/linux/<release>/config` out of Ubuntu's
//! `linux-buildinfo-<release>` ([`Target::Config`], [`unpack_config_file`]),
//! with the same checks. With [`UnpackOptions::modules`] the same pass also
//! writes every kernel module of the debug tree
//! (`usr/lib/debug/lib/modules/<release>/…/*.ko`, `.ko.xz`, `.ko.zst`,
//! the last two decompressed) into `modules-<release>/` beside the vmlinux
//! ([`Modules`]); a module that does not decompress is recorded
//! ([`FailedModule`]) and costs that module only.
//!
//! Safety: every entry's path is checked (absolute or `..` refuses the
//! package); a vmlinux name on anything but a regular file, an entry over
//! the size cap, a tar extension header over 1 MiB, more decompressed bytes
//! than the total cap, a short member, a corrupt stream or a missing tar
//! end-of-archive marker all refuse the package (with
//! [`UnpackOptions::stop_after_vmlinux`], only in what is decompressed: the
//! rest is read raw, for the caller's hash). The whole package is
//! checked before anything is published: output goes to hidden temp files in
//! the output directory, each fsynced, and only once the package has been
//! read to its end are they renamed to `vmlinux-<release>` (and the
//! directory fsynced). On error the temp files are removed, so no partial
//! file is ever visible. A run killed outright leaves its hidden temp files
//! behind; they are locked while written, and the next unpack into the same
//! directory removes the ones nobody holds ([`sweep_parts`]).
//!
//! Modules follow the same rules: their entries' paths are checked like
//! any other (a `.ko` name on a link or any other non-regular entry refuses
//! the package), their count and decompressed bytes are capped per package
//! ([`UnpackOptions::max_modules`], [`UnpackOptions::max_module_bytes`]),
//! and they are written into a hidden, locked temp directory
//! (`.modules-<release>-<random>.part/`), each file fsynced, renamed to
//! `modules-<release>/` only when the vmlinux is published.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::compression::{Compression, MAGIC_LEN};
use crate::error::{Error, Result};

/// Where Debian-format kernel debug packages keep the vmlinux.
pub const VMLINUX_DIR: [&str; 4] = ["usr", "lib", "debug", "boot"];
/// The file-name prefix of the vmlinux in [`VMLINUX_DIR`]; the rest is the release.
pub const VMLINUX_PREFIX: &str = "vmlinux-";
/// Where kernel image packages (Debian's `linux-image-<release>`, Ubuntu's
/// `linux-modules-<release>`) keep the build configuration.
pub const CONFIG_DIR: [&str; 1] = ["boot"];
/// The file-name prefix of the config in [`CONFIG_DIR`]; the rest is the release.
pub const CONFIG_PREFIX: &str = "config-";
/// Where Ubuntu's `linux-buildinfo-<release>` keeps the same text:
/// `usr/lib/linux/<release>/config` ([`BUILDINFO_CONFIG`] in the release's
/// directory).
pub const BUILDINFO_DIR: [&str; 3] = ["usr", "lib", "linux"];
/// The config's file name in [`BUILDINFO_DIR`]`/<release>/`.
pub const BUILDINFO_CONFIG: &str = "config";

/// Where Debian-format kernel debug packages keep the kernel modules:
/// `usr/lib/debug/lib/modules/<release>/…` (Debian and Ubuntu both keep
/// them below `kernel/` there).
pub const MODULES_DIR: [&str; 5] = ["usr", "lib", "debug", "lib", "modules"];
/// The name prefix of a release's module directory in the output:
/// `modules-<release>`.
pub const MODULES_PREFIX: &str = "modules-";
/// Names of the temp directories modules are written to before they are
/// published: `.modules-<release>-<random>.part`, locked while written.
pub const MODULES_PART_PREFIX: &str = ".modules-";

/// Which regular files an unpack writes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// `usr/lib/debug/boot/vmlinux-<release>`, of a kernel debug package.
    #[default]
    Vmlinux,
    /// `boot/config-<release>`, of a kernel image package (Debian's
    /// `linux-image-*`, Ubuntu's `linux-modules-*`), or
    /// `usr/lib/linux/<release>/config` (Ubuntu's `linux-buildinfo-*`);
    /// written out as `config-<release>` either way. When a package holds
    /// both for one release, the first in the package is taken.
    Config,
}

impl Target {
    /// The directory (path components) and file-name prefix of the files.
    fn place(self) -> (&'static [&'static str], &'static str) {
        match self {
            Target::Vmlinux => (&VMLINUX_DIR, VMLINUX_PREFIX),
            Target::Config => (&CONFIG_DIR, CONFIG_PREFIX),
        }
    }
}

/// Names of the temp files a vmlinux is written to before it is published:
/// `.vmlinux-<random>.part`, locked while written (see [`crate::partial`]).
pub const PART_PREFIX: &str = ".vmlinux-";
pub const PART_SUFFIX: &str = ".part";

/// Removes the vmlinux temp files and module temp directories in `out_dir`
/// that no one is writing (a killed run's). Returns their paths, sorted.
pub fn sweep_parts(out_dir: &Path) -> Vec<PathBuf> {
    let mut removed = crate::partial::sweep(out_dir, PART_PREFIX, PART_SUFFIX, &|_, _| false);
    removed.extend(crate::partial::sweep_dirs(
        out_dir,
        MODULES_PART_PREFIX,
        PART_SUFFIX,
    ));
    removed.sort();
    removed
}

/// Limit on the bytes of tar extension headers (GNU long names, PAX
/// records) before one entry; the tar reader holds them in memory.
const HEADER_CAP: u64 = 1 << 20;
/// Read and write buffer size.
const BUF: usize = 1 << 20;

/// Limits and tuning for [`unpack_vmlinux`].
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Largest tar entry accepted, in bytes (default 4 GiB).
    pub max_entry_size: u64,
    /// Most decompressed `data.tar` bytes read before the package is taken
    /// for a decompression bomb (default 16 GiB).
    pub max_total_size: u64,
    /// xz decoder threads: 0 (default) one per available core, 1 the
    /// single-threaded decoder.
    pub xz_threads: u32,
    /// Stop decompressing once no later tar entry can be a vmlinux (default
    /// false). That is the case when the entries read so far, vmlinux
    /// included, come in ascending path order (compared component by
    /// component; symbolic links aside, which dpkg-deb writes last) and the
    /// current one, not a symbolic link, sorts after `usr/lib/debug/boot/`.
    /// The rest of the data member and the package are still read, raw, so
    /// the caller's hash and the member's size check cover every byte; what
    /// is not decompressed is not checked for corruption, and an unsorted
    /// tail is not looked at. Turn it on only when the caller verifies the
    /// whole input against a trusted hash (a signed index's SHA-256): a
    /// Debian kernel -dbg package keeps its vmlinux in its first third
    /// (cloud-amd64) or first 6% (arm64) of decompressed bytes.
    pub stop_after_vmlinux: bool,
    /// Which files to write out (default: the vmlinux).
    pub target: Target,
    /// With [`Target::Vmlinux`], also write out every kernel module of the
    /// package (default false): each regular file below
    /// `usr/lib/debug/lib/modules/<release>/` whose name ends `.ko`,
    /// `.ko.xz` or `.ko.zst`, to `<out_dir>/modules-<release>/<path below
    /// the release's directory>` with `.xz`/`.zst` decompressed and removed
    /// (`kernel/fs/xfs/xfs.ko`); see [`Modules`]. With
    /// [`UnpackOptions::stop_after_vmlinux`] the unpacker then stops only
    /// once past `usr/lib/debug/lib/modules/` as well.
    pub modules: bool,
    /// Most modules written per package (default 20,000; a Debian 6.1
    /// cloud-amd64 package has 1,121, a generic amd64 one about 4,000).
    /// One more refuses the package ([`Error::TooManyModules`]).
    pub max_modules: u64,
    /// Most decompressed module bytes per package, counting the bytes of
    /// modules that failed (default 16 GiB). Over it the package is
    /// refused ([`Error::ModulesTooLarge`]). One module is also held to
    /// [`UnpackOptions::max_entry_size`] once decompressed (over it, that
    /// module fails).
    pub max_module_bytes: u64,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        Self {
            max_entry_size: 4 << 30,
            max_total_size: 16 << 30,
            xz_threads: 0,
            stop_after_vmlinux: false,
            target: Target::Vmlinux,
            modules: false,
            max_modules: 20_000,
            max_module_bytes: 16 << 30,
        }
    }
}

/// One vmlinux written out (with [`Target::Config`], one config file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmlinux {
    /// `<out_dir>/vmlinux-<release>` (`<out_dir>/config-<release>`).
    pub path: PathBuf,
    /// The tar entry's path as the package spells it.
    pub entry: String,
    /// The kernel release, from the file name (`vmlinux-<release>`,
    /// `config-<release>`).
    pub release: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// The release's kernel modules, when [`UnpackOptions::modules`] asked
    /// for them and the package has at least one module entry of the
    /// release; `None` otherwise (no directory is written) and for
    /// [`Target::Config`].
    pub modules: Option<Modules>,
}

/// The kernel modules of one release, written out beside its vmlinux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modules {
    /// `<out_dir>/modules-<release>`: each module at its path below the
    /// package's `usr/lib/debug/lib/modules/<release>/`, with a `.xz` or
    /// `.zst` suffix removed and the file decompressed
    /// (`kernel/fs/xfs/xfs.ko`).
    pub dir: PathBuf,
    /// Modules written.
    pub count: u64,
    /// Their bytes, decompressed.
    pub bytes: u64,
    /// The modules that could not be decompressed, in package order; none
    /// of their bytes is in `dir`.
    pub failed: Vec<FailedModule>,
}

/// A module entry that did not decompress (the package's other files are
/// unaffected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedModule {
    /// The path it would have had below [`Modules::dir`].
    pub path: String,
    /// The tar entry's path as the package spells it.
    pub entry: String,
    /// What went wrong (the decoder's words, or the size cap).
    pub message: String,
}

/// What [`unpack_vmlinux`] found and wrote.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// In package order; at least one.
    pub vmlinux: Vec<Vmlinux>,
    /// The data member's name, e.g. `data.tar.xz`.
    pub member: String,
    pub compression: Compression,
    /// Decompressed bytes of the data member read: all of them unless the
    /// unpacker stopped early ([`UnpackOptions::stop_after_vmlinux`]).
    pub data_size: u64,
    /// Whether the unpacker stopped decompressing after the vmlinux.
    pub stopped_early: bool,
}

/// [`unpack_vmlinux`] on a file, labelled with its path.
pub fn unpack_vmlinux_file(
    package: &Path,
    out_dir: &Path,
    options: &UnpackOptions,
) -> Result<Unpacked> {
    let label = package.display().to_string();
    let file = File::open(package).map_err(|source| Error::Read {
        label: label.clone(),
        source,
    })?;
    unpack_vmlinux(file, &label, out_dir, options)
}

/// Writes the build configuration of a kernel image package
/// (`linux-image-<release>_*.deb` and the like), each regular file
/// `boot/config-<release>` in it, to `<out_dir>/config-<release>`, with
/// every check [`unpack_vmlinux`] makes of the package.
pub fn unpack_config_file(package: &Path, out_dir: &Path) -> Result<Unpacked> {
    let options = UnpackOptions {
        target: Target::Config,
        ..UnpackOptions::default()
    };
    unpack_vmlinux_file(package, out_dir, &options)
}

/// Reads a Debian-format binary package from `input` to its data member's
/// end and writes each regular file `usr/lib/debug/boot/vmlinux-<release>`
/// in it to `<out_dir>/vmlinux-<release>` (creating `out_dir` if needed),
/// atomically. `label` names the package in errors.
pub fn unpack_vmlinux<R: Read>(
    input: R,
    label: &str,
    out_dir: &Path,
    options: &UnpackOptions,
) -> Result<Unpacked> {
    unpack_vmlinux_checked(input, label, out_dir, options, |_, _| Ok(()))
}

/// [`unpack_vmlinux`] with a last say for the caller: once the data member
/// has been read to its end and every vmlinux is staged (written, fsynced,
/// not yet visible), `check` gets the input reader, positioned just after the
/// data member, and the staged files' descriptions (`path` is where each
/// will be published). If `check` fails, the staged files are removed and
/// its error returned; nothing is published. A download uses this to read
/// the rest of the package and compare its size and SHA-256 with the index
/// before the vmlinux appears.
pub fn unpack_vmlinux_checked<R, F>(
    input: R,
    label: &str,
    out_dir: &Path,
    options: &UnpackOptions,
    check: F,
) -> Result<Unpacked>
where
    R: Read,
    F: FnOnce(&mut R, &[Vmlinux]) -> Result<()>,
{
    let meter = Rc::new(Meter::new(options.max_total_size));
    let mut ar = ar::Archive::new(InputReader {
        inner: input,
        meter: meter.clone(),
    });
    let not_deb = |message: String| Error::NotDeb {
        label: label.to_owned(),
        message,
    };
    match ar.next_entry() {
        None => return Err(not_deb("empty".to_owned())),
        Some(Err(e)) => {
            return Err(match meter.input_error.take() {
                Some(source) => Error::Read {
                    label: label.to_owned(),
                    source,
                },
                None => not_deb(e.to_string()),
            })
        }
        Some(Ok(first)) if first.header().identifier() != b"debian-binary" => {
            return Err(not_deb(format!(
                "first member is {:?}, not \"debian-binary\"",
                String::from_utf8_lossy(first.header().identifier())
            )))
        }
        Some(Ok(_)) => {}
    }
    let (staged, member) = loop {
        let entry = match ar.next_entry() {
            None => {
                return Err(Error::MissingData {
                    label: label.to_owned(),
                })
            }
            Some(Err(e)) => {
                let ctx = Ctx {
                    label,
                    member: "ar archive",
                    meter: &meter,
                    limit: options.max_total_size,
                };
                return Err(ctx.classify(e, ""));
            }
            Some(Ok(entry)) => entry,
        };
        if entry.header().identifier().starts_with(b"data.tar") {
            let member = String::from_utf8_lossy(entry.header().identifier()).into_owned();
            meter.member_size.set(entry.header().size());
            let ctx = Ctx {
                label,
                member: &member,
                meter: &meter,
                limit: options.max_total_size,
            };
            let staged = extract_data(entry, &ctx, out_dir, options)?;
            break (staged, member);
        }
    };
    let ctx = Ctx {
        label,
        member: &member,
        meter: &meter,
        limit: options.max_total_size,
    };
    let mut input = ar.into_inner().map_err(|e| ctx.classify(e, ""))?.inner;
    let described: Vec<Vmlinux> = staged.pending.iter().map(|(_, v)| v.clone()).collect();
    // On error the staged temp files are dropped, which removes them.
    check(&mut input, &described)?;
    publish(staged, &ctx, out_dir)
}

/// Error context: which package and member, and the shared meter that tells
/// what went wrong underneath an `io::Error`.
struct Ctx<'a> {
    label: &'a str,
    member: &'a str,
    meter: &'a Meter,
    limit: u64,
}

impl Ctx<'_> {
    /// Turns an error from reading the archive into the crate's error,
    /// preferring what the meter saw (input failure, caps, short member)
    /// over the decoder's or tar reader's wording. `within` is prefixed to
    /// the message (e.g. the entry being read).
    fn classify(&self, e: io::Error, within: &str) -> Error {
        let label = self.label.to_owned();
        let member = self.member.to_owned();
        let m = self.meter;
        if let Some(source) = m.input_error.take() {
            return Error::Read { label, source };
        }
        if m.cap_hit.get() {
            return Error::TooMuchData {
                label,
                member,
                limit: self.limit,
            };
        }
        if m.budget_hit.get() {
            return Error::HeaderTooLarge {
                label,
                member,
                limit: HEADER_CAP,
            };
        }
        if let Some(message) = self.short_member() {
            return Error::Truncated {
                label,
                member,
                message,
            };
        }
        let eof = m.data_eof.get();
        let message = format!("{within}{}", error_chain(&e));
        if eof || e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Truncated {
                label,
                member,
                message,
            }
        } else {
            Error::Corrupt {
                label,
                member,
                message,
            }
        }
    }

    /// The package ended inside the member.
    fn short_member(&self) -> Option<String> {
        let m = self.meter;
        (m.member_eof.get() && m.member_read.get() < m.member_size.get()).then(|| {
            format!(
                "the package ends {} bytes into this {}-byte member",
                m.member_read.get(),
                m.member_size.get()
            )
        })
    }

    fn truncated(&self, message: String) -> Error {
        Error::Truncated {
            label: self.label.to_owned(),
            member: self.member.to_owned(),
            message,
        }
    }

    fn output(&self, path: &Path, source: io::Error) -> Error {
        Error::Output {
            label: self.label.to_owned(),
            path: path.to_owned(),
            source,
        }
    }
}

/// The vmlinux files of a package, written to temp files but not published,
/// and their releases' module directories (temp directory, final path).
struct Staged {
    pending: Vec<(tempfile::NamedTempFile, Vmlinux)>,
    modules: Vec<(crate::partial::LockedTempDir, PathBuf)>,
    compression: Compression,
    data_size: u64,
    stopped_early: bool,
}

fn extract_data<R: Read>(
    mut entry: ar::Entry<'_, R>,
    ctx: &Ctx<'_>,
    out_dir: &Path,
    options: &UnpackOptions,
) -> Result<Staged> {
    let meter = ctx.meter;
    let mut member = MemberReader {
        inner: &mut entry,
        meter,
    };
    let mut head = Vec::with_capacity(MAGIC_LEN);
    (&mut member)
        .take(MAGIC_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| ctx.classify(e, ""))?;
    let compression = Compression::detect(&head).ok_or_else(|| {
        if let Some(message) = ctx.short_member() {
            return ctx.truncated(message);
        }
        if head.is_empty() {
            return Error::Corrupt {
                label: ctx.label.to_owned(),
                member: ctx.member.to_owned(),
                message: "the member is empty".to_owned(),
            };
        }
        Error::UnknownCompression {
            label: ctx.label.to_owned(),
            member: ctx.member.to_owned(),
            magic: crate::hex(&head[..head.len().min(8)]),
        }
    })?;
    tracing::debug!(package = ctx.label, member = ctx.member, %compression, "unpacking");
    std::fs::create_dir_all(out_dir).map_err(|e| ctx.output(out_dir, e))?;
    sweep_parts(out_dir);

    let compressed = BufReader::with_capacity(BUF, io::Cursor::new(head).chain(&mut member));
    let decoder = compression
        .decoder(compressed, options.xz_threads)
        .map_err(|e| ctx.classify(e, "starting the decoder: "))?;
    let mut archive = tar::Archive::new(DataReader {
        inner: BufReader::with_capacity(BUF, decoder),
        meter,
    });
    let Scanned {
        mut pending,
        modules,
        stopped_early,
    } = scan(&mut archive, ctx, out_dir, options)?;
    if stopped_early {
        // No later entry can be a vmlinux: drop the decoder and read the
        // rest of the member raw.
        tracing::debug!(
            package = ctx.label,
            decompressed = meter.data_read.get(),
            "stopped after the vmlinux"
        );
        drop(archive);
    } else {
        if meter.data_eof.get() {
            return Err(
                ctx.truncated("the tar archive ends without its end-of-archive marker".into())
            );
        }
        // Read the rest of the stream (tar padding) so the decoder reaches
        // its end and verifies its checks, then the rest of the member.
        meter.budget.set(u64::MAX);
        let mut data = archive.into_inner();
        io::copy(&mut data, &mut io::sink())
            .map_err(|e| ctx.classify(e, "after the tar archive: "))?;
    }
    io::copy(&mut member, &mut io::sink()).map_err(|e| ctx.classify(e, ""))?;
    if let Some(message) = ctx.short_member() {
        return Err(ctx.truncated(message));
    }
    if pending.is_empty() {
        let (label, member) = (ctx.label.to_owned(), ctx.member.to_owned());
        return Err(match options.target {
            Target::Vmlinux => Error::NoVmlinux { label, member },
            Target::Config => Error::NoConfig { label, member },
        });
    }
    let modules = if wants_modules(options) {
        attach_modules(&mut pending, modules, ctx, out_dir)?
    } else {
        Vec::new()
    };

    Ok(Staged {
        pending,
        modules,
        compression,
        data_size: meter.data_read.get(),
        stopped_early,
    })
}

/// Renames every staged temp file into place (undoing the renames on
/// failure) and fsyncs the directory.
fn publish(staged: Staged, ctx: &Ctx<'_>, out_dir: &Path) -> Result<Unpacked> {
    // Module directories first: the vmlinux is the last to appear.
    let mut published: Vec<PathBuf> = Vec::with_capacity(staged.modules.len());
    let undo_dirs = |published: &[PathBuf]| {
        for dir in published {
            let _ = std::fs::remove_dir_all(dir);
        }
    };
    for (tmp, target) in staged.modules {
        if let Err(e) = replace_dir(&tmp, &target) {
            undo_dirs(&published);
            return Err(ctx.output(&target, e));
        }
        tmp.keep();
        published.push(target);
    }
    let mut vmlinux: Vec<Vmlinux> = Vec::with_capacity(staged.pending.len());
    for (tmp, v) in staged.pending {
        if let Err(e) = tmp.persist(&v.path) {
            for done in &vmlinux {
                let _ = std::fs::remove_file(&done.path);
            }
            undo_dirs(&published);
            return Err(ctx.output(&v.path, e.error));
        }
        vmlinux.push(v);
    }
    File::open(out_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ctx.output(out_dir, e))?;
    Ok(Unpacked {
        vmlinux,
        member: ctx.member.to_owned(),
        compression: staged.compression,
        data_size: staged.data_size,
        stopped_early: staged.stopped_early,
    })
}

/// What [`scan`] staged (the vmlinux files, the modules by release), and
/// whether it stopped before the tar's end.
struct Scanned {
    pending: Vec<(tempfile::NamedTempFile, Vmlinux)>,
    modules: BTreeMap<String, StagedModules>,
    stopped_early: bool,
}

/// Walks the tar entries, checking each and writing the vmlinux ones to
/// temp files in `out_dir`. Returns them unpublished.
fn scan<D: Read>(
    archive: &mut tar::Archive<D>,
    ctx: &Ctx<'_>,
    out_dir: &Path,
    options: &UnpackOptions,
) -> Result<Scanned> {
    let meter = ctx.meter;
    let mut pending: Vec<(tempfile::NamedTempFile, Vmlinux)> = Vec::new();
    let mut modules: BTreeMap<String, StagedModules> = BTreeMap::new();
    let mut totals = ModuleTotals::default();
    // Which layout each pending file came from (see `target_release`).
    let mut layouts: Vec<u8> = Vec::new();
    // The previous entry's path, symbolic links aside, and whether every
    // such path so far has been greater than the one before it.
    let mut previous: Option<Vec<Vec<u8>>> = None;
    let mut in_path_order = true;
    let mut buf = vec![0u8; BUF];
    // Where the previous entry's data ends, padded to the 512-byte block.
    let mut data_end = 0u64;
    meter.budget.set(HEADER_CAP);
    let mut entries = archive.entries().map_err(|e| ctx.classify(e, ""))?;
    loop {
        // Between entries the tar reader skips the rest of the previous
        // entry and reads headers: allow that plus HEADER_CAP.
        let unread = data_end.saturating_sub(meter.data_read.get());
        meter.budget.set(unread.saturating_add(HEADER_CAP));
        meter.budget_hit.set(false);
        let Some(entry) = entries.next() else { break };
        let mut entry = entry.map_err(|e| ctx.classify(e, ""))?;
        meter.budget.set(u64::MAX);

        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let size = entry.size();
        data_end = meter
            .data_read
            .get()
            .saturating_add(size.saturating_add(511) & !511);
        let Some(parts) = normalise(&raw) else {
            return Err(Error::UnsafePath {
                label: ctx.label.to_owned(),
                member: ctx.member.to_owned(),
                entry: shown,
            });
        };
        // dpkg-deb writes every other entry in path order, then the
        // symbolic links (so each follows its target).
        let is_symlink = entry.header().entry_type() == tar::EntryType::Symlink;
        if in_path_order && !is_symlink {
            let ascending = previous.as_ref().is_none_or(|previous| {
                parts
                    .iter()
                    .copied()
                    .cmp(previous.iter().map(Vec::as_slice))
                    .is_gt()
            });
            if !ascending {
                in_path_order = false;
            } else if options.stop_after_vmlinux
                && !pending.is_empty()
                && past_target_dir(options, &parts)
            {
                return Ok(Scanned {
                    pending,
                    modules,
                    stopped_early: true,
                });
            } else {
                previous = Some(parts.iter().map(|p| p.to_vec()).collect());
            }
        }
        if size > options.max_entry_size {
            return Err(Error::EntryTooLarge {
                label: ctx.label.to_owned(),
                member: ctx.member.to_owned(),
                entry: shown,
                size,
                limit: options.max_entry_size,
            });
        }
        if wants_modules(options) {
            if let Some(ModulePath {
                release,
                rel,
                compression,
            }) = module_path(&parts)
            {
                check_regular(&entry, ctx, &shown)?;
                let Ok(release) = std::str::from_utf8(release) else {
                    return Err(Error::Corrupt {
                        label: ctx.label.to_owned(),
                        member: ctx.member.to_owned(),
                        message: format!("entry {shown:?}: release directory is not UTF-8"),
                    });
                };
                let staged = match modules.entry(release.to_owned()) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(StagedModules::new(out_dir, release, ctx)?)
                    }
                };
                let module = ModuleEntry {
                    rel: &rel,
                    compression,
                    shown: &shown,
                    size,
                };
                write_module(
                    &mut entry,
                    ctx,
                    staged,
                    &module,
                    options,
                    &mut totals,
                    &mut buf,
                )?;
                continue;
            }
        }
        let Some((release, layout)) = target_release(options.target, &parts) else {
            continue;
        };
        check_regular(&entry, ctx, &shown)?;
        let Ok(release) = std::str::from_utf8(release) else {
            return Err(Error::Corrupt {
                label: ctx.label.to_owned(),
                member: ctx.member.to_owned(),
                message: format!("entry {shown:?}: file name is not UTF-8"),
            });
        };
        let release = release.to_owned();
        if let Some(i) = pending.iter().position(|(_, v)| v.release == release) {
            if layouts[i] != layout {
                // A config under both of its names (`boot/` and the
                // buildinfo directory): the first one is kept.
                continue;
            }
            return Err(Error::Duplicate {
                label: ctx.label.to_owned(),
                member: ctx.member.to_owned(),
                entry: shown,
            });
        }
        let name = format!("{}{release}", options.target.place().1);

        let path = out_dir.join(&name);
        let tmp = crate::partial::create_locked_temp(out_dir, PART_PREFIX, PART_SUFFIX, 0o644)
            .map_err(|e| ctx.output(out_dir, e))?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        let within = format!("entry {shown:?}: ");
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ctx.classify(e, &within)),
            };
            hasher.update(&buf[..n]);
            tmp.as_file()
                .write_all(&buf[..n])
                .map_err(|e| ctx.output(tmp.path(), e))?;
            written += n as u64;
        }
        if written != size {
            if let Some(message) = ctx.short_member() {
                return Err(ctx.truncated(message));
            }
            return Err(ctx.truncated(format!("{within}ends after {written} of its {size} bytes")));
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| ctx.output(tmp.path(), e))?;
        tracing::debug!(package = ctx.label, entry = %shown, size, "vmlinux extracted");
        layouts.push(layout);
        pending.push((
            tmp,
            Vmlinux {
                path,
                entry: shown,
                release,
                size,
                sha256: crate::hex(&hasher.finalize()),
                modules: None,
            },
        ));
    }
    Ok(Scanned {
        pending,
        modules,
        stopped_early: false,
    })
}

/// Refuses a wanted name on anything but a regular file (a link, a
/// directory, a device).
fn check_regular<R: Read>(entry: &tar::Entry<'_, R>, ctx: &Ctx<'_>, shown: &str) -> Result<()> {
    let kind = entry.header().entry_type();
    if matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
        return Ok(());
    }
    Err(Error::NotRegularFile {
        label: ctx.label.to_owned(),
        member: ctx.member.to_owned(),
        entry: shown.to_owned(),
        kind: describe(kind),
    })
}

/// Whether the unpack writes modules: [`UnpackOptions::modules`] with
/// [`Target::Vmlinux`].
fn wants_modules(options: &UnpackOptions) -> bool {
    options.modules && options.target == Target::Vmlinux
}

/// Whether `parts` sorts after every path in the directory of what is
/// wanted (`usr/lib/debug/boot/` for the vmlinux, `usr/lib/debug/lib/
/// modules/` with modules too), component by component.
fn past_target_dir(options: &UnpackOptions, parts: &[&[u8]]) -> bool {
    let place: &[&str] = if wants_modules(options) {
        &MODULES_DIR
    } else {
        options.target.place().0
    };
    let dir: Vec<&[u8]> = place.iter().map(|d| d.as_bytes()).collect();
    !parts.starts_with(&dir) && parts > dir.as_slice()
}

/// How a module file is compressed, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModuleCompression {
    /// `.ko`
    None,
    /// `.ko.xz`
    Xz,
    /// `.ko.zst`
    Zstd,
}

/// Where a module entry goes.
struct ModulePath<'a> {
    /// The release directory's name.
    release: &'a [u8],
    /// The output path's components below `modules-<release>/`, the
    /// compression suffix removed.
    rel: Vec<&'a [u8]>,
    compression: ModuleCompression,
}

/// Where `parts` goes if it is a module:
/// `usr/lib/debug/lib/modules/<release>/…/<name>.ko[.xz|.zst]`, with
/// something before `.ko`.
fn module_path<'a>(parts: &[&'a [u8]]) -> Option<ModulePath<'a>> {
    if parts.len() < MODULES_DIR.len() + 2 {
        return None;
    }
    let (dir, rest) = parts.split_at(MODULES_DIR.len());
    if !dir.iter().zip(MODULES_DIR).all(|(a, b)| *a == b.as_bytes()) {
        return None;
    }
    let (release, rel) = rest.split_first()?;
    let name: &'a [u8] = rel.last()?;
    let (keep, compression) = if name.ends_with(b".ko") {
        (name.len(), ModuleCompression::None)
    } else if name.ends_with(b".ko.xz") {
        (name.len() - ".xz".len(), ModuleCompression::Xz)
    } else if name.ends_with(b".ko.zst") {
        (name.len() - ".zst".len(), ModuleCompression::Zstd)
    } else {
        return None;
    };
    if keep <= ".ko".len() {
        return None;
    }
    let mut out = rel.to_vec();
    *out.last_mut()? = &name[..keep];
    Some(ModulePath {
        release,
        rel: out,
        compression,
    })
}

/// The modules of one release being written: the locked temp directory,
/// what went into it, and which subdirectories were made (to fsync them).
struct StagedModules {
    dir: crate::partial::LockedTempDir,
    count: u64,
    bytes: u64,
    failed: Vec<FailedModule>,
    /// Output paths (below the directory) already written or failed.
    paths: HashSet<Vec<u8>>,
    subdirs: BTreeSet<PathBuf>,
}

impl StagedModules {
    fn new(out_dir: &Path, release: &str, ctx: &Ctx<'_>) -> Result<Self> {
        let prefix = format!("{MODULES_PART_PREFIX}{release}-");
        let dir = crate::partial::create_locked_temp_dir(out_dir, &prefix, PART_SUFFIX)
            .map_err(|e| ctx.output(out_dir, e))?;
        Ok(Self {
            dir,
            count: 0,
            bytes: 0,
            failed: Vec::new(),
            paths: HashSet::new(),
            subdirs: BTreeSet::new(),
        })
    }

    /// Fsyncs every directory made, deepest first, then the top.
    fn sync(&self, ctx: &Ctx<'_>) -> Result<()> {
        for dir in self.subdirs.iter().rev() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| ctx.output(dir, e))?;
        }
        self.dir
            .as_file()
            .sync_all()
            .map_err(|e| ctx.output(self.dir.path(), e))
    }
}

/// Modules and decompressed module bytes of the package so far, for the
/// caps.
#[derive(Default)]
struct ModuleTotals {
    count: u64,
    bytes: u64,
}

/// One module entry: its output path's components, compression, the
/// entry's path as spelled and its size in the tar.
struct ModuleEntry<'a> {
    rel: &'a [&'a [u8]],
    compression: ModuleCompression,
    shown: &'a str,
    size: u64,
}

/// Writes one module entry into `staged`, decompressing it. A module that
/// does not decompress (or decompresses to over the per-entry cap) is
/// recorded in `staged.failed` and its file removed; a failure of the
/// package itself (its input, the data member's decoder, the tar, the
/// caps, the output) is an error.
fn write_module<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    ctx: &Ctx<'_>,
    staged: &mut StagedModules,
    module: &ModuleEntry<'_>,
    options: &UnpackOptions,
    totals: &mut ModuleTotals,
    buf: &mut [u8],
) -> Result<()> {
    let shown = module.shown;
    if totals.count >= options.max_modules {
        return Err(Error::TooManyModules {
            label: ctx.label.to_owned(),
            member: ctx.member.to_owned(),
            entry: shown.to_owned(),
            limit: options.max_modules,
        });
    }
    totals.count += 1;
    let rel_bytes = module.rel.join(&b'/');
    let rel_shown = String::from_utf8_lossy(&rel_bytes).into_owned();
    if !staged.paths.insert(rel_bytes) {
        return Err(Error::DuplicateModule {
            label: ctx.label.to_owned(),
            member: ctx.member.to_owned(),
            entry: shown.to_owned(),
            path: rel_shown,
        });
    }
    // Only this unpack writes below the locked temp directory, and it makes
    // directories and regular files only: nothing there is a link.
    let mut path = staged.dir.path().to_owned();
    for (i, part) in module.rel.iter().enumerate() {
        path.push(OsStr::from_bytes(part));
        if i + 1 < module.rel.len() && !staged.subdirs.contains(&path) {
            std::fs::create_dir(&path).map_err(|e| ctx.output(&path, e))?;
            staged.subdirs.insert(path.clone());
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
        .map_err(|e| ctx.output(&path, e))?;
    let within = format!("entry {shown:?}: ");
    let source_failed = Cell::new(false);
    let mut raw = SourceReader {
        inner: entry,
        failed: &source_failed,
        read: 0,
    };
    let mut written = 0u64;
    // `Err(message)`: the module fails; package errors return at once.
    let copied: std::result::Result<(), String> = {
        let decoder: io::Result<Box<dyn Read + '_>> = match module.compression {
            ModuleCompression::None => Ok(Box::new(&mut raw)),
            ModuleCompression::Xz => Ok(Box::new(liblzma::read::XzDecoder::new_multi_decoder(
                &mut raw,
            ))),
            ModuleCompression::Zstd => zstd::stream::read::Decoder::new(&mut raw)
                .map(|d| Box::new(d) as Box<dyn Read + '_>),
        };
        match decoder {
            Err(e) => Err(format!("starting the decoder: {}", error_chain(&e))),
            Ok(mut decoder) => loop {
                let n = match decoder.read(buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if source_failed.get() => return Err(ctx.classify(e, &within)),
                    Err(e) => break Err(error_chain(&e)),
                };
                totals.bytes = totals.bytes.saturating_add(n as u64);
                if totals.bytes > options.max_module_bytes {
                    return Err(Error::ModulesTooLarge {
                        label: ctx.label.to_owned(),
                        member: ctx.member.to_owned(),
                        entry: shown.to_owned(),
                        limit: options.max_module_bytes,
                    });
                }
                written += n as u64;
                if written > options.max_entry_size {
                    break Err(format!(
                        "decompresses to over {} bytes, the cap per entry",
                        options.max_entry_size
                    ));
                }
                (&file)
                    .write_all(&buf[..n])
                    .map_err(|e| ctx.output(&path, e))?;
            },
        }
    };
    // The rest of the entry (after a decoder error, or padding after the
    // stream): read through so the package is checked whole.
    io::copy(&mut raw, &mut io::sink()).map_err(|e| ctx.classify(e, &within))?;
    if raw.read != module.size {
        if let Some(message) = ctx.short_member() {
            return Err(ctx.truncated(message));
        }
        return Err(ctx.truncated(format!(
            "{within}ends after {} of its {} bytes",
            raw.read, module.size
        )));
    }
    match copied {
        Ok(()) => {
            file.sync_all().map_err(|e| ctx.output(&path, e))?;
            staged.count += 1;
            staged.bytes += written;
            tracing::trace!(package = ctx.label, entry = %shown, written, "module extracted");
        }
        Err(message) => {
            drop(file);
            std::fs::remove_file(&path).map_err(|e| ctx.output(&path, e))?;
            tracing::warn!(package = ctx.label, entry = %shown, %message, "module does not decompress");
            staged.failed.push(FailedModule {
                path: rel_shown,
                entry: shown.to_owned(),
                message,
            });
        }
    }
    Ok(())
}

/// Matches each release's staged modules to its vmlinux (refusing modules
/// of a release the package has no vmlinux of), fsyncs the directories,
/// and fills in [`Vmlinux::modules`] (left `None` for a release without
/// module entries). Returns the temp directories and where each goes.
fn attach_modules(
    pending: &mut [(tempfile::NamedTempFile, Vmlinux)],
    mut modules: BTreeMap<String, StagedModules>,
    ctx: &Ctx<'_>,
    out_dir: &Path,
) -> Result<Vec<(crate::partial::LockedTempDir, PathBuf)>> {
    if let Some(release) = modules
        .keys()
        .find(|r| !pending.iter().any(|(_, v)| &v.release == *r))
    {
        return Err(Error::ModulesWithoutVmlinux {
            label: ctx.label.to_owned(),
            member: ctx.member.to_owned(),
            release: release.clone(),
        });
    }
    let mut out = Vec::with_capacity(pending.len());
    for (_, v) in pending.iter_mut() {
        let Some(staged) = modules.remove(&v.release) else {
            continue;
        };
        staged.sync(ctx)?;
        let dir = out_dir.join(format!("{MODULES_PREFIX}{}", v.release));
        v.modules = Some(Modules {
            dir: dir.clone(),
            count: staged.count,
            bytes: staged.bytes,
            failed: staged.failed,
        });
        out.push((staged.dir, dir));
    }
    Ok(out)
}

/// Renames the directory `tmp` to `target`. An existing `target` (an
/// earlier unpack's) is swapped out atomically (`renameat2` with
/// `RENAME_EXCHANGE`, or, where the file system cannot, two renames) and
/// removed; if that removal fails, the old tree stays under a `.part` name
/// that [`sweep_parts`] removes later.
fn replace_dir(tmp: &crate::partial::LockedTempDir, target: &Path) -> io::Result<()> {
    use rustix::io::Errno;
    match std::fs::rename(tmp.path(), target) {
        Ok(()) => return Ok(()),
        Err(e)
            if matches!(
                Errno::from_io_error(&e),
                Some(Errno::NOTEMPTY | Errno::EXIST)
            ) => {}
        Err(e) => return Err(e),
    }
    let cwd = rustix::fs::CWD;
    match rustix::fs::renameat_with(
        cwd,
        tmp.path(),
        cwd,
        target,
        rustix::fs::RenameFlags::EXCHANGE,
    ) {
        // The old tree is now at the temp path.
        Ok(()) => {
            remove_old_tree(tmp.path());
            return Ok(());
        }
        Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {}
        Err(e) => return Err(e.into()),
    }
    let mut old = tmp.path().as_os_str().to_owned();
    old.push(format!(".old-{:016x}{PART_SUFFIX}", fastrand::u64(..)));
    let old = PathBuf::from(old);
    std::fs::rename(target, &old)?;
    if let Err(e) = std::fs::rename(tmp.path(), target) {
        let _ = std::fs::rename(&old, target);
        return Err(e);
    }
    remove_old_tree(&old);
    Ok(())
}

/// Removes a replaced module tree, logging a failure.
fn remove_old_tree(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove a replaced module directory");
    }
}

/// An error's message with its sources.
fn error_chain(e: &io::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !message.ends_with(&s_text) {
            message = format!("{message}: {s_text}");
        }
        source = s.source();
    }
    message
}

/// A module entry's bytes: counts them and notes whether reading them
/// failed, which tells a package error from the module's own decoder error.
struct SourceReader<'a, R> {
    inner: R,
    failed: &'a Cell<bool>,
    read: u64,
}

impl<R: Read> Read for SourceReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.failed.set(true);
                }
                Err(e)
            }
        }
    }
}

/// The path's components without `.` and empty ones; `None` if it is
/// absolute or has a `..` component.
fn normalise(raw: &[u8]) -> Option<Vec<&[u8]>> {
    if raw.first() == Some(&b'/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return None,
            part => parts.push(part),
        }
    }
    Some(parts)
}

/// The release if `parts` is `usr/lib/debug/boot/vmlinux-<release>` (for
/// [`Target::Config`], `boot/config-<release>`, layout 0, or
/// `usr/lib/linux/<release>/config`, layout 1) with a non-empty release,
/// and which layout it is.
fn target_release<'a>(target: Target, parts: &[&'a [u8]]) -> Option<(&'a [u8], u8)> {
    let is = |dir: &[&[u8]], want: &[&str]| {
        dir.len() == want.len() && dir.iter().zip(want).all(|(a, b)| *a == b.as_bytes())
    };
    let (want_dir, prefix) = target.place();
    let (name, dir) = parts.split_last()?;
    if is(dir, want_dir) && name.len() > prefix.len() && name.starts_with(prefix.as_bytes()) {
        return Some((&name[prefix.len()..], 0));
    }
    if target == Target::Config && *name == BUILDINFO_CONFIG.as_bytes() {
        let (release, dir) = dir.split_last()?;
        return is(dir, &BUILDINFO_DIR).then_some((*release, 1));
    }
    None
}

fn describe(kind: tar::EntryType) -> String {
    match kind {
        tar::EntryType::Symlink => "symbolic link".into(),
        tar::EntryType::Link => "hard link".into(),
        tar::EntryType::Directory => "directory".into(),
        tar::EntryType::Char => "character device".into(),
        tar::EntryType::Block => "block device".into(),
        tar::EntryType::Fifo => "FIFO".into(),
        tar::EntryType::GNUSparse => "GNU sparse file".into(),
        other => format!("tar entry of type {:?}", other.as_byte() as char),
    }
}

/// What the reader layers saw, shared with the error mapping: an
/// `io::Error` coming out of a decoder or the tar reader does not say
/// whether the input failed, a cap was hit or the package was short.
struct Meter {
    /// The input reader's own error, kept whole.
    input_error: RefCell<Option<io::Error>>,
    /// The data member's declared size, bytes read from it, and whether the
    /// package ended (read returned 0) inside it.
    member_size: Cell<u64>,
    member_read: Cell<u64>,
    member_eof: Cell<bool>,
    /// Decompressed bytes consumed by the tar reader, the cap on them, and
    /// whether it was hit.
    data_read: Cell<u64>,
    data_cap: u64,
    cap_hit: Cell<bool>,
    /// Whether the tar reader met the end of the decompressed stream.
    data_eof: Cell<bool>,
    /// Bytes the tar reader may still consume before handing out the next
    /// entry, and whether it tried to consume more.
    budget: Cell<u64>,
    budget_hit: Cell<bool>,
}

impl Meter {
    fn new(data_cap: u64) -> Self {
        Self {
            input_error: RefCell::new(None),
            member_size: Cell::new(0),
            member_read: Cell::new(0),
            member_eof: Cell::new(false),
            data_read: Cell::new(0),
            data_cap,
            cap_hit: Cell::new(false),
            data_eof: Cell::new(false),
            budget: Cell::new(u64::MAX),
            budget_hit: Cell::new(false),
        }
    }
}

/// The caller's input: keeps its errors for [`Ctx::classify`].
struct InputReader<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for InputReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    *self.meter.input_error.borrow_mut() = Some(e);
                    return Err(copy);
                }
                ok => return ok,
            }
        }
    }
}

/// The compressed data member: counts bytes and notes a premature end.
struct MemberReader<'m, E> {
    inner: E,
    meter: &'m Meter,
}

impl<E: Read> Read for MemberReader<'_, E> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.meter.member_eof.set(true);
        }
        self.meter
            .member_read
            .set(self.meter.member_read.get() + n as u64);
        Ok(n)
    }
}

/// The decompressed `data.tar`: enforces the total cap and the
/// between-entries budget, and notes the end of the stream.
struct DataReader<'m, D> {
    inner: D,
    meter: &'m Meter,
}

impl<D: Read> Read for DataReader<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let m = self.meter;
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            m.data_eof.set(true);
        }
        let total = m.data_read.get() + n as u64;
        m.data_read.set(total);
        if total > m.data_cap {
            m.cap_hit.set(true);
            return Err(io::Error::other("decompressed size cap exceeded"));
        }
        match m.budget.get().checked_sub(n as u64) {
            Some(left) => m.budget.set(left),
            None => {
                m.budget_hit.set(true);
                return Err(io::Error::other("tar extension header cap exceeded"));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_escapes() {
        let p = |s: &str| normalise(s.as_bytes()).map(|v| v.concat());
        assert_eq!(p("./usr//lib/./x"), Some(b"usrlibx".to_vec()));
        assert_eq!(p("./"), Some(vec![]));
        assert_eq!(p("/etc/passwd"), None);
        assert_eq!(p("../../etc/passwd"), None);
        assert_eq!(p("usr/../../x"), None);
    }

    #[test]
    fn vmlinux_names() {
        let n = |s: &str| {
            let parts = normalise(s.as_bytes()).unwrap();
            target_release(Target::Vmlinux, &parts).map(|(n, _)| n.to_vec())
        };
        assert_eq!(
            n("./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64"),
            Some(b"6.1.0-47-cloud-amd64".to_vec())
        );
        assert_eq!(n("./usr/lib/linux/6.1/config"), None);
        assert_eq!(n("./usr/lib/debug/vmlinux-6.1"), None);
        assert_eq!(n("./usr/lib/debug/boot/vmlinux-"), None);
        assert_eq!(n("./usr/lib/debug/boot/System.map-6.1"), None);
        assert_eq!(n("./usr/lib/debug/boot/x/vmlinux-6.1"), None);
    }

    #[test]
    fn module_names() {
        let m = |s: &str| {
            let parts = normalise(s.as_bytes()).unwrap();
            module_path(&parts).map(|p| {
                (
                    String::from_utf8(p.release.to_vec()).unwrap(),
                    String::from_utf8(p.rel.join(&b'/')).unwrap(),
                    p.compression,
                )
            })
        };
        let r = "6.1.0-57-cloud-amd64";
        let dir = format!("./usr/lib/debug/lib/modules/{r}");
        assert_eq!(
            m(&format!("{dir}/kernel/fs/xfs/xfs.ko")),
            Some((
                r.into(),
                "kernel/fs/xfs/xfs.ko".into(),
                ModuleCompression::None
            ))
        );
        assert_eq!(
            m(&format!("{dir}/kernel/fs/btrfs/btrfs.ko.xz")),
            Some((
                r.into(),
                "kernel/fs/btrfs/btrfs.ko".into(),
                ModuleCompression::Xz
            ))
        );
        assert_eq!(
            m(&format!("{dir}/updates/x.ko.zst")),
            Some((r.into(), "updates/x.ko".into(), ModuleCompression::Zstd))
        );
        assert_eq!(
            m(&format!("{dir}/a.ko")),
            Some((r.into(), "a.ko".into(), ModuleCompression::None))
        );
        assert_eq!(m(&format!("{dir}/.ko")), None);
        assert_eq!(m(&format!("{dir}/.ko.xz")), None);
        assert_eq!(m(&format!("{dir}/vmlinux")), None);
        assert_eq!(m(&format!("{dir}/vdso/vdso64.so")), None);
        assert_eq!(m(&format!("{dir}/kernel/x.ko.gz")), None);
        assert_eq!(m(&format!("{dir}/kernel/x.kox")), None);
        // The release directory itself, and modules outside the debug tree.
        assert_eq!(m("./usr/lib/debug/lib/modules/x.ko"), None);
        assert_eq!(m(&format!("./lib/modules/{r}/kernel/x.ko")), None);
        assert_eq!(m(&format!("./usr/lib/modules/{r}/kernel/x.ko")), None);
    }

    #[test]
    fn config_names() {
        let n = |s: &str| {
            let parts = normalise(s.as_bytes()).unwrap();
            target_release(Target::Config, &parts).map(|(n, l)| (n.to_vec(), l))
        };
        assert_eq!(
            n("./boot/config-6.1.0-57-cloud-amd64"),
            Some((b"6.1.0-57-cloud-amd64".to_vec(), 0))
        );
        assert_eq!(
            n("./usr/lib/linux/5.4.0-26-generic/config"),
            Some((b"5.4.0-26-generic".to_vec(), 1))
        );
        assert_eq!(n("./usr/lib/linux/config"), None);
        assert_eq!(n("./usr/lib/linux/5.4.0-26-generic/abi"), None);
        assert_eq!(n("./usr/lib/linux/a/b/config"), None);
        assert_eq!(n("./boot/config-"), None);
        assert_eq!(n("./boot/System.map-6.1"), None);
        assert_eq!(n("./usr/lib/debug/boot/config-6.1"), None);
        assert_eq!(n("./config-6.1"), None);
        assert_eq!(n("./usr/lib/debug/boot/vmlinux-6.1"), None);
    }
}
