//! `ksurf btf` and `ksurf btfgen`: the dataset as a BTF archive. `btf`
//! serves one image's stored BTF (`btf/<image>/vmlinux.btf`: the vmlinux's
//! `.BTF` section, or BTF `pahole` encoded from its DWARF); `btfgen`
//! writes, per selected image, the minimized BTF that a set of CO-RE
//! programs needs there, by running `bpftool gen min_core_btf` on the
//! stored BTF (what BTFHub's btfgen does with its archive).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::Args;
use ksurf_dataset::{Dataset, ImageId, TableName};
use rayon::prelude::*;

#[derive(Args)]
pub struct BtfArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    /// Image as distro/release/arch (optional when the dataset holds one image).
    #[arg(long)]
    pub image: Option<ImageId>,
    /// Write the BTF here (atomically) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct BtfgenArgs {
    /// BPF objects (`.bpf.o`) or executables that embed them; one
    /// minimized BTF per image covers all of them.
    #[arg(required = true, value_name = "OBJECT")]
    pub objects: Vec<PathBuf>,
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    #[command(flatten)]
    pub select: super::ImageSelection,
    /// Directory to write `<distro>/<arch>/<release>.btf` under.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `ksurf btf`: exit 0 written, 2 when the dataset, the image or its BTF
/// is not there (the message says why the image has none).
pub fn run_btf(args: BtfArgs) -> Result<ExitCode> {
    match serve(&args) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("ksurf: error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

fn serve(args: &BtfArgs) -> Result<()> {
    let dataset = args.dataset.open()?;
    let image = dataset.resolve_image(args.image.as_ref())?;
    let btf = stored_btf(&dataset, &image)?;
    match &args.out {
        Some(path) => write_atomically(path, &btf),
        None => {
            let mut out = std::io::stdout().lock();
            if out.is_terminal() {
                anyhow::bail!(
                    "not writing binary BTF ({} bytes) to a terminal: redirect it or use --out FILE",
                    btf.len()
                );
            }
            out.write_all(&btf)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// `image`'s stored BTF; the error says why there is none, from its
/// `images` row (`btf_error`, or no `.BTF` section and no encoding asked).
fn stored_btf(dataset: &Dataset, image: &ImageId) -> Result<bytes::Bytes> {
    if let Some(btf) = dataset.read_btf(image)? {
        return Ok(btf);
    }
    let row = dataset.read_table(image, TableName::Images)?;
    let error = row
        .column_by_name("btf_error")
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>())
        .filter(|c| arrow::array::Array::is_valid(*c, 0))
        .map(|c| c.value(0).to_owned());
    match error {
        Some(e) => anyhow::bail!("{image} has no BTF in {}: {e}", dataset.label()),
        None => anyhow::bail!(
            "{image} has no BTF in {}: its vmlinux has no .BTF section, and it was extracted \
             without btf_from_dwarf (a source's `btf_from_dwarf = true`, or `ksurf extract --btf-from-dwarf`)",
            dataset.label()
        ),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same
/// directory, renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// `bpftool` as the environment names it: `KSURF_BPFTOOL`, else `bpftool`
/// on `PATH` (Debian installs it in `/usr/sbin`, also tried).
fn find_bpftool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KSURF_BPFTOOL") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("bpftool"))
        .find(|p| p.is_file())
}

/// `ksurf btfgen`: exit 0 every selected image got its file, 1 some image
/// got none (its BTF is not stored, or bpftool failed on it: each is
/// named), 2 an object or the dataset could not be read, or there is no
/// bpftool.
pub fn run_btfgen(args: BtfgenArgs) -> Result<ExitCode> {
    match btfgen(&args) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("ksurf: error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

fn btfgen(args: &BtfgenArgs) -> Result<ExitCode> {
    let bpftool = find_bpftool().context(
        "ksurf btfgen runs `bpftool gen min_core_btf`, and no bpftool was found \
         (install bpftool, or name it with KSURF_BPFTOOL)",
    )?;
    let dataset = args.dataset.open()?;
    let images = args.select.select(&dataset)?;
    // Every BPF object, embedded ones included, as its own file: bpftool
    // reads ELF files. A file that is not a readable BPF object fails
    // the command before any image is worked on.
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let mut objects = Vec::new();
    for (i, path) in args.objects.iter().enumerate() {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let label = path.display().to_string();
        let ranges = match ksurf_checker::object::find_objects(&label, &data)? {
            ksurf_checker::object::Found::Object => std::iter::once(0..data.len()).collect(),
            ksurf_checker::object::Found::Embedded(ranges) => ranges,
        };
        for (n, range) in ranges.into_iter().enumerate() {
            let bytes = &data[range];
            let label = format!("{label}#{}", n + 1);
            ksurf_checker::object::parse_object(&label, bytes)?;
            let file = scratch.path().join(format!("{i}.{}.bpf.o", n + 1));
            std::fs::write(&file, bytes).with_context(|| format!("writing {}", file.display()))?;
            objects.push(file);
        }
    }
    let results: Vec<(ImageId, Result<PathBuf>)> = images
        .par_iter()
        .map(|image| {
            let result = one_image(
                &dataset,
                image,
                &bpftool,
                &objects,
                scratch.path(),
                &args.out,
            );
            (image.clone(), result)
        })
        .collect();
    let mut failed = 0;
    for (image, result) in &results {
        match result {
            Ok(path) => println!("{image}: {}", path.display()),
            Err(e) => {
                failed += 1;
                eprintln!("ksurf: error: {e:#}");
            }
        }
    }
    println!(
        "{} of {} images: minimized BTF for {} BPF objects in {}",
        results.len() - failed,
        results.len(),
        objects.len(),
        args.out.display()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Minimized BTF of `objects` for `image`, at `<out>/<distro>/<arch>/<release>.btf`.
fn one_image(
    dataset: &Dataset,
    image: &ImageId,
    bpftool: &Path,
    objects: &[PathBuf],
    scratch: &Path,
    out: &Path,
) -> Result<PathBuf> {
    let btf = stored_btf(dataset, image)?;
    let name = format!("{}.{}.{}", image.distro, image.arch, image.release);
    let input = scratch.join(format!("{name}.btf"));
    std::fs::write(&input, &btf)
        .with_context(|| format!("{image}: writing {}", input.display()))?;
    let dest = out
        .join(&image.distro)
        .join(&image.arch)
        .join(format!("{}.btf", image.release));
    let dir = dest.parent().expect("a file under out");
    std::fs::create_dir_all(dir).with_context(|| format!("{image}: creating {}", dir.display()))?;
    let part = dir.join(format!(".{}.btf.part", image.release));
    let output = Command::new(bpftool)
        .args(["gen", "min_core_btf"])
        .arg(&input)
        .arg(&part)
        .args(objects)
        .output()
        .with_context(|| format!("{image}: running {}", bpftool.display()))?;
    let _ = std::fs::remove_file(&input);
    if !output.status.success() {
        let _ = std::fs::remove_file(&part);
        anyhow::bail!(
            "{image}: {} gen min_core_btf failed ({}): {}",
            bpftool.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::rename(&part, &dest).with_context(|| {
        format!(
            "{image}: renaming {} into {}",
            part.display(),
            dest.display()
        )
    })?;
    Ok(dest)
}
