//! The fetcher's part of a matrix config (`configs/*.toml`): the
//! `[[source]]` tables, each one place to discover kernel debug packages
//! (an Ubuntu ddebs archive, a Debian archive, Launchpad's API, a local
//! directory) plus the selectors that pick kernels from it. Other top-level
//! keys (`[[group]]`, `[run]`) belong to other crates and are ignored;
//! unknown keys inside `[[source]]` are errors. `configs/README.md`
//! documents every key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::naming::KernelName;
use crate::{Error, Result};

/// Architectures (dpkg names) that Debian or Ubuntu ship kernels for.
pub const KNOWN_ARCHES: &[&str] = &[
    "amd64", "arm64", "armel", "armhf", "i386", "loong64", "mips64el", "mipsel", "powerpc",
    "ppc64", "ppc64el", "riscv64", "s390x",
];

/// Where a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// An Ubuntu debug-symbol (ddebs) archive: `dists/<series>[-pocket]/…`.
    Ubuntu,
    /// A Debian archive (`-dbg` packages are in `main`).
    Debian,
    /// Launchpad's anonymous REST API (every past upload).
    Launchpad,
    /// A local directory of `.deb`/`.ddeb` files.
    Local,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Ubuntu => "ubuntu",
            SourceKind::Debian => "debian",
            SourceKind::Launchpad => "launchpad",
            SourceKind::Local => "local",
        }
    }
}

/// An Ubuntu pocket: which suite of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pocket {
    Release,
    Updates,
    Security,
    Proposed,
}

impl Pocket {
    /// The archive suite: `focal`, `focal-updates`, …
    pub fn suite(self, series: &str) -> String {
        match self {
            Pocket::Release => series.to_owned(),
            Pocket::Updates => format!("{series}-updates"),
            Pocket::Security => format!("{series}-security"),
            Pocket::Proposed => format!("{series}-proposed"),
        }
    }

    /// The pocket's name in Launchpad's API.
    pub fn launchpad_name(self) -> &'static str {
        match self {
            Pocket::Release => "Release",
            Pocket::Updates => "Updates",
            Pocket::Security => "Security",
            Pocket::Proposed => "Proposed",
        }
    }
}

/// Which ABI revisions of one kernel version (same distro, arch, flavor and
/// `major.minor`) to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionPolicy {
    /// The earliest: the kernel a release shipped with.
    First,
    /// The newest.
    Latest,
    /// Every one.
    #[default]
    All,
}

/// Where a remote source's URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSetting {
    /// The Debian mirror in the machine's apt sources (`url = "apt"`).
    Apt,
    /// An environment variable (`url = "env:NAME"`).
    Env(String),
    /// The URL itself.
    Literal(String),
}

/// One archive suite to read: `focal-updates` is series `focal`, pocket
/// updates; a Debian suite has no pocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub series: String,
    pub pocket: Option<Pocket>,
}

/// Which kernels of a source to plan.
#[derive(Debug, Clone)]
pub struct Selectors {
    /// Empty means every architecture (local sources only).
    pub arches: Vec<String>,
    pub flavors: Vec<glob::Pattern>,
    /// Patterns on the kernel version `major.minor` (`5.4`, `6.*`).
    pub versions: Vec<glob::Pattern>,
    /// Patterns on the release (`5.4.0-26-generic`).
    pub releases: Vec<glob::Pattern>,
}

impl Selectors {
    pub fn wants_arch(&self, arch: &str) -> bool {
        self.arches.is_empty() || self.arches.iter().any(|a| a == arch)
    }

    /// Whether a kernel passes the flavor, version and release selectors.
    pub fn wants_kernel(&self, kernel: &KernelName) -> bool {
        let any = |patterns: &[glob::Pattern], value: &str| {
            patterns.is_empty() || patterns.iter().any(|p| p.matches(value))
        };
        any(&self.flavors, &kernel.flavor)
            && any(&self.versions, kernel.kernel_version())
            && any(&self.releases, &kernel.release)
    }
}

/// One validated `[[source]]` table.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    /// Remote sources only.
    pub url: Option<UrlSetting>,
    /// Local sources only: the directory (relative to the working directory).
    pub path: Option<PathBuf>,
    /// Archive suites (ubuntu: series × pockets; debian: suites), and for
    /// Launchpad the series × pockets to accept.
    pub suites: Vec<Suite>,
    pub components: Vec<String>,
    pub selectors: Selectors,
    pub revision: RevisionPolicy,
    /// The archive keyring the download step verifies `InRelease` with.
    pub keyring: Option<PathBuf>,
    /// Launchpad source package names (`linux`, `linux-aws`, …), or
    /// prefixes ending in `*` (`linux-*`: every source package whose name
    /// starts with `linux-`).
    pub launchpad_sources: Vec<String>,
    /// `ubuntu` sources only: the main archive (the one holding
    /// `linux-modules-*` and `linux-buildinfo-*`), where the companion
    /// packages carrying each kernel's build configuration are looked up
    /// in the same suite, component and architecture. `None`: no config
    /// is fetched for this source's kernels.
    pub companion_url: Option<UrlSetting>,
    /// The keyring that archive's `InRelease`/`Release.gpg` is verified
    /// with (required with `companion_url`).
    pub companion_keyring: Option<PathBuf>,
    /// Whether this source's kernels are unpacked with their modules
    /// (`modules = true|false`; `true` when the key is absent): carried
    /// into [`crate::plan::PlannedPackage::modules`].
    pub modules: bool,
    /// Whether images of this source whose vmlinux has no `.BTF` section
    /// get BTF encoded from their DWARF by `pahole`
    /// (`btf_from_dwarf = true|false`; `false` when the key is absent):
    /// carried into [`crate::plan::PlannedPackage::btf_from_dwarf`].
    pub btf_from_dwarf: bool,
}

impl SourceConfig {
    /// The series named in `suites`, in order, once each.
    pub fn series(&self) -> Vec<&str> {
        let mut seen = BTreeSet::new();
        self.suites
            .iter()
            .map(|s| s.series.as_str())
            .filter(|s| seen.insert(*s))
            .collect()
    }

    /// The pockets named in `suites`, in order, once each.
    pub fn pockets(&self) -> Vec<Pocket> {
        let mut out: Vec<Pocket> = Vec::new();
        for p in self.suites.iter().filter_map(|s| s.pocket) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// The fetcher's view of one config file.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The file, as named to [`FetchConfig::load`] (for messages).
    pub file: String,
    pub sources: Vec<SourceConfig>,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    kind: SourceKind,
    url: Option<String>,
    path: Option<PathBuf>,
    series: Option<Vec<String>>,
    pockets: Option<Vec<Pocket>>,
    suites: Option<Vec<String>>,
    components: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    flavors: Option<Vec<String>>,
    versions: Option<Vec<String>>,
    releases: Option<Vec<String>>,
    revision: Option<RevisionPolicy>,
    keyring: Option<PathBuf>,
    launchpad_sources: Option<Vec<String>>,
    companion_url: Option<String>,
    companion_keyring: Option<PathBuf>,
    /// Any TOML value, so that a wrong type is reported with the key.
    modules: Option<toml::Value>,
    btf_from_dwarf: Option<toml::Value>,
}

const DEFAULT_POCKETS: [Pocket; 3] = [Pocket::Release, Pocket::Security, Pocket::Updates];

impl FetchConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Validates config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let message = match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {}", e.message().trim_end())
                }
                None => e.message().trim_end().to_owned(),
            };
            Error::Config {
                file: file.to_owned(),
                message,
            }
        })?;
        let fail = |message: String| Error::Config {
            file: file.to_owned(),
            message,
        };
        if raw.source.is_empty() {
            return Err(fail("no [[source]] table".to_owned()));
        }
        let mut names = BTreeSet::new();
        let mut sources = Vec::new();
        for (index, raw) in raw.source.into_iter().enumerate() {
            let at = format!("[[source]] #{} ({:?})", index + 1, raw.name);
            if raw.name.is_empty() {
                return Err(fail(format!("{at}: name: empty")));
            }
            if !names.insert(raw.name.clone()) {
                return Err(fail(format!(
                    "{at}: name: another [[source]] is already called {:?}",
                    raw.name
                )));
            }
            sources.push(validate(raw).map_err(|m| fail(format!("{at}: {m}")))?);
        }
        Ok(FetchConfig {
            file: file.to_owned(),
            sources,
        })
    }
}

/// Checks one table; the error is `key: problem`.
fn validate(raw: RawSource) -> Result<SourceConfig, String> {
    let kind = raw.kind;
    let k = kind.as_str();
    let not_for = |key: &str| format!("{key}: not a key of kind \"{k}\" sources");
    let remote = kind != SourceKind::Local;

    // Where.
    let url = match (&raw.url, remote) {
        (Some(_), false) => return Err(not_for("url")),
        (None, true) => return Err("url: missing".to_owned()),
        (None, false) => None,
        (Some(url), true) => Some(url_setting(url, kind)?),
    };
    let path = match (raw.path, remote) {
        (Some(_), true) => return Err(not_for("path")),
        (None, false) => {
            return Err("path: missing (the directory holding the packages)".to_owned())
        }
        (path, _) => path,
    };

    // Suites.
    let suites = match kind {
        SourceKind::Ubuntu | SourceKind::Launchpad => {
            if raw.suites.is_some() {
                return Err(format!(
                    "suites: not a key of kind \"{k}\" sources (use series and pockets)"
                ));
            }
            let series = non_empty("series", raw.series.ok_or("series: missing")?)?;
            for s in &series {
                check_word("series", s)?;
            }
            let pockets = match raw.pockets {
                Some(p) => non_empty("pockets", p)?,
                None => DEFAULT_POCKETS.to_vec(),
            };
            series
                .iter()
                .flat_map(|s| {
                    pockets.iter().map(move |p| Suite {
                        name: p.suite(s),
                        series: s.clone(),
                        pocket: Some(*p),
                    })
                })
                .collect()
        }
        SourceKind::Debian => {
            if raw.series.is_some() || raw.pockets.is_some() {
                let key = if raw.series.is_some() {
                    "series"
                } else {
                    "pockets"
                };
                return Err(format!(
                    "{key}: not a key of kind \"debian\" sources (list full suite names in suites)"
                ));
            }
            let suites = non_empty("suites", raw.suites.ok_or("suites: missing")?)?;
            let mut out = Vec::new();
            for s in suites {
                check_word("suites", &s)?;
                out.push(Suite {
                    series: s.split('-').next().unwrap_or(&s).to_owned(),
                    name: s,
                    pocket: None,
                });
            }
            out
        }
        SourceKind::Local => {
            for (key, present) in [
                ("series", raw.series.is_some()),
                ("pockets", raw.pockets.is_some()),
                ("suites", raw.suites.is_some()),
            ] {
                if present {
                    return Err(not_for(key));
                }
            }
            Vec::new()
        }
    };

    let components = match (raw.components, kind) {
        (Some(_), SourceKind::Launchpad | SourceKind::Local) => return Err(not_for("components")),
        (Some(c), _) => {
            let c = non_empty("components", c)?;
            for component in &c {
                check_word("components", component)?;
            }
            c
        }
        (None, SourceKind::Ubuntu | SourceKind::Debian) => vec!["main".to_owned()],
        (None, _) => Vec::new(),
    };

    let arches = match raw.arches {
        Some(a) => {
            let a = non_empty("arches", a)?;
            for arch in &a {
                if !KNOWN_ARCHES.contains(&arch.as_str()) {
                    return Err(format!(
                        "arches: unknown architecture {arch:?} (known: {})",
                        KNOWN_ARCHES.join(", ")
                    ));
                }
            }
            a
        }
        None if remote => {
            return Err(
                "arches: missing (list the architectures to fetch, e.g. [\"amd64\"])".to_owned(),
            )
        }
        None => Vec::new(),
    };

    let selectors = Selectors {
        arches,
        flavors: patterns("flavors", raw.flavors)?,
        versions: patterns("versions", raw.versions)?,
        releases: patterns("releases", raw.releases)?,
    };

    let keyring = match (raw.keyring, kind) {
        (Some(k), SourceKind::Ubuntu | SourceKind::Debian) => Some(k),
        (Some(_), _) => return Err(not_for("keyring")),
        (None, _) => None,
    };

    let launchpad_sources = match (raw.launchpad_sources, kind) {
        (Some(s), SourceKind::Launchpad) => {
            let s = non_empty("launchpad_sources", s)?;
            for name in &s {
                // A name, or a prefix ending in `*` (`linux-*`: every
                // source package whose name starts with `linux-`).
                let stem = name.strip_suffix('*').unwrap_or(name);
                check_word("launchpad_sources", stem).map_err(|_| {
                    format!(
                        "launchpad_sources: {name:?} is neither a source package name nor a prefix ending in `*`"
                    )
                })?;
            }
            s
        }
        (Some(_), _) => return Err(not_for("launchpad_sources")),
        (None, SourceKind::Launchpad) => vec!["linux".to_owned()],
        (None, _) => Vec::new(),
    };

    let companion_url = match (&raw.companion_url, kind) {
        (Some(url), SourceKind::Ubuntu) => {
            Some(url_setting(url, kind).map_err(|m| format!("companion_{m}"))?)
        }
        (Some(_), _) => return Err(not_for("companion_url")),
        (None, _) => None,
    };
    let companion_keyring = match (raw.companion_keyring, &companion_url) {
        (Some(_), _) if kind != SourceKind::Ubuntu => return Err(not_for("companion_keyring")),
        (Some(k), Some(_)) => Some(k),
        (Some(_), None) => {
            return Err("companion_keyring: given without companion_url".to_owned())
        }
        (None, Some(_)) => {
            return Err("companion_keyring: missing (the keyring that verifies the companion archive's Release signature)".to_owned())
        }
        (None, None) => None,
    };

    let boolean = |key: &str, value: Option<toml::Value>, default: bool| match value {
        None => Ok(default),
        Some(toml::Value::Boolean(b)) => Ok(b),
        Some(other) => Err(format!(
            "{key}: expected true or false, not the {} {other}",
            other.type_str()
        )),
    };
    let modules = boolean("modules", raw.modules, true)?;
    let btf_from_dwarf = boolean("btf_from_dwarf", raw.btf_from_dwarf, false)?;

    Ok(SourceConfig {
        name: raw.name,
        kind,
        url,
        path,
        suites,
        components,
        selectors,
        revision: raw.revision.unwrap_or_default(),
        keyring,
        launchpad_sources,
        companion_url,
        companion_keyring,
        modules,
        btf_from_dwarf,
    })
}

fn url_setting(url: &str, kind: SourceKind) -> Result<UrlSetting, String> {
    if url == "apt" {
        return if kind == SourceKind::Debian {
            Ok(UrlSetting::Apt)
        } else {
            Err(format!(
                "url: \"apt\" names the machine's Debian mirror, only for kind \"debian\" sources (kind is \"{}\")",
                kind.as_str()
            ))
        };
    }
    if let Some(var) = url.strip_prefix("env:") {
        let valid = !var.is_empty()
            && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !var.as_bytes()[0].is_ascii_digit();
        return if valid {
            Ok(UrlSetting::Env(var.to_owned()))
        } else {
            Err(format!("url: {url:?} does not name an environment variable (env:NAME, NAME of [A-Za-z0-9_])"))
        };
    }
    if (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && !url.contains(char::is_whitespace)
    {
        return Ok(UrlSetting::Literal(url.trim_end_matches('/').to_owned()));
    }
    Err(format!(
        "url: {url:?} is not \"apt\", \"env:NAME\" or an http(s) URL"
    ))
}

fn non_empty<T>(key: &str, list: Vec<T>) -> Result<Vec<T>, String> {
    if list.is_empty() {
        Err(format!("{key}: empty list"))
    } else {
        Ok(list)
    }
}

/// Names that become URL or path segments: no separators or spaces.
fn check_word(key: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'+'))
        && value != "."
        && value != "..";
    if ok {
        Ok(())
    } else {
        Err(format!("{key}: {value:?} is not a valid name"))
    }
}

fn patterns(key: &str, list: Option<Vec<String>>) -> Result<Vec<glob::Pattern>, String> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    non_empty(key, list)?
        .iter()
        .map(|p| glob::Pattern::new(p).map_err(|e| format!("{key}: bad pattern {p:?}: {}", e.msg)))
        .collect()
}

/// Resolves `url = "env:NAME"` / a literal URL; `"apt"` needs the apt
/// sources and a suite (see [`crate::apt::AptSources::mirror_for`]).
pub fn resolve_env_url(
    file: &str,
    source: &SourceConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    resolve_setting(file, source, "url", source.url.as_ref(), env)
}

/// Resolves an `ubuntu` source's `companion_url` (`env:NAME` or a literal
/// URL); `None` when the source has none. An unset variable is an error
/// naming it (the caller decides whether that fails anything).
pub fn resolve_companion_url(
    file: &str,
    source: &SourceConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    resolve_setting(
        file,
        source,
        "companion_url",
        source.companion_url.as_ref(),
        env,
    )
}

fn resolve_setting(
    file: &str,
    source: &SourceConfig,
    key: &str,
    setting: Option<&UrlSetting>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    let fail = |message: String| Error::Config {
        file: file.to_owned(),
        message: format!("[[source]] {:?}: {key}: {message}", source.name),
    };
    match setting {
        None | Some(UrlSetting::Apt) => Ok(None),
        Some(UrlSetting::Literal(url)) => Ok(Some(url.clone())),
        Some(UrlSetting::Env(var)) => match env(var) {
            None => Err(fail(format!("environment variable {var} is not set"))),
            Some(value) => {
                let value = value.trim();
                if (value.starts_with("http://") || value.starts_with("https://"))
                    && !value.contains(char::is_whitespace)
                {
                    Ok(Some(value.trim_end_matches('/').to_owned()))
                } else {
                    Err(fail(format!(
                        "environment variable {var} holds {value:?}, not an http(s) URL"
                    )))
                }
            }
        },
    }
}
