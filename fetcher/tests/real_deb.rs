//! Real-package check (ignored by default): unpacks the Debian package named
//! by KSURF_REAL_DEB and compares the vmlinux's SHA-256 with what
//! `dpkg-deb --fsys-tarfile | tar -xO | sha256sum` gives. Run with
//!
//! ```sh
//! KSURF_REAL_DEB=/work/kernels/linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb \
//!   cargo test --release -p ksurf-fetcher --test real_deb -- --ignored --nocapture
//! ```

use std::path::Path;
use std::process::Command;

use ksurf_fetcher::{unpack_vmlinux_file, Compression, UnpackOptions};

#[test]
#[ignore = "needs a real kernel debug package: set KSURF_REAL_DEB"]
fn real_debian_dbg_package() {
    let Some(deb) = std::env::var_os("KSURF_REAL_DEB") else {
        eprintln!("KSURF_REAL_DEB not set; skipping");
        return;
    };
    let deb = Path::new(&deb);
    if !deb.exists() {
        eprintln!("{} does not exist; skipping", deb.display());
        return;
    }
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
