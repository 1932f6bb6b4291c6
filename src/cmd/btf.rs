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
            eprintln!("ksurf: error: {}", crate::error_message(&e));
            Ok(ExitCode::from(2))
        }
    }
}

fn serve(args: &BtfArgs) -> Result<()> {
    let dataset = args.dataset.open()?;
    let image = dataset.resolve_image(args.image.as_ref())?;
    let btf = stored_btf(&dataset, &image)?;
    match args.out.as_deref().filter(|p| *p != Path::new("-")) {
        Some(path) => write_out(path, &btf),
        None => {
            let mut out = std::io::stdout().lock();
            if out.is_terminal() {
                anyhow::bail!(
                    "not writing binary BTF ({} bytes) to a terminal: redirect it or use --out FILE",
                    btf.len()
                );
            }
            match out.write_all(&btf).and_then(|()| out.flush()) {
                // A reader that stopped early (`| head -c`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("writing the BTF to standard output"),
            }
        }
    }
}

/// `image`'s stored BTF, checked against its `images` row
/// (`btf_sha256`); the error says why there is none: the row's
/// `btf_error`, no `.BTF` and no encoding asked, or a blob the row
/// records but the dataset lacks (snapshots do not carry BTF yet).
fn stored_btf(dataset: &Dataset, image: &ImageId) -> Result<bytes::Bytes> {
    let row = dataset.read_table(image, TableName::Images)?;
    let column = |name: &str| {
        row.column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>())
            .filter(|c| arrow::array::Array::is_valid(*c, 0))
            .map(|c| c.value(0).to_owned())
    };
    let path = ksurf_dataset::layout::btf_file(image);
    let location = dataset.object_label(&path);
    match (dataset.read_btf(image)?, column("btf_sha256")) {
        (Some(btf), Some(want)) => {
            let got = ksurf_dataset::manifest::sha256_hex(&btf);
            if got != want {
                anyhow::bail!(
                    "{location}: SHA-256 {got} is not the {want} its images row records \
                     ({} bytes): the dataset is damaged; extract {image} again",
                    btf.len()
                );
            }
            Ok(btf)
        }
        (Some(_), None) => anyhow::bail!(
            "{location}: the images row of {image} records no BTF: the blob is left over; extract {image} again"
        ),
        (None, Some(want)) => anyhow::bail!(
            "{image} has BTF ({}, SHA-256 {want}) but {location} is missing: \
             a snapshot unpacked from `ksurf publish` does not carry the BTF files yet",
            column("btf_source").unwrap_or_default()
        ),
        (None, None) => match column("btf_error") {
            Some(e) => anyhow::bail!("{image} has no BTF in {}: {e}", dataset.label()),
            None => anyhow::bail!(
                "{image} has no BTF in {}: its vmlinux has no .BTF section, and it was extracted \
                 without btf_from_dwarf (a source's `btf_from_dwarf = true`, or `ksurf extract --btf-from-dwarf`)",
                dataset.label()
            ),
        },
    }
}

/// Writes `bytes` to `path`: a regular file (or a new path) through a
/// temporary file in the same directory renamed into place, mode 0644;
/// anything else that exists — a symlink, a device such as `/dev/null`, a
/// FIFO — is written through, never replaced.
fn write_out(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_file() {
            return std::fs::write(path, bytes)
                .with_context(|| format!("writing {}", path.display()));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming the temporary file to {}", path.display()))?;
    Ok(())
}

/// `bpftool` as the environment names it: `KSURF_BPFTOOL`, else `bpftool`
/// on `PATH` (Debian installs it in `/usr/sbin`, also tried).
fn find_bpftool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KSURF_BPFTOOL").filter(|p| !p.is_empty()) {
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
            eprintln!("ksurf: error: {}", crate::error_message(&e));
            Ok(ExitCode::from(2))
        }
    }
}

fn btfgen(args: &BtfgenArgs) -> Result<ExitCode> {
    let bpftool = find_bpftool().context(
        "ksurf btfgen runs `bpftool gen min_core_btf`, and no bpftool was found \
         (install bpftool, or name it with KSURF_BPFTOOL)",
    )?;
    // One run before any image: a bpftool that is not there or does not
    // run stops the command (exit 2), not each image.
    match Command::new(&bpftool).arg("version").output() {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("libbpf") => {}
        Ok(o) => anyhow::bail!(
            "{} is not a working bpftool: `{} version` gave {} ({})",
            bpftool.display(),
            bpftool.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => anyhow::bail!("cannot run bpftool {}: {e}", bpftool.display()),
    }
    let dataset = args.dataset.open()?;
    let images = args.select.select(&dataset)?;
    if args.out.exists() && !args.out.is_dir() {
        anyhow::bail!("--out {}: not a directory", args.out.display());
    }
    // Every BPF object, embedded ones included, as its own file: bpftool
    // reads ELF files. A file that is not a readable BPF object fails
    // the command before any image is worked on.
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let mut objects = Vec::new();
    for (i, path) in args.objects.iter().enumerate() {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let label = path.display().to_string();
        let found = ksurf_checker::object::find_objects(&label, &data)?;
        let objects_here: Vec<(String, std::ops::Range<usize>)> = match found {
            ksurf_checker::object::Found::Object => vec![(label, 0..data.len())],
            ksurf_checker::object::Found::Embedded(ranges) => ranges
                .into_iter()
                .enumerate()
                .map(|(n, r)| (format!("{label}#{}", n + 1), r))
                .collect(),
        };
        for (n, (label, range)) in objects_here.into_iter().enumerate() {
            let bytes = &data[range];
            ksurf_checker::object::parse_object(&label, bytes)?;
            let file = scratch.path().join(format!("{i}.{}.bpf.o", n + 1));
            std::fs::write(&file, bytes).with_context(|| format!("writing {}", file.display()))?;
            objects.push((file, label));
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
                eprintln!("ksurf: error: {}", crate::error_message(e));
            }
        }
    }
    println!(
        "{} of {} images: minimized BTF for {} BPF object{} in {}",
        results.len() - failed,
        results.len(),
        objects.len(),
        if objects.len() == 1 { "" } else { "s" },
        args.out.display()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Minimized BTF of `objects` (scratch file, label) for `image`, written
/// to `<out>/<distro>/<arch>/<release>.btf` only when bpftool succeeded.
/// bpftool's messages name the objects by their labels, not the scratch
/// files.
fn one_image(
    dataset: &Dataset,
    image: &ImageId,
    bpftool: &Path,
    objects: &[(PathBuf, String)],
    scratch: &Path,
    out: &Path,
) -> Result<PathBuf> {
    let btf = stored_btf(dataset, image)?;
    let name = format!("{}.{}.{}", image.distro, image.arch, image.release);
    let input = scratch.join(format!("{name}.btf"));
    let min = scratch.join(format!("{name}.min.btf"));
    std::fs::write(&input, &btf)
        .with_context(|| format!("{image}: writing {}", input.display()))?;
    let output = Command::new(bpftool)
        .args(["gen", "min_core_btf"])
        .arg(&input)
        .arg(&min)
        .args(objects.iter().map(|(file, _)| file))
        .output()
        .with_context(|| format!("{image}: running {}", bpftool.display()));
    let _ = std::fs::remove_file(&input);
    let output = output?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&min);
        let mut message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        for (file, label) in objects {
            message = message.replace(&file.display().to_string(), label);
        }
        message = message.replace(&input.display().to_string(), &format!("the BTF of {image}"));
        anyhow::bail!(
            "{image}: {} gen min_core_btf failed ({}): {message}",
            bpftool.display(),
            output.status,
        );
    }
    let bytes = std::fs::read(&min)
        .with_context(|| format!("{image}: {} wrote no {}", bpftool.display(), min.display()))?;
    let _ = std::fs::remove_file(&min);
    let dest = out
        .join(&image.distro)
        .join(&image.arch)
        .join(format!("{}.btf", image.release));
    write_out(&dest, &bytes).with_context(|| format!("{image}"))?;
    Ok(dest)
}
