//! Hermetic tests of `unpack`: packages built in the test (ar + data.tar in
//! every supported compression, with decoys laid out like Debian's kernel
//! -dbg packages) must give exactly the fake vmlinux bytes and SHA-256;
//! hostile and broken packages must give their specific error and leave the
//! output directory empty.

use std::io::{Read, Write};
use std::path::Path;

use ksurf_fetcher::{unpack_vmlinux, Compression, Error, Target, UnpackOptions, Unpacked};
use tar::EntryType;

const RELEASE: &str = "6.1.0-47-cloud-amd64";
const VMLINUX_PATH: &str = "./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64";
/// SHA-256 of `fake_vmlinux(5000, 0x12345678)` (computed independently).
const VMLINUX_SHA256: &str = "995c50da50f68370bdc8ca1cf611102ab38a1923d33134ee16e8652a42392971";
/// SHA-256 of `fake_vmlinux(3333, 0x9e3779b9)`.
const OTHER_SHA256: &str = "46e0cfacab4b62af84172a56436719ac51b6cad23bc572329b5bef7216da2c0d";

/// An ELF-looking header followed by xorshift32 bytes.
fn fake_vmlinux(len: usize, seed: u32) -> Vec<u8> {
    let mut v = b"\x7fELF\x02\x01\x01".to_vec();
    let mut x = seed;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x >> 24) as u8);
    }
    v
}

struct TarEntry {
    path: Vec<u8>,
    kind: EntryType,
    data: Vec<u8>,
    link: Option<&'static str>,
}

fn file(path: &str, data: Vec<u8>) -> TarEntry {
    TarEntry {
        path: path.as_bytes().to_vec(),
        kind: EntryType::Regular,
        data,
        link: None,
    }
}

fn dir(path: &str) -> TarEntry {
    TarEntry {
        path: path.as_bytes().to_vec(),
        kind: EntryType::Directory,
        data: Vec::new(),
        link: None,
    }
}

fn link(path: &str, kind: EntryType, target: &'static str) -> TarEntry {
    TarEntry {
        path: path.as_bytes().to_vec(),
        kind,
        data: Vec::new(),
        link: Some(target),
    }
}

/// A tar with the entries' paths written raw (no sanitising, so hostile
/// paths survive), ending with the end-of-archive marker.
fn tar_of(entries: &[TarEntry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..e.path.len()].copy_from_slice(&e.path);
        h.set_entry_type(e.kind);
        h.set_mode(if e.kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_mtime(1_778_270_340);
        h.set_size(e.data.len() as u64);
        if let Some(target) = e.link {
            h.set_link_name(target).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// The layout of Debian's linux-image-*-dbg package, in miniature.
fn debian_like_tar() -> Vec<u8> {
    tar_of(&[
        dir("./"),
        dir("./usr/"),
        dir("./usr/lib/"),
        dir("./usr/lib/debug/"),
        dir("./usr/lib/debug/boot/"),
        file(
            "./usr/lib/debug/boot/System.map-6.1.0-47-cloud-amd64",
            b"ffffffff81000000 T _text\n".repeat(40),
        ),
        file(VMLINUX_PATH, fake_vmlinux(5000, 0x1234_5678)),
        dir("./usr/lib/debug/lib/modules/6.1.0-47-cloud-amd64/kernel/fs/"),
        file(
            "./usr/lib/debug/lib/modules/6.1.0-47-cloud-amd64/kernel/fs/ext4.ko",
            fake_vmlinux(1500, 7),
        ),
        dir("./usr/share/doc/linux-image-6.1.0-47-cloud-amd64-dbg/"),
        file(
            "./usr/share/doc/linux-image-6.1.0-47-cloud-amd64-dbg/changelog.Debian.gz",
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0],
        ),
        link(
            "./usr/lib/debug/vmlinux-6.1.0-47-cloud-amd64",
            EntryType::Symlink,
            "boot/vmlinux-6.1.0-47-cloud-amd64",
        ),
    ])
}

#[derive(Clone, Copy, Debug)]
enum Comp {
    Xz,
    XzMultiBlock,
    Zstd,
    Gzip,
    Bzip2,
    Plain,
}

fn compress(c: Comp, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match c {
        Comp::Xz => {
            liblzma::read::XzEncoder::new(data, 6)
                .read_to_end(&mut out)
                .unwrap();
        }
        Comp::XzMultiBlock => {
            let stream = liblzma::stream::MtStreamBuilder::new()
                .threads(2)
                .block_size(4096)
                .preset(6)
                // As Debian's packages: a CRC64 per block.
                .check(liblzma::stream::Check::Crc64)
                .encoder()
                .unwrap();
            liblzma::read::XzEncoder::new_stream(data, stream)
                .read_to_end(&mut out)
                .unwrap();
        }
        Comp::Zstd => out = zstd::encode_all(data, 3).unwrap(),
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            out = e.finish().unwrap();
        }
        Comp::Bzip2 => {
            bzip2::read::BzEncoder::new(data, bzip2::Compression::default())
                .read_to_end(&mut out)
                .unwrap();
        }
        Comp::Plain => out = data.to_vec(),
    }
    out
}

fn member_name(c: Comp) -> &'static str {
    match c {
        Comp::Xz | Comp::XzMultiBlock => "data.tar.xz",
        Comp::Zstd => "data.tar.zst",
        Comp::Gzip => "data.tar.gz",
        Comp::Bzip2 => "data.tar.bz2",
        Comp::Plain => "data.tar",
    }
}

/// An ar archive of the given members, in order.
fn ar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = ar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
        h.set_mode(0o100644);
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A .deb: debian-binary, control.tar.xz, then `data` as `member`.
fn deb(member: &str, data: &[u8]) -> Vec<u8> {
    let control = compress(
        Comp::Xz,
        &tar_of(&[
            dir("./"),
            file("./control", b"Package: linux-image-dbg\n".to_vec()),
        ]),
    );
    ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", &control),
        (member, data),
    ])
}

fn deb_with(c: Comp, tar: &[u8]) -> Vec<u8> {
    deb(member_name(c), &compress(c, tar))
}

fn run(package: &[u8], out: &Path, options: &UnpackOptions) -> Result<Unpacked, Error> {
    unpack_vmlinux(package, "test.deb", out, options)
}

/// Names in `dir`, sorted (hidden temp files included).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn check_good(c: Comp, threads: u32, expect: Compression) {
    let tar = debian_like_tar();
    let out = tempfile::tempdir().unwrap();
    let options = UnpackOptions {
        xz_threads: threads,
        ..UnpackOptions::default()
    };
    let got = run(&deb_with(c, &tar), out.path(), &options).unwrap();
    assert_eq!(got.compression, expect, "{c:?}");
    assert_eq!(got.member, member_name(c));
    assert_eq!(got.data_size, tar.len() as u64);
    assert_eq!(got.vmlinux.len(), 1);
    let v = &got.vmlinux[0];
    assert_eq!(v.path, out.path().join("vmlinux-6.1.0-47-cloud-amd64"));
    assert_eq!(v.entry, VMLINUX_PATH);
    assert_eq!(v.release, RELEASE);
    assert_eq!(v.size, 5000);
    assert_eq!(v.sha256, VMLINUX_SHA256);
    assert_eq!(
        std::fs::read(&v.path).unwrap(),
        fake_vmlinux(5000, 0x1234_5678)
    );
    assert_eq!(listing(out.path()), ["vmlinux-6.1.0-47-cloud-amd64"]);
}

#[test]
fn xz() {
    check_good(Comp::Xz, 0, Compression::Xz);
}

#[test]
fn xz_single_threaded() {
    check_good(Comp::Xz, 1, Compression::Xz);
}

#[test]
fn xz_multi_block_multi_threaded() {
    check_good(Comp::XzMultiBlock, 2, Compression::Xz);
    check_good(Comp::XzMultiBlock, 4, Compression::Xz);
    check_good(Comp::XzMultiBlock, 1, Compression::Xz);
}

#[test]
fn zstd() {
    check_good(Comp::Zstd, 0, Compression::Zstd);
}

#[test]
fn gzip() {
    check_good(Comp::Gzip, 0, Compression::Gzip);
}

#[test]
fn bzip2() {
    check_good(Comp::Bzip2, 0, Compression::Bzip2);
}

#[test]
fn uncompressed_tar() {
    check_good(Comp::Plain, 0, Compression::None);
}

#[test]
fn compression_is_told_by_magic_not_name() {
    let out = tempfile::tempdir().unwrap();
    let package = deb("data.tar.gz", &compress(Comp::Zstd, &debian_like_tar()));
    let got = run(&package, out.path(), &UnpackOptions::default()).unwrap();
    assert_eq!(got.compression, Compression::Zstd);
    assert_eq!(got.vmlinux[0].sha256, VMLINUX_SHA256);
}

#[test]
fn two_kernels_and_replacing_an_old_output() {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("vmlinux-6.1.0-47-cloud-amd64"), b"stale").unwrap();
    let tar = tar_of(&[
        file(VMLINUX_PATH, fake_vmlinux(5000, 0x1234_5678)),
        file(
            "usr/lib/debug/boot/vmlinux-6.1.0-47-rt-amd64",
            fake_vmlinux(3333, 0x9e37_79b9),
        ),
    ]);
    let got = run(
        &deb_with(Comp::Xz, &tar),
        out.path(),
        &UnpackOptions::default(),
    )
    .unwrap();
    let summary: Vec<_> = got
        .vmlinux
        .iter()
        .map(|v| (v.release.as_str(), v.size, v.sha256.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("6.1.0-47-cloud-amd64", 5000, VMLINUX_SHA256),
            ("6.1.0-47-rt-amd64", 3333, OTHER_SHA256),
        ]
    );
    assert_eq!(
        std::fs::read(out.path().join("vmlinux-6.1.0-47-cloud-amd64")).unwrap(),
        fake_vmlinux(5000, 0x1234_5678)
    );
    assert_eq!(
        listing(out.path()),
        ["vmlinux-6.1.0-47-cloud-amd64", "vmlinux-6.1.0-47-rt-amd64"]
    );
}

/// Unpacks `package` into a fresh directory, expects an error, and checks
/// that the error names the package and the directory is left empty.
fn refused(package: &[u8], options: &UnpackOptions) -> Error {
    let out = tempfile::tempdir().unwrap();
    let err = run(package, out.path(), options).unwrap_err();
    eprintln!("{err}");
    assert!(err.to_string().starts_with("test.deb: "), "{err}");
    assert_eq!(listing(out.path()), Vec::<String>::new(), "{err}");
    err
}

/// The good vmlinux first (so a temp file exists when the bad entry comes),
/// then `bad`.
fn after_vmlinux(bad: TarEntry) -> Vec<u8> {
    tar_of(&[file(VMLINUX_PATH, fake_vmlinux(5000, 0x1234_5678)), bad])
}

#[test]
fn refuses_parent_dir_escape() {
    let tar = after_vmlinux(file("../../etc/passwd", b"root::0:0::/:/bin/sh\n".to_vec()));
    let err = refused(&deb_with(Comp::Xz, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::UnsafePath { entry, member, .. } if entry == "../../etc/passwd" && member == "data.tar.xz"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "test.deb: data.tar.xz: entry \"../../etc/passwd\" has an absolute path or one that leaves the output directory"
    );
}

#[test]
fn refuses_dot_dot_inside_the_tree() {
    let tar = after_vmlinux(file("./usr/lib/debug/boot/../../../../x", vec![1]));
    let err = refused(&deb_with(Comp::Gzip, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::UnsafePath { entry, .. } if entry == "./usr/lib/debug/boot/../../../../x"),
        "{err}"
    );
}

#[test]
fn refuses_absolute_path() {
    let tar = after_vmlinux(file(
        "/usr/lib/debug/boot/vmlinux-abs",
        fake_vmlinux(100, 1),
    ));
    let err = refused(&deb_with(Comp::Zstd, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::UnsafePath { entry, .. } if entry == "/usr/lib/debug/boot/vmlinux-abs"),
        "{err}"
    );
}

#[test]
fn refuses_symlink_named_like_vmlinux() {
    let tar = after_vmlinux(link(
        "./usr/lib/debug/boot/vmlinux-evil",
        EntryType::Symlink,
        "/etc/shadow",
    ));
    let err = refused(&deb_with(Comp::Xz, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::NotRegularFile { entry, kind, .. } if entry == "./usr/lib/debug/boot/vmlinux-evil" && kind == "symbolic link"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "test.deb: data.tar.xz: entry \"./usr/lib/debug/boot/vmlinux-evil\" is a symbolic link, not a regular file"
    );
}

#[test]
fn refuses_hardlink_named_like_vmlinux() {
    let tar = after_vmlinux(link(
        "./usr/lib/debug/boot/vmlinux-hard",
        EntryType::Link,
        "./usr/lib/debug/boot/vmlinux-6.1.0-47-cloud-amd64",
    ));
    let err = refused(&deb_with(Comp::Bzip2, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::NotRegularFile { kind, .. } if kind == "hard link"),
        "{err}"
    );
}

#[test]
fn refuses_oversize_entry() {
    let options = UnpackOptions {
        max_entry_size: 4096,
        ..UnpackOptions::default()
    };
    let err = refused(&deb_with(Comp::Xz, &debian_like_tar()), &options);
    assert!(
        matches!(&err, Error::EntryTooLarge { entry, size: 5000, limit: 4096, .. } if entry == VMLINUX_PATH),
        "{err}"
    );
}

#[test]
fn refuses_decompression_bomb() {
    let options = UnpackOptions {
        max_total_size: 256 << 10,
        ..UnpackOptions::default()
    };
    let tar = after_vmlinux(file("./usr/share/doc/zeros", vec![0; 4 << 20]));
    let package = deb_with(Comp::Xz, &tar);
    assert!(
        package.len() < 16 << 10,
        "the bomb compresses to {} bytes",
        package.len()
    );
    let err = refused(&package, &options);
    assert!(
        matches!(&err, Error::TooMuchData { limit: 262_144, .. }),
        "{err}"
    );
    // Same with zstd and a bomb in the tar padding after the archive.
    let mut padded = debian_like_tar();
    padded.extend(std::iter::repeat_n(0, 4 << 20));
    let err = refused(&deb_with(Comp::Zstd, &padded), &options);
    assert!(matches!(&err, Error::TooMuchData { .. }), "{err}");
}

#[test]
fn refuses_huge_long_name_header() {
    let mut tar = Vec::new();
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(EntryType::GNULongName);
    h.set_size(2 << 20);
    h.set_cksum();
    tar.extend_from_slice(h.as_bytes());
    tar.extend(std::iter::repeat_n(b'a', 2 << 20));
    tar.extend(debian_like_tar());
    let err = refused(&deb_with(Comp::Xz, &tar), &UnpackOptions::default());
    assert!(
        matches!(
            &err,
            Error::HeaderTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn refuses_duplicate_vmlinux() {
    let tar = after_vmlinux(file(
        "usr/lib/debug//boot/./vmlinux-6.1.0-47-cloud-amd64",
        fake_vmlinux(10, 3),
    ));
    let err = refused(&deb_with(Comp::Xz, &tar), &UnpackOptions::default());
    assert!(matches!(&err, Error::Duplicate { .. }), "{err}");
}

#[test]
fn refuses_truncated_package() {
    for c in [
        Comp::Xz,
        Comp::XzMultiBlock,
        Comp::Zstd,
        Comp::Gzip,
        Comp::Bzip2,
        Comp::Plain,
    ] {
        let data = compress(c, &debian_like_tar());
        let package = deb(member_name(c), &data);
        // data.tar is the last member: cut in its middle.
        let cut = package.len() - data.len().div_ceil(2);
        let err = refused(&package[..cut], &UnpackOptions::default());
        assert!(
            matches!(&err, Error::Truncated { member, .. } if member == member_name(c)),
            "{c:?}: {err}"
        );
        // The same cut repackaged, so the ar member itself is whole: the
        // decoder (or, for a plain tar, the tar reader) must notice. A
        // compressed stream must be whole to its last byte; a plain tar is
        // whole with its first end-of-archive block.
        let end = if matches!(c, Comp::Plain) { 1100 } else { 1 };
        for cut in [data.len() / 2, data.len() - end] {
            let err = refused(
                &deb(member_name(c), &data[..cut]),
                &UnpackOptions::default(),
            );
            assert!(
                matches!(&err, Error::Truncated { member, .. } if member == member_name(c)),
                "{c:?} cut at {cut}: {err}"
            );
        }
    }
}

#[test]
fn refuses_tar_without_end_marker() {
    let mut tar = debian_like_tar();
    while tar.ends_with(&[0; 512]) {
        tar.truncate(tar.len() - 512);
    }
    let err = refused(&deb_with(Comp::Xz, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::Truncated { message, .. } if message.contains("end-of-archive")),
        "{err}"
    );
}

#[test]
fn refuses_corrupt_xz() {
    let mut data = compress(Comp::Xz, &debian_like_tar());
    let mid = data.len() / 2;
    data[mid] ^= 0x55;
    data[mid + 1] ^= 0xaa;
    let err = refused(&deb("data.tar.xz", &data), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::Corrupt { member, .. } if member == "data.tar.xz"),
        "{err}"
    );
}

#[test]
fn refuses_wrong_magic() {
    let err = refused(
        &deb("data.tar.xz", b"PK\x03\x04 this is a zip, not a tar.xz"),
        &UnpackOptions::default(),
    );
    assert!(
        matches!(&err, Error::UnknownCompression { magic, member, .. } if magic == "504b030420746869" && member == "data.tar.xz"),
        "{err}"
    );
    let err = refused(&deb("data.tar.xz", b""), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::Corrupt { message, .. } if message == "the member is empty"),
        "{err}"
    );
}

#[test]
fn refuses_package_without_vmlinux() {
    let tar = tar_of(&[
        dir("./"),
        file(
            "./usr/lib/debug/boot/System.map-6.1.0-47-cloud-amd64",
            vec![b'x'; 100],
        ),
        link(
            "./usr/lib/debug/vmlinux-6.1.0-47-cloud-amd64",
            EntryType::Symlink,
            "boot/vmlinux-6.1.0-47-cloud-amd64",
        ),
        file("./usr/lib/debug/boot/vmlinux-", vec![1]),
        file("./usr/lib/debug/boot/sub/vmlinux-6.1", vec![1]),
    ]);
    let err = refused(&deb_with(Comp::Xz, &tar), &UnpackOptions::default());
    assert!(
        matches!(&err, Error::NoVmlinux { member, .. } if member == "data.tar.xz"),
        "{err}"
    );
}

#[test]
fn refuses_non_debian_inputs() {
    let err = refused(
        b"\x7fELF not an ar archive at all",
        &UnpackOptions::default(),
    );
    assert!(matches!(&err, Error::NotDeb { .. }), "{err}");
    let err = refused(b"", &UnpackOptions::default());
    assert!(matches!(&err, Error::NotDeb { .. }), "{err}");
    let not_first = ar_of(&[("control.tar.xz", b"x"), ("debian-binary", b"2.0\n")]);
    let err = refused(&not_first, &UnpackOptions::default());
    assert!(
        matches!(&err, Error::NotDeb { message, .. } if message.contains("control.tar.xz")),
        "{err}"
    );
    let no_data = ar_of(&[("debian-binary", b"2.0\n"), ("control.tar.xz", b"x")]);
    let err = refused(&no_data, &UnpackOptions::default());
    assert!(matches!(&err, Error::MissingData { .. }), "{err}");
    assert_eq!(err.to_string(), "test.deb: has no data.tar member");
}

/// A reader that fails after `left` bytes, like a dropped download.
struct Failing<'a> {
    data: &'a [u8],
    left: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "peer reset",
            ));
        }
        let n = buf.len().min(self.left).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn input_errors_are_read_errors() {
    let package = deb_with(Comp::Xz, &debian_like_tar());
    for left in [0, 30, package.len() - 100] {
        let out = tempfile::tempdir().unwrap();
        let input = Failing {
            data: &package,
            left,
        };
        let err = unpack_vmlinux(
            input,
            "https://example/x.deb",
            out.path(),
            &UnpackOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Read { source, .. } if source.kind() == std::io::ErrorKind::ConnectionReset),
            "{left}: {err}"
        );
        assert_eq!(
            err.to_string(),
            "https://example/x.deb: reading the package: peer reset"
        );
        assert_eq!(listing(out.path()), Vec::<String>::new());
    }
}

/// Debian's -dbg layout as dpkg-deb orders it (every other entry by path,
/// then the symbolic links), with 8 MiB of incompressible modules after the
/// vmlinux. Returns the tar and the offset just past the header of the
/// first entry that sorts after `usr/lib/debug/boot/`.
fn dpkg_ordered_tar_with_big_tail() -> (Vec<u8>, u64) {
    let head = vec![
        dir("./"),
        dir("./usr/"),
        dir("./usr/lib/"),
        dir("./usr/lib/debug/"),
        dir("./usr/lib/debug/.build-id/"),
        dir("./usr/lib/debug/boot/"),
        file(
            "./usr/lib/debug/boot/System.map-6.1.0-47-cloud-amd64",
            b"ffffffff81000000 T _text\n".repeat(40),
        ),
        file(VMLINUX_PATH, fake_vmlinux(5000, 0x1234_5678)),
    ];
    let tail = vec![
        dir("./usr/lib/debug/lib/"),
        file(
            "./usr/lib/debug/lib/modules/6.1.0-47-cloud-amd64/kernel/fs/ext4.ko",
            fake_vmlinux(8 << 20, 7),
        ),
        dir("./usr/share/doc/linux-image-6.1.0-47-cloud-amd64-dbg/"),
        link(
            "./usr/lib/debug/.build-id/48/64da7de014ea2bc67a4be9330d33909081471d.debug",
            EntryType::Symlink,
            "../../lib/modules/6.1.0-47-cloud-amd64/vdso/vdso64.so",
        ),
        link(
            "./usr/lib/debug/vmlinux-6.1.0-47-cloud-amd64",
            EntryType::Symlink,
            "boot/vmlinux-6.1.0-47-cloud-amd64",
        ),
    ];
    // tar_of ends with the two 512-byte end-of-archive blocks.
    let stop = tar_of(&head).len() as u64 - 1024 + 512;
    let all: Vec<TarEntry> = head.into_iter().chain(tail).collect();
    (tar_of(&all), stop)
}

/// The xz member of `tar` with two bytes flipped 1 MiB before its end.
fn xz_with_corrupt_tail(tar: &[u8]) -> Vec<u8> {
    let mut data = compress(Comp::XzMultiBlock, tar);
    let at = data.len() - (1 << 20);
    data[at] ^= 0x55;
    data[at + 1] ^= 0xaa;
    data
}

#[test]
fn stops_after_the_vmlinux_when_told_and_the_entries_are_in_dpkg_deb_order() {
    let (tar, stop) = dpkg_ordered_tar_with_big_tail();
    let stopping = UnpackOptions {
        stop_after_vmlinux: true,
        ..UnpackOptions::default()
    };
    for threads in [1, 2] {
        let options = UnpackOptions {
            xz_threads: threads,
            ..stopping.clone()
        };
        // Whole package: the vmlinux, with only its head decompressed.
        let out = tempfile::tempdir().unwrap();
        let got = run(&deb_with(Comp::XzMultiBlock, &tar), out.path(), &options).unwrap();
        assert!(got.stopped_early);
        assert_eq!(got.data_size, stop, "threads {threads}");
        assert_eq!(got.vmlinux.len(), 1);
        assert_eq!(got.vmlinux[0].sha256, VMLINUX_SHA256);
        assert_eq!(listing(out.path()), ["vmlinux-6.1.0-47-cloud-amd64"]);

        // A corrupt tail is never decompressed, so it goes unnoticed (the
        // caller's SHA-256 of the whole package is what catches it) …
        let corrupt = deb("data.tar.xz", &xz_with_corrupt_tail(&tar));
        let out = tempfile::tempdir().unwrap();
        let got = run(&corrupt, out.path(), &options).unwrap();
        assert_eq!(got.vmlinux[0].sha256, VMLINUX_SHA256);
        // … while reading to the end refuses it.
        let err = refused(
            &corrupt,
            &UnpackOptions {
                xz_threads: threads,
                ..UnpackOptions::default()
            },
        );
        assert!(
            matches!(&err, Error::Corrupt { member, .. } if member == "data.tar.xz"),
            "{err}"
        );

        // A package cut short after the vmlinux is still refused: the rest
        // of the member is read, raw.
        let package = deb_with(Comp::XzMultiBlock, &tar);
        let err = refused(&package[..package.len() - 1000], &options);
        assert!(
            matches!(&err, Error::Truncated { member, .. } if member == "data.tar.xz"),
            "{err}"
        );
    }
}

#[test]
fn reads_to_the_end_when_the_entries_are_not_in_path_order() {
    let out_of_order = tar_of(&[
        dir("./"),
        dir("./usr/"),
        file("./usr/share/doc/README", b"first, out of order\n".to_vec()),
        dir("./usr/lib/debug/boot/"),
        file(VMLINUX_PATH, fake_vmlinux(5000, 0x1234_5678)),
        dir("./usr/lib/debug/lib/"),
        file(
            "./usr/lib/debug/lib/modules/6.1.0-47-cloud-amd64/kernel/fs/ext4.ko",
            fake_vmlinux(1500, 7),
        ),
    ]);
    let options = UnpackOptions {
        stop_after_vmlinux: true,
        ..UnpackOptions::default()
    };
    let out = tempfile::tempdir().unwrap();
    let got = run(&deb_with(Comp::Xz, &out_of_order), out.path(), &options).unwrap();
    assert!(!got.stopped_early);
    assert_eq!(got.data_size, out_of_order.len() as u64);
    assert_eq!(got.vmlinux[0].sha256, VMLINUX_SHA256);

    // In order but told not to stop: read to the end.
    let (tar, _) = dpkg_ordered_tar_with_big_tail();
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &deb_with(Comp::XzMultiBlock, &tar),
        out.path(),
        &UnpackOptions::default(),
    )
    .unwrap();
    assert!(!got.stopped_early);
    assert_eq!(got.data_size, tar.len() as u64);
}

/// The layout of Debian's linux-image-<release> package, in miniature.
fn image_package_tar(config: &[u8]) -> Vec<u8> {
    tar_of(&[
        dir("./"),
        dir("./boot/"),
        file(
            "./boot/System.map-6.1.0-47-cloud-amd64",
            b"ffffffff81000000 T _text\n".repeat(40),
        ),
        file("./boot/config-6.1.0-47-cloud-amd64", config.to_vec()),
        file("./boot/vmlinuz-6.1.0-47-cloud-amd64", fake_vmlinux(3000, 9)),
        dir("./lib/modules/6.1.0-47-cloud-amd64/kernel/fs/"),
        file(
            "./lib/modules/6.1.0-47-cloud-amd64/kernel/fs/ext4.ko",
            fake_vmlinux(1500, 7),
        ),
        // A debug package's vmlinux path is not a config.
        file(VMLINUX_PATH, fake_vmlinux(100, 3)),
    ])
}

fn config_options() -> UnpackOptions {
    UnpackOptions {
        target: Target::Config,
        ..UnpackOptions::default()
    }
}

#[test]
fn takes_the_config_out_of_an_image_package() {
    let config = b"CONFIG_64BIT=y\n# CONFIG_DEBUG_INFO_BTF is not set\n".to_vec();
    for c in [Comp::Xz, Comp::Zstd, Comp::Gzip, Comp::Plain] {
        let out = tempfile::tempdir().unwrap();
        let got = run(
            &deb_with(c, &image_package_tar(&config)),
            out.path(),
            &config_options(),
        )
        .unwrap();
        assert_eq!(got.vmlinux.len(), 1, "{c:?}");
        let v = &got.vmlinux[0];
        assert_eq!(v.release, RELEASE);
        assert_eq!(v.entry, "./boot/config-6.1.0-47-cloud-amd64");
        assert_eq!(v.path, out.path().join("config-6.1.0-47-cloud-amd64"));
        assert_eq!(std::fs::read(&v.path).unwrap(), config);
        assert_eq!(listing(out.path()), ["config-6.1.0-47-cloud-amd64"]);
    }
    // The same package asked for a vmlinux gives the debug path's file only.
    let out = tempfile::tempdir().unwrap();
    let got = run(
        &deb_with(Comp::Xz, &image_package_tar(&config)),
        out.path(),
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(listing(out.path()), ["vmlinux-6.1.0-47-cloud-amd64"]);
    assert_eq!(got.vmlinux[0].size, 100);
}

#[test]
fn a_config_unpack_refuses_what_a_vmlinux_unpack_refuses() {
    // A debug package has no boot/config-*.
    let err = refused(&deb_with(Comp::Xz, &debian_like_tar()), &config_options());
    assert!(
        matches!(&err, Error::NoConfig { member, .. } if member == "data.tar.xz"),
        "{err}"
    );
    // Hostile paths and links named like the config.
    let escape = tar_of(&[
        file(
            "./boot/config-6.1.0-47-cloud-amd64",
            b"CONFIG_A=y\n".to_vec(),
        ),
        file("./boot/../../etc/passwd", vec![b'x'; 10]),
    ]);
    let err = refused(&deb_with(Comp::Xz, &escape), &config_options());
    assert!(matches!(&err, Error::UnsafePath { .. }), "{err}");
    let symlink = tar_of(&[link(
        "./boot/config-6.1.0-47-cloud-amd64",
        EntryType::Symlink,
        "/etc/shadow",
    )]);
    let err = refused(&deb_with(Comp::Xz, &symlink), &config_options());
    assert!(matches!(&err, Error::NotRegularFile { .. }), "{err}");
    // A package cut short.
    let whole = deb_with(Comp::Xz, &image_package_tar(b"CONFIG_A=y\n"));
    let err = refused(&whole[..whole.len() / 2], &config_options());
    assert!(matches!(&err, Error::Truncated { .. }), "{err}");
}

#[test]
fn companion_read_takes_the_config_of_the_release_and_leaves_nothing_behind() {
    use ksurf_fetcher::companion::{find, read, LocalConfig};
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let config = b"CONFIG_64BIT=y\n".to_vec();
    let name = "linux-image-6.1.0-47-cloud-amd64_6.1.170-1_amd64.deb";
    std::fs::write(
        dir.path().join(name),
        deb_with(Comp::Xz, &image_package_tar(&config)),
    )
    .unwrap();
    let found = find(dir.path(), RELEASE, "amd64", "6.1.170-1").unwrap();
    assert_eq!(found, Some(LocalConfig::Package(dir.path().join(name))));
    let found = found.unwrap();
    assert_eq!(found.file_name(), name);
    assert_eq!(read(&found, RELEASE, &work).unwrap(), config);
    assert_eq!(listing(&work), Vec::<String>::new());

    // The package of another release, under this release's name.
    let err = read(&found, "6.1.0-48-cloud-amd64", &work).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: holds ./boot/config-6.1.0-47-cloud-amd64, not boot/config-6.1.0-48-cloud-amd64",
            dir.path().join(name).display()
        )
    );
    assert_eq!(listing(&work), Vec::<String>::new());
    // A debug package under a companion's name: no config in it.
    std::fs::write(
        dir.path().join(name),
        deb_with(Comp::Xz, &debian_like_tar()),
    )
    .unwrap();
    let err = read(&found, RELEASE, &work).unwrap_err();
    assert!(matches!(err, Error::NoConfig { .. }), "{err}");
    assert_eq!(listing(&work), Vec::<String>::new());
}
