//! One module per `ksurf` subcommand that has outgrown `main.rs`: each
//! takes its parsed arguments and returns the exit code.

pub mod aggregate;
pub mod btf;
pub mod check;
pub mod fetch;
pub mod manifest;
pub mod plan;
pub mod publish;
pub mod report;
pub mod run;
pub mod shard;
pub mod site;

/// The `--dataset` flag of every command that reads an existing dataset,
/// defined once.
#[derive(clap::Args)]
pub struct ExistingDataset {
    /// Dataset to read: a directory or a URL (s3://bucket/prefix, gs://…, az://…).
    #[arg(long = "dataset", value_name = "DIR_OR_URL")]
    pub location: String,
}

impl ExistingDataset {
    /// Opens it; a local directory must exist.
    pub fn open(&self) -> ksurf_dataset::Result<ksurf_dataset::Dataset> {
        ksurf_dataset::Dataset::open_existing(&self.location)
    }
}

/// The image selection of the commands that work per image of a dataset
/// (`ksurf check`, `ksurf btfgen`), defined once.
#[derive(clap::Args)]
pub struct ImageSelection {
    /// Only the images of this aggregated comparison group (its baseline first).
    #[arg(long)]
    pub group: Option<String>,
    /// Only the images whose `distro/release/arch` matches this glob (`debian/6.1*/*`).
    #[arg(long, value_name = "GLOB")]
    pub images: Option<String>,
}

impl ImageSelection {
    /// The selected images of `dataset`, in dataset order (a group's
    /// baseline first). Errors: the selection is malformed, names a group
    /// the dataset lacks, or matches no image (the message lists them).
    pub fn select(
        &self,
        dataset: &ksurf_dataset::Dataset,
    ) -> anyhow::Result<Vec<ksurf_dataset::ImageId>> {
        use anyhow::Context;
        let images =
            ksurf_checker::select_images(dataset, self.group.as_deref(), self.images.as_deref())
                .with_context(|| format!("selecting images of {}", dataset.label()))?;
        if images.is_empty() {
            let all = dataset.images()?;
            if all.is_empty() {
                anyhow::bail!(
                    "{} holds no complete image (is it a ksurf dataset?)",
                    dataset.label()
                );
            }
            anyhow::bail!(
                "no image of {} matches the selection (--images matches distro/release/arch; its images: {})",
                dataset.label(),
                all.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(images)
    }
}

/// The `--kconfig` flag of `ksurf extract`, defined once: the build
/// configuration of the image, used when the image carries none of its
/// own (`CONFIG_IKCONFIG`).
#[derive(clap::Args)]
pub struct KconfigArg {
    /// The image's build configuration (a `.config`, e.g. `/boot/config-<release>`),
    /// used when the image carries none of its own (CONFIG_IKCONFIG). Its
    /// options go to the kconfig table; a malformed file is a config error
    /// (exit code 3), the other tables are written.
    #[arg(long = "kconfig", value_name = "PATH", conflicts_with = "shard")]
    pub path: Option<std::path::PathBuf>,
}

/// A config file read for `--kconfig`.
pub struct KconfigFile {
    /// The file name (`images.config_source` is `file:<name>`).
    pub name: String,
    /// The path as given, for messages.
    pub label: String,
    pub bytes: Vec<u8>,
}

impl KconfigArg {
    /// The file, read now so that a bad path fails before the extraction.
    pub fn read(&self) -> anyhow::Result<Option<KconfigFile>> {
        use anyhow::Context;
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let bytes =
            std::fs::read(path).with_context(|| format!("reading --kconfig {}", path.display()))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Some(KconfigFile {
            name,
            label: path.display().to_string(),
            bytes,
        }))
    }
}

/// The flags of the commands that fetch and extract planned packages
/// (`ksurf run`, `ksurf extract --shard`), defined once.
#[derive(clap::Args)]
pub struct WorkArgs {
    /// Working directory for downloaded packages (`<work>/cache/`) and
    /// unpacked vmlinux files (`<work>/vmlinux/`).
    #[arg(long, default_value = "work")]
    pub work: std::path::PathBuf,
    /// Keep each package and vmlinux after its image's tables are written.
    #[arg(long)]
    pub keep: bool,
    /// Unpack while downloading; the package never touches the disk.
    #[arg(long, conflicts_with = "keep")]
    pub stream: bool,
    /// Packages downloading at once, in plan order. 1 gives each download
    /// the whole link, so the first image is ready soonest; raise it for a
    /// mirror that limits each connection's speed. The disk holds up to
    /// this many packages plus two.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub downloads: u16,
}

impl WorkArgs {
    pub fn options(&self) -> crate::pipeline::process::ProcessOptions {
        crate::pipeline::process::ProcessOptions {
            work_dir: self.work.clone(),
            keep: self.keep,
            stream: self.stream,
            downloads: self.downloads.into(),
        }
    }
}

/// A pipeline config: the fetcher's `[[source]]` tables and, when there
/// are any, the aggregator's `[[group]]` tables, from one file whose other
/// top-level keys are refused (a typo such as `[[sources]]` would
/// otherwise select nothing, silently).
pub struct PipelineConfig {
    pub fetch: ksurf_fetcher::FetchConfig,
    pub groups: Option<Vec<ksurf_aggregator::config::Group>>,
    /// The file's bytes (the work list records their SHA-256).
    pub bytes: Vec<u8>,
}

impl PipelineConfig {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let bytes =
            std::fs::read(path).with_context(|| format!("reading config {}", path.display()))?;
        let text = String::from_utf8(bytes.clone())
            .with_context(|| format!("config {} is not UTF-8", path.display()))?;
        let label = path.display().to_string();
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("config {label}: {}", e.message()))?;
        if let Some(key) = table
            .keys()
            .find(|k| !matches!(k.as_str(), "source" | "group"))
        {
            anyhow::bail!("config {label}: unknown top-level key {key:?} (expected [[source]] and [[group]] tables)");
        }
        let fetch = ksurf_fetcher::FetchConfig::parse(&text, &label)?;
        let groups = if table.contains_key("group") {
            Some(ksurf_aggregator::config::parse(&label, &text)?)
        } else {
            None
        };
        Ok(PipelineConfig {
            fetch,
            groups,
            bytes,
        })
    }
}

/// Holds `<dataset>/.ksurf-run.lock` for a local dataset, so that two runs
/// never write one directory at once; `None` for object stores, whose
/// writers coordinate by writing each image's files whole.
pub fn lock_local_dataset(
    dataset: &ksurf_dataset::Dataset,
) -> anyhow::Result<Option<std::fs::File>> {
    use anyhow::Context;
    let Some(dir) = dataset.local_dir() else {
        return Ok(None);
    };
    let path = dir.join(".ksurf-run.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another ksurf run is writing {} (it holds {})",
            dataset.label(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// 1 when anything failed, 3 when only compile units failed, else 0.
pub fn pipeline_exit_code(failures: usize, with_unit_errors: usize) -> std::process::ExitCode {
    if failures > 0 {
        std::process::ExitCode::FAILURE
    } else if with_unit_errors > 0 {
        std::process::ExitCode::from(crate::EXIT_UNIT_ERRORS)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// Prints `ksurf: module error: [<image>: ]<message>` for each module of
/// `extraction` that could not be read (the message names the module's
/// file); returns how many.
pub fn report_module_errors(
    image: Option<&ksurf_dataset::ImageId>,
    extraction: &ksurf_extractor::Extraction,
) -> usize {
    let mut failed = 0;
    for m in &extraction.modules {
        if let Err(message) = &m.rows {
            failed += 1;
            match image {
                Some(image) => eprintln!("ksurf: module error: {image}: {message}"),
                None => eprintln!("ksurf: module error: {message}"),
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::PipelineConfig;

    /// Every shipped matrix config loads as a pipeline config, with groups.
    #[test]
    fn shipped_configs_load_with_their_groups() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut groups = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        names.sort();
        for path in names {
            let config = PipelineConfig::load(&path).unwrap();
            let group_names: Vec<String> = config
                .groups
                .unwrap_or_default()
                .iter()
                .map(|g| g.name.clone())
                .collect();
            groups.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                config.fetch.sources.len(),
                group_names,
            ));
        }
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            groups,
            vec![
                ("debian-local.toml".to_owned(), 1, owned(&["Revision"])),
                ("debian.toml".to_owned(), 1, owned(&["Regular", "Revision"])),
                (
                    "ubuntu-depsurf.toml".to_owned(),
                    4,
                    owned(&["Regular", "Arch", "Flavor", "Revision"])
                ),
                ("ubuntu-fleet.toml".to_owned(), 1, owned(&["Regular"])),
                ("ubuntu.toml".to_owned(), 1, owned(&["Regular"])),
            ]
        );
    }
}
