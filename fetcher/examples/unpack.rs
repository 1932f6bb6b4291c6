//! Unpacks the vmlinux from one Debian-format package: `unpack DEB OUTDIR
//! [XZ_THREADS]`. Prints one line per vmlinux: sha256, size, path. Used by
//! bench/unpack-vs-dpkg.sh.

use std::path::Path;
use std::process::ExitCode;

use ksurf_fetcher::{unpack_vmlinux_file, UnpackOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if !(3..=4).contains(&args.len()) {
        eprintln!("usage: unpack DEB OUTDIR [XZ_THREADS]");
        return ExitCode::from(2);
    }
    let mut options = UnpackOptions::default();
    if let Some(threads) = args.get(3) {
        match threads.parse() {
            Ok(n) => options.xz_threads = n,
            Err(_) => {
                eprintln!("XZ_THREADS must be a number, not {threads:?}");
                return ExitCode::from(2);
            }
        }
    }
    match unpack_vmlinux_file(Path::new(&args[1]), Path::new(&args[2]), &options) {
        Ok(unpacked) => {
            for v in unpacked.vmlinux {
                println!("{}  {}  {}", v.sha256, v.size, v.path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
