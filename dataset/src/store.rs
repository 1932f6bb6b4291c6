//! Reading and writing table files through `object_store`. Every write is a
//! single atomic `put`; an image's `images` row is written after its other
//! tables and removed before they are rewritten, so a reader that lists the
//! `images` table only ever sees complete images.

use std::sync::Arc;

use arrow::array::RecordBatch;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::image::ImageId;
use crate::layout::{image_of_path, table_file, TableName};
use crate::{parquet_io, schema, Error, Result};

/// A dataset: a root location holding one directory per table.
pub struct Dataset {
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
    label: String,
}

impl Dataset {
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
        if let Err(source) = std::fs::read_dir(dir) {
            return Err(Error::Open {
                path: dir.to_owned(),
                source,
            });
        }
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|source| Error::Store {
            location: dir.display().to_string(),
            source,
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Open {
                path: dir.to_owned(),
                source,
            })?;
        Ok(Dataset {
            store: Arc::new(store),
            runtime,
            label: dir.display().to_string(),
        })
    }

    /// Where this dataset lives, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn store_err(&self, path: &Path) -> impl FnOnce(object_store::Error) -> Error {
        let location = format!("{}/{}", self.label, path);
        move |source| Error::Store { location, source }
    }

    /// Writes all of one image's tables. `tables` must hold every table in
    /// [`TableName::ALL`] order; the `images` row is written last.
    pub fn write_image(&self, image: &ImageId, tables: &[(TableName, RecordBatch)]) -> Result<()> {
        let marker = table_file(TableName::Images, image);
        // Tables encode independently: one thread each.
        let encoded: Vec<(Path, Result<bytes::Bytes>)> = std::thread::scope(|scope| {
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

    /// Writes one table of `image` that is not one of the extractor's
    /// (e.g. [`TableName::Fetches`]), replacing its previous rows with one
    /// atomic `put`.
    pub fn write_table(
        &self,
        image: &ImageId,
        table: TableName,
        batch: &RecordBatch,
    ) -> Result<()> {
        let path = table_file(table, image);
        let location = format!("{}/{}", self.label, path);
        let bytes = parquet_io::encode(&location, batch)?;
        self.runtime.block_on(async {
            self.store
                .put(&path, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(self.store_err(&path))
        })
    }

    /// Reads `image`'s rows of `table`.
    pub fn read_table(&self, image: &ImageId, table: TableName) -> Result<RecordBatch> {
        let path = table_file(table, image);
        let location = format!("{}/{}", self.label, path);
        let data = self.runtime.block_on(async {
            let got = self.store.get(&path).await.map_err(self.store_err(&path))?;
            got.bytes().await.map_err(self.store_err(&path))
        })?;
        parquet_io::decode(&location, data, &schema::schema(table))
    }

    /// The images whose extraction completed, sorted.
    pub fn images(&self) -> Result<Vec<ImageId>> {
        let prefix = Path::from(TableName::Images.as_str());
        let metas: Vec<_> = self.runtime.block_on(async {
            self.store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(self.store_err(&prefix))
        })?;
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
