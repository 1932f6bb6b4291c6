//! Hermetic tests of module unpacking (`UnpackOptions::modules`): packages
//! built here with a vmlinux and kernel modules laid out like Debian's
//! -dbg packages (`usr/lib/debug/lib/modules/<release>/kernel/…`) in every
//! module compression; modules off; hostile module entries; a module that
//! does not decompress; the caps; the atomic output and its sweeping.

mod support;

use std::io::Read;
use std::path::Path;

use ksurf_fetcher::partial::create_locked_temp_dir;
use ksurf_fetcher::unpack::{sweep_parts, MODULES_PART_PREFIX};
use ksurf_fetcher::{unpack_vmlinux, Error, FailedModule, Modules, UnpackOptions, Unpacked};
use support::{build_package, control_member, files_under, noise, DataCompression};
use tar::EntryType;

const RELEASE: &str = "6.1.0-57-cloud-amd64";
const VMLINUX: &str = "./usr/lib/debug/boot/vmlinux-6.1.0-57-cloud-amd64";
const MODDIR: &str = "./usr/lib/debug/lib/modules/6.1.0-57-cloud-amd64";

/// One tar entry; the path is written raw (hostile paths survive).
struct Entry {
    path: String,
    kind: EntryType,
    data: Vec<u8>,
    link: Option<&'static str>,
}

fn file(path: &str, data: Vec<u8>) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: EntryType::Regular,
        data,
        link: None,
    }
}

fn dir(path: &str) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: EntryType::Directory,
        data: Vec::new(),
        link: None,
    }
}

fn link(path: &str, kind: EntryType, target: &'static str) -> Entry {
    Entry {
        path: path.to_owned(),
        kind,
        data: Vec::new(),
        link: Some(target),
    }
}

fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..e.path.len()].copy_from_slice(e.path.as_bytes());
        h.set_entry_type(e.kind);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(e.data.len() as u64);
        if let Some(target) = e.link {
            h.set_link_name(target).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    liblzma::read::XzEncoder::new(data, 6)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// With a content checksum, as the kernel's `zstd` command writes them.
fn zst(data: &[u8]) -> Vec<u8> {
    let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    std::io::Write::write_all(&mut e, data).unwrap();
    e.finish().unwrap()
}

fn package(entries: &[Entry], compression: DataCompression) -> Vec<u8> {
    let control = "Package: test\nVersion: 1\nArchitecture: amd64\nDescription: test\n";
    build_package(&tar_of(entries), compression, &control_member(control))
}

/// The module contents: an ELF-looking header, then noise.
fn module_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut v = b"\x7fELF\x02\x01\x01\x00".to_vec();
    v.extend(noise(len - v.len(), seed));
    v
}

fn xfs() -> Vec<u8> {
    module_bytes(7000, 1)
}
fn btrfs() -> Vec<u8> {
    module_bytes(9000, 2)
}
fn nfs() -> Vec<u8> {
    module_bytes(3000, 3)
}

/// Debian's layout in dpkg-deb's order: the vmlinux, then three modules
/// (`.ko`, `.ko.xz`, `.ko.zst`), a vdso and the `vmlinux` link in the
/// modules directory (neither is a module), then the doc and the links.
fn debian_entries(btrfs_xz: Vec<u8>) -> Vec<Entry> {
    vec![
        dir("./"),
        dir("./usr/"),
        dir("./usr/lib/"),
        dir("./usr/lib/debug/"),
        dir("./usr/lib/debug/boot/"),
        file(
            "./usr/lib/debug/boot/System.map-6.1.0-57-cloud-amd64",
            b"ffffffff81000000 T _text\n".repeat(20),
        ),
        file(VMLINUX, module_bytes(5000, 0x1234_5678)),
        dir("./usr/lib/debug/lib/"),
        dir("./usr/lib/debug/lib/modules/"),
        dir(&format!("{MODDIR}/")),
        dir(&format!("{MODDIR}/kernel/")),
        dir(&format!("{MODDIR}/kernel/fs/")),
        dir(&format!("{MODDIR}/kernel/fs/btrfs/")),
        file(&format!("{MODDIR}/kernel/fs/btrfs/btrfs.ko.xz"), btrfs_xz),
        dir(&format!("{MODDIR}/kernel/fs/nfs/")),
        file(&format!("{MODDIR}/kernel/fs/nfs/nfs.ko.zst"), zst(&nfs())),
        dir(&format!("{MODDIR}/kernel/fs/xfs/")),
        file(&format!("{MODDIR}/kernel/fs/xfs/xfs.ko"), xfs()),
        dir(&format!("{MODDIR}/vdso/")),
        file(&format!("{MODDIR}/vdso/vdso64.so"), module_bytes(600, 4)),
        dir("./usr/share/"),
        file("./usr/share/doc/changelog.gz", noise(2000, 5)),
        link(
            &format!("{MODDIR}/vmlinux"),
            EntryType::Symlink,
            "../../../boot/vmlinux-6.1.0-57-cloud-amd64",
        ),
    ]
}

fn good_package(compression: DataCompression) -> Vec<u8> {
    package(&debian_entries(xz(&btrfs())), compression)
}

fn with_modules() -> UnpackOptions {
    UnpackOptions {
        modules: true,
        ..UnpackOptions::default()
    }
}

fn run(package: &[u8], out: &Path, options: &UnpackOptions) -> Result<Unpacked, Error> {
    unpack_vmlinux(package, "test.deb", out, options)
}

/// Names in `dir` (hidden ones included), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn modules_of(got: &Unpacked) -> &Modules {
    assert_eq!(got.vmlinux.len(), 1);
    got.vmlinux[0].modules.as_ref().expect("modules asked for")
}

#[test]
fn vmlinux_and_three_modules_of_every_compression_in_one_pass() {
    for compression in [DataCompression::Xz, DataCompression::Zstd] {
        let out = tempfile::tempdir().unwrap();
        let got = run(&good_package(compression), out.path(), &with_modules()).unwrap();
        assert!(!got.stopped_early);
        let dir = out.path().join("modules-6.1.0-57-cloud-amd64");
        assert_eq!(
            modules_of(&got),
            &Modules {
                dir: dir.clone(),
                count: 3,
                bytes: 7000 + 9000 + 3000,
                failed: Vec::new(),
            }
        );
        assert_eq!(got.vmlinux[0].release, RELEASE);
        assert_eq!(
            std::fs::read(&got.vmlinux[0].path).unwrap(),
            module_bytes(5000, 0x1234_5678)
        );
        assert_eq!(
            files_under(&dir),
            [
                "kernel/fs/btrfs/btrfs.ko",
                "kernel/fs/nfs/nfs.ko",
                "kernel/fs/xfs/xfs.ko"
            ]
        );
        assert_eq!(
            std::fs::read(dir.join("kernel/fs/xfs/xfs.ko")).unwrap(),
            xfs()
        );
        assert_eq!(
            std::fs::read(dir.join("kernel/fs/btrfs/btrfs.ko")).unwrap(),
            btrfs()
        );
        assert_eq!(
            std::fs::read(dir.join("kernel/fs/nfs/nfs.ko")).unwrap(),
            nfs()
        );
        assert_eq!(
            listing(out.path()),
            [
                "modules-6.1.0-57-cloud-amd64",
                "vmlinux-6.1.0-57-cloud-amd64"
            ]
        );
    }
}

#[test]
fn modules_off_extracts_none() {
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &good_package(DataCompression::Xz),
        out.path(),
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(got.vmlinux.len(), 1);
    assert_eq!(got.vmlinux[0].modules, None);
    assert_eq!(listing(out.path()), ["vmlinux-6.1.0-57-cloud-amd64"]);
}

/// A package without module entries, asked for them: no directory, and
/// the vmlinux as without modules.
#[test]
fn no_modules_in_the_package_gives_no_directory() {
    let entries = vec![
        dir("./"),
        file(VMLINUX, module_bytes(5000, 0x1234_5678)),
        file(&format!("{MODDIR}/vdso/vdso64.so"), module_bytes(600, 4)),
    ];
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &package(&entries, DataCompression::Xz),
        out.path(),
        &with_modules(),
    )
    .unwrap();
    assert_eq!(got.vmlinux.len(), 1);
    assert_eq!(got.vmlinux[0].modules, None);
    assert_eq!(listing(out.path()), ["vmlinux-6.1.0-57-cloud-amd64"]);
}

/// Unpacks with modules into a fresh directory, expects an error naming the
/// package, and checks that nothing is left behind (no `.part` either).
fn refused(package: &[u8], options: &UnpackOptions) -> Error {
    let out = tempfile::tempdir().unwrap();
    let err = run(package, out.path(), options).unwrap_err();
    assert!(err.to_string().starts_with("test.deb: "), "{err}");
    assert_eq!(listing(out.path()), Vec::<String>::new(), "{err}");
    err
}

/// The vmlinux and a good module first (so temp files and a temp directory
/// exist when the bad entry comes), then `bad`.
fn after_a_module(bad: Entry) -> Vec<u8> {
    package(
        &[
            file(VMLINUX, module_bytes(5000, 0x1234_5678)),
            file(&format!("{MODDIR}/kernel/fs/xfs/xfs.ko"), xfs()),
            bad,
        ],
        DataCompression::Xz,
    )
}

#[test]
fn hostile_module_entries_are_refused_naming_the_entry() {
    let cases: Vec<(Entry, String)> = vec![
        (
            file("../x.ko", xfs()),
            r#"test.deb: data.tar.xz: entry "../x.ko" has an absolute path or one that leaves the output directory"#.into(),
        ),
        (
            file(&format!("{MODDIR}/kernel/../../../../../../../x.ko"), xfs()),
            format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/../../../../../../../x.ko\" has an absolute path or one that leaves the output directory"),
        ),
        (
            file("/usr/lib/debug/lib/modules/6.1.0-57-cloud-amd64/kernel/x.ko", xfs()),
            r#"test.deb: data.tar.xz: entry "/usr/lib/debug/lib/modules/6.1.0-57-cloud-amd64/kernel/x.ko" has an absolute path or one that leaves the output directory"#.into(),
        ),
        (
            link(&format!("{MODDIR}/kernel/evil.ko"), EntryType::Symlink, "/etc/shadow"),
            format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/evil.ko\" is a symbolic link, not a regular file"),
        ),
        (
            link(&format!("{MODDIR}/kernel/evil.ko.xz"), EntryType::Link, "etc/shadow"),
            format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/evil.ko.xz\" is a hard link, not a regular file"),
        ),
        (
            dir(&format!("{MODDIR}/kernel/dir.ko/")),
            format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/dir.ko/\" is a directory, not a regular file"),
        ),
    ];
    for (bad, expected) in cases {
        let err = refused(&after_a_module(bad), &with_modules());
        assert_eq!(err.to_string(), expected);
    }
    // Modules off: a link named like a module is not looked at.
    let out = tempfile::tempdir().unwrap();
    let symlink = after_a_module(link(
        &format!("{MODDIR}/kernel/evil.ko"),
        EntryType::Symlink,
        "/etc/shadow",
    ));
    run(&symlink, out.path(), &UnpackOptions::default()).unwrap();
    assert_eq!(listing(out.path()), ["vmlinux-6.1.0-57-cloud-amd64"]);
}

/// `data` with two bytes flipped in its middle.
fn flipped(mut data: Vec<u8>) -> Vec<u8> {
    let at = data.len() / 2;
    data[at] ^= 0x55;
    data[at + 1] ^= 0xaa;
    data
}

#[test]
fn a_corrupt_compressed_module_fails_that_module_only() {
    let mut entries = debian_entries(flipped(xz(&btrfs())));
    entries.insert(
        entries.len() - 3,
        file(
            &format!("{MODDIR}/kernel/zz/bad.ko.zst"),
            flipped(zst(&module_bytes(4000, 9))),
        ),
    );
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &package(&entries, DataCompression::Xz),
        out.path(),
        &with_modules(),
    )
    .unwrap();
    let dir = out.path().join("modules-6.1.0-57-cloud-amd64");
    let modules = modules_of(&got);
    assert_eq!((modules.count, modules.bytes), (2, 7000 + 3000));
    assert_eq!(
        modules.failed,
        [
            FailedModule {
                path: "kernel/fs/btrfs/btrfs.ko".into(),
                entry: format!("{MODDIR}/kernel/fs/btrfs/btrfs.ko.xz"),
                message: "lzma data error".into(),
            },
            FailedModule {
                path: "kernel/zz/bad.ko".into(),
                entry: format!("{MODDIR}/kernel/zz/bad.ko.zst"),
                message: "Restored data doesn't match checksum".into(),
            },
        ]
    );
    assert_eq!(
        files_under(&dir),
        ["kernel/fs/nfs/nfs.ko", "kernel/fs/xfs/xfs.ko"]
    );
    assert_eq!(
        std::fs::read(dir.join("kernel/fs/xfs/xfs.ko")).unwrap(),
        xfs()
    );
    assert_eq!(
        std::fs::read(dir.join("kernel/fs/nfs/nfs.ko")).unwrap(),
        nfs()
    );
    assert_eq!(
        listing(out.path()),
        [
            "modules-6.1.0-57-cloud-amd64",
            "vmlinux-6.1.0-57-cloud-amd64"
        ]
    );
}

#[test]
fn a_module_over_the_entry_cap_once_decompressed_fails_alone() {
    let big = vec![0u8; 64 << 10];
    let entries = vec![
        file(VMLINUX, module_bytes(5000, 0x1234_5678)),
        file(&format!("{MODDIR}/kernel/a/bomb.ko.xz"), xz(&big)),
        file(&format!("{MODDIR}/kernel/fs/xfs/xfs.ko"), xfs()),
    ];
    let options = UnpackOptions {
        max_entry_size: 10_000,
        ..with_modules()
    };
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &package(&entries, DataCompression::Xz),
        out.path(),
        &options,
    )
    .unwrap();
    let modules = modules_of(&got);
    assert_eq!(modules.count, 1);
    assert_eq!(
        modules.failed,
        [FailedModule {
            path: "kernel/a/bomb.ko".into(),
            entry: format!("{MODDIR}/kernel/a/bomb.ko.xz"),
            message: "decompresses to over 10000 bytes, the cap per entry".into(),
        }]
    );
    assert_eq!(files_under(&modules.dir), ["kernel/fs/xfs/xfs.ko"]);
}

#[test]
fn the_caps_on_module_count_and_bytes_refuse_the_package() {
    let package = good_package(DataCompression::Xz);
    let err = refused(
        &package,
        &UnpackOptions {
            max_modules: 2,
            ..with_modules()
        },
    );
    assert_eq!(
        err.to_string(),
        format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/fs/xfs/xfs.ko\" is over the cap of 2 modules per package")
    );
    // btrfs (9000 bytes) and nfs (3000) fit 12000; xfs is over.
    let err = refused(
        &package,
        &UnpackOptions {
            max_module_bytes: 12_000,
            ..with_modules()
        },
    );
    assert_eq!(
        err.to_string(),
        format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/fs/xfs/xfs.ko\": the modules decompress to over 12000 bytes (the cap per package)")
    );
    // Exactly at the caps: accepted.
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &package,
        out.path(),
        &UnpackOptions {
            max_modules: 3,
            max_module_bytes: 19_000,
            ..with_modules()
        },
    )
    .unwrap();
    assert_eq!(modules_of(&got).count, 3);
}

#[test]
fn two_modules_at_one_path_and_modules_without_their_vmlinux_are_refused() {
    let err = refused(
        &after_a_module(file(
            &format!("{MODDIR}/kernel/fs/xfs/xfs.ko.xz"),
            xz(&xfs()),
        )),
        &with_modules(),
    );
    assert_eq!(
        err.to_string(),
        format!("test.deb: data.tar.xz: entry \"{MODDIR}/kernel/fs/xfs/xfs.ko.xz\" is a second module at \"kernel/fs/xfs/xfs.ko\"")
    );
    let err = refused(
        &after_a_module(file(
            "./usr/lib/debug/lib/modules/6.1.0-99-amd64/kernel/x.ko",
            xfs(),
        )),
        &with_modules(),
    );
    assert_eq!(
        err.to_string(),
        "test.deb: data.tar.xz: has modules of release \"6.1.0-99-amd64\" but no usr/lib/debug/boot/vmlinux-6.1.0-99-amd64"
    );
}

#[test]
fn a_package_cut_short_among_the_modules_leaves_nothing() {
    let package = good_package(DataCompression::Xz);
    for cut in [package.len() / 2, package.len() - 200] {
        let err = refused(&package[..cut], &with_modules());
        assert!(matches!(err, Error::Truncated { .. }), "{cut}: {err}");
    }
}

#[test]
fn an_earlier_modules_directory_is_replaced_whole() {
    let out = tempfile::tempdir().unwrap();
    let old = out.path().join("modules-6.1.0-57-cloud-amd64");
    std::fs::create_dir_all(old.join("kernel/old")).unwrap();
    std::fs::write(old.join("kernel/old/stale.ko"), b"stale").unwrap();
    let got = run(
        &good_package(DataCompression::Zstd),
        out.path(),
        &with_modules(),
    )
    .unwrap();
    assert_eq!(modules_of(&got).dir, old);
    assert_eq!(
        files_under(&old),
        [
            "kernel/fs/btrfs/btrfs.ko",
            "kernel/fs/nfs/nfs.ko",
            "kernel/fs/xfs/xfs.ko"
        ]
    );
    assert_eq!(
        listing(out.path()),
        [
            "modules-6.1.0-57-cloud-amd64",
            "vmlinux-6.1.0-57-cloud-amd64"
        ]
    );
}

#[test]
fn abandoned_part_directories_are_swept_and_held_ones_kept() {
    let out = tempfile::tempdir().unwrap();
    // A killed run's: unlocked, with a half-written module in it.
    let abandoned = out
        .path()
        .join(format!("{MODULES_PART_PREFIX}{RELEASE}-abc123.part"));
    std::fs::create_dir_all(abandoned.join("kernel/fs")).unwrap();
    std::fs::write(abandoned.join("kernel/fs/half.ko"), b"half").unwrap();
    // Another run's, still being written (held locked).
    let held = create_locked_temp_dir(
        out.path(),
        &format!("{MODULES_PART_PREFIX}{RELEASE}-"),
        ".part",
    )
    .unwrap();
    std::fs::write(held.path().join("x.ko"), b"x").unwrap();
    let got = run(
        &good_package(DataCompression::Xz),
        out.path(),
        &with_modules(),
    )
    .unwrap();
    assert_eq!(modules_of(&got).count, 3);
    assert!(!abandoned.exists());
    assert!(held.path().join("x.ko").exists());
    let held_name = held
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        listing(out.path()),
        [
            held_name,
            "modules-6.1.0-57-cloud-amd64".to_owned(),
            "vmlinux-6.1.0-57-cloud-amd64".to_owned()
        ]
    );
    // Its writer gone (dropped: the lock goes with it), nothing is left;
    // a killed run's module directory and vmlinux file are both swept.
    let held_path = held.path().to_owned();
    drop(held);
    assert!(!held_path.exists());
    let again = out
        .path()
        .join(format!("{MODULES_PART_PREFIX}{RELEASE}-def456.part"));
    std::fs::create_dir(&again).unwrap();
    let part_file = out.path().join(".vmlinux-xyz.part");
    std::fs::write(&part_file, b"half").unwrap();
    assert_eq!(sweep_parts(out.path()), [again, part_file]);
    assert_eq!(
        listing(out.path()),
        [
            "modules-6.1.0-57-cloud-amd64",
            "vmlinux-6.1.0-57-cloud-amd64"
        ]
    );
}

/// dpkg-deb's order with a corrupt tail after the modules: told to stop
/// after the vmlinux, the unpacker with modules stops after the modules
/// directory instead, and every module is written.
#[test]
fn stopping_early_with_modules_stops_after_the_modules_directory() {
    let mut entries = debian_entries(xz(&btrfs()));
    let doc = entries
        .iter()
        .position(|e| e.path == "./usr/share/doc/changelog.gz")
        .unwrap();
    entries[doc].data = noise(4 << 20, 11);
    let stop = tar_of(&entries[..entries.len() - 3]).len() as u64 - 1024 + 512;
    let mut package = package(&entries, DataCompression::Xz);
    let at = package.len() - (64 << 10);
    package[at] ^= 0x55;
    package[at + 1] ^= 0xaa;
    let options = UnpackOptions {
        stop_after_vmlinux: true,
        ..with_modules()
    };
    let out = tempfile::tempdir().unwrap();
    let got = run(&package, out.path(), &options).unwrap();
    assert!(got.stopped_early);
    assert_eq!(got.data_size, stop);
    assert_eq!(modules_of(&got).count, 3);
    // Read to the end, the corrupt tail refuses the package.
    let err = refused(&package, &with_modules());
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}
