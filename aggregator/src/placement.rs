//! Which kernel modules of an image define each function name: read from
//! the image's module rows of the `functions` table
//! (`functions/…/modules-0.parquet`, whose `module` column is the name
//! `.modinfo` gives). The function pass uses it to tell a function that
//! left the vmlinux for a module (`CONFIG_XFS_FS=y` → `m`) from one that
//! was removed, and to say on the status rows where a function absent from
//! the vmlinux is.

use std::collections::BTreeMap;

use ksurf_dataset::{Dataset, ImageId, TableName};

use crate::tables::Columns;
use crate::Result;

const BATCH_ROWS: usize = 8192;

/// Function name → the modules defining it, sorted and distinct; empty for
/// an image extracted without modules. Memory: one entry per distinct
/// module-defined name (about 140,000 names on a 6.1 cloud-amd64 image).
#[derive(Debug, Default)]
pub struct ModulePlacement {
    by_name: BTreeMap<String, Vec<String>>,
}

impl ModulePlacement {
    /// Reads `image`'s module rows of `functions`; with `only`, just that
    /// name's rows (reading only the row groups that may hold it).
    ///
    /// Errors: the module rows file exists but cannot be read or has
    /// another schema ([`crate::Error::Dataset`]).
    pub fn read(dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<Self> {
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let Some(stream) = dataset.stream_module_rows(
            image,
            TableName::Functions,
            BATCH_ROWS,
            only.map(|n| ("name", n)),
        )?
        else {
            return Ok(Self { by_name });
        };
        for batch in stream {
            let batch = batch?;
            let c = Columns::of_batch(&batch);
            for row in 0..batch.num_rows() {
                let name = c.str("name", row);
                if only.is_some_and(|o| o != name) {
                    continue;
                }
                let modules = by_name.entry(name.to_owned()).or_default();
                let module = c.str("module", row);
                if let Err(at) = modules.binary_search_by(|m| m.as_str().cmp(module)) {
                    modules.insert(at, module.to_owned());
                }
            }
        }
        Ok(Self { by_name })
    }

    /// The modules defining `name`, sorted; empty when none does.
    pub fn modules(&self, name: &str) -> &[String] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }
}
