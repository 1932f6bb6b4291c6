//! `ksurf fetch --plan` end to end on a local directory of packages: the
//! table, the totals, skipped look-alikes, done images from a dataset, and
//! the error for sources the command cannot discover yet.

use std::path::Path;
use std::process::{Command, Output};

fn ksurf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(args)
        .current_dir(dir)
        .env_remove("KSURF_THREADS")
        .output()
        .expect("running ksurf")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A working directory with configs/debian-local.toml's `work/debs`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let debs = dir.path().join("work/debs");
    std::fs::create_dir_all(&debs).unwrap();
    for (name, len) in [
        (
            "linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb",
            3 << 20,
        ),
        (
            "linux-image-6.1.0-47-arm64-dbg_6.1.170-3_arm64.deb",
            2 << 20,
        ),
        ("linux-image-cloud-amd64-dbg_6.1.176-1_amd64.deb", 1324),
    ] {
        std::fs::File::create(debs.join(name))
            .unwrap()
            .set_len(len)
            .unwrap();
    }
    dir
}

fn shipped_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/debian-local.toml")
        .display()
        .to_string()
}

#[test]
fn plan_of_a_local_directory() {
    let dir = workdir();
    let o = ksurf(
        dir.path(),
        &["fetch", "--config", &shipped_config(), "--plan"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "\
IMAGE                              PACKAGE                               VERSION       SIZE  SOURCE        STATUS
debian/6.1.0-47-arm64/arm64        linux-image-6.1.0-47-arm64-dbg        6.1.170-3  2.0 MiB  debian-local  pending
debian/6.1.0-47-cloud-amd64/amd64  linux-image-6.1.0-47-cloud-amd64-dbg  6.1.170-3  3.0 MiB  debian-local  pending
2 packages, 5.0 MiB; 0 done, 2 to fetch (5.0 MiB)
"
    );
    assert_eq!(
        text(&o.stderr),
        "ksurf: skipped linux-image-cloud-amd64-dbg 6.1.176-1 (amd64, work/debs): meta package (no versioned kernel release in its name)\n"
    );
}

#[test]
fn images_in_the_dataset_are_done() {
    let dir = workdir();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("extractor/tests/fixtures/bin/x86_64-dwarf5.elf");
    // The fixture kernel is debian/6.1.0-99-mini-amd64/amd64; name the
    // package after it so its image is in the dataset.
    std::fs::File::create(
        dir.path()
            .join("work/debs/linux-image-6.1.0-99-mini-amd64-dbg_6.1.1-1_amd64.deb"),
    )
    .unwrap()
    .set_len(2 << 20)
    .unwrap();
    let extract = ksurf(
        dir.path(),
        &["extract", fixture.to_str().unwrap(), "--out", "ds"],
    );
    assert_eq!(extract.status.code(), Some(0), "{}", text(&extract.stderr));
    let o = ksurf(
        dir.path(),
        &[
            "fetch",
            "--config",
            &shipped_config(),
            "--plan",
            "--dataset",
            "ds",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[3].starts_with("debian/6.1.0-99-mini-amd64/amd64  ") && lines[3].ends_with("  done"),
        "{out}"
    );
    assert_eq!(
        lines[4],
        "3 packages, 7.0 MiB; 1 done, 2 to fetch (5.0 MiB)"
    );
}

#[test]
fn remote_sources_are_not_wired_yet() {
    let dir = workdir();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/debian.toml");
    let o = ksurf(
        dir.path(),
        &["fetch", "--config", config.to_str().unwrap(), "--plan"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout), "IMAGE  PACKAGE  VERSION  SIZE  SOURCE  STATUS\n0 packages, 0 B; 0 done, 0 to fetch (0 B)\n");
    assert_eq!(
        text(&o.stderr),
        format!(
            "ksurf: error: {}: [[source]] \"debian\" (kind debian): remote discovery is not wired into `ksurf fetch` yet\n",
            config.display()
        )
    );
    let o = ksurf(dir.path(), &["fetch", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "ksurf: error: fetching packages is not wired into `ksurf fetch` yet; use --plan to list what would be fetched\n"
    );
}

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[source]]\nname = \"l\"\nkind = \"local\"\npath = \"work/debs\"\narches = [\"x86\"]\n",
    )
    .unwrap();
    let o = ksurf(dir.path(), &["fetch", "--config", "bad.toml", "--plan"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "ksurf: error: bad.toml: [[source]] #1 (\"l\"): arches: unknown architecture \"x86\" (known: amd64, arm64, armel, armhf, i386, loong64, mips64el, mipsel, powerpc, ppc64, ppc64el, riscv64, s390x)\n"
    );
}
