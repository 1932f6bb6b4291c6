//! ksurf's extractor: turns one vmlinux (ELF + DWARF, any architecture)
//! into the per-image tables of the dataset.
//!
//! [`extract`] runs the whole job: [`elf`] maps the file and reads headers,
//! symbols and debug sections; [`dwarf`] splits the units and walks them in
//! parallel; [`functions`] resolves and merges the walk into function
//! entries and per-name statuses; [`dwarf::types`] renders prototypes;
//! [`types`] reads and deduplicates struct, union, enum and typedef
//! definitions (the type kind); then the kernel interfaces, each from
//! [`image_data`] (the loaded image read by address, relocations applied)
//! and the rows above: [`tracepoints`], [`syscalls`], [`kfuncs`],
//! [`lsm_hooks`]; the build configuration, [`kconfig`], from the image's
//! own copy (`CONFIG_IKCONFIG`) or, after [`extract`], from a file the
//! caller found ([`kconfig::attach`]); [`tables`] turns the result into
//! Arrow batches for the dataset.
//!
//! [`extract_module`] runs the function and type part of the same job on a
//! kernel module (a `.ko`, an ELF relocatable object): [`elf`] hands it to
//! [`module`] for a synthetic load layout and the DWARF relocations, then
//! the same [`functions`] and [`types`] passes produce the same rows.

pub mod attach;
pub mod btf;
pub mod depsurf;
pub mod dwarf;
pub mod elf;
pub mod error;
pub mod functions;
pub mod identity;
pub mod image_data;
pub mod kconfig;
pub mod kfuncs;
pub mod limits;
pub mod lsm_hooks;
pub mod module;
pub mod paths;
pub mod symbols;
pub mod syscalls;
pub mod tables;
pub mod tracepoints;
pub mod types;

use std::collections::BTreeMap;
use std::path::Path;

use ksurf_dataset::{DependencyKind, ImageInfo};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::dwarf::types::TypeRenderer;
use crate::dwarf::walk::walk_unit;
use crate::dwarf::{CompileUnit, Reader};
pub use crate::error::{Error, Result};
use crate::functions::{FunctionEntry, FunctionStatus, PrototypeSource};
pub use crate::identity::IdentityOverrides;
use crate::symbols::SymbolRow;

/// A compile unit that could not be read; the rest of the image still is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitError {
    /// Offset of the unit header in `.debug_info`.
    pub unit_offset: u64,
    pub cu_path: Option<String>,
    pub message: String,
}

/// A kind of dependency whose rows could not be read from this image (a
/// malformed table, a pointer outside every section, an unknown
/// relocation): its table is empty, every other table of the image is
/// whole, and the image says so in `images.kind_errors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindError {
    pub kind: DependencyKind,
    /// What failed, naming the file and the symbol, section or address.
    pub message: String,
}

/// Everything extracted from one image.
#[derive(Debug)]
pub struct Extraction {
    pub info: ImageInfo,
    pub entries: Vec<FunctionEntry>,
    pub statuses: Vec<FunctionStatus>,
    pub symbols: Vec<SymbolRow>,
    /// kprobe and fentry verdicts, one per function name (like `statuses`).
    pub attach: Vec<attach::AttachRow>,
    /// Struct, union, enum and typedef definitions, deduplicated.
    pub types: Vec<types::TypeDef>,
    /// Tracepoints, sorted by name.
    pub tracepoints: Vec<tracepoints::TracepointRow>,
    /// Syscall table slots, sorted by (name, ABI, number).
    pub syscalls: Vec<syscalls::SyscallRow>,
    /// kfuncs, sorted by name.
    pub kfuncs: Vec<kfuncs::KfuncRow>,
    /// LSM hooks, sorted by name.
    pub lsm_hooks: Vec<lsm_hooks::LsmHookRow>,
    /// Build configuration options, sorted by name.
    pub kconfig: Vec<kconfig::KconfigRow>,
    /// Where the configuration was read from; `None` when none was found.
    pub config_source: Option<kconfig::ConfigSource>,
    /// The interface kinds that could not be read, in kind order.
    pub kind_errors: Vec<KindError>,
    /// The image's BTF (`btf/<image>/vmlinux.btf`): the `.BTF` section, or
    /// after [`extract`] the caller's [`btf::encode_with_pahole`]; `None`
    /// when there is none.
    pub btf: Option<btf::ImageBtf>,
    /// Why the image has no BTF although it should: a malformed `.BTF`
    /// section, or `pahole` failing (`images.btf_error`).
    pub btf_error: Option<String>,
    pub unit_errors: Vec<UnitError>,
    pub compile_units: u32,
    /// Units not walked on purpose (Rust).
    pub units_skipped: u32,
    /// The image's kernel modules, sorted by (module name, path); empty
    /// when the image was extracted without modules ([`extract_modules`]
    /// fills it).
    pub modules: Vec<ImageModule>,
}

/// One `.ko` of an image: its rows, or why it could not be read (the
/// `modules` table's row; a failed module never fails the image).
#[derive(Debug)]
pub struct ImageModule {
    /// Its path below the image's modules directory, `/`-separated
    /// (`kernel/fs/xfs/xfs.ko`).
    pub path: String,
    /// The module name: the extraction's, or for a failed module the
    /// file name's ([`module::file_module_name`]).
    pub name: String,
    /// Its rows; or the error, naming the file.
    pub rows: std::result::Result<ModuleExtraction, String>,
}

/// The rows of one kernel module (a `.ko`): the function and type kinds,
/// in the shapes the vmlinux path produces. Addresses (`FunctionEntry::addr`,
/// `SymbolRow::addr`) are synthetic ([`module::Layout`], from
/// [`module::MODULE_BASE`]): comparable within the module only.
#[derive(Debug)]
pub struct ModuleExtraction {
    /// The module name: `.modinfo`'s `name=` (`xfs`), else from the file
    /// name ([`module::module_name`]).
    pub name: String,
    /// `name` came from `.modinfo` (not the file name).
    pub name_from_modinfo: bool,
    /// The `NT_GNU_BUILD_ID` note, lowercase hex.
    pub build_id: Option<String>,
    /// ELF machine name, e.g. `EM_X86_64`.
    pub elf_machine: String,
    pub elf_class: u8,
    pub big_endian: bool,
    pub entries: Vec<FunctionEntry>,
    /// Per-name statuses within the module (collisions with the vmlinux or
    /// other modules are not computed here).
    pub statuses: Vec<FunctionStatus>,
    pub symbols: Vec<SymbolRow>,
    /// The kprobe and fentry verdicts of each name of `statuses` (same
    /// order), from the module's own facts ([`attach::ImageFacts::module`]):
    /// its symbols, `_kprobe_blacklist`, ftrace call sites and split
    /// `.BTF` read against the vmlinux's BTF. They say whether a probe
    /// attaches once the module is loaded.
    pub attach: Vec<attach::AttachRow>,
    /// Struct, union, enum and typedef definitions, deduplicated.
    pub types: Vec<types::TypeDef>,
    pub unit_errors: Vec<UnitError>,
    pub compile_units: u32,
    /// Units not walked on purpose (Rust).
    pub units_skipped: u32,
}

impl ModuleExtraction {
    /// Keeps the functions the module defines: a name with a definition,
    /// an out-of-line or inlined copy (`defined`), or a symbol. Drops the
    /// names the module only declares (`vfs_read`, which a module calls
    /// but the vmlinux defines), which are not the module's functions.
    pub fn keep_defined(&mut self) {
        let defined: std::collections::HashSet<String> = self
            .entries
            .iter()
            .filter(|e| e.defined)
            .map(|e| e.name.clone())
            .chain(
                self.statuses
                    .iter()
                    .filter(|s| s.symbol_count > 0)
                    .map(|s| s.name.clone()),
            )
            .collect();
        self.entries.retain(|e| defined.contains(&e.name));
        self.statuses.retain(|s| defined.contains(&s.name));
        self.attach.retain(|a| defined.contains(&a.name));
    }
}

/// Extracts the kernel module held in `bytes` (an uncompressed `.ko`);
/// `path` names it in errors and gives the module name when `.modinfo` has
/// no `name=`. Runs on the current rayon pool.
///
/// Errors: those of [`elf::parse`] (not ELF, no DWARF, a relocation that
/// cannot be applied: [`Error::Relocation`]); [`Error::NotModule`] for an
/// ELF file that is not a relocatable object (a vmlinux) or has no name.
///
/// Without the vmlinux, the module's split `.BTF` cannot be read: the
/// fentry verdicts say so ([`extract_module_functions`] takes the
/// vmlinux's BTF).
pub fn extract_module(path: &Path, bytes: &[u8]) -> Result<ModuleExtraction> {
    module_extraction(path, bytes, Walk::FunctionsAndTypes, None)
}

/// [`extract_module`] without the struct, union, enum and typedef pass:
/// `types` is empty, and a unit's type errors are not looked for. What
/// [`extract_modules`] runs for every module of an image, whose types the
/// `types` table does not hold; the function, instance and symbol rows
/// are those of [`extract_module`]. `vmlinux_btf` is the raw BTF of the
/// vmlinux the module was built with (its `.BTF` section), the base of
/// the module's split `.BTF`.
///
/// Errors: as [`extract_module`].
pub fn extract_module_functions(
    path: &Path,
    bytes: &[u8],
    vmlinux_btf: Option<&[u8]>,
) -> Result<ModuleExtraction> {
    module_extraction(path, bytes, Walk::Functions, vmlinux_btf)
}

/// The `BTF_KIND_FUNC` names of a module's split `.BTF` (`module_btf`),
/// read against the vmlinux's BTF; or why there are none, as the fentry
/// reason says it.
fn module_btf_functions(
    path: &Path,
    module_btf: Option<&[u8]>,
    vmlinux_btf: Option<&[u8]>,
    endian: object::Endianness,
) -> std::result::Result<std::collections::HashSet<String>, String> {
    let Some(btf) = module_btf else {
        return Err("the module has no .BTF (CONFIG_DEBUG_INFO_BTF_MODULES is not set)".to_owned());
    };
    let Some(base) = vmlinux_btf else {
        return Err(
            "the module's .BTF is split BTF on the vmlinux's, which has none (or was not given)"
                .to_owned(),
        );
    };
    let strings = kfuncs::Btf::string_section(base, endian)
        .map_err(|e| format!("the vmlinux's BTF cannot be read: {e}"))?;
    let btf = kfuncs::Btf::parse_split(btf, endian, strings)
        .map_err(|e| format!("{}: section .BTF cannot be read: {e}", path.display()))?;
    Ok(btf
        .types
        .into_iter()
        .filter(|(kind, _)| *kind == kfuncs::BTF_KIND_FUNC)
        .map(|(_, name)| name)
        .collect())
}

fn module_extraction(
    path: &Path,
    bytes: &[u8],
    walk: Walk,
    vmlinux_btf: Option<&[u8]>,
) -> Result<ModuleExtraction> {
    let parsed = elf::parse(path, bytes)?;
    let not_module = |message: &str| Error::NotModule {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    if !parsed.relocatable {
        return Err(not_module(
            "not a relocatable object (ET_REL); a vmlinux goes through extract()",
        ));
    }
    let (name, name_from_modinfo) = parsed
        .module_name
        .clone()
        .ok_or_else(|| not_module("no name: .modinfo has no name= and the file name gives none"))?;
    let model = extract_functions(path, &parsed, walk)?;
    let statuses = functions::statuses(&model.entries, &parsed.symbols);
    let data = parsed.module_attach.clone().unwrap_or_default();
    let endian = if parsed.big_endian {
        object::Endianness::Big
    } else {
        object::Endianness::Little
    };
    let facts = attach::ImageFacts::module(
        &data.nokprobe,
        data.ftrace_sites,
        module_btf_functions(path, data.btf, vmlinux_btf, endian),
        &parsed.machine,
    );
    let attach = attach::rows(&facts, &statuses, &model.entries, &parsed.symbols);
    Ok(ModuleExtraction {
        name,
        name_from_modinfo,
        build_id: parsed.build_id,
        elf_machine: parsed.machine,
        elf_class: parsed.class,
        big_endian: parsed.big_endian,
        entries: model.entries,
        statuses,
        symbols: parsed.symbols,
        attach,
        types: model.types,
        unit_errors: model.unit_errors,
        compile_units: model.compile_units,
        units_skipped: model.units_skipped,
    })
}

/// Extracts the vmlinux at `path`. Runs on the current rayon pool.
pub fn extract(path: &Path, overrides: &IdentityOverrides) -> Result<Extraction> {
    let file = elf::VmlinuxFile::open(path)?;
    // The hash reads the file instead of the map, so that hashing does not
    // make every page of the vmlinux resident in this process.
    let (sha256, extraction) = rayon::join(
        || sha256_file(path),
        || extract_image(path, file.bytes(), overrides),
    );
    let mut extraction = extraction?;
    extraction.info.vmlinux_sha256 = sha256?;
    Ok(extraction)
}

/// Gives `extraction` BTF encoded from the DWARF of `vmlinux` by `pahole`
/// ([`btf::encode_with_pahole`], the tool [`btf::find_pahole`] names) when
/// its vmlinux had no `.BTF` section. A malformed `.BTF` section is left
/// as its error. When there is no `pahole`, or it fails, the image gets
/// no BTF and [`Extraction::btf_error`] says why. `scratch` holds
/// `pahole`'s output while it is read.
pub fn btf_from_dwarf(extraction: &mut Extraction, vmlinux: &Path, scratch: &Path) {
    if extraction.btf.is_some() || extraction.btf_error.is_some() {
        return;
    }
    let Some(pahole) = btf::find_pahole() else {
        extraction.btf_error = Some(format!(
            "{}: no .BTF section, and no pahole to encode BTF from the DWARF \
             (install pahole/dwarves, or name it with KSURF_PAHOLE)",
            vmlinux.display()
        ));
        return;
    };
    let started = std::time::Instant::now();
    match btf::encode_with_pahole(&pahole, vmlinux, extraction.info.big_endian, scratch) {
        Ok(btf) => extraction.btf = Some(btf),
        Err(e) => extraction.btf_error = Some(e),
    }
    tracing::debug!(elapsed = ?started.elapsed(), "BTF encoded by pahole");
}

/// Extracts a vmlinux held in memory; `label` names it in errors and, when
/// no banner says otherwise, gives the release through its file name.
pub fn extract_bytes(
    label: &Path,
    bytes: &[u8],
    overrides: &IdentityOverrides,
) -> Result<Extraction> {
    let mut extraction = extract_image(label, bytes, overrides)?;
    extraction.info.vmlinux_sha256 = hex(&Sha256::digest(bytes));
    Ok(extraction)
}

/// Everything but the content hash, which the callers compute their own way.
fn extract_image(path: &Path, bytes: &[u8], overrides: &IdentityOverrides) -> Result<Extraction> {
    let parsed = elf::parse(path, bytes)?;
    if parsed.relocatable {
        return Err(Error::NotVmlinux {
            path: path.to_owned(),
        });
    }
    let model = extract_functions(path, &parsed, Walk::FunctionsAndTypes)?;
    let (id, flavor) = identity::identify_image(path, &parsed, overrides)?;
    let info = ImageInfo {
        id,
        flavor,
        build_id: parsed.build_id.clone(),
        vmlinux_sha256: String::new(),
        vmlinux_size: bytes.len() as u64,
        package_sha256: None,
        banner: parsed.banner.clone(),
        elf_machine: parsed.machine.clone(),
        elf_class: parsed.class,
        big_endian: parsed.big_endian,
    };
    let statuses = functions::statuses(&model.entries, &parsed.symbols);
    let started = std::time::Instant::now();
    let image = image_data::ImageData::parse(path, bytes);
    let sets = kfuncs::read_sets(path, bytes);
    let (mut interfaces, attach) = rayon::join(
        || {
            let interfaces = extract_interfaces(
                path,
                bytes,
                image.as_ref(),
                sets.as_ref(),
                &parsed.symbols,
                &model.entries,
                &model.types,
            );
            // The interface kinds' own cost (with the shared image and
            // .BTF_ids reading), which bench/extract-vs-pahole.sh reports.
            tracing::debug!(elapsed = ?started.elapsed(), "interfaces read");
            interfaces
        },
        || {
            attach_rows(
                path,
                bytes,
                image.as_ref(),
                sets.as_ref(),
                &statuses,
                &model.entries,
                &parsed.symbols,
            )
        },
    );
    let attach = attach.unwrap_or_else(|message| {
        interfaces.errors.insert(
            0,
            KindError {
                kind: DependencyKind::Function,
                message: format!("attach verdicts (function_attach): {message}"),
            },
        );
        Vec::new()
    });
    tracing::debug!(elapsed = ?started.elapsed(), "interfaces and attach verdicts read");
    let (btf, btf_error) = match btf::from_section(path, bytes) {
        Ok(btf) => (btf, None),
        Err(e) => (None, Some(e)),
    };
    Ok(Extraction {
        info,
        entries: model.entries,
        statuses,
        symbols: parsed.symbols,
        attach,
        types: model.types,
        tracepoints: interfaces.tracepoints,
        syscalls: interfaces.syscalls,
        kfuncs: interfaces.kfuncs,
        lsm_hooks: interfaces.lsm_hooks,
        kconfig: interfaces.kconfig,
        config_source: interfaces.config_source,
        kind_errors: interfaces.errors,
        btf,
        btf_error,
        unit_errors: model.unit_errors,
        compile_units: model.compile_units,
        units_skipped: model.units_skipped,
        modules: Vec::new(),
    })
}

/// Extracts every kernel module below `dir` (the fetcher's
/// `modules-<release>/`: uncompressed `*.ko` files at their package paths)
/// into `extraction.modules`, in parallel on the current rayon pool, each
/// file read once, keeping the functions each defines
/// ([`ModuleExtraction::keep_defined`]). A module that cannot be read,
/// named by its path below `dir` (not ELF, no DWARF, a
/// relocation that cannot be applied, not a relocatable object) is kept
/// with its error; the others are unaffected. The modules' struct, union
/// and enum definitions are not kept (the `types` table holds the
/// vmlinux's only).
///
/// Errors: [`Error::Io`] when `dir` or one of its subdirectories cannot be
/// listed.
pub fn extract_modules(extraction: &mut Extraction, dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    module::ko_files(dir, Path::new(""), &mut files)?;
    files.sort();
    // The base of the modules' split BTF: the vmlinux's own .BTF section
    // (BTF pahole encoded for a kernel without one is no module's base).
    let vmlinux_btf = extraction
        .btf
        .as_ref()
        .filter(|b| b.source == btf::BtfSource::Section)
        .map(|b| b.bytes.as_slice());
    let mut modules: Vec<ImageModule> = files
        .par_iter()
        .map(|relative| {
            let file = dir.join(relative);
            let path = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            // Errors name the module by its path in the package, never
            // by where the work directory happens to be: the `modules`
            // table is the same whatever the directory.
            let label = Path::new(&path);
            let rows = std::fs::read(&file)
                .map_err(|source| Error::Io {
                    path: label.to_owned(),
                    source,
                })
                .and_then(|bytes| extract_module_functions(label, &bytes, vmlinux_btf))
                .map(|mut m| {
                    m.keep_defined();
                    m
                })
                .map_err(|e| e.to_string());
            match rows {
                Ok(m) => ImageModule {
                    path,
                    name: m.name.clone(),
                    rows: Ok(m),
                },
                Err(message) => ImageModule::failed(path, message),
            }
        })
        .collect();
    modules.sort_by(ImageModule::order);
    extraction.modules = modules;
    Ok(())
}

impl ImageModule {
    /// A module that could not be read: named from its file name
    /// ([`module::file_module_name`]), else by its path.
    pub fn failed(path: String, message: String) -> ImageModule {
        let name = module::file_module_name(Path::new(&path)).unwrap_or_else(|| path.clone());
        ImageModule {
            path,
            name,
            rows: Err(message),
        }
    }

    /// The order of `Extraction::modules` and the `modules` table: by
    /// name, then path.
    fn order(a: &ImageModule, b: &ImageModule) -> std::cmp::Ordering {
        (&a.name, &a.path).cmp(&(&b.name, &b.path))
    }
}

impl Extraction {
    /// Adds a module that failed before extraction (one the unpacker
    /// could not decompress) at its place in `modules`.
    pub fn add_failed_module(&mut self, path: String, message: String) {
        let module = ImageModule::failed(path, message);
        let at = self
            .modules
            .partition_point(|m| ImageModule::order(m, &module).is_lt());
        self.modules.insert(at, module);
    }
}

/// The rows of the interface kinds, and the kinds that failed.
struct Interfaces {
    tracepoints: Vec<tracepoints::TracepointRow>,
    syscalls: Vec<syscalls::SyscallRow>,
    kfuncs: Vec<kfuncs::KfuncRow>,
    lsm_hooks: Vec<lsm_hooks::LsmHookRow>,
    kconfig: Vec<kconfig::KconfigRow>,
    config_source: Option<kconfig::ConfigSource>,
    errors: Vec<KindError>,
}

/// Reads the tracepoints, syscalls, kfuncs, LSM hooks and own config
/// (`CONFIG_IKCONFIG`) of the image. A
/// kind that fails is recorded and left empty; the others are still read
/// (LSM hooks are built from the symbol, function and type rows alone and
/// cannot fail).
fn extract_interfaces(
    path: &Path,
    bytes: &[u8],
    image: std::result::Result<&image_data::ImageData<'_>, &String>,
    sets: std::result::Result<&Vec<kfuncs::IdSet>, &String>,
    symbols: &[SymbolRow],
    entries: &[FunctionEntry],
    types: &[types::TypeDef],
) -> Interfaces {
    let mut errors = Vec::new();
    // Independent readers of the same bytes: one thread each.
    let ((tracepoints, syscalls), (kfuncs, (lsm_hooks, (config_source, kconfig)))) = rayon::join(
        || match image {
            Ok(image) => rayon::join(
                || tracepoints::extract(image, entries, types),
                || {
                    syscalls::extract(image).map(|mut rows| {
                        rows.sort_by(|a, b| {
                            (&a.name, a.abi, a.number).cmp(&(&b.name, b.abi, b.number))
                        });
                        rows
                    })
                },
            ),
            Err(e) => (Err(e.clone()), Err(e.clone())),
        },
        || {
            rayon::join(
                || {
                    sets.map(|sets| kfuncs::rows_from_sets(sets, entries))
                        .map_err(Clone::clone)
                },
                || {
                    (
                        lsm_hooks::extract(symbols, entries, types),
                        kconfig::from_image(path, bytes),
                    )
                },
            )
        },
    );
    fn rows_of<T>(
        errors: &mut Vec<KindError>,
        kind: DependencyKind,
        rows: std::result::Result<Vec<T>, String>,
    ) -> Vec<T> {
        rows.unwrap_or_else(|message| {
            errors.push(KindError { kind, message });
            Vec::new()
        })
    }
    let tracepoints = rows_of(&mut errors, DependencyKind::Tracepoint, tracepoints);
    let syscalls = rows_of(&mut errors, DependencyKind::Syscall, syscalls);
    let kfuncs = rows_of(&mut errors, DependencyKind::Kfunc, kfuncs);
    // LSM hooks come from rows already read: nothing to fail.
    let kconfig = rows_of(&mut errors, DependencyKind::Config, kconfig);
    Interfaces {
        tracepoints,
        syscalls,
        kfuncs,
        lsm_hooks,
        kconfig,
        config_source,
        errors,
    }
}

/// The attach verdicts of every function name: needs the image's data
/// view, its `.BTF` function names and its `.BTF_ids` sets.
fn attach_rows(
    path: &Path,
    bytes: &[u8],
    image: std::result::Result<&image_data::ImageData<'_>, &String>,
    sets: std::result::Result<&Vec<kfuncs::IdSet>, &String>,
    statuses: &[FunctionStatus],
    entries: &[FunctionEntry],
    symbols: &[SymbolRow],
) -> std::result::Result<Vec<attach::AttachRow>, String> {
    let image = image.map_err(Clone::clone)?;
    let sets = sets.map_err(Clone::clone)?;
    let btf = kfuncs::btf_function_names(path, bytes)?;
    let facts = attach::ImageFacts::read(image, btf, sets)?;
    Ok(attach::rows(&facts, statuses, entries, symbols))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

struct FunctionModel {
    entries: Vec<FunctionEntry>,
    types: Vec<types::TypeDef>,
    unit_errors: Vec<UnitError>,
    compile_units: u32,
    units_skipped: u32,
}

/// Which passes [`extract_functions`] runs over the units.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Functions, and the struct, union, enum and typedef definitions.
    FunctionsAndTypes,
    /// Functions only: the model's `types` is empty.
    Functions,
}

fn extract_functions(
    path: &Path,
    parsed: &elf::ParsedElf<'_>,
    walk: Walk,
) -> Result<FunctionModel> {
    let started = std::time::Instant::now();
    let endian = parsed.endian();
    let mut dwarf = gimli::Dwarf::load(|id| -> std::result::Result<Reader<'_>, gimli::Error> {
        Ok(gimli::EndianSlice::new(parsed.section(id), endian))
    })
    .expect("loading borrowed sections cannot fail");

    // Unit headers are found one after another; a broken header ends the list.
    let mut headers = Vec::new();
    let mut unit_errors = Vec::new();
    let mut iter = dwarf.units();
    let mut next_offset = 0u64;
    loop {
        match iter.next() {
            Ok(Some(header)) => {
                next_offset = header.debug_info_offset().map_or(next_offset, |o| {
                    (o.0 + header.length_including_self()) as u64
                });
                headers.push(header);
            }
            Ok(None) => break,
            Err(e) => {
                unit_errors.push(UnitError {
                    unit_offset: next_offset,
                    cu_path: None,
                    message: format!(
                        "{}: unit header at .debug_info+{next_offset:#x}: {e}; later units are unreachable",
                        path.display()
                    ),
                });
                break;
            }
        }
    }
    let compile_units = (headers.len() + unit_errors.len()) as u32;
    let refused = dwarf::prepare_units(&mut dwarf, &headers);

    let parsed_units: Vec<std::result::Result<CompileUnit<'_>, UnitError>> = headers
        .into_par_iter()
        .map(|header| {
            let offset = header.debug_info_offset().map_or(0, |o| o.0);
            let error = |e: &dyn std::fmt::Display| UnitError {
                unit_offset: offset as u64,
                cu_path: None,
                message: format!("{}: unit at .debug_info+{offset:#x}: {e}", path.display()),
            };
            if let Some(why) = refused.get(&offset) {
                return Err(error(why));
            }
            CompileUnit::parse(&dwarf, header).map_err(|e| error(&e))
        })
        .collect();
    let mut units = Vec::with_capacity(parsed_units.len());
    for unit in parsed_units {
        match unit {
            Ok(unit) => units.push(unit),
            Err(e) => unit_errors.push(e),
        }
    }
    let units_skipped = units.iter().filter(|u| u.is_rust()).count() as u32;
    tracing::debug!(elapsed = ?started.elapsed(), units = units.len(), "units parsed");

    let walks: Vec<_> = units
        .par_iter()
        .map(|cu| {
            if cu.is_rust() {
                return Ok(None);
            }
            walk_unit(&dwarf, cu).map(Some).map_err(|e| UnitError {
                unit_offset: cu.offset as u64,
                cu_path: cu.path.as_deref().map(str::to_owned),
                message: format!(
                    "{}: unit {} at .debug_info+{:#x}: DIE at .debug_info+{:#x}: {}",
                    path.display(),
                    cu.path.as_deref().unwrap_or("?"),
                    cu.offset,
                    e.offset.0,
                    e.error
                ),
            })
        })
        .collect();
    let walks: Vec<_> = walks
        .into_iter()
        .map(|w| {
            w.unwrap_or_else(|e| {
                unit_errors.push(e);
                None
            })
        })
        .collect();
    unit_errors.sort_by_key(|e| e.unit_offset);
    tracing::debug!(elapsed = ?started.elapsed(), "units walked");

    let local_types: Vec<&[dwarf::DieOffset]> = walks
        .iter()
        .map(|w| w.as_ref().map_or(&[][..], |w| w.local_types.as_slice()))
        .collect();
    // Merging the instances into entries is serial; the type pass runs
    // beside it and the prototype rendering on the other cores.
    let (entries, (types, type_errors)) = rayon::join(
        || {
            let module = parsed
                .relocatable
                .then(|| functions::ModuleCode::new(&parsed.symbols));
            let mut entries = functions::build_entries(&units, &walks, module.as_ref());
            tracing::debug!(elapsed = ?started.elapsed(), entries = entries.len(), "entries merged");
            render_signatures(&dwarf, &units, &mut entries);
            tracing::debug!(elapsed = ?started.elapsed(), "prototypes rendered");
            entries
        },
        || match walk {
            Walk::FunctionsAndTypes => types::extract_types(path, &dwarf, &units, &local_types),
            Walk::Functions => (Vec::new(), Vec::new()),
        },
    );
    unit_errors.extend(type_errors);
    unit_errors.sort_by_key(|e| e.unit_offset);
    tracing::debug!(elapsed = ?started.elapsed(), types = types.len(), "types read");
    Ok(FunctionModel {
        entries,
        types,
        unit_errors,
        compile_units,
        units_skipped,
    })
}

/// Renders each entry's prototype, in parallel over the units holding the
/// prototype DIEs (one type cache per unit).
fn render_signatures<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    units: &[CompileUnit<'d>],
    entries: &mut [FunctionEntry],
) {
    let mut by_unit: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some((die, source)) = entry.prototype_die {
            if source == PrototypeSource::Assembler {
                continue;
            }
            if let Some(unit) = dwarf::unit_index_of(units, die) {
                by_unit.entry(unit).or_default().push(i);
            }
        }
    }
    let groups: Vec<Vec<usize>> = by_unit.into_values().collect();
    let rendered: Vec<Vec<(usize, Option<dwarf::types::Signature>)>> = groups
        .par_iter()
        .map(|group| {
            let mut renderer = TypeRenderer::new(dwarf, units);
            group
                .iter()
                .map(|&i| {
                    let entry = &entries[i];
                    let (die, _) = entry.prototype_die.expect("grouped by prototype DIE");
                    (i, renderer.signature(die, &entry.name))
                })
                .collect()
        })
        .collect();
    for (i, signature) in rendered.into_iter().flatten() {
        entries[i].signature = signature;
    }
}
