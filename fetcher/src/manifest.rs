//! The fetch manifest: one `fetches` row per image in the dataset, saying
//! which package its vmlinux came from (name, version, source, URL, size and
//! SHA-256) and what came out (vmlinux SHA-256, size, build-id), and when.
//! Written through the dataset store, one atomic file per image.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use ksurf_dataset::{schema, Dataset, TableName};

use crate::download::Fetched;
use crate::error::{Error, Result};
use crate::plan::PlannedPackage;

/// The `fetches` row of one fetched package.
pub fn fetch_row(plan: &PlannedPackage, fetched: &Fetched) -> Result<RecordBatch> {
    let s = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    let u = |v: u64| Arc::new(UInt64Array::from(vec![v])) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        s(&plan.flavor),
        s(&plan.package),
        s(&plan.version),
        s(&plan.source),
        s(&fetched.location),
        u(fetched.package_size),
        s(&fetched.package_sha256),
        s(&fetched.vmlinux.sha256),
        u(fetched.vmlinux.size),
        Arc::new(StringArray::from(vec![fetched.build_id.as_deref()])),
        s(&fetched.fetched_at_rfc3339()),
    ];
    RecordBatch::try_new(schema::schema(TableName::Fetches), columns).map_err(|e| Error::Manifest {
        image: plan.image.to_string(),
        source: ksurf_dataset::Error::Arrow {
            location: TableName::Fetches.as_str().to_owned(),
            source: e,
        },
    })
}

/// Writes (replacing) the image's `fetches` row.
pub fn record(dataset: &Dataset, plan: &PlannedPackage, fetched: &Fetched) -> Result<()> {
    let batch = fetch_row(plan, fetched)?;
    dataset
        .write_table(&plan.image, TableName::Fetches, &batch)
        .map_err(|source| Error::Manifest {
            image: plan.image.to_string(),
            source,
        })
}
