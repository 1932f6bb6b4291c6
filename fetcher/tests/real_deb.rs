//! Real-package check (ignored by default): unpacks the Debian package named
//! by KSURF_REAL_DEB and compares the vmlinux's SHA-256 with what
//! `dpkg-deb --fsys-tarfile | tar -xO | sha256sum` gives. Run with
//!
//! ```sh
//! KSURF_REAL_DEB=/work/kernels/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb \
//!   cargo test --release -p ksurf-fetcher --test real_deb -- --ignored --nocapture
//! ```

use std::path::PathBuf;
use std::process::Command;

use ksurf_fetcher::{unpack_vmlinux_file, Compression, UnpackOptions};

/// The package KSURF_REAL_DEB names; `None` (the test skips, saying why)
/// when it is unset or names no file.
fn real_deb() -> Option<PathBuf> {
    let Some(deb) = std::env::var_os("KSURF_REAL_DEB") else {
        eprintln!("KSURF_REAL_DEB not set; skipping");
        return None;
    };
    let deb = PathBuf::from(deb);
    if !deb.exists() {
        eprintln!("{} does not exist; skipping", deb.display());
        return None;
    }
    Some(deb)
}

#[test]
#[ignore = "needs a real kernel debug package: set KSURF_REAL_DEB"]
fn real_debian_dbg_package() {
    let Some(deb) = real_deb() else { return };
    let deb = deb.as_path();
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let got = unpack_vmlinux_file(deb, out.path(), &UnpackOptions::default()).unwrap();
    eprintln!("unpacked in {:.1?}: {got:?}", started.elapsed());
    assert_eq!(got.compression, Compression::Xz);
    assert_eq!(got.vmlinux.len(), 1);
    let v = &got.vmlinux[0];
    assert_eq!(std::fs::metadata(&v.path).unwrap().len(), v.size);

    let script = format!(
        "dpkg-deb --fsys-tarfile \"$0\" | tar -xO '{}' | sha256sum",
        v.entry.replace('\'', "")
    );
    let dpkg = Command::new("sh")
        .args(["-c", &script])
        .arg(deb)
        .output()
        .unwrap();
    assert!(
        dpkg.status.success(),
        "{}",
        String::from_utf8_lossy(&dpkg.stderr)
    );
    let dpkg_sha = String::from_utf8(dpkg.stdout).unwrap();
    assert_eq!(dpkg_sha.split_whitespace().next(), Some(v.sha256.as_str()));
    eprintln!("{} {} matches dpkg-deb", v.sha256, v.entry);
}

/// The same package with its modules: as many modules as `dpkg-deb -c`
/// lists `.ko` entries, their bytes adding up to the listed sizes, none
/// failed. Run as above with `real_debian_dbg_package_modules`.
#[test]
#[ignore = "needs a real kernel debug package: set KSURF_REAL_DEB"]
fn real_debian_dbg_package_modules() {
    let Some(deb) = real_deb() else { return };
    let deb = deb.as_path();
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb)
        .output()
        .unwrap();
    assert!(listing.status.success());
    // `-rw-r--r-- root/root 308736 2026-11-26 17:12 ./usr/lib/debug/lib/modules/…/x.ko`
    let (mut count, mut bytes) = (0u64, 0u64);
    for line in String::from_utf8(listing.stdout).unwrap().lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields[0].starts_with('-')
            && fields[5].contains("/lib/modules/")
            && fields[5].ends_with(".ko")
        {
            count += 1;
            bytes += fields[2].parse::<u64>().unwrap();
        }
    }
    let out = tempfile::tempdir().unwrap();
    let options = UnpackOptions {
        modules: true,
        ..UnpackOptions::default()
    };
    let started = std::time::Instant::now();
    let got = unpack_vmlinux_file(deb, out.path(), &options).unwrap();
    let modules = got.vmlinux[0].modules.as_ref().unwrap();
    eprintln!(
        "unpacked with modules in {:.1?}: {} modules, {} bytes",
        started.elapsed(),
        modules.count,
        modules.bytes
    );
    assert!(count > 0);
    assert_eq!((modules.count, modules.bytes), (count, bytes));
    assert_eq!(modules.failed, []);
}
