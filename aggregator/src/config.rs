//! The `[[group]]` tables of a matrix config (`configs/*.toml`): which
//! images each comparison group selects, in which mode they are compared
//! and how they are labelled. Other top-level keys (`[[source]]`, `[run]`)
//! belong to other crates and are ignored; unknown keys inside a group are
//! errors, so typos are reported.

use std::path::Path;

use serde::Deserialize;

use crate::release::parse_version;
use crate::{Error, Result};

/// How the images of a group are paired for comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Each image against the one before it (versions, revisions).
    Consecutive,
    /// Each image against the group's baseline image (arches, flavors).
    Baseline,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Consecutive => "consecutive",
            Mode::Baseline => "baseline",
        }
    }
}

/// What names an image in a group's reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// Short version, `5.4`.
    Version,
    /// Distro architecture, `arm64`.
    Arch,
    /// Flavor, `aws`.
    Flavor,
    /// ABI revision, `26` (the release when it has none).
    Revision,
    /// Whole release, `5.4.0-26-generic`.
    Release,
    /// `distro/release/arch`.
    Image,
}

impl LabelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Version => "version",
            LabelKind::Arch => "arch",
            LabelKind::Flavor => "flavor",
            LabelKind::Revision => "revision",
            LabelKind::Release => "release",
            LabelKind::Image => "image",
        }
    }

    /// The label a group gets when its config names none: by the paper's
    /// group names, else the release.
    pub fn default_for(group: &str) -> Self {
        match group.to_ascii_lowercase().as_str() {
            "regular" | "lts" | "version" | "versions" => LabelKind::Version,
            "arch" | "arches" | "architecture" => LabelKind::Arch,
            "flavor" | "flavors" | "flavour" => LabelKind::Flavor,
            "revision" | "revisions" | "rev" => LabelKind::Revision,
            _ => LabelKind::Release,
        }
    }
}

/// Which ABI revisions of one version (same distro, flavor, arch) a
/// selector keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Revisions {
    #[default]
    All,
    Lowest,
    Highest,
}

/// One pattern or a list of them (`arch = "arm64"`, `arch = ["arm64", "armhf"]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum Patterns {
    #[default]
    Any,
    One(String),
    Many(Vec<String>),
}

impl Patterns {
    fn texts(&self) -> Vec<&str> {
        match self {
            Patterns::Any => Vec::new(),
            Patterns::One(s) => vec![s.as_str()],
            Patterns::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }

    fn is_any(&self) -> bool {
        self.texts().is_empty()
    }
}

/// One `[[group]]` table as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    pub mode: Mode,
    #[serde(default)]
    pub label: Option<LabelKind>,
    /// `distro/release/arch` of the image the others are compared with
    /// (baseline mode only).
    #[serde(default)]
    pub baseline: Option<String>,
    /// An explicit, ordered list of `distro/release/arch` images; excludes
    /// the selector keys.
    #[serde(default)]
    pub images: Option<Vec<String>>,
    #[serde(default)]
    pub distro: Patterns,
    #[serde(default)]
    pub arch: Patterns,
    #[serde(default)]
    pub flavor: Patterns,
    #[serde(default)]
    pub release: Patterns,
    /// Patterns over the short version (`5.4`, `6.*`).
    #[serde(default)]
    pub version: Patterns,
    /// Inclusive numeric bounds on the version (`4.4`, `6.8`).
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    #[serde(default)]
    pub revisions: Revisions,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    group: Vec<GroupConfig>,
}

/// A validated group: patterns compiled, versions parsed.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub mode: Mode,
    pub label: LabelKind,
    pub baseline: Option<ksurf_dataset::ImageId>,
    pub selector: Selector,
}

/// Which images a group takes.
#[derive(Clone, Debug)]
pub enum Selector {
    Images(Vec<ksurf_dataset::ImageId>),
    Match(Box<MatchSelector>),
}

#[derive(Clone, Debug, Default)]
pub struct MatchSelector {
    pub distro: Vec<glob::Pattern>,
    pub arch: Vec<glob::Pattern>,
    pub flavor: Vec<glob::Pattern>,
    pub release: Vec<glob::Pattern>,
    pub version: Vec<glob::Pattern>,
    pub min_version: Option<Vec<u64>>,
    pub max_version: Option<Vec<u64>>,
    pub revisions: Revisions,
}

/// Reads the groups of the config file at `path`.
pub fn load(path: &Path) -> Result<Vec<Group>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        path: path.to_owned(),
        source,
    })?;
    parse(&path.display().to_string(), &text)
}

/// Parses the groups of config text; `label` names it in errors.
pub fn parse(label: &str, text: &str) -> Result<Vec<Group>> {
    let err = |message: String| Error::Config {
        path: label.to_owned(),
        message,
    };
    let file: ConfigFile =
        toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_owned()))?;
    if file.group.is_empty() {
        return Err(err("no [[group]] table".to_owned()));
    }
    let mut groups: Vec<Group> = Vec::new();
    for g in file.group {
        let group = validate(g).map_err(&err)?;
        if groups.iter().any(|other| other.name == group.name) {
            return Err(err(format!("group {:?} is defined twice", group.name)));
        }
        groups.push(group);
    }
    Ok(groups)
}

fn validate(g: GroupConfig) -> std::result::Result<Group, String> {
    let name = g.name.clone();
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
        && name != "."
        && name != "..";
    if !valid_name {
        return Err(format!(
            "group name {name:?} must be 1-64 characters of [A-Za-z0-9._+-]"
        ));
    }
    let ctx = |m: String| format!("group {name:?}: {m}");
    let image = |text: &str, what: &str| -> std::result::Result<ksurf_dataset::ImageId, String> {
        text.parse()
            .map_err(|e: ksurf_dataset::Error| ctx(format!("{what}: {e}")))
    };
    let baseline = match (g.mode, &g.baseline) {
        (Mode::Baseline, Some(b)) => Some(image(b, "baseline")?),
        (Mode::Baseline, None) => {
            return Err(ctx(
                "mode \"baseline\" needs `baseline = \"distro/release/arch\"`".to_owned(),
            ))
        }
        (Mode::Consecutive, Some(_)) => {
            return Err(ctx("`baseline` is only for mode \"baseline\"".to_owned()))
        }
        (Mode::Consecutive, None) => None,
    };
    let selector = if let Some(images) = &g.images {
        let selector_keys = [
            ("distro", g.distro.is_any()),
            ("arch", g.arch.is_any()),
            ("flavor", g.flavor.is_any()),
            ("release", g.release.is_any()),
            ("version", g.version.is_any()),
            ("min_version", g.min_version.is_none()),
            ("max_version", g.max_version.is_none()),
            ("revisions", g.revisions == Revisions::All),
        ];
        if let Some((key, _)) = selector_keys.iter().find(|(_, unset)| !unset) {
            return Err(ctx(format!("`images` excludes `{key}`")));
        }
        if images.is_empty() {
            return Err(ctx("`images` is empty".to_owned()));
        }
        let ids = images
            .iter()
            .map(|i| image(i, "images"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Selector::Images(ids)
    } else {
        let patterns =
            |key: &str, p: &Patterns| -> std::result::Result<Vec<glob::Pattern>, String> {
                p.texts()
                    .into_iter()
                    .map(|t| {
                        glob::Pattern::new(t).map_err(|e| ctx(format!("{key} pattern {t:?}: {e}")))
                    })
                    .collect()
            };
        let version_bound =
            |key: &str, v: &Option<String>| -> std::result::Result<Option<Vec<u64>>, String> {
                v.as_deref()
                    .map(|t| {
                        parse_version(t).ok_or_else(|| {
                            ctx(format!("{key} {t:?} is not a dotted number like \"5.4\""))
                        })
                    })
                    .transpose()
            };
        Selector::Match(Box::new(MatchSelector {
            distro: patterns("distro", &g.distro)?,
            arch: patterns("arch", &g.arch)?,
            flavor: patterns("flavor", &g.flavor)?,
            release: patterns("release", &g.release)?,
            version: patterns("version", &g.version)?,
            min_version: version_bound("min_version", &g.min_version)?,
            max_version: version_bound("max_version", &g.max_version)?,
            revisions: g.revisions,
        }))
    };
    Ok(Group {
        label: g.label.unwrap_or_else(|| LabelKind::default_for(&name)),
        name,
        mode: g.mode,
        baseline,
        selector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> String {
        parse("t.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn other_top_level_keys_are_ignored_and_labels_default_by_name() {
        let groups = parse(
            "t.toml",
            r#"
[run]
jobs = 3
[[source]]
name = "anything"
[[group]]
name = "Regular"
mode = "consecutive"
arch = "amd64"
flavor = "generic"
revisions = "lowest"
[[group]]
name = "Arch"
mode = "baseline"
baseline = "ubuntu/5.4.0-26-generic/amd64"
version = "5.4"
arch = ["arm64", "armhf"]
[[group]]
name = "Custom"
mode = "consecutive"
images = ["debian/5.10.0-32-cloud-amd64/amd64", "debian/6.1.0-47-cloud-amd64/amd64"]
"#,
        )
        .unwrap();
        let summary: Vec<(&str, &str, &str)> = groups
            .iter()
            .map(|g| (g.name.as_str(), g.mode.as_str(), g.label.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("Regular", "consecutive", "version"),
                ("Arch", "baseline", "arch"),
                ("Custom", "consecutive", "release"),
            ]
        );
    }

    #[test]
    fn mistakes_are_reported_with_the_file_and_group() {
        assert_eq!(
            message("[[group]]\nname = \"A\"\nmode = \"consecutive\"\narhc = \"x\"\n"),
            "config t.toml: TOML parse error at line 4, column 1\n  |\n4 | arhc = \"x\"\n  | ^^^^\nunknown field `arhc`, expected one of `name`, `mode`, `label`, `baseline`, `images`, `distro`, `arch`, `flavor`, `release`, `version`, `min_version`, `max_version`, `revisions`"
        );
        assert_eq!(
            message("[[group]]\nname = \"Arch\"\nmode = \"baseline\"\n"),
            "config t.toml: group \"Arch\": mode \"baseline\" needs `baseline = \"distro/release/arch\"`"
        );
        assert_eq!(
            message("[[group]]\nname = \"A\"\nmode = \"consecutive\"\nimages = [\"a/b/c\"]\narch = \"x\"\n"),
            "config t.toml: group \"A\": `images` excludes `arch`"
        );
        assert_eq!(
            message("[[group]]\nname = \"A\"\nmode = \"consecutive\"\nmin_version = \"5.x\"\n"),
            "config t.toml: group \"A\": min_version \"5.x\" is not a dotted number like \"5.4\""
        );
        assert_eq!(
            message("[[group]]\nname = \"a/b\"\nmode = \"consecutive\"\n"),
            "config t.toml: group name \"a/b\" must be 1-64 characters of [A-Za-z0-9._+-]"
        );
        assert_eq!(
            message("[[group]]\nname = \"A\"\nmode = \"consecutive\"\n[[group]]\nname = \"A\"\nmode = \"consecutive\"\n"),
            "config t.toml: group \"A\" is defined twice"
        );
        assert_eq!(message("[run]\n"), "config t.toml: no [[group]] table");
        assert_eq!(
            message("[[group]]\nname = \"A\"\nmode = \"sideways\"\n"),
            "config t.toml: TOML parse error at line 3, column 8\n  |\n3 | mode = \"sideways\"\n  |        ^^^^^^^^^^\nunknown variant `sideways`, expected `consecutive` or `baseline`"
        );
    }
}
