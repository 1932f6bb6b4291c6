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

/// Joins a line-table directory and file name the way the compiler meant
/// them, then normalises the result.
pub fn join_and_normalize(directory: Option<&str>, file: &str) -> String {
    match directory {
        Some(dir) if !file.starts_with('/') && !dir.is_empty() => {
            normalize_source_path(&format!("{dir}/{file}"))
        }
        _ => normalize_source_path(file),
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
        assert_eq!(
            join_and_normalize(Some("/build/linux-x/include/linux"), "fs.h"),
            "include/linux/fs.h"
        );
        assert_eq!(
            join_and_normalize(Some("include/linux"), "/abs/x.h"),
            "/abs/x.h"
        );
        assert_eq!(join_and_normalize(None, "kernel/fork.c"), "kernel/fork.c");
    }
}
