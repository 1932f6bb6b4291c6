//! The config kind on real kernels: each vmlinux's own copy
//! (`CONFIG_IKCONFIG`) looked for, and its companion image package's
//! `boot/config-<release>` found and read as `ksurf run` does
//! (`ksurf_fetcher::companion`), then parsed (`ksurf_extractor::kconfig`).
//!
//! Ignored by default: set `KSURF_REAL_VMLINUX` to one or more vmlinux
//! paths (separated by `:`, named `vmlinux-<release>`) and
//! `KSURF_REAL_KCONFIG_DIR` to the directory holding their companion
//! packages (`linux-image-<release>_*.deb`), then run `cargo test --release
//! --test real_kconfig -- --ignored --nocapture`. Relative paths are taken
//! from the workspace root.
//!
//! Checked per kernel: the image has an own copy exactly when its config
//! says `CONFIG_IKCONFIG=y` (and then the two texts agree); `.BTF` is in
//! the image exactly when `CONFIG_DEBUG_INFO_BTF=y`; the architecture
//! option matches the ELF machine; and the facts named below for the
//! Debian 6.1 kernels.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ksurf_extractor::kconfig::{self, KconfigRow};
use ksurf_fetcher::companion::{self, LocalConfig};
use object::Object;

fn value<'r>(rows: &'r [KconfigRow], name: &str) -> Option<Option<&'r str>> {
    rows.iter()
        .find(|r| r.name == name)
        .map(|r| r.value.as_deref())
}

#[test]
#[ignore = "needs KSURF_REAL_VMLINUX and KSURF_REAL_KCONFIG_DIR"]
fn real_kernel_configs() {
    let (Some(list), Some(dir)) = (
        std::env::var_os("KSURF_REAL_VMLINUX"),
        std::env::var_os("KSURF_REAL_KCONFIG_DIR"),
    ) else {
        eprintln!("KSURF_REAL_VMLINUX or KSURF_REAL_KCONFIG_DIR is not set; nothing checked");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(dir);
    let work = tempfile::tempdir().unwrap();
    for path in std::env::split_paths(&list) {
        let path: PathBuf = root.join(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let release = name
            .strip_prefix("vmlinux-")
            .expect("named vmlinux-<release>");
        let t = Instant::now();
        let map = ksurf_extractor::elf::VmlinuxFile::open(&path).unwrap();
        let elf = object::File::parse(map.bytes()).unwrap();
        let (arch, arch_option) = match elf.architecture() {
            object::Architecture::X86_64 => ("amd64", "CONFIG_X86_64"),
            object::Architecture::Aarch64 => ("arm64", "CONFIG_ARM64"),
            object::Architecture::S390x => ("s390x", "CONFIG_S390"),
            other => panic!("{name}: no Debian architecture for {other:?} in this test"),
        };
        let has_btf = elf.section_by_name(".BTF").is_some();
        let own = kconfig::read_ikconfig(&path, map.bytes()).unwrap();

        let found = companion::find(&dir, release, arch, "")
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no companion package in {}", dir.display()));
        assert!(matches!(found, LocalConfig::Package(_)), "{found:?}");
        let text = companion::read(&found, release, work.path()).unwrap();
        let rows = kconfig::parse(&text).unwrap();
        let seconds = t.elapsed().as_secs_f64();

        let ikconfig = value(&rows, "CONFIG_IKCONFIG");
        match &own {
            Some(own_text) => {
                assert_eq!(ikconfig, Some(Some("y")), "{name}");
                assert_eq!(kconfig::parse(own_text).unwrap(), rows, "{name}");
            }
            None => assert_ne!(ikconfig, Some(Some("y")), "{name}"),
        }
        let btf = value(&rows, "CONFIG_DEBUG_INFO_BTF");
        assert_eq!(btf == Some(Some("y")), has_btf, "{name}: {btf:?}");
        assert_eq!(value(&rows, arch_option), Some(Some("y")), "{name}");
        match release {
            "6.1.0-57-cloud-amd64" | "6.1.0-57-arm64" => {
                assert_eq!(btf, Some(Some("y")), "{name}");
            }
            "6.1.0-50-s390x" => {
                // `# CONFIG_DEBUG_INFO_BTF is not set`: a row with no value.
                assert_eq!(btf, Some(None), "{name}");
            }
            _ => {}
        }
        // One row per name, sorted.
        assert!(rows.windows(2).all(|w| w[0].name < w[1].name), "{name}");
        let set = rows.iter().filter(|r| r.value.is_some()).count();
        println!(
            "{name}: {} options ({set} set, {} not set) from {}; own copy (IKCONFIG): {}; CONFIG_DEBUG_INFO_BTF {}; .BTF {}; {seconds:.2}s",
            rows.len(),
            rows.len() - set,
            found.file_name(),
            if own.is_some() { "yes" } else { "no" },
            match btf {
                Some(Some(v)) => v.to_owned(),
                Some(None) => "is not set".to_owned(),
                None => "absent".to_owned(),
            },
            if has_btf { "present" } else { "absent" },
        );
    }
}
