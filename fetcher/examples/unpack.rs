//! Unpacks the vmlinux from one Debian-format package: `unpack [--modules]
//! [--stop-early] DEB OUTDIR [XZ_THREADS]`. Prints one line per vmlinux:
//! sha256, size, path; with `--modules`, a second line with the module
//! count, their bytes, the failed ones and the directory. `--stop-early`
//! stops decompressing as a download checked against a signed index does
//! (`UnpackOptions::stop_after_vmlinux`). Used by bench/unpack-vs-dpkg.sh
//! and for the module figures in docs/operations.md.

use std::path::Path;
use std::process::ExitCode;

use ksurf_fetcher::{unpack_vmlinux_file, UnpackOptions};

fn main() -> ExitCode {
    let mut options = UnpackOptions::default();
    let mut args: Vec<String> = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--modules" => options.modules = true,
            "--stop-early" => options.stop_after_vmlinux = true,
            _ => args.push(arg),
        }
    }
    if !(2..=3).contains(&args.len()) {
        eprintln!("usage: unpack [--modules] [--stop-early] DEB OUTDIR [XZ_THREADS]");
        return ExitCode::from(2);
    }
    if let Some(threads) = args.get(2) {
        match threads.parse() {
            Ok(n) => options.xz_threads = n,
            Err(_) => {
                eprintln!("XZ_THREADS must be a number, not {threads:?}");
                return ExitCode::from(2);
            }
        }
    }
    match unpack_vmlinux_file(Path::new(&args[0]), Path::new(&args[1]), &options) {
        Ok(unpacked) => {
            for v in unpacked.vmlinux {
                println!("{}  {}  {}", v.sha256, v.size, v.path.display());
                if let Some(m) = v.modules {
                    println!(
                        "modules  {}  {} bytes  {} failed  {}",
                        m.count,
                        m.bytes,
                        m.failed.len(),
                        m.dir.display()
                    );
                    for f in m.failed {
                        eprintln!("failed module {}: {}", f.entry, f.message);
                    }
                }
            }
            eprintln!(
                "decompressed {} bytes of {}{}",
                unpacked.data_size,
                unpacked.member,
                if unpacked.stopped_early {
                    " (stopped early)"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
