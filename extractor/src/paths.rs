//! Source path normalisation: every distro's build prefix is stripped so that
//! a file reads as it does in the kernel source tree (`kernel/kexec_core.c`).

/// Normalises a path from DWARF (a compile unit name, or a line table
/// directory joined with a file name) to a kernel-tree-relative path.
///
/// - `.` and `..` components are resolved lexically;
/// - an absolute path loses everything up to its source tree directory, the
///   first component among the first six named `linux` or `linux-*`
///   (`/build/linux-hwe-5.15-AbC/`, `/build/reproducible-path/linux-6.1.170/`,
///   `/usr/src/linux-headers-5.4.0-26/`);
/// - a leading out-of-tree build directory of Debian
///   (`debian/build/build_amd64_none_cloud-amd64/`) or Ubuntu
///   (`debian/build/build-generic/`) is removed.
///
/// Absolute paths outside a source tree (compiler headers) stay absolute.
pub fn normalize_source_path(raw: &str) -> String {
    let absolute = raw.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let mut start = 0;
    let mut in_tree = !absolute;
    if absolute {
        if let Some(i) = parts
            .iter()
            .take(6)
            .position(|p| *p == "linux" || p.starts_with("linux-"))
        {
            start = i + 1;
            in_tree = true;
        }
    }
    if parts.len() > start + 3
        && parts[start] == "debian"
        && parts[start + 1] == "build"
        && parts[start + 2].starts_with("build")
    {
        start += 3;
    }
    let joined = parts[start..].join("/");
    if in_tree {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Anchors a relative path that climbs out of the compilation directory
/// (`../../../kernel/core.c`, as an out-of-tree build with relative sources
/// writes it) at that directory. Other relative paths are already relative
/// to the source tree (builds with `-fdebug-prefix-map`) and stay as they are.
pub fn anchor(comp_dir: Option<&str>, path: &str) -> String {
    match comp_dir {
        Some(dir) if path.starts_with("../") && !dir.is_empty() => format!("{dir}/{path}"),
        _ => path.to_owned(),
    }
}

/// Joins a line-table directory and file name the way the compiler meant
/// them (anchoring the directory at `comp_dir` when it climbs out of it),
/// then normalises the result.
pub fn join_and_normalize(comp_dir: Option<&str>, directory: Option<&str>, file: &str) -> String {
    if file.starts_with('/') {
        return normalize_source_path(file);
    }
    match directory {
        Some(dir) if !dir.is_empty() => {
            normalize_source_path(&format!("{}/{file}", anchor(comp_dir, dir)))
        }
        _ => normalize_source_path(&anchor(comp_dir, file)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_every_distro_prefix() {
        let cases = [
            ("kernel/kexec_core.c", "kernel/kexec_core.c"),
            ("./kernel/kexec_core.c", "kernel/kexec_core.c"),
            ("/build/linux-Hx3dfe/kernel/kexec_core.c", "kernel/kexec_core.c"),
            ("/build/linux-hwe-5.15-AbC/mm/slub.c", "mm/slub.c"),
            (
                "/build/reproducible-path/linux-6.1.170/debian/build/build_amd64_none_cloud-amd64/include/generated/autoconf.h",
                "include/generated/autoconf.h",
            ),
            (
                "debian/build/build_amd64_none_cloud-amd64/arch/x86/kernel/head64.c",
                "arch/x86/kernel/head64.c",
            ),
            ("debian/build/build-generic/init/main.c", "init/main.c"),
            ("/usr/src/linux-headers-5.4.0-26/include/linux/fs.h", "include/linux/fs.h"),
            ("arch/x86/include/asm/../../../../include/linux/mm.h", "include/linux/mm.h"),
            ("/usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h", "/usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h"),
            ("../lib/string.c", "../lib/string.c"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_source_path(raw), want, "normalising {raw}");
        }
    }

    #[test]
    fn joins_directory_and_file() {
        let objdir = Some("/build/linux-mini-6.1.999/debian/build/build_arm64_none_mini-arm64");
        let cases = [
            (
                None,
                Some("/build/linux-x/include/linux"),
                "fs.h",
                "include/linux/fs.h",
            ),
            (None, Some("include/linux"), "/abs/x.h", "/abs/x.h"),
            (None, None, "kernel/fork.c", "kernel/fork.c"),
            (
                objdir,
                Some("../../../include/linux"),
                "helpers.h",
                "include/linux/helpers.h",
            ),
            (objdir, None, "../../../kernel/core.c", "kernel/core.c"),
            (
                Some("debian/build/build_amd64_none_cloud-amd64"),
                Some("arch/x86/kernel"),
                "head64.c",
                "arch/x86/kernel/head64.c",
            ),
        ];
        for (comp_dir, dir, file, want) in cases {
            assert_eq!(
                join_and_normalize(comp_dir, dir, file),
                want,
                "{dir:?} / {file}"
            );
        }
        assert_eq!(anchor(objdir, "kernel/core.c"), "kernel/core.c");
    }
}
