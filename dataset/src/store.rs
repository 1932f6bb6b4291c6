//! Reading and writing table files through `object_store`. Every write is a
//! single atomic `put` (or a multipart upload that becomes visible whole on
//! completion); an image's `images` row is written after its other tables
//! and removed before they are rewritten, so a reader that lists the
//! `images` table only ever sees complete images. Large tables are read
//! and written as streams of batches, so memory does not grow with them.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;

use crate::image::ImageId;
use crate::layout::{group_of_path, image_of_path, table_file, TableName};
use crate::location::Location;
use crate::{parquet_io, schema, Error, Result};

/// How many objects [`Dataset::visit_objects`] fetches at once.
pub const FETCH_CONCURRENCY: usize = 4;

/// Bytes of encoded Parquet a [`TableWriter`] gathers before it uploads them
/// as one part.
const UPLOAD_PART_BYTES: usize = 8 << 20;

/// A dataset: a root location holding one directory per table.
pub struct Dataset {
    store: Arc<dyn ObjectStore>,
    /// The directory of a local dataset, where table files are streamed
    /// from directly; `None` for object-store URLs.
    local_dir: Option<std::path::PathBuf>,
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
            refuse_foreign_directory(dir)?;
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
        let local_dir = match &location {
            Location::Local(dir) => Some(dir.clone()),
            Location::Remote(_) => None,
        };
        Ok(Dataset {
            store,
            local_dir,
            runtime,
            label,
        })
    }

    /// The directory of a local dataset; `None` for an object store.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        self.local_dir.as_deref()
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
    /// [`TableName::ALL`] order; the `images` row is written last. The
    /// image has no BTF blob afterwards (see [`Dataset::write_image_with_btf`]).
    pub fn write_image(&self, image: &ImageId, tables: &[(TableName, RecordBatch)]) -> Result<()> {
        self.write_image_with_btf(image, tables, None)
    }

    /// Like [`Dataset::write_image`], and stores `btf` (raw BTF) at
    /// [`crate::layout::btf_file`] before the `images` marker; with `None`,
    /// removes a blob an earlier extraction of the image left there, so
    /// that the blob always belongs to the marker's extraction.
    pub fn write_image_with_btf(
        &self,
        image: &ImageId,
        tables: &[(TableName, RecordBatch)],
        btf: Option<Bytes>,
    ) -> Result<()> {
        self.write_image_parts(image, tables, &[], btf)
    }

    /// Like [`Dataset::write_image_with_btf`], and writes `module_rows`
    /// (kernel modules' rows of tables of [`TableName::MODULE_ROWS`]) to
    /// [`crate::layout::module_rows_file`], before the marker. A table of
    /// `MODULE_ROWS` absent from `module_rows` has its module file removed,
    /// so that no module row outlives the extraction that wrote it.
    ///
    /// Errors: [`Error::Store`] for a failed put or delete, the encoder's
    /// errors; `module_rows` naming a table outside `MODULE_ROWS` is a
    /// caller bug and panics.
    pub fn write_image_parts(
        &self,
        image: &ImageId,
        tables: &[(TableName, RecordBatch)],
        module_rows: &[(TableName, RecordBatch)],
        btf: Option<Bytes>,
    ) -> Result<()> {
        let marker = table_file(TableName::Images, image);
        let btf_path = crate::layout::btf_file(image);
        for (table, _) in module_rows {
            assert!(
                TableName::MODULE_ROWS.contains(table),
                "{table:?} has no module rows"
            );
        }
        let stale_modules: Vec<Path> = TableName::MODULE_ROWS
            .iter()
            .filter(|t| !module_rows.iter().any(|(m, _)| m == *t))
            .map(|t| crate::layout::module_rows_file(*t, image))
            .collect();
        let files = module_rows
            .iter()
            .map(|(table, batch)| (crate::layout::module_rows_file(*table, image), batch))
            .chain(
                tables
                    .iter()
                    .map(|(table, batch)| (table_file(*table, image), batch)),
            );
        // Tables encode independently: one thread each.
        let encoded: Vec<(Path, Result<Bytes>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .map(|(path, batch)| {
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
            match btf {
                Some(bytes) => self
                    .store
                    .put(&btf_path, PutPayload::from(bytes))
                    .await
                    .map(|_| ())
                    .map_err(self.store_err(&btf_path))?,
                None => match self.store.delete(&btf_path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.store_err(&btf_path)(e)),
                },
            }
            for path in &stale_modules {
                match self.store.delete(path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.store_err(path)(e)),
                }
            }
            for (path, bytes) in encoded {
                if path == marker {
                    // Crash tests stop the process here: every table but
                    // the marker written.
                    fail::fail_point!("dataset::write-image::before-marker", |_| {
                        std::process::abort()
                    });
                }
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

    /// Whether `image` is complete in this dataset, and from which package:
    /// read from its `images` marker. A marker of another schema version
    /// is [`ImageState::Outdated`], not an error: the pipeline re-extracts.
    pub fn image_state(&self, image: &ImageId) -> Result<ImageState> {
        let path = table_file(TableName::Images, image);
        let Some(data) = self.get_if_exists(&path)? else {
            return Ok(ImageState::Missing);
        };
        let location = self.object_label(&path);
        let batch = match parquet_io::decode(&location, data, &schema::schema(TableName::Images)) {
            Ok(batch) => batch,
            Err(Error::SchemaMismatch { detail, .. }) => {
                return Ok(ImageState::Outdated { detail })
            }
            Err(e) => return Err(e),
        };
        let column = batch
            .column_by_name("package_sha256")
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>());
        match column {
            Some(shas) if batch.num_rows() == 1 => Ok(ImageState::Complete {
                package_sha256: arrow::array::Array::is_valid(shas, 0)
                    .then(|| shas.value(0).to_owned()),
            }),
            _ => Err(Error::SchemaMismatch {
                location,
                expected: crate::SCHEMA_VERSION,
                detail: format!("expected one images row, found {}", batch.num_rows()),
            }),
        }
    }

    /// `image`'s BTF blob (raw BTF), `None` when the dataset holds none
    /// for it. Errors: the store cannot be read.
    pub fn read_btf(&self, image: &ImageId) -> Result<Option<Bytes>> {
        self.get_if_exists(&crate::layout::btf_file(image))
    }

    /// Reads `image`'s rows of `table`.
    pub fn read_table(&self, image: &ImageId, table: TableName) -> Result<RecordBatch> {
        self.read_file(&table_file(table, image), table)
    }

    /// Reads the whole table file at `path`, which holds rows of `table`.
    pub fn read_file(&self, path: &Path, table: TableName) -> Result<RecordBatch> {
        let path = path.clone();
        let location = format!("{}/{}", self.label, path);
        let data = self.get(&path)?;
        parquet_io::decode(&location, data, &schema::schema(table))
    }

    /// Streams the rows of the table file at `path` (rows of `table`) in
    /// batches of at most `batch_size` rows, reading the file a page at a
    /// time. With `key = Some((column, value))` only the row groups whose
    /// statistics for the string `column` may hold `value` are read (the
    /// rows still need filtering).
    pub fn stream_file(
        &self,
        path: &Path,
        table: TableName,
        batch_size: usize,
        key: Option<(&str, &str)>,
    ) -> Result<TableStream> {
        let location = format!("{}/{}", self.label, path);
        let file = self.open_file(path)?;
        let parquet_err = |source| Error::Parquet {
            location: location.clone(),
            source,
        };
        let expected = schema::schema(table);
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(parquet_err)?
            .with_batch_size(batch_size.max(1));
        parquet_io::check_schema(&location, &builder, &expected)?;
        if let Some((column, value)) = key {
            let groups = parquet_io::row_groups_holding(builder.metadata(), column, value);
            builder = builder.with_row_groups(groups);
        }
        let reader = builder.build().map_err(parquet_err)?;
        Ok(TableStream {
            location,
            reader,
            schema: expected,
        })
    }

    /// The file at `path` opened for reading: in place for a local dataset;
    /// for an object store, downloaded (streamed, not buffered) into an
    /// anonymous temporary file, so a streaming reader's memory stays small
    /// either way.
    fn open_file(&self, path: &Path) -> Result<std::fs::File> {
        let location = self.object_label(path);
        let read_err = |source| Error::Read {
            location: location.clone(),
            source,
        };
        if let Some(dir) = &self.local_dir {
            let file_path = path
                .parts()
                .fold(dir.clone(), |p, part| p.join(part.as_ref()));
            return std::fs::File::open(&file_path).map_err(read_err);
        }
        let mut file = tempfile::tempfile().map_err(read_err)?;
        self.runtime.block_on(async {
            use std::io::Write;
            let got = self.store.get(path).await.map_err(self.store_err(path))?;
            let mut chunks = got.into_stream();
            while let Some(chunk) = chunks.try_next().await.map_err(self.store_err(path))? {
                file.write_all(&chunk).map_err(read_err)?;
            }
            Ok::<_, Error>(())
        })?;
        use std::io::Seek;
        file.rewind().map_err(read_err)?;
        Ok(file)
    }

    /// Streams `image`'s rows of `table`; see [`Dataset::stream_file`].
    pub fn stream_table(
        &self,
        image: &ImageId,
        table: TableName,
        batch_size: usize,
    ) -> Result<TableStream> {
        self.stream_file(&table_file(table, image), table, batch_size, None)
    }

    /// Streams the kernel modules' rows of `table` for `image`
    /// ([`crate::layout::module_rows_file`]); `None` when the image was
    /// extracted without modules (no such file). With `only`
    /// (`(column, value)`), as in [`Dataset::stream_file`], only the row
    /// groups that may hold the value are read.
    ///
    /// Errors: as [`Dataset::stream_file`], but a missing file is `None`.
    pub fn stream_module_rows(
        &self,
        image: &ImageId,
        table: TableName,
        batch_size: usize,
        only: Option<(&str, &str)>,
    ) -> Result<Option<TableStream>> {
        let path = crate::layout::module_rows_file(table, image);
        match self.stream_file(&path, table, batch_size, only) {
            Ok(stream) => Ok(Some(stream)),
            Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(Error::Store {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes what killed writers left in a local dataset: `object_store`
    /// stages each local `put` as `<file>#<n>` and renames it into place,
    /// so a process killed mid-write leaves the staging file behind. They
    /// are invisible to listings but not to Spark, which reads every file
    /// of a partition. Returns the paths removed. Object stores need
    /// nothing: an unfinished upload is never visible. Call it only when
    /// no other process writes to the dataset.
    pub fn remove_abandoned_uploads(&self) -> Result<Vec<std::path::PathBuf>> {
        let Some(root) = &self.local_dir else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(Error::Open { path: dir, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| Error::Open {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|source| Error::Open {
                    path: path.clone(),
                    source,
                })?;
                if kind.is_dir() {
                    dirs.push(path);
                } else if is_staged_upload(&entry.file_name().to_string_lossy()) {
                    std::fs::remove_file(&path).map_err(|source| Error::Open {
                        path: path.clone(),
                        source,
                    })?;
                    removed.push(path);
                }
            }
        }
        removed.sort();
        Ok(removed)
    }

    /// Whether a file exists at `path`.
    pub fn exists(&self, path: &Path) -> Result<bool> {
        self.runtime.block_on(async {
            match self.store.head(path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(self.store_err(path)(e)),
            }
        })
    }

    /// Removes the file at `path`; a missing file is not an error.
    pub fn delete(&self, path: &Path) -> Result<()> {
        self.runtime.block_on(async {
            match self.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.store_err(path)(e)),
            }
        })
    }

    /// Starts writing the table file at `path` (rows of `table`). Nothing is
    /// visible at `path` until [`TableWriter::finish`] succeeds; a writer
    /// dropped unfinished leaves no file behind.
    pub fn table_writer(&self, path: &Path, table: TableName) -> Result<TableWriter<'_>> {
        let location = format!("{}/{}", self.label, path);
        let upload = self
            .runtime
            .block_on(self.store.put_multipart(path))
            .map_err(self.store_err(path))?;
        let schema = schema::schema(table);
        let writer = ArrowWriter::try_new(
            Vec::new(),
            schema.clone(),
            Some(parquet_io::writer_properties()),
        )
        .map_err(|source| Error::Parquet {
            location: location.clone(),
            source,
        })?;
        Ok(TableWriter {
            dataset: self,
            location,
            upload: Some(upload),
            writer: Some(writer),
            schema,
        })
    }

    /// The comparison groups with a file in `table`, sorted.
    pub fn groups(&self, table: TableName) -> Result<Vec<String>> {
        let prefix = Path::from(table.as_str());
        let metas = self.list(Some(&prefix))?;
        let mut groups: Vec<String> = metas
            .iter()
            .filter(|m| m.location.filename() == Some("part-0.parquet"))
            .filter_map(|m| group_of_path(&m.location))
            .collect();
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// Every file of group `group` in `table`, sorted.
    pub fn group_files(&self, table: TableName, group: &str) -> Result<Vec<Path>> {
        let prefix = crate::layout::group_partition_dir(table, group);
        let mut files: Vec<Path> = self
            .list(Some(&prefix))?
            .into_iter()
            .map(|m| m.location)
            .filter(|p| group_of_path(p).as_deref() == Some(group))
            .collect();
        files.sort();
        Ok(files)
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
/// Batches of one table file, read a page at a time.
pub struct TableStream {
    location: String,
    reader: ParquetRecordBatchReader,
    schema: SchemaRef,
}

impl TableStream {
    /// The file, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

impl Iterator for TableStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|batch| {
            batch.map_err(|source| Error::Arrow {
                location: self.location.clone(),
                source,
            })
        })
    }
}

/// A table file being written as a stream of batches: encoded row groups
/// are uploaded in parts as they fill, and the file appears, whole, when
/// [`TableWriter::finish`] completes the upload.
pub struct TableWriter<'d> {
    dataset: &'d Dataset,
    location: String,
    upload: Option<Box<dyn MultipartUpload>>,
    writer: Option<ArrowWriter<Vec<u8>>>,
    schema: SchemaRef,
}

impl TableWriter<'_> {
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn parquet_err(&self) -> impl FnOnce(parquet::errors::ParquetError) -> Error {
        let location = self.location.clone();
        move |source| Error::Parquet { location, source }
    }

    /// Appends `batch` (of this table's schema).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let err = self.parquet_err();
        let writer = self.writer.as_mut().expect("writer used after finish");
        writer.write(batch).map_err(err)?;
        if writer.inner_mut().len() >= UPLOAD_PART_BYTES {
            let bytes = std::mem::take(writer.inner_mut());
            self.upload_part(bytes)?;
        }
        Ok(())
    }

    fn upload_part(&mut self, bytes: Vec<u8>) -> Result<()> {
        let upload = self.upload.as_mut().expect("upload used after finish");
        let part = upload.put_part(PutPayload::from(bytes));
        let location = self.location.clone();
        self.dataset
            .runtime
            .block_on(part)
            .map_err(|source| Error::Store { location, source })
    }

    /// Writes the footer and makes the file visible.
    pub fn finish(mut self) -> Result<()> {
        let err = self.parquet_err();
        let writer = self.writer.take().expect("finish called once");
        let bytes = writer.into_inner().map_err(err)?;
        self.upload_part(bytes)?;
        let mut upload = self.upload.take().expect("finish called once");
        let location = self.location.clone();
        self.dataset
            .runtime
            .block_on(upload.complete())
            .map(|_| ())
            .map_err(|source| Error::Store { location, source })
    }
}

impl Drop for TableWriter<'_> {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            // Unfinished: remove the staged parts.
            let _ = self.dataset.runtime.block_on(upload.abort());
        }
    }
}

/// Refuses to write a dataset into an existing directory that holds
/// anything but tables, the images' BTF (`btf/`) and the dataset's own
/// hidden files (`_manifest.json`, `_plan/`, `.ksurf-run.lock`):
/// `--dataset dataset/` typed in a source
/// tree must not scatter tables among someone's files.
fn refuse_foreign_directory(dir: &std::path::Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Open {
                path: dir.to_owned(),
                source,
            })
        }
    };
    let mut foreign: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !name.starts_with('_')
                && !name.starts_with('.')
                && name != crate::layout::BTF_DIR
                && !TableName::EVERY.iter().any(|t| t.as_str() == name)
        })
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    foreign.truncate(3);
    Err(Error::NotADataset {
        path: dir.to_owned(),
        found: foreign.join(", "),
    })
}

/// What the dataset holds of one image (see [`Dataset::image_state`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageState {
    /// No `images` marker: never extracted, or its writer was killed.
    Missing,
    /// A marker written with another schema version.
    Outdated { detail: String },
    /// Complete; extracted from the package with this SHA-256 (`None` for
    /// a bare vmlinux).
    Complete { package_sha256: Option<String> },
}

/// `object_store`'s name for a local upload in progress: `<file>#<digits>`.
fn is_staged_upload(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(stem, n)| {
        !stem.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}
