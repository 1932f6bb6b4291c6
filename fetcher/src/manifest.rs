//! The fetch manifest: the `fetches` rows of one image in the dataset, one
//! per package fetched for it — the debug package its vmlinux came from
//! (role `vmlinux`) and, when one was fetched, the companion package its
//! build configuration came from (role `config`) — saying which package
//! (name, version, source, URL, size and SHA-256), what came out of it
//! (the file's SHA-256 and size, the vmlinux's build-id), and when.
//! Written through the dataset store, one atomic file per image.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use ksurf_dataset::{schema, Dataset, TableName};

use crate::download::Fetched;
use crate::error::{Error, Result};
use crate::plan::PlannedPackage;

/// `fetches.role` of the debug package's row.
pub const ROLE_VMLINUX: &str = "vmlinux";
/// `fetches.role` of the companion package's row.
pub const ROLE_CONFIG: &str = "config";

/// The `fetches` rows of one image: the debug package `fetched` for
/// `plan`, then the companion `config` when it was fetched (the package
/// named by `plan.companion`, its file the config).
pub fn fetch_rows(
    plan: &PlannedPackage,
    fetched: &Fetched,
    config: Option<&Fetched>,
) -> Result<RecordBatch> {
    let mut rows = vec![Row {
        role: ROLE_VMLINUX,
        package: &plan.package,
        version: &plan.version,
        fetched,
    }];
    if let (Some(companion), Some(config)) = (&plan.companion, config) {
        rows.push(Row {
            role: ROLE_CONFIG,
            package: &companion.package,
            version: &companion.version,
            fetched: config,
        });
    }
    let s = |f: &dyn Fn(&Row) -> String| {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>())) as ArrayRef
    };
    let u = |f: &dyn Fn(&Row) -> u64| {
        Arc::new(UInt64Array::from(rows.iter().map(f).collect::<Vec<_>>())) as ArrayRef
    };
    let columns: Vec<ArrayRef> = vec![
        s(&|r| r.role.to_owned()),
        s(&|_| plan.flavor.clone()),
        s(&|r| r.package.to_owned()),
        s(&|r| r.version.to_owned()),
        s(&|_| plan.source.clone()),
        s(&|r| r.fetched.location.clone()),
        u(&|r| r.fetched.package_size),
        s(&|r| r.fetched.package_sha256.clone()),
        s(&|r| r.fetched.vmlinux.sha256.clone()),
        u(&|r| r.fetched.vmlinux.size),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| r.fetched.build_id.clone())
                .collect::<Vec<_>>(),
        )),
        s(&|r| r.fetched.fetched_at_rfc3339()),
    ];
    RecordBatch::try_new(schema::schema(TableName::Fetches), columns).map_err(|e| Error::Manifest {
        image: plan.image.to_string(),
        source: ksurf_dataset::Error::Arrow {
            location: TableName::Fetches.as_str().to_owned(),
            source: e,
        },
    })
}

/// One `fetches` row before it is encoded.
struct Row<'a> {
    role: &'static str,
    package: &'a str,
    version: &'a str,
    fetched: &'a Fetched,
}

/// The `fetches` row of one fetched debug package (no companion).
pub fn fetch_row(plan: &PlannedPackage, fetched: &Fetched) -> Result<RecordBatch> {
    fetch_rows(plan, fetched, None)
}

/// Writes (replacing) the image's `fetches` rows: the debug package's and,
/// when `config` is given, its companion's.
pub fn record(
    dataset: &Dataset,
    plan: &PlannedPackage,
    fetched: &Fetched,
    config: Option<&Fetched>,
) -> Result<()> {
    let batch = fetch_rows(plan, fetched, config)?;
    dataset
        .write_table(&plan.image, TableName::Fetches, &batch)
        .map_err(|source| Error::Manifest {
            image: plan.image.to_string(),
            source,
        })
}
