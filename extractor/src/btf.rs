//! The image's own BTF as the dataset stores it (`btf/<image>/vmlinux.btf`,
//! raw BTF as `bpftool btf dump file` and libbpf's `btf_custom_path`
//! read it): the vmlinux's `.BTF` section, checked to be one whole BTF
//! blob, or — for a kernel built without `CONFIG_DEBUG_INFO_BTF`, whose
//! vmlinux has no `.BTF` — BTF encoded from the vmlinux's DWARF by
//! `pahole` (dwarves), the encoder the kernel build itself runs.
//!
//! This module owns reading and checking that blob and running `pahole`;
//! what the blob means (types, functions) is read elsewhere
//! ([`crate::kfuncs::Btf`], the checker).

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Endianness, Object, ObjectSection};

use crate::kfuncs::Btf;

/// Where an image's BTF came from (`images.btf_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BtfSource {
    /// The vmlinux's own `.BTF` section: what the running kernel exposes
    /// as `/sys/kernel/btf/vmlinux`.
    Section,
    /// Encoded from the vmlinux's DWARF by `pahole`: the kernel itself
    /// has no BTF (no fentry, tp_btf or LSM programs on it), but CO-RE
    /// programs can load with this as their custom BTF, as BTFHub's
    /// files are used.
    Pahole,
}

impl BtfSource {
    /// The `images.btf_source` value: `section` or `pahole`.
    pub fn column(self) -> &'static str {
        match self {
            BtfSource::Section => "section",
            BtfSource::Pahole => "pahole",
        }
    }
}

/// One image's BTF blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageBtf {
    /// Raw BTF: header, type section, string section, in the image's
    /// byte order.
    pub bytes: Vec<u8>,
    pub source: BtfSource,
    /// Type ids in the blob, `void` (id 0) not counted.
    pub types: u32,
}

/// Checks that `bytes` is one whole BTF blob in byte order `endian`
/// (magic `0xeb9f`, every type record readable) and counts its types.
/// Errors name `label` and what is wrong.
pub fn check_blob(label: &str, bytes: &[u8], endian: Endianness) -> Result<u32, String> {
    let btf = Btf::parse(bytes, endian).map_err(|e| format!("{label}: {e}"))?;
    Ok(btf.types.len().saturating_sub(1) as u32)
}

/// The vmlinux's `.BTF` section, checked; `Ok(None)` when it has none.
/// Errors name `path` and the section.
pub fn from_section(path: &Path, data: &[u8]) -> Result<Option<ImageBtf>, String> {
    let p = path.display();
    let file = object::File::parse(data).map_err(|e| format!("{p}: not a readable ELF: {e}"))?;
    let Some(section) = file.section_by_name(".BTF") else {
        return Ok(None);
    };
    let bytes = section
        .data()
        .map_err(|e| format!("{p}: reading section .BTF: {e}"))?;
    let types = check_blob(&format!("{p}: section .BTF"), bytes, file.endianness())?;
    Ok(Some(ImageBtf {
        bytes: bytes.to_vec(),
        source: BtfSource::Section,
        types,
    }))
}

/// Encodes BTF for `vmlinux` from its DWARF with the `pahole` at
/// `pahole` (`pahole --btf_encode_detached=<out> <vmlinux>`, one thread,
/// so that the same vmlinux gives the same bytes), writing its output
/// under `scratch` and removing it after reading. Rust units are left
/// out (`--lang_exclude=rust`), as the kernel build does.
///
/// Errors: `pahole` cannot be started, exits non-zero (its stderr is
/// quoted), or writes something that is not whole BTF in the vmlinux's
/// byte order (`big_endian`).
pub fn encode_with_pahole(
    pahole: &Path,
    vmlinux: &Path,
    big_endian: bool,
    scratch: &Path,
) -> Result<ImageBtf, String> {
    let name = vmlinux
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vmlinux".to_owned());
    let out: PathBuf = scratch.join(format!("{name}.{}.pahole.btf.part", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let run = Command::new(pahole)
        .arg(format!("--btf_encode_detached={}", out.display()))
        .arg("--lang_exclude=rust")
        .arg("-j1")
        .arg(vmlinux)
        .output()
        .map_err(|e| {
            format!(
                "{}: cannot run {}: {e}",
                vmlinux.display(),
                pahole.display()
            )
        });
    let result = run.and_then(|output| {
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "{}: {} failed ({}): {}",
                vmlinux.display(),
                pahole.display(),
                output.status,
                stderr.trim()
            ));
        }
        let bytes = std::fs::read(&out).map_err(|e| {
            format!(
                "{}: {} wrote no BTF to {}: {e}",
                vmlinux.display(),
                pahole.display(),
                out.display()
            )
        })?;
        let endian = if big_endian {
            Endianness::Big
        } else {
            Endianness::Little
        };
        let label = format!("{}: BTF from {}", vmlinux.display(), pahole.display());
        let types = check_blob(&label, &bytes, endian)?;
        Ok(ImageBtf {
            bytes,
            source: BtfSource::Pahole,
            types,
        })
    });
    let _ = std::fs::remove_file(&out);
    result
}

/// `pahole` as the environment names it: `KSURF_PAHOLE` if set, else the
/// first `pahole` on `PATH`; `None` when there is none.
pub fn find_pahole() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KSURF_PAHOLE") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("pahole"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob with one `int` type (BTF_KIND_INT, 4 bytes).
    fn one_int(big: bool) -> Vec<u8> {
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let strings = b"\0int\0";
        let mut types = Vec::new();
        types.extend(w32(1)); // name "int"
        types.extend(w32(1 << 24)); // kind INT, vlen 0
        types.extend(w32(4)); // size
        types.extend(w32(32)); // encoding: 32 bits
        let mut b = Vec::new();
        b.extend(w16(0xeb9f));
        b.extend([1, 0]);
        b.extend(w32(24));
        b.extend(w32(0));
        b.extend(w32(types.len() as u32));
        b.extend(w32(types.len() as u32));
        b.extend(w32(strings.len() as u32));
        b.extend(types);
        b.extend(strings);
        b
    }

    #[test]
    fn a_whole_blob_counts_its_types_in_either_byte_order() {
        assert_eq!(check_blob("x", &one_int(false), Endianness::Little), Ok(1));
        assert_eq!(check_blob("x", &one_int(true), Endianness::Big), Ok(1));
    }

    #[test]
    fn a_blob_in_the_other_byte_order_or_cut_short_is_refused() {
        assert_eq!(
            check_blob("img: section .BTF", &one_int(true), Endianness::Little),
            Err("img: section .BTF: bad magic (expected 0xeb9f)".to_owned())
        );
        let mut cut = one_int(false);
        cut.truncate(30);
        assert_eq!(
            check_blob("img: section .BTF", &cut, Endianness::Little),
            Err(
                "img: section .BTF: the string section at offset 0x28 runs past the data"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_missing_pahole_is_an_error_naming_the_vmlinux_and_the_tool() {
        let dir = tempfile::tempdir().unwrap();
        let e = encode_with_pahole(
            &dir.path().join("no-pahole"),
            Path::new("/k/vmlinux-6.1.0-1-s390x"),
            true,
            dir.path(),
        )
        .unwrap_err();
        assert!(
            e.starts_with(&format!(
                "/k/vmlinux-6.1.0-1-s390x: cannot run {}: ",
                dir.path().join("no-pahole").display()
            )),
            "{e}"
        );
    }
}
