//! The config kind's diff: how one build configuration option's row
//! (`kconfig` table) compares between the two images of a pair. An option
//! is added (appears in the newer image's config) or removed, or its
//! value changes (`y` → `m`, a number, a string, or "is not set"). A pair
//! where either image has no config (its `kconfig` table is empty:
//! `images.config_source` is NULL) is not compared, so a missing config
//! is never reported as thousands of removed options.

use ksurf_dataset::{Dataset, DependencyKind, ImageId, TableName};

use crate::interface_diff::{InterfaceChange, InterfaceDiff, PairFacts};
use crate::report::code;
use crate::stream::BATCH_ROWS;
use crate::tables::Columns;
use crate::Result;

pub const ADDED: &str = "Option added";
pub const REMOVED: &str = "Option removed";
pub const VALUE_CHANGED: &str = "Value changed";

/// How a `# CONFIG_X is not set` line (a NULL `value`) reads in changes.
pub const NOT_SET: &str = "is not set";

/// One row of `kconfig`: the option's value, `None` when "is not set".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigOption {
    pub value: Option<String>,
}

impl ConfigOption {
    fn text(&self) -> String {
        self.value.clone().unwrap_or_else(|| NOT_SET.to_owned())
    }
}

pub struct ConfigDiff;

/// Whether `image` has a build configuration (a non-empty `kconfig`).
fn has_config(dataset: &Dataset, image: &ImageId) -> Result<bool> {
    let table = TableName::Kconfig;
    let path = ksurf_dataset::layout::table_file(table, image);
    for batch in dataset.stream_file(&path, table, BATCH_ROWS, None)? {
        if batch?.num_rows() > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

impl InterfaceDiff for ConfigDiff {
    const KIND: DependencyKind = DependencyKind::Config;
    type Record = ConfigOption;

    fn decode(c: &Columns<'_>, row: usize) -> ConfigOption {
        ConfigOption {
            value: c.opt_str("value", row).map(str::to_owned),
        }
    }

    fn prepare(
        dataset: &Dataset,
        old: &ImageId,
        new: &ImageId,
        facts: &mut PairFacts,
    ) -> Result<()> {
        facts.configs_missing = !(has_config(dataset, old)? && has_config(dataset, new)?);
        Ok(())
    }

    fn describe(_name: &str, rows: &[ConfigOption]) -> Vec<String> {
        rows.iter()
            .map(|o| match &o.value {
                Some(v) => format!("**Value:** {}", code(v)),
                None => format!("**Value:** {NOT_SET}"),
            })
            .collect()
    }

    fn compare(
        old: &[ConfigOption],
        new: &[ConfigOption],
        facts: &PairFacts,
    ) -> Vec<InterfaceChange> {
        if facts.configs_missing {
            return Vec::new();
        }
        match (old.last(), new.last()) {
            (None, None) => Vec::new(),
            (None, Some(n)) => vec![InterfaceChange::new(ADDED, None, None, Some(n.text()))],
            (Some(o), None) => vec![InterfaceChange::new(REMOVED, None, Some(o.text()), None)],
            (Some(o), Some(n)) if o.value != n.value => vec![InterfaceChange::new(
                VALUE_CHANGED,
                None,
                Some(o.text()),
                Some(n.text()),
            )],
            (Some(_), Some(_)) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(v: Option<&str>) -> ConfigOption {
        ConfigOption {
            value: v.map(str::to_owned),
        }
    }

    #[test]
    fn options_added_removed_and_changed() {
        let f = PairFacts::default();
        assert_eq!(
            ConfigDiff::compare(&[opt(Some("y"))], &[opt(None)], &f),
            vec![InterfaceChange::new(
                VALUE_CHANGED,
                None,
                Some("y".into()),
                Some(NOT_SET.into())
            )]
        );
        assert_eq!(
            ConfigDiff::compare(&[], &[opt(Some("m"))], &f),
            vec![InterfaceChange::new(ADDED, None, None, Some("m".into()))]
        );
        assert_eq!(
            ConfigDiff::compare(&[opt(None)], &[], &f),
            vec![InterfaceChange::new(
                REMOVED,
                None,
                Some(NOT_SET.into()),
                None
            )]
        );
        assert_eq!(
            ConfigDiff::compare(&[opt(Some("\"a b\""))], &[opt(Some("\"a b\""))], &f),
            vec![]
        );
    }

    #[test]
    fn a_pair_without_a_config_is_not_compared() {
        let f = PairFacts {
            configs_missing: true,
            ..PairFacts::default()
        };
        assert_eq!(ConfigDiff::compare(&[opt(Some("y"))], &[], &f), vec![]);
    }
}
