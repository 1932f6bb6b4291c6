//! Whether a comparison group's aggregated tables are still current, so
//! that a run with nothing new re-aggregates nothing.
//!
//! Owns the group's *inputs fingerprint* and its *state record*. The
//! fingerprint is a SHA-256 over everything the group's aggregation reads
//! or depends on: the format of this record, the dataset's schema version,
//! the aggregating code ([`code_id`]), the dependency kinds aggregated, the
//! resolved group (name, position in the config, mode, label kind,
//! baseline, members with their labels) and, for every image of the group,
//! every object of its partitions (`<table>/distro=/release=/arch=/…`: the
//! vmlinux and module rows files of each table and the BTF blob) by path,
//! size and entity tag (`ObjectMeta::e_tag`: inode, mtime and size on a
//! local disk, the object's ETag on S3; the last-modified time where a
//! store gives none). Any rewrite of an image's file, a re-extraction
//! included, so changes the fingerprint of every group holding the image.
//!
//! The state record, `_aggregate/group=<g>.json` (hidden from manifests and
//! hive readers by its leading `_`), holds the fingerprint the group was
//! aggregated with and the files it wrote (path and size). It is written
//! after the group's `comparison_groups` marker and removed before any of
//! the group's files are, so a run killed at any point leaves either a
//! record that matches complete files or no record (and the group is
//! aggregated again). A group is current when its record parses, its
//! fingerprint equals the one computed now and every file it lists is
//! there with that size; anything else (no record, an unreadable one, a
//! file missing or resized) re-aggregates it, never fails the run.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ksurf_dataset::layout::{group_of_path, image_of_path, Path};
use ksurf_dataset::manifest::sha256_hex;
use ksurf_dataset::{Dataset, DependencyKind, ImageId, TableName, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};

use crate::groups::{ImageMeta, ResolvedGroup};
use crate::Result;

/// Version of the state record's format (and of what the fingerprint covers).
pub const STATE_VERSION: u32 = 1;

/// The directory of the state records, relative to the dataset root.
pub const STATE_DIR: &str = "_aggregate";

/// Where group `group`'s state record lives: `_aggregate/group=<g>.json`.
pub fn state_path(group: &str) -> Path {
    Path::from_iter([STATE_DIR.to_owned(), format!("group={group}.json")])
}

/// The group a state record's path names, if it is one.
fn group_of_state_path(path: &Path) -> Option<String> {
    let parts: Vec<_> = path.parts().collect();
    if parts.len() != 2 || parts[0].as_ref() != STATE_DIR {
        return None;
    }
    parts[1]
        .as_ref()
        .strip_prefix("group=")?
        .strip_suffix(".json")
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
}

/// Identifies the code that aggregates: SHA-256 of the running executable
/// (`std::env::current_exe`), computed once per process, so that a new
/// ksurf build re-aggregates every group once, even when its schema
/// version is the same. Where the executable cannot be read, the crate
/// version (then only a schema or version change re-aggregates).
pub fn code_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        std::env::current_exe()
            .and_then(std::fs::read)
            .map(|bytes| sha256_hex(&bytes))
            .unwrap_or_else(|_| format!("ksurf-{}", env!("CARGO_PKG_VERSION")))
    })
}

/// A group's state record (`_aggregate/group=<g>.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupState {
    pub state_version: u32,
    pub group: String,
    /// The inputs fingerprint the group's tables were written from
    /// (lowercase hex SHA-256).
    pub inputs_sha256: String,
    /// Every file the group wrote, sorted by path.
    pub outputs: Vec<OutputFile>,
}

/// One file of a group's aggregated tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Relative to the dataset root, `/`-separated.
    pub path: String,
    /// Bytes.
    pub size: u64,
}

/// One listing of the dataset, indexed for the questions this module asks.
pub struct Listing {
    /// Per image: its partitions' objects as `path\tsize\ttag` lines, sorted.
    image_objects: BTreeMap<ImageId, Vec<String>>,
    /// Aggregated table files by path: size.
    group_files: BTreeMap<String, u64>,
    /// Aggregated table files by (group, table), sorted by path.
    by_group: BTreeMap<(String, String), Vec<Path>>,
    /// Every group with an aggregated file, sorted.
    pub groups: Vec<String>,
    /// Every group with a state record, sorted.
    pub states: Vec<String>,
}

impl Listing {
    /// Lists the whole dataset once.
    /// Errors: the store cannot be listed.
    pub fn read(dataset: &Dataset) -> Result<Self> {
        let aggregated: Vec<&str> = TableName::AGGREGATED.iter().map(|t| t.as_str()).collect();
        let mut image_objects: BTreeMap<ImageId, Vec<String>> = BTreeMap::new();
        let mut group_files = BTreeMap::new();
        let mut by_group: BTreeMap<(String, String), Vec<Path>> = BTreeMap::new();
        let mut groups = Vec::new();
        let mut states = Vec::new();
        for meta in dataset.list(None)? {
            let path = &meta.location;
            let table = path.parts().next().map(|p| p.as_ref().to_owned());
            let hidden = path
                .filename()
                .is_some_and(|f| f.starts_with('.') || f.contains('#'));
            if let Some(group) = group_of_state_path(path) {
                states.push(group);
            } else if let Some(table) = table.filter(|t| aggregated.contains(&t.as_str())) {
                // Every file of a group's partitions, staging files too:
                // removing a group removes them all.
                if let Some(group) = group_of_path(path) {
                    group_files.insert(path.to_string(), meta.size);
                    by_group
                        .entry((group.clone(), table))
                        .or_default()
                        .push(path.clone());
                    groups.push(group);
                }
            } else if hidden {
                continue;
            } else if let Some(image) = image_of_path(path) {
                let tag = meta
                    .e_tag
                    .clone()
                    .unwrap_or_else(|| meta.last_modified.to_rfc3339());
                image_objects
                    .entry(image)
                    .or_default()
                    .push(format!("{path}\t{}\t{tag}", meta.size));
            }
        }
        groups.sort();
        groups.dedup();
        states.sort();
        Ok(Listing {
            image_objects,
            group_files,
            by_group,
            groups,
            states,
        })
    }

    /// The files `group` had in `table` when the dataset was listed,
    /// sorted by path.
    pub fn files_of(&self, group: &str, table: TableName) -> &[Path] {
        self.by_group
            .get(&(group.to_owned(), table.as_str().to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// The inputs fingerprint of `group` (see the module comment).
    pub fn fingerprint(
        &self,
        images: &[ImageMeta],
        group: &ResolvedGroup,
        kinds: &[DependencyKind],
        code_id: &str,
    ) -> String {
        let mut text = format!(
            "ksurf aggregate inputs {STATE_VERSION}\nschema {SCHEMA_VERSION}\ncode {code_id}\n"
        );
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        text.push_str(&format!("kinds {}\n", kinds.join(",")));
        text.push_str(&format!(
            "group {}\nposition {}\nmode {}\nlabel {}\n",
            group.name,
            group.position,
            group.mode.as_str(),
            group.label_kind.as_str()
        ));
        if let Some(b) = group.baseline {
            text.push_str(&format!(
                "baseline {} {}\n",
                images[b].id,
                images[b].label(group.label_kind)
            ));
        }
        for &m in &group.members {
            text.push_str(&format!(
                "member {} {} {}\n",
                images[m].id,
                images[m].flavor,
                images[m].label(group.label_kind)
            ));
        }
        for i in group.all_images() {
            text.push_str(&format!("image {}\n", images[i].id));
            for line in self.image_objects.get(&images[i].id).into_iter().flatten() {
                text.push_str(line);
                text.push('\n');
            }
        }
        sha256_hex(text.as_bytes())
    }

    /// Whether `state` still describes the group: same fingerprint, and
    /// every file it lists present with its size.
    pub fn is_current(&self, state: &GroupState, fingerprint: &str) -> bool {
        state.state_version == STATE_VERSION
            && state.inputs_sha256 == fingerprint
            && !state.outputs.is_empty()
            && state
                .outputs
                .iter()
                .all(|f| self.group_files.get(&f.path) == Some(&f.size))
    }
}

/// Reads group `group`'s state record; `None` when there is none or it
/// cannot be parsed (the group is then aggregated again).
/// Errors: the store cannot be read.
pub fn read_state(dataset: &Dataset, group: &str) -> Result<Option<GroupState>> {
    let path = state_path(group);
    let Some(bytes) = dataset.get_if_exists(&path)? else {
        return Ok(None);
    };
    match serde_json::from_slice::<GroupState>(&bytes) {
        Ok(state) if state.group == group => Ok(Some(state)),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::warn!(
                "{}: unreadable aggregation state ({e}); the group is aggregated again",
                dataset.object_label(&path)
            );
            Ok(None)
        }
    }
}

/// Writes group `group`'s state record: `fingerprint` and the group's
/// files as they are now in the store (one listing per aggregated table).
/// Errors: the store cannot be listed or written.
pub fn write_state(dataset: &Dataset, group: &str, fingerprint: &str) -> Result<()> {
    let mut outputs = Vec::new();
    for table in TableName::AGGREGATED {
        let prefix = ksurf_dataset::layout::group_partition_dir(table, group);
        for meta in dataset.list(Some(&prefix))? {
            if group_of_path(&meta.location).as_deref() == Some(group) {
                outputs.push(OutputFile {
                    path: meta.location.to_string(),
                    size: meta.size,
                });
            }
        }
    }
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let state = GroupState {
        state_version: STATE_VERSION,
        group: group.to_owned(),
        inputs_sha256: fingerprint.to_owned(),
        outputs,
    };
    let mut json = serde_json::to_vec_pretty(&state).expect("state records serialise");
    json.push(b'\n');
    dataset.put(&state_path(group), json.into())?;
    Ok(())
}

/// Removes group `group`'s state record (before its files are removed or
/// rewritten). Errors: the store refuses the delete.
pub fn remove_state(dataset: &Dataset, group: &str) -> Result<()> {
    dataset.delete(&state_path(group))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_paths_round_trip_and_reject_other_paths() {
        let path = state_path("Regular");
        assert_eq!(path.as_ref(), "_aggregate/group=Regular.json");
        assert_eq!(group_of_state_path(&path).as_deref(), Some("Regular"));
        for other in [
            "_aggregate/group=.json",
            "_aggregate/Regular.json",
            "_aggregate/group=Regular.txt",
            "_plan/group=Regular.json",
            "_aggregate/x/group=Regular.json",
        ] {
            assert_eq!(group_of_state_path(&Path::from(other)), None, "{other}");
        }
    }
}
