//! What is left to do, and how it is shared out.
//!
//! An image is done when its `images` marker exists, was written with this
//! schema version, and names the planned package's SHA-256: then the
//! nightly run skips it. Packages whose SHA-256 the plan does not know (a
//! local file; a Launchpad file listed without one) are hashed first;
//! the hash of a local file is cheap next to unpacking it.
//!
//! The work list (`_plan/plan.json`) is what `ksurf plan` writes for a
//! distributed run: the pending packages in plan order, and the SHA-256 of
//! the config they were planned from. Shard `I/N` takes every package whose
//! position `p` has `p % N == I`.

use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use ksurf_dataset::layout::PLAN_FILE;
use ksurf_dataset::{Dataset, ImageState};
use ksurf_fetcher::{PackageLocation, PlannedPackage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The planned packages, split into those to do and those already done.
#[derive(Debug, Default)]
pub struct Pending {
    pub todo: Vec<PlannedPackage>,
    pub done: Vec<PlannedPackage>,
}

/// Splits `packages` by what `dataset` already holds, hashing local
/// packages whose SHA-256 is not planned.
pub fn pending(dataset: &Dataset, packages: Vec<PlannedPackage>) -> Result<Pending> {
    let mut pending = Pending::default();
    for mut package in packages {
        if package.sha256.is_none() {
            if let PackageLocation::File(path) = &package.location {
                package.sha256 = Some(sha256_file(path)?);
            }
        }
        if is_done(dataset, &package)? {
            pending.done.push(package);
        } else {
            pending.todo.push(package);
        }
    }
    Ok(pending)
}

/// Whether the dataset holds `package`'s image, extracted from that very
/// package with this schema version.
pub fn is_done(dataset: &Dataset, package: &PlannedPackage) -> Result<bool> {
    let Some(sha) = &package.sha256 else {
        return Ok(false);
    };
    Ok(matches!(
        dataset.image_state(&package.image)?,
        ImageState::Complete { package_sha256: Some(done) } if &done == sha
    ))
}

fn sha256_file(path: &Path) -> Result<String> {
    ksurf_extractor::sha256_file(path).with_context(|| format!("hashing {}", path.display()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The work list of a distributed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkList {
    /// The dataset schema version the plan was made for.
    pub schema_version: u32,
    /// SHA-256 of the config file's bytes.
    pub config_sha256: String,
    /// Packages to fetch and extract, in plan order.
    pub packages: Vec<PlannedPackage>,
}

impl WorkList {
    pub fn new(config_text: &[u8], packages: Vec<PlannedPackage>) -> Self {
        WorkList {
            schema_version: ksurf_dataset::SCHEMA_VERSION,
            config_sha256: hex(&Sha256::digest(config_text)),
            packages,
        }
    }

    /// The canonical bytes: pretty JSON, one trailing newline.
    pub fn to_json(&self) -> Bytes {
        let mut text = serde_json::to_vec_pretty(self).expect("work list serialises");
        text.push(b'\n');
        Bytes::from(text)
    }

    /// Writes it to `_plan/plan.json` in one atomic put.
    pub fn write(&self, dataset: &Dataset) -> Result<()> {
        dataset.put(&PLAN_FILE.into(), self.to_json())?;
        Ok(())
    }

    /// Reads `_plan/plan.json`, checking it was made for this schema
    /// version and from a config with these bytes.
    pub fn read(dataset: &Dataset, config_text: &[u8], config_label: &str) -> Result<Self> {
        match Self::read_if_exists(dataset, config_text, config_label)? {
            Some(list) => Ok(list),
            None => bail!(
                "{} does not exist; write it with `ksurf plan --config {config_label} --dataset {}`",
                dataset.object_label(&PLAN_FILE.into()),
                dataset.label()
            ),
        }
    }

    /// [`WorkList::read`], or `None` when the dataset holds no plan.
    pub fn read_if_exists(
        dataset: &Dataset,
        config_text: &[u8],
        config_label: &str,
    ) -> Result<Option<Self>> {
        let location = dataset.object_label(&PLAN_FILE.into());
        let Some(bytes) = dataset.get_if_exists(&PLAN_FILE.into())? else {
            return Ok(None);
        };
        let list: WorkList = serde_json::from_slice(&bytes)
            .with_context(|| format!("work list {location} is not valid"))?;
        if list.schema_version != ksurf_dataset::SCHEMA_VERSION {
            bail!(
                "work list {location} was planned for schema version {}, this ksurf writes {}; plan again",
                list.schema_version,
                ksurf_dataset::SCHEMA_VERSION
            );
        }
        let config_sha256 = hex(&Sha256::digest(config_text));
        if list.config_sha256 != config_sha256 {
            bail!(
                "work list {location} was planned from another config than {config_label}; plan again"
            );
        }
        Ok(Some(list))
    }

    /// A name for the plan: the first 12 hex digits of its bytes' SHA-256.
    pub fn id(&self) -> String {
        hex(&Sha256::digest(self.to_json()))[..12].to_owned()
    }
}

/// `I/N`: the I-th of N shards, counted from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The packages of this shard, in plan order.
    pub fn select<T: Clone>(&self, items: &[T]) -> Vec<T> {
        items
            .iter()
            .enumerate()
            .filter(|(position, _)| position % self.count == self.index)
            .map(|(_, item)| item.clone())
            .collect()
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, or `/N` with I taken from `JOB_COMPLETION_INDEX` (what a
    /// Kubernetes Indexed Job sets in each pod).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (index, count) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not of the form I/N (e.g. 0/4)"))?;
        let index = if index.is_empty() {
            std::env::var("JOB_COMPLETION_INDEX")
                .map_err(|_| format!("{s:?} leaves I out but JOB_COMPLETION_INDEX is not set"))?
        } else {
            index.to_owned()
        };
        let index: usize = index
            .parse()
            .map_err(|_| format!("shard index {index:?} is not a whole number"))?;
        let count: usize = count
            .parse()
            .map_err(|_| format!("shard count {count:?} is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_plan_round_robin() {
        let items: Vec<u32> = (0..7).collect();
        let of = |i| Shard { index: i, count: 3 }.select(&items);
        assert_eq!(of(0), vec![0, 3, 6]);
        assert_eq!(of(1), vec![1, 4]);
        assert_eq!(of(2), vec![2, 5]);
    }

    #[test]
    fn shard_syntax_errors_say_what_is_wrong() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(
            "4/4".parse::<Shard>(),
            Err("shard 4/4: need 0 <= I < N".to_owned())
        );
        assert_eq!(
            "x/4".parse::<Shard>(),
            Err("shard index \"x\" is not a whole number".to_owned())
        );
        assert_eq!(
            "3".parse::<Shard>(),
            Err("\"3\" is not of the form I/N (e.g. 0/4)".to_owned())
        );
        assert_eq!(
            "1/0".parse::<Shard>(),
            Err("shard 1/0: need 0 <= I < N".to_owned())
        );
    }
}
