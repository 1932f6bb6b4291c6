//! Reading and writing table files through `object_store`. Every write is a
//! single atomic `put`; an image's `images` row is written after its other
//! tables and removed before they are rewritten, so a reader that lists the
//! `images` table only ever sees complete images.

use std::sync::Arc;

use arrow::array::RecordBatch;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};

use crate::image::ImageId;
use crate::layout::{image_of_path, table_file, TableName};
use crate::location::Location;
use crate::{parquet_io, schema, Error, Result};

/// How many objects [`Dataset::visit_objects`] fetches at once.
pub const FETCH_CONCURRENCY: usize = 4;

/// A dataset: a root location holding one directory per table.
pub struct Dataset {
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
    label: String,
}

impl Dataset {
    /// Opens the dataset at `location`: a local directory (created if
    /// needed) or an object-store URL (`file://`, `s3://bucket/prefix`,
    /// `gs://…`, `az://…`, `abfs://…`); see [`Location::parse`].
    pub fn open(location: &str) -> Result<Self> {
        let location = Location::parse(location)?;
        if let Location::Local(dir) = &location {
            std::fs::create_dir_all(dir).map_err(|source| Error::Open {
                path: dir.clone(),
                source,
            })?;
        }
        Self::open_location(location)
    }

    /// Opens the dataset at `location` for reading: a local directory must
    /// already exist (nothing is created).
    pub fn open_existing(location: &str) -> Result<Self> {
        Self::open_location(Location::parse(location)?)
    }

    /// Opens (creating it if needed) a dataset in a local directory.
    pub fn open_local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Open {
            path: dir.to_owned(),
            source,
        })?;
        Self::open_existing_local(dir)
    }

    /// Opens a dataset in a local directory that must already exist.
    pub fn open_existing_local(dir: &std::path::Path) -> Result<Self> {
        Self::open_location(Location::Local(dir.to_owned()))
    }

    fn open_location(location: Location) -> Result<Self> {
        let store = location.build_store()?;
        let label = location.label();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime {
                location: label.clone(),
                source,
            })?;
        Ok(Dataset {
            store,
            runtime,
            label,
        })
    }

    /// Where this dataset lives, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn store_err(&self, path: &Path) -> impl FnOnce(object_store::Error) -> Error {
        let location = self.object_label(path);
        move |source| Error::Store { location, source }
    }

    /// `label/path`: where an object of this dataset is, for messages.
    pub fn object_label(&self, path: &Path) -> String {
        if path.as_ref().is_empty() {
            self.label.clone()
        } else {
            format!("{}/{}", self.label, path)
        }
    }

    /// Reads one object, e.g. `_manifest.json` or a table file.
    pub fn get(&self, path: &Path) -> Result<Bytes> {
        self.runtime.block_on(async {
            let got = self.store.get(path).await.map_err(self.store_err(path))?;
            got.bytes().await.map_err(self.store_err(path))
        })
    }

    /// Reads one object, or `None` when there is none at `path`.
    pub fn get_if_exists(&self, path: &Path) -> Result<Option<Bytes>> {
        match self.get(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Error::Store {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes one object in a single atomic put: readers see the old
    /// object or the new one, never part of it.
    pub fn put(&self, path: &Path, bytes: Bytes) -> Result<()> {
        self.runtime.block_on(async {
            self.store
                .put(path, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(self.store_err(path))
        })
    }

    /// Every object below `prefix` (the whole dataset for `None`), sorted
    /// by path.
    pub fn list(&self, prefix: Option<&Path>) -> Result<Vec<ObjectMeta>> {
        let mut metas: Vec<ObjectMeta> = self.runtime.block_on(async {
            self.store
                .list(prefix)
                .try_collect()
                .await
                .map_err(self.store_err(prefix.unwrap_or(&Path::default())))
        })?;
        metas.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(metas)
    }

    /// Reads `paths` (up to [`FETCH_CONCURRENCY`] at a time) and hands each
    /// object to `visit` in the order of `paths`; stops at the first error.
    pub fn visit_objects<T>(
        &self,
        paths: &[Path],
        mut visit: impl FnMut(&Path, Bytes) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.runtime.block_on(async {
            let mut fetched = futures::stream::iter(paths.iter().map(|path| async move {
                let got = self.store.get(path).await.map_err(self.store_err(path))?;
                let bytes = got.bytes().await.map_err(self.store_err(path))?;
                Ok::<_, Error>((path, bytes))
            }))
            .buffered(FETCH_CONCURRENCY);
            let mut out = Vec::with_capacity(paths.len());
            while let Some((path, bytes)) = fetched.try_next().await? {
                out.push(visit(path, bytes)?);
            }
            Ok(out)
        })
    }

    /// Writes all of one image's tables. `tables` must hold every table in
    /// [`TableName::ALL`] order; the `images` row is written last.
    pub fn write_image(&self, image: &ImageId, tables: &[(TableName, RecordBatch)]) -> Result<()> {
        let marker = table_file(TableName::Images, image);
        // Tables encode independently: one thread each.
        let encoded: Vec<(Path, Result<Bytes>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = tables
                .iter()
                .map(|(table, batch)| {
                    let path = table_file(*table, image);
                    let location = format!("{}/{}", self.label, path);
                    (
                        path,
                        scope.spawn(move || parquet_io::encode(&location, batch)),
                    )
                })
                .collect();
            handles
                .into_iter()
                .map(|(path, h)| (path, h.join().expect("parquet encoding panicked")))
                .collect()
        });
        self.runtime.block_on(async {
            match self.store.delete(&marker).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.store_err(&marker)(e)),
            }
            for (path, bytes) in encoded {
                self.store
                    .put(&path, PutPayload::from(bytes?))
                    .await
                    .map_err(self.store_err(&path))?;
            }
            Ok(())
        })
    }

    /// Reads `image`'s rows of `table`.
    pub fn read_table(&self, image: &ImageId, table: TableName) -> Result<RecordBatch> {
        let path = table_file(table, image);
        let location = format!("{}/{}", self.label, path);
        let data = self.get(&path)?;
        parquet_io::decode(&location, data, &schema::schema(table))
    }

    /// The images whose extraction completed, sorted.
    pub fn images(&self) -> Result<Vec<ImageId>> {
        let prefix = Path::from(TableName::Images.as_str());
        let metas = self.list(Some(&prefix))?;
        let mut ids: Vec<ImageId> = metas
            .iter()
            .filter(|m| m.location.filename() == Some("part-0.parquet"))
            .filter_map(|m| image_of_path(&m.location))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Resolves the image a command is about: the named one, or the only one.
    pub fn resolve_image(&self, named: Option<&ImageId>) -> Result<ImageId> {
        let images = self.images()?;
        match named {
            Some(id) if images.contains(id) => Ok(id.clone()),
            Some(id) => Err(Error::ImageNotFound(id.to_string())),
            None => match images.as_slice() {
                [] => Err(Error::Empty(self.label.clone())),
                [only] => Ok(only.clone()),
                many => Err(Error::AmbiguousImage {
                    count: many.len(),
                    list: many
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            },
        }
    }
}
