//! Prints the rows `extract_module` gives for one kernel module, for
//! `scripts/real-module-check.sh` and by-hand checks.
//!
//!     cargo run --release -p ksurf-extractor --example module_rows -- MODULE.ko [NAME...]
//!
//! The module must be uncompressed (`xz -dk`, `zstd -d` first). Prints one
//! summary line (`module <name> ... elapsed_ms=<extraction time>`), then
//! `function<TAB><name><TAB><decl file>:<line><TAB><types-only prototype>`
//! for each NAME given (`-` when the module has no such function), then
//! every unit error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: module_rows MODULE.ko [FUNCTION...]");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let x = match ksurf_extractor::extract_module(&path, &bytes) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed();
    // Out-of-line definitions whose DWARF address falls in a function
    // symbol of the same stem (arm64's patchable entry puts DW_AT_low_pc 8
    // bytes into the symbol): the layout and the relocations agree with the
    // symbol table.
    let placed: Vec<_> = x
        .entries
        .iter()
        .filter(|e| e.addr != 0 && !e.addr_is_inlined_copy)
        .collect();
    let matched = placed
        .iter()
        .filter(|e| {
            x.symbols.iter().any(|s| {
                let start = s.addr & !1;
                s.stem == e.name && start <= e.addr && e.addr < start + s.size.max(1)
            })
        })
        .count();
    println!(
        "module {} from_modinfo={} machine={} units={} unit_errors={} entries={} names={} \
         defined_names={} symbols={} types={} addr_matched={}/{} elapsed_ms={}",
        x.name,
        x.name_from_modinfo,
        x.elf_machine,
        x.compile_units,
        x.unit_errors.len(),
        x.entries.len(),
        x.statuses.len(),
        x.statuses
            .iter()
            .filter(|s| x.entries.iter().any(|e| e.name == s.name && e.defined))
            .count(),
        x.symbols.len(),
        x.types.len(),
        matched,
        placed.len(),
        elapsed.as_millis()
    );
    for name in args {
        let name = name.to_string_lossy();
        let entry = x
            .entries
            .iter()
            .find(|e| e.name == name && e.signature.is_some());
        match entry.and_then(|e| Some((e, e.signature.as_ref()?))) {
            Some((entry, sig)) => {
                let params: Vec<&str> = sig.params.iter().map(|(_, t)| t.as_str()).collect();
                let params = if params.is_empty() && !sig.variadic {
                    "void".to_owned()
                } else if sig.variadic {
                    format!("{}, ...", params.join(", "))
                } else {
                    params.join(", ")
                };
                println!(
                    "function\t{name}\t{}:{}\t{} {name}({params})",
                    entry.decl_file.as_deref().unwrap_or("-"),
                    entry.decl_line.unwrap_or(0),
                    sig.return_type
                );
            }
            None => println!("function\t{name}\t-\t-"),
        }
    }
    for e in &x.unit_errors {
        println!("unit_error {}", e.message);
    }
    ExitCode::SUCCESS
}
