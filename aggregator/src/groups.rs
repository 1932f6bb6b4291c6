//! Resolving configured groups against the images of a dataset: which
//! images each group holds, in which order, under which labels, and which
//! pairs of them are compared.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use ksurf_dataset::{Dataset, ImageId, TableName};

use crate::config::{Group, LabelKind, MatchSelector, Mode, Revisions, Selector};
use crate::release::{cmp_components, KernelRelease};
use crate::{Error, Result};

/// One image of the dataset with what groups select and sort it by.
#[derive(Clone, Debug)]
pub struct ImageMeta {
    pub id: ImageId,
    pub flavor: String,
    pub release: KernelRelease,
}

impl ImageMeta {
    pub fn new(id: ImageId, flavor: String) -> Self {
        let release = KernelRelease::parse(&id.release);
        ImageMeta {
            id,
            flavor,
            release,
        }
    }

    /// The label of this image under `kind`.
    pub fn label(&self, kind: LabelKind) -> String {
        match kind {
            LabelKind::Version => self.release.short_version(),
            LabelKind::Arch => self.id.arch.clone(),
            LabelKind::Flavor => self.flavor.clone(),
            LabelKind::Revision => self
                .release
                .revision
                .map_or_else(|| self.id.release.clone(), |r| r.to_string()),
            LabelKind::Release => self.id.release.clone(),
            LabelKind::Image => self.id.to_string(),
        }
    }

    /// The paper's image order: version, flavor, arch, revision (then the
    /// rest of the identity, so that the order is total).
    fn cmp_order(&self, other: &ImageMeta) -> Ordering {
        self.release
            .cmp_version(&other.release)
            .then_with(|| self.flavor.cmp(&other.flavor))
            .then_with(|| self.id.arch.cmp(&other.id.arch))
            .then_with(|| self.release.revision.cmp(&other.release.revision))
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Every complete image of `dataset` with its flavor, sorted by id.
pub fn dataset_images(dataset: &Dataset) -> Result<Vec<ImageMeta>> {
    let mut out = Vec::new();
    for id in dataset.images()? {
        let batch = dataset.read_table(&id, TableName::Images)?;
        let flavor = batch
            .column_by_name("flavor")
            .map(|c| c.as_string::<i32>())
            .filter(|c| !c.is_empty())
            .map(|c| c.value(0).to_owned())
            .ok_or_else(|| Error::Table {
                location: format!("{}/images of {id}", dataset.label()),
                message: "has no row".to_owned(),
            })?;
        out.push(ImageMeta::new(id, flavor));
    }
    Ok(out)
}

/// A group resolved against a dataset. Image references are indexes into
/// the image list it was resolved against.
#[derive(Clone, Debug)]
pub struct ResolvedGroup {
    pub name: String,
    /// Position of the group in the config.
    pub position: u32,
    pub mode: Mode,
    pub label_kind: LabelKind,
    pub baseline: Option<usize>,
    /// The images shown in the group's status list, in order.
    pub members: Vec<usize>,
}

impl ResolvedGroup {
    /// The compared pairs, (old, new), in order.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        match (self.mode, self.baseline) {
            (Mode::Baseline, Some(b)) => self.members.iter().map(|&m| (b, m)).collect(),
            _ => self.members.windows(2).map(|w| (w[0], w[1])).collect(),
        }
    }

    /// Every image of the group: the baseline (if any) first, then the members.
    pub fn all_images(&self) -> impl Iterator<Item = usize> + '_ {
        self.baseline
            .into_iter()
            .chain(self.members.iter().copied())
    }
}

fn matches_any(patterns: &[glob::Pattern], value: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(value))
}

fn selects(s: &MatchSelector, image: &ImageMeta) -> bool {
    matches_any(&s.distro, &image.id.distro)
        && matches_any(&s.arch, &image.id.arch)
        && matches_any(&s.flavor, &image.flavor)
        && matches_any(&s.release, &image.id.release)
        && matches_any(&s.version, &image.release.short_version())
        && s.min_version
            .as_ref()
            .is_none_or(|min| cmp_components(&image.release.version, min) != Ordering::Less)
        && s.max_version
            .as_ref()
            .is_none_or(|max| cmp_components(&image.release.version, max) != Ordering::Greater)
}

/// Resolves one group; `position` is its place in the config.
pub fn resolve(group: &Group, position: u32, images: &[ImageMeta]) -> Result<ResolvedGroup> {
    let err = |message: String| Error::Group {
        group: group.name.clone(),
        message,
    };
    let index_of = |id: &ImageId, what: &str| -> Result<usize> {
        images
            .iter()
            .position(|m| &m.id == id)
            .ok_or_else(|| err(format!("{what} {id} is not in the dataset")))
    };
    let baseline = group
        .baseline
        .as_ref()
        .map(|b| index_of(b, "baseline"))
        .transpose()?;
    let mut members: Vec<usize> = match &group.selector {
        Selector::Images(ids) => ids
            .iter()
            .map(|id| index_of(id, "image"))
            .collect::<Result<_>>()?,
        Selector::Match(s) => {
            let mut selected: Vec<usize> = (0..images.len())
                .filter(|&i| selects(s, &images[i]))
                .collect();
            if s.revisions != Revisions::All {
                // One image per (distro, version, flavor, arch).
                let mut best: BTreeMap<(String, Vec<u64>, String, String), usize> = BTreeMap::new();
                for &i in &selected {
                    let m = &images[i];
                    let key = (
                        m.id.distro.clone(),
                        m.release.version.clone(),
                        m.flavor.clone(),
                        m.id.arch.clone(),
                    );
                    let keep = match best.get(&key) {
                        None => true,
                        Some(&j) => {
                            let by_revision = m.cmp_order(&images[j]);
                            match s.revisions {
                                Revisions::Lowest => by_revision == Ordering::Less,
                                _ => by_revision == Ordering::Greater,
                            }
                        }
                    };
                    if keep {
                        best.insert(key, i);
                    }
                }
                selected = best.into_values().collect();
            }
            selected.sort_by(|&a, &b| images[a].cmp_order(&images[b]));
            selected
        }
    };
    if let Some(b) = baseline {
        members.retain(|&m| m != b);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = members.iter().find(|&&m| !seen.insert(m)) {
        return Err(err(format!("image {} is listed twice", images[*dup].id)));
    }
    if members.is_empty() {
        return Err(err("selects no image of the dataset".to_owned()));
    }
    Ok(ResolvedGroup {
        name: group.name.clone(),
        position,
        mode: group.mode,
        label_kind: group.label,
        baseline,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn meta(id: &str, flavor: &str) -> ImageMeta {
        ImageMeta::new(id.parse().unwrap(), flavor.to_owned())
    }

    #[test]
    fn selectors_order_numerically_and_keep_one_revision() {
        let images = vec![
            meta("ubuntu/4.10.0-19-generic/amd64", "generic"),
            meta("ubuntu/4.4.0-21-generic/amd64", "generic"),
            meta("ubuntu/5.4.0-26-generic/amd64", "generic"),
            meta("ubuntu/5.4.0-26-generic/arm64", "generic"),
            meta("ubuntu/5.4.0-100-generic/amd64", "generic"),
            meta("ubuntu/5.4.0-1009-aws/amd64", "aws"),
            meta("ubuntu/5.4.0-9-generic/amd64", "generic"),
        ];
        let groups = parse(
            "t",
            r#"
[[group]]
name = "Regular"
mode = "consecutive"
arch = "amd64"
flavor = "generic"
revisions = "lowest"
min_version = "4.4"
[[group]]
name = "Revision"
mode = "consecutive"
version = "5.4"
arch = "amd64"
flavor = "generic"
[[group]]
name = "Flavor"
mode = "baseline"
baseline = "ubuntu/5.4.0-26-generic/amd64"
version = "5.4"
arch = "amd64"
flavor = ["generic", "aws"]
revisions = "lowest"
"#,
        )
        .unwrap();
        let labels = |g: &ResolvedGroup| -> Vec<String> {
            g.members
                .iter()
                .map(|&i| images[i].label(g.label_kind))
                .collect()
        };
        let regular = resolve(&groups[0], 0, &images).unwrap();
        assert_eq!(labels(&regular), ["4.4", "4.10", "5.4"]);
        assert_eq!(images[regular.members[2]].id.release, "5.4.0-9-generic");
        let revision = resolve(&groups[1], 1, &images).unwrap();
        assert_eq!(labels(&revision), ["9", "26", "100"]);
        assert_eq!(revision.pairs().len(), 2);
        let flavor = resolve(&groups[2], 2, &images).unwrap();
        // the lowest generic revision (9) stays; the baseline (26) is not a member
        assert_eq!(labels(&flavor), ["aws", "generic"]);
        assert_eq!(flavor.pairs(), [(2, 5), (2, 6)]);
    }

    #[test]
    fn missing_images_are_named() {
        let images = vec![meta("ubuntu/5.4.0-26-generic/amd64", "generic")];
        let groups = parse(
            "t",
            "[[group]]\nname = \"Arch\"\nmode = \"baseline\"\nbaseline = \"ubuntu/5.4.0-26-generic/arm64\"\n",
        )
        .unwrap();
        assert_eq!(
            resolve(&groups[0], 0, &images).unwrap_err().to_string(),
            "group Arch: baseline ubuntu/5.4.0-26-generic/arm64 is not in the dataset"
        );
        let groups = parse(
            "t",
            "[[group]]\nname = \"X\"\nmode = \"consecutive\"\narch = \"s390x\"\n",
        )
        .unwrap();
        assert_eq!(
            resolve(&groups[0], 0, &images).unwrap_err().to_string(),
            "group X: selects no image of the dataset"
        );
    }
}
