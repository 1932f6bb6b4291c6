//! kfuncs and LSM hooks of a real kernel, checked against its `.BTF`.
//!
//! Ignored by default: set `KSURF_REAL_VMLINUX` to a vmlinux path and run
//! `cargo test -p ksurf-extractor --release --test real_kfuncs_lsm --
//! --ignored --nocapture`. The `.BTF` side is read with `bpftool btf dump
//! file <vmlinux> format raw` when `bpftool` runs, else with this crate's
//! own reader ([`kfuncs::Btf`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ksurf_extractor::elf::VmlinuxFile;
use ksurf_extractor::{extract, kfuncs, lsm_hooks, IdentityOverrides};
use object::{Object, ObjectSection};

/// FUNC names and `bpf_kfunc` declaration-tag targets of the image's
/// `.BTF`; `None` without `.BTF`.
fn btf_facts(path: &Path, data: &[u8]) -> Option<(BTreeSet<String>, BTreeSet<String>, String)> {
    let file = object::File::parse(data).unwrap();
    let section = file.section_by_name(".BTF")?;
    if let Ok(out) = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(path)
        .args(["format", "raw"])
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut funcs = BTreeMap::new();
            let mut tagged_ids = Vec::new();
            for line in text.lines() {
                let Some((id, rest)) = line.strip_prefix('[').and_then(|l| l.split_once("] "))
                else {
                    continue;
                };
                if let Some(rest) = rest.strip_prefix("FUNC '") {
                    let name = rest.split('\'').next().unwrap().to_owned();
                    funcs.insert(id.to_owned(), name);
                } else if rest.starts_with("DECL_TAG 'bpf_kfunc'")
                    && rest.contains("component_idx=-1")
                {
                    let t = rest.split("type_id=").nth(1).unwrap();
                    tagged_ids.push(t.split_whitespace().next().unwrap().to_owned());
                }
            }
            let tagged = tagged_ids
                .iter()
                .filter_map(|i| funcs.get(i).cloned())
                .collect();
            return Some((funcs.into_values().collect(), tagged, "bpftool".to_owned()));
        }
    }
    let btf = kfuncs::Btf::parse(section.data().unwrap(), file.endianness()).unwrap();
    let funcs = btf
        .types
        .iter()
        .filter(|(k, _)| *k == kfuncs::BTF_KIND_FUNC)
        .map(|(_, n)| n.clone())
        .collect();
    let tagged = btf
        .decl_tags
        .iter()
        .filter(|(tag, _)| tag == "bpf_kfunc")
        .map(|(_, id)| btf.types[*id as usize].1.clone())
        .collect();
    Some((funcs, tagged, "ksurf's .BTF reader".to_owned()))
}

#[test]
#[ignore = "needs KSURF_REAL_VMLINUX"]
fn real_kernel_kfuncs_and_lsm_hooks() {
    let Some(path) = std::env::var_os("KSURF_REAL_VMLINUX") else {
        eprintln!("KSURF_REAL_VMLINUX is not set; nothing checked");
        return;
    };
    // `cargo test` runs in extractor/: a relative path is from the workspace root.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    let path = path.as_path();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let t = Instant::now();
    let x = extract(path, &IdentityOverrides::default()).unwrap();
    let extract_time = t.elapsed();
    let file = VmlinuxFile::open(path).unwrap();
    let data = file.bytes();

    let t = Instant::now();
    let sets = kfuncs::read_sets(path, data).unwrap();
    let kfunc_rows = kfuncs::rows_from_sets(&sets, &x.entries);
    let kfunc_time = t.elapsed();
    let t = Instant::now();
    let hooks = lsm_hooks::extract(&x.symbols, &x.entries, &x.types);
    let hook_time = t.elapsed();
    println!(
        "{name}: extract {:.2} s; kfuncs +{:.1} ms; lsm hooks +{:.1} ms",
        extract_time.as_secs_f64(),
        kfunc_time.as_secs_f64() * 1e3,
        hook_time.as_secs_f64() * 1e3
    );

    // Counts.
    println!("{name}: {} kfuncs", kfunc_rows.len());
    for set in &sets {
        println!(
            "  set {:?} {} count={} flags={:?} kfunc_set={} members={}",
            set.kind,
            set.name,
            set.count,
            set.set_flags,
            set.is_kfunc_set,
            set.members.len()
        );
    }
    let with_flags = kfunc_rows.iter().filter(|r| r.flags.is_some()).count();
    let with_sig = kfunc_rows.iter().filter(|r| r.signature.is_some()).count();
    println!("  kfuncs with flags {with_flags}, with a DWARF signature {with_sig}");
    for r in kfunc_rows.iter().take(8) {
        println!("  kfunc {} {:?} {:?}", r.name, r.sets, r.flags);
    }
    let bpf_lsm = hooks.iter().filter(|h| h.bpf_lsm).count();
    let by_source = |s| {
        hooks
            .iter()
            .filter(|h| h.signature_source == Some(s))
            .count()
    };
    println!(
        "{name}: {} LSM hooks, {bpf_lsm} with bpf_lsm; signatures from bpf_lsm {}, from security_list_options {}, none {}",
        hooks.len(),
        by_source(lsm_hooks::SignatureSource::BpfLsm),
        by_source(lsm_hooks::SignatureSource::SecurityListOptions),
        hooks.iter().filter(|h| h.signature.is_none()).count()
    );

    // Sorted, one row per name.
    assert!(kfunc_rows.windows(2).all(|w| w[0].name < w[1].name));
    assert!(hooks.windows(2).all(|w| w[0].name < w[1].name));

    // path_rename gains `unsigned int flags` after 5.10.
    if !hooks.is_empty() {
        let rename = hooks.iter().find(|h| h.name == "path_rename").unwrap();
        let sig = rename.signature.as_ref().unwrap();
        println!("  path_rename: {}", sig.prototype);
        let has_flags = sig
            .params
            .iter()
            .any(|(n, t)| t == "unsigned int" && n.as_deref().is_none_or(|n| n == "flags"));
        assert_eq!(has_flags, !name.contains("-5.10."), "{}", sig.prototype);
        let file_open = hooks.iter().find(|h| h.name == "file_open").unwrap();
        // Debian builds the BPF LSM wherever it builds BTF (not on s390x).
        let has_btf = object::File::parse(data)
            .unwrap()
            .section_by_name(".BTF")
            .is_some();
        assert_eq!(
            file_open.bpf_lsm, has_btf,
            "file_open has a bpf_lsm function"
        );
    }
    if name.contains("-5.10.") {
        assert!(kfunc_rows.is_empty(), "5.10 has no kfuncs");
    }

    // Every hook name is a member of union security_list_options as well.
    let options: BTreeSet<&str> = x
        .types
        .iter()
        .filter(|t| t.name == "security_list_options")
        .flat_map(|t| t.members.iter().filter_map(|m| m.name.as_deref()))
        .collect();
    let missing: Vec<_> = hooks
        .iter()
        .filter(|h| !options.contains(h.name.as_str()))
        .map(|h| h.name.as_str())
        .collect();
    println!(
        "  hooks not in security_list_options: {} {:?}",
        missing.len(),
        missing
    );
    assert!(missing.is_empty());

    // Cross-check with .BTF.
    let Some((funcs, tagged, reader)) = btf_facts(path, data) else {
        println!("{name}: no .BTF; no cross-check");
        return;
    };
    let hook_names: BTreeSet<&str> = hooks.iter().map(|h| h.name.as_str()).collect();
    let btf_bpf_lsm: BTreeSet<&str> = funcs
        .iter()
        .filter_map(|f| f.strip_prefix("bpf_lsm_"))
        .collect();
    let flagged: BTreeSet<&str> = hooks
        .iter()
        .filter(|h| h.bpf_lsm)
        .map(|h| h.name.as_str())
        .collect();
    let not_hooks: Vec<_> = btf_bpf_lsm.difference(&hook_names).collect();
    let btf_without_flag: Vec<_> = btf_bpf_lsm
        .intersection(&hook_names)
        .filter(|h| !flagged.contains(*h))
        .collect();
    let flag_without_btf: Vec<_> = flagged.difference(&btf_bpf_lsm).collect();
    println!(
        "{name} ({reader}): BTF bpf_lsm_* FUNCs {}, of which hooks {}, not hooks {not_hooks:?}; \
         hooks with bpf_lsm and no BTF FUNC {flag_without_btf:?}; BTF FUNC hooks without bpf_lsm {btf_without_flag:?}",
        btf_bpf_lsm.len(),
        btf_bpf_lsm.len() - not_hooks.len()
    );
    assert!(flag_without_btf.is_empty());
    assert!(btf_without_flag.is_empty());
    // The bpf_lsm_* functions that are not hooks are the BPF LSM's own.
    assert!(not_hooks.len() <= 12, "{not_hooks:?}");

    let not_btf: Vec<_> = kfunc_rows
        .iter()
        .filter(|r| !funcs.contains(&r.name))
        .map(|r| r.name.as_str())
        .collect();
    println!(
        "  kfuncs not a BTF FUNC: {} {not_btf:?}; kfuncs without flags: {}",
        not_btf.len(),
        kfunc_rows.len() - with_flags
    );
    assert!(not_btf.is_empty());
    let ours: BTreeSet<&str> = kfunc_rows.iter().map(|r| r.name.as_str()).collect();
    let theirs: BTreeSet<&str> = tagged.iter().map(String::as_str).collect();
    println!(
        "  DECL_TAG bpf_kfunc: {} tagged; both {}, only ours {}, only tagged {}",
        theirs.len(),
        ours.intersection(&theirs).count(),
        ours.difference(&theirs).count(),
        theirs.difference(&ours).count()
    );
    // A set8 read through .BTF gives every member its pair.
    for set in sets
        .iter()
        .filter(|s| s.is_kfunc_set && s.set_flags.is_some())
    {
        assert_eq!(set.members.len(), set.count as usize, "{}", set.name);
        assert!(
            set.members.iter().all(|m| m.flags.is_some()),
            "{}",
            set.name
        );
    }
}
