//! Reads BPF objects from the files given and prints them as JSON, one
//! object a line, or with `--summary` only counts: files, objects,
//! programs, attach kinds, CO-RE relocations, ksyms, kconfig externs and
//! errors.
//!
//! With `--extract DIR`, also writes each object's bytes to
//! `DIR/<file name>.<n>.bpf.o` (to compare with `bpftool`).
//!
//! `cargo run -p ksurf-checker --example read_objects -- [--summary] [--extract DIR] FILE…`

use ksurf_checker::object::{find_objects, Found};
use ksurf_checker::{read_objects, Attach};
use std::collections::BTreeMap;
use std::path::Path;

fn attach_kind(a: &Attach) -> String {
    match a {
        Attach::Kprobe { ret: false, .. } => "kprobe".into(),
        Attach::Kprobe { ret: true, .. } => "kretprobe".into(),
        Attach::KprobeMulti { .. } => "kprobe_multi".into(),
        Attach::Ksyscall { .. } => "ksyscall".into(),
        Attach::Fentry { mode, .. } => format!("{mode:?}").to_lowercase(),
        Attach::Tracepoint { .. } => "tracepoint".into(),
        Attach::RawTracepoint { btf: false, .. } => "raw_tracepoint".into(),
        Attach::RawTracepoint { btf: true, .. } => "tp_btf".into(),
        Attach::Lsm { .. } => "lsm".into(),
        Attach::Iter { .. } => "iter".into(),
        Attach::StructOps { .. } => "struct_ops".into(),
        Attach::NotKernel { convention } => format!("not_kernel:{convention}"),
        Attach::Unknown => "unknown".into(),
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let summary = args.first().is_some_and(|a| a == "--summary");
    if summary {
        args.remove(0);
    }
    let extract = if args.first().is_some_and(|a| a == "--extract") {
        args.remove(0);
        Some(args.remove(0))
    } else {
        None
    };
    let (mut files, mut objects, mut programs, mut core, mut ksyms, mut kconfig) =
        (0, 0, 0, 0, 0, 0);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut core_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut notes = 0;
    for a in &args {
        files += 1;
        if let Some(dir) = &extract {
            let data = std::fs::read(a).expect("readable file");
            let name = Path::new(a)
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let ranges = match find_objects(a, &data) {
                Ok(Found::Object) => std::iter::once(0..data.len()).collect(),
                Ok(Found::Embedded(r)) => r,
                Err(_) => vec![],
            };
            for (n, r) in ranges.into_iter().enumerate() {
                let out = Path::new(dir).join(format!("{name}.{}.bpf.o", n + 1));
                std::fs::write(out, &data[r]).expect("writable directory");
            }
        }
        match read_objects(Path::new(a)) {
            Ok(objs) => {
                for o in objs {
                    objects += 1;
                    programs += o.programs.len();
                    core += o.core.len();
                    ksyms += o.ksyms.len();
                    kconfig += o.kconfig.len();
                    notes += o.notes.len();
                    for p in &o.programs {
                        *kinds.entry(attach_kind(&p.attach)).or_default() += 1;
                    }
                    for c in &o.core {
                        *core_kinds.entry(format!("{:?}", c.kind)).or_default() += 1;
                    }
                    if !summary {
                        println!("{}", serde_json::to_string(&o).expect("serializable"));
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if summary {
        println!("files {files}, objects {objects}, programs {programs}, core relocations {core}, ksyms {ksyms}, kconfig {kconfig}, notes {notes}, errors {}", errors.len());
        println!("attach kinds: {kinds:?}");
        println!("core kinds: {core_kinds:?}");
    }
    for e in errors {
        eprintln!("error: {e}");
    }
}
