//! Real-kernel checks of the interface modules (image data, syscalls,
//! tracepoints). Ignored: needs a vmlinux named by `KSURF_REAL_VMLINUX`.
//!
//! ```text
//! KSURF_REAL_VMLINUX=/path/vmlinux-6.1.0-57-cloud-amd64 \
//!   cargo test -p ksurf-extractor --release --test real_interfaces -- --ignored --nocapture
//! ```

use std::path::{Path, PathBuf};

use ksurf_extractor::image_data::ImageData;
use ksurf_extractor::syscalls;

/// The vmlinux `KSURF_REAL_VMLINUX` names. `cargo test` runs in the
/// package's directory, so a relative path is taken from the workspace root
/// (where the README's commands run), not from `extractor/`.
fn vmlinux() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("KSURF_REAL_VMLINUX")?);
    Some(if path.is_relative() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
    } else {
        path
    })
}

#[test]
#[ignore]
fn real_syscalls() {
    let Some(path) = vmlinux() else {
        eprintln!("KSURF_REAL_VMLINUX not set");
        return;
    };
    let data = std::fs::read(&path).unwrap();
    let started = std::time::Instant::now();
    let image = ImageData::parse(&path, &data).unwrap();
    let parsed = started.elapsed();
    let rows = syscalls::extract(&image).unwrap();
    eprintln!(
        "image data {parsed:?}, syscalls {:?}",
        started.elapsed() - parsed
    );
    for abi in ["native", "compat", "ia32", "x32"] {
        let n = rows.iter().filter(|r| r.abi == abi).count();
        let implemented = rows
            .iter()
            .filter(|r| r.abi == abi && r.implemented)
            .count();
        eprintln!("syscalls {abi}: {n} slots, {implemented} implemented");
    }
    if std::env::var_os("KSURF_DUMP").is_some() {
        for r in &rows {
            eprintln!(
                "{} {} {} {} {}",
                r.abi, r.number, r.name, r.entry, r.implemented
            );
        }
    }
    let getpid = rows
        .iter()
        .find(|r| r.abi == "native" && r.name == "getpid")
        .expect("getpid");
    let expected = match image.machine.as_str() {
        "EM_X86_64" => "__x64_sys_getpid",
        "EM_AARCH64" => "__arm64_sys_getpid",
        "EM_S390" => "__s390x_sys_getpid",
        _ => "sys_getpid",
    };
    assert_eq!(getpid.entry, expected);
    assert!(getpid.implemented);
    let openat = rows
        .iter()
        .find(|r| r.abi == "native" && r.name == "openat");
    assert!(openat.is_some_and(|r| r.implemented));
    for abi in ["native", "compat", "ia32"] {
        let numbers: Vec<u32> = rows
            .iter()
            .filter(|r| r.abi == abi)
            .map(|r| r.number)
            .collect();
        assert!(
            numbers.iter().enumerate().all(|(i, &n)| i as u32 == n),
            "{abi} numbering"
        );
    }
    let release = release(&path);
    if release.contains("amd64") {
        // x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
        let native = |n: u32| {
            rows.iter()
                .find(|r| r.abi == "native" && r.number == n)
                .unwrap()
        };
        assert_eq!(native(39).name, "getpid");
        assert_eq!(native(257).name, "openat");
        let ia32 = rows.iter().filter(|r| r.abi == "ia32").count();
        // 5.10 keeps ia32_sys_call_table; 6.9+ and stable kernels with the
        // backported fix (Debian 6.1.0-57) dispatch ia32 through a switch
        // (ia32_sys_call) and have no table.
        assert_eq!(ia32 > 0, release.starts_with("5.10"));
    }
    if image.machine == "EM_S390" {
        // Hand-checked with readelf: slot 10 is R_390_RELATIVE to unlink.
        let native10 = rows
            .iter()
            .find(|r| r.abi == "native" && r.number == 10)
            .unwrap();
        assert_eq!(native10.entry, "__s390x_sys_unlink");
        assert_eq!(rows.iter().filter(|r| r.abi == "compat").count(), 451);
    }
}

/// The kernel release, from the file name (`vmlinux-6.1.0-57-cloud-amd64`).
fn release(path: &std::path::Path) -> String {
    path.file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("vmlinux-")
        .to_owned()
}

/// `btf_trace_<name>` typedef names of the image's `.BTF`, through bpftool;
/// `None` without `.BTF` or bpftool.
fn btf_trace_names(path: &std::path::Path) -> Option<std::collections::BTreeSet<String>> {
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(path)
        .args(["format", "raw"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| l.split("TYPEDEF 'btf_trace_").nth(1))
            .filter_map(|rest| rest.split('\'').next())
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
#[ignore]
fn real_tracepoints() {
    use ksurf_extractor::tracepoints;
    let Some(path) = vmlinux() else {
        eprintln!("KSURF_REAL_VMLINUX not set");
        return;
    };
    let release = release(&path);
    let extraction =
        ksurf_extractor::extract(&path, &ksurf_extractor::IdentityOverrides::default()).unwrap();
    let data = std::fs::read(&path).unwrap();
    let image = ImageData::parse(&path, &data).unwrap();
    let started = std::time::Instant::now();
    let rows = tracepoints::extract(&image, &extraction.entries, &extraction.types).unwrap();
    eprintln!("tracepoints (image data parsed): {:?}", started.elapsed());
    let with_event = rows.iter().filter(|r| r.has_event).count();
    let with_args = rows.iter().filter(|r| r.args.is_some()).count();
    let with_system = rows.iter().filter(|r| r.system.is_some()).count();
    let with_struct = rows.iter().filter(|r| r.event_struct.is_some()).count();
    eprintln!(
        "{release}: {} tracepoints, {with_event} with an event, {} bare, {with_args} with args, \
         {with_system} with a system, {with_struct} with an event struct",
        rows.len(),
        rows.len() - with_event
    );
    let row = |name: &str| rows.iter().find(|r| r.name == name);
    let arg_names = |name: &str| -> Vec<String> {
        row(name)
            .and_then(|r| r.args.as_ref())
            .map(|a| a.iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default()
    };
    if std::env::var_os("KSURF_DUMP").is_some() {
        for r in &rows {
            eprintln!("{r:?}");
        }
    }

    let switch = row("sched_switch").expect("sched_switch");
    assert_eq!(switch.system.as_deref(), Some("sched"));
    assert_eq!(switch.class, "sched_switch");
    assert!(switch.has_event);
    assert_eq!(
        switch.event_struct.as_deref(),
        Some("trace_event_raw_sched_switch")
    );
    let insert = row("block_rq_insert").expect("block_rq_insert");
    assert_eq!(insert.class, "block_rq");
    assert_eq!(insert.system.as_deref(), Some("block"));
    let raw = row("sys_enter").expect("raw_syscalls:sys_enter");
    assert_eq!(raw.system.as_deref(), Some("raw_syscalls"));
    assert!(
        row("sys_enter_openat").is_none(),
        "syscall events are not tracepoints"
    );

    let kfree_skb = arg_names("kfree_skb");
    if release.starts_with("5.10") {
        assert_eq!(kfree_skb, ["skb", "location"]);
        assert!(row("kmalloc_node").is_some_and(|r| r.system.as_deref() == Some("kmem")));
    } else if release.starts_with("6.1.") {
        assert_eq!(kfree_skb, ["skb", "location", "reason"]);
        assert!(row("kmalloc_node").is_none());
    } else if release.starts_with("6.12") {
        assert_eq!(kfree_skb, ["skb", "location", "reason", "rx_sk"]);
    }

    if let Some(btf) = btf_trace_names(&path) {
        let ours: std::collections::BTreeSet<String> =
            rows.iter().map(|r| r.name.clone()).collect();
        let only_btf: Vec<_> = btf.difference(&ours).collect();
        let only_ours: Vec<_> = ours.difference(&btf).collect();
        eprintln!(
            "{release}: .BTF has {} btf_trace_ typedefs; {} agree; only in .BTF: {only_btf:?}; \
             only here: {only_ours:?}",
            btf.len(),
            btf.intersection(&ours).count()
        );
        assert!(
            only_btf.is_empty(),
            "btf_trace_ typedefs without a tracepoint row"
        );
        // 5.10's bare scheduler tracepoints (pelt_*_tp, ...) have no BPF
        // probe, hence no typedef; every tracepoint with an event has one.
        for name in &only_ours {
            assert!(
                !row(name).unwrap().has_event,
                "{name} has an event but no btf_trace_"
            );
        }
        if !release.starts_with("5.10") {
            assert!(only_ours.is_empty());
        }
    } else {
        eprintln!("{release}: no .BTF (or no bpftool): cross-check skipped");
    }
}
