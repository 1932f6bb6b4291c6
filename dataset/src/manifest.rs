//! The snapshot manifest, `_manifest.json` at the dataset root: every table
//! file with its table, partition values, row count, size, SHA-256 and
//! schema version, plus a hash of that list that names the snapshot.
//!
//! Table files are the `*.parquet` objects of the dataset outside hidden
//! paths (a segment starting with `_` or `.`, as hive readers skip them).
//! Files of an image whose `images` marker is missing belong to an
//! extraction in progress or one that died, and are left out.
//! Apart from `created_at`, the manifest is a pure function of the table
//! files: same files, byte-identical manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::image::ImageId;
use crate::layout::{image_of_path, table_file, TableName};
use crate::{parquet_io, Dataset, Error, Result, SCHEMA_VERSION};

/// Where the manifest lives, relative to the dataset root.
pub const MANIFEST_PATH: &str = "_manifest.json";

/// Where the entity tags of the last manifest's files are recorded
/// (hidden, not part of the snapshot): lets the next manifest reuse the
/// entries of files that did not change instead of reading them again.
pub const MANIFEST_TAGS_PATH: &str = "_manifest.tags.json";

/// The entity tags the files of one manifest had when it was built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestTags {
    /// The `content_sha256` of the manifest these tags belong to.
    content_sha256: String,
    /// Path: the store's entity tag (`ObjectMeta::e_tag`).
    tags: BTreeMap<String, String>,
}

/// Version of the manifest's own format.
pub const MANIFEST_VERSION: u32 = 1;

/// `_manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    /// When the manifest was written, RFC 3339 UTC to the second
    /// (`SOURCE_DATE_EPOCH` when set).
    pub created_at: String,
    /// The schema version of the ksurf that wrote the manifest.
    pub schema_version: u32,
    /// SHA-256 of the canonical JSON of `files` (see [`content_hash`]).
    pub content_sha256: String,
    /// Every table file, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// One table file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative to the dataset root, `/`-separated.
    pub path: String,
    /// The table: the first segment of the path.
    pub table: String,
    /// Hive partition values of the path (`distro`, `release`, `arch`, …).
    pub partition: BTreeMap<String, String>,
    pub rows: u64,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    /// `ksurf.schema_version` from the file's footer.
    pub schema_version: u32,
}

/// What writing a manifest found.
#[derive(Clone, Debug)]
pub struct ManifestReport {
    pub manifest: Manifest,
    /// Images with table files but no `images` marker: left out.
    pub incomplete_images: Vec<ImageId>,
}

/// SHA-256 over the canonical JSON of `files`: what the snapshot holds,
/// independent of when the manifest was written.
pub fn content_hash(files: &[ManifestFile]) -> String {
    let canonical = serde_json::to_vec(files).expect("manifest entries serialise");
    sha256_hex(&canonical)
}

/// SHA-256 of `bytes`, lowercase hex: the form of every `*_sha256`
/// column and manifest entry.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

impl Manifest {
    /// The snapshot id: the manifest's date and the first 12 hex digits of
    /// its content hash, e.g. `20250114-3f9a0c1d2e4b`.
    pub fn snapshot_id(&self) -> String {
        let date: String = self
            .created_at
            .chars()
            .take(10)
            .filter(char::is_ascii_digit)
            .collect();
        format!("{date}-{}", &self.content_sha256[..12])
    }

    /// Total rows per table, sorted by table name.
    pub fn rows_per_table(&self) -> BTreeMap<&str, (usize, u64)> {
        let mut out: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for file in &self.files {
            let entry = out.entry(file.table.as_str()).or_default();
            entry.0 += 1;
            entry.1 += file.rows;
        }
        out
    }

    /// Parses `_manifest.json` text, checking its format version and that
    /// its content hash matches its file list.
    pub fn parse(location: &str, bytes: &[u8]) -> Result<Self> {
        let invalid = |detail: String| Error::ManifestInvalid {
            location: location.to_owned(),
            detail,
        };
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if manifest.manifest_version != MANIFEST_VERSION {
            return Err(invalid(format!(
                "manifest_version is {}, this ksurf reads {MANIFEST_VERSION}",
                manifest.manifest_version
            )));
        }
        let hash = content_hash(&manifest.files);
        if hash != manifest.content_sha256 {
            return Err(invalid(format!(
                "content_sha256 is {} but the file list hashes to {hash}",
                manifest.content_sha256
            )));
        }
        Ok(manifest)
    }

    /// The manifest as written to `_manifest.json`: pretty JSON, newline.
    pub fn to_json(&self) -> Bytes {
        let mut text = serde_json::to_vec_pretty(self).expect("manifest serialises");
        text.push(b'\n');
        Bytes::from(text)
    }
}

/// The time `created_at` records: `SOURCE_DATE_EPOCH` when set (for
/// reproducible snapshots), else now.
pub fn manifest_time() -> SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap_or_else(SystemTime::now)
}

/// Whether `path` is hidden from table readers: a segment starting with
/// `_` or `.` (the manifest, `_plan/`, temporary files).
fn is_hidden(path: &Path) -> bool {
    path.parts()
        .any(|p| p.as_ref().starts_with('_') || p.as_ref().starts_with('.'))
}

/// The hive `key=value` segments of a table file path.
fn partition_of(path: &Path) -> BTreeMap<String, String> {
    let parts: Vec<_> = path.parts().collect();
    let middle = parts.len().saturating_sub(1);
    parts
        .iter()
        .take(middle)
        .skip(1)
        .filter_map(|p| {
            let (k, v) = p.as_ref().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// The table files of a dataset as listed now.
#[derive(Clone, Debug, Default)]
pub struct TableFiles {
    /// (path, size), sorted by path.
    pub files: Vec<(Path, u64)>,
    /// The store's entity tag of each of `files` (`ObjectMeta::e_tag`:
    /// inode, mtime and size on a local disk, the ETag on S3), in the same
    /// order; `None` where the store gives none.
    pub e_tags: Vec<Option<String>>,
    /// Images with table files but no `images` marker: their files are
    /// not in `files`.
    pub incomplete_images: Vec<ImageId>,
}

impl Dataset {
    /// The table files a manifest lists, with their sizes, sorted by path;
    /// and the incomplete images whose files were left out.
    pub fn table_files(&self) -> Result<TableFiles> {
        let all = self.list(None)?;
        let candidates: Vec<_> = all
            .into_iter()
            .filter(|m| !is_hidden(&m.location))
            .filter(|m| m.location.extension() == Some("parquet"))
            .collect();
        let present: BTreeSet<&Path> = candidates.iter().map(|m| &m.location).collect();
        let per_image: BTreeSet<&str> = TableName::ALL.iter().map(|t| t.as_str()).collect();
        let mut incomplete = BTreeSet::new();
        let mut files = Vec::new();
        let mut e_tags = Vec::new();
        for meta in &candidates {
            let table = meta.location.parts().next();
            let image = image_of_path(&meta.location);
            if let (Some(table), Some(image)) = (table, image) {
                if per_image.contains(table.as_ref())
                    && !present.contains(&table_file(TableName::Images, &image))
                {
                    incomplete.insert(image);
                    continue;
                }
            }
            files.push((meta.location.clone(), meta.size));
            e_tags.push(meta.e_tag.clone());
        }
        Ok(TableFiles {
            files,
            e_tags,
            incomplete_images: incomplete.into_iter().collect(),
        })
    }

    /// Lists and reads every table file and builds the manifest, dated `at`.
    pub fn build_manifest(&self, at: SystemTime) -> Result<ManifestReport> {
        Ok(self.build_manifest_reusing(at)?.0)
    }

    /// Like [`Dataset::build_manifest`], reusing the entries of the
    /// manifest last written (`_manifest.json` with its tag record
    /// [`MANIFEST_TAGS_PATH`]) for files whose size and entity tag are
    /// unchanged, so only new or rewritten files are read and hashed.
    /// Without a record that matches the last manifest, every file is
    /// read. Also returns the tags of the new manifest's files.
    fn build_manifest_reusing(&self, at: SystemTime) -> Result<(ManifestReport, ManifestTags)> {
        let TableFiles {
            files,
            e_tags,
            incomplete_images,
        } = self.table_files()?;
        let previous = self.previous_entries()?;
        let mut entries: Vec<Option<ManifestFile>> = Vec::with_capacity(files.len());
        let mut to_read = Vec::new();
        for ((path, size), tag) in files.iter().zip(&e_tags) {
            let reused = tag.as_ref().and_then(|tag| {
                previous
                    .get(path.as_ref())
                    .filter(|(file, old_tag)| file.size == *size && old_tag == tag)
                    .map(|(file, _)| file.clone())
            });
            if reused.is_none() {
                to_read.push(path.clone());
            }
            entries.push(reused);
        }
        let mut read = self
            .visit_objects(&to_read, |path, bytes| {
                let location = self.object_label(path);
                let footer = parquet_io::footer(&location, &bytes)?;
                let schema_version =
                    footer.schema_version.ok_or_else(|| Error::SchemaMismatch {
                        location: location.clone(),
                        expected: SCHEMA_VERSION,
                        detail: "the file carries no ksurf.schema_version".into(),
                    })?;
                Ok(ManifestFile {
                    path: path.to_string(),
                    table: path
                        .parts()
                        .next()
                        .map(|p| p.as_ref().to_owned())
                        .unwrap_or_default(),
                    partition: partition_of(path),
                    rows: footer.rows,
                    size: bytes.len() as u64,
                    sha256: sha256_hex(&bytes),
                    schema_version,
                })
            })?
            .into_iter();
        let entries: Vec<ManifestFile> = entries
            .into_iter()
            .map(|e| {
                e.or_else(|| read.next())
                    .expect("one read entry per file not reused")
            })
            .collect();
        let tags = ManifestTags {
            content_sha256: content_hash(&entries),
            tags: entries
                .iter()
                .zip(&e_tags)
                .filter_map(|(f, t)| Some((f.path.clone(), t.clone()?)))
                .collect(),
        };
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            created_at: humantime::format_rfc3339_seconds(at).to_string(),
            schema_version: SCHEMA_VERSION,
            content_sha256: tags.content_sha256.clone(),
            files: entries,
        };
        Ok((
            ManifestReport {
                manifest,
                incomplete_images,
            },
            tags,
        ))
    }

    /// The last manifest's entries with the tag each file had, by path:
    /// empty when there is no manifest, it or its tag record cannot be
    /// parsed, or the record is of another manifest.
    fn previous_entries(&self) -> Result<BTreeMap<String, (ManifestFile, String)>> {
        let Some(bytes) = self.get_if_exists(&Path::from(MANIFEST_PATH))? else {
            return Ok(BTreeMap::new());
        };
        let Ok(manifest) = Manifest::parse(MANIFEST_PATH, &bytes) else {
            return Ok(BTreeMap::new());
        };
        let Some(tag_bytes) = self.get_if_exists(&Path::from(MANIFEST_TAGS_PATH))? else {
            return Ok(BTreeMap::new());
        };
        let Ok(mut tags) = serde_json::from_slice::<ManifestTags>(&tag_bytes) else {
            return Ok(BTreeMap::new());
        };
        if tags.content_sha256 != manifest.content_sha256
            || manifest.schema_version != SCHEMA_VERSION
        {
            return Ok(BTreeMap::new());
        }
        Ok(manifest
            .files
            .into_iter()
            .filter_map(|f| {
                let tag = tags.tags.remove(&f.path)?;
                Some((f.path.clone(), (f, tag)))
            })
            .collect())
    }

    /// Builds the manifest of the dataset as it is now (dated by
    /// [`manifest_time`]) and writes it to `_manifest.json` in one atomic put.
    ///
    /// Files whose size and entity tag are those recorded with the last
    /// manifest keep its entry (not read again); the tags of this one are
    /// written after it to [`MANIFEST_TAGS_PATH`], so a crash between the
    /// two leaves a record of another manifest, which is ignored.
    pub fn write_manifest(&self) -> Result<ManifestReport> {
        let (report, tags) = self.build_manifest_reusing(manifest_time())?;
        self.put(&Path::from(MANIFEST_PATH), report.manifest.to_json())?;
        let mut json = serde_json::to_vec(&tags).expect("manifest tags serialise");
        json.push(b'\n');
        self.put(&Path::from(MANIFEST_TAGS_PATH), Bytes::from(json))?;
        Ok(report)
    }

    /// The bytes of `_manifest.json`, or an error saying there is none.
    pub fn manifest_bytes(&self) -> Result<Bytes> {
        let path = Path::from(MANIFEST_PATH);
        self.get_if_exists(&path)?
            .ok_or_else(|| Error::ManifestMissing {
                location: self.object_label(&path),
                dataset: self.label().to_owned(),
            })
    }

    /// Reads and checks `_manifest.json`.
    pub fn read_manifest(&self) -> Result<Manifest> {
        let bytes = self.manifest_bytes()?;
        Manifest::parse(&self.object_label(&Path::from(MANIFEST_PATH)), &bytes)
    }

    /// Checks that the dataset holds exactly the files `manifest` lists,
    /// each with the listed size and SHA-256; every difference is named.
    pub fn verify_manifest(&self, manifest: &Manifest) -> Result<()> {
        let present: BTreeMap<String, u64> = self
            .table_files()?
            .files
            .into_iter()
            .map(|(p, size)| (p.to_string(), size))
            .collect();
        let mut problems = Vec::new();
        let mut to_hash = Vec::new();
        for file in &manifest.files {
            match present.get(&file.path) {
                None => problems.push(format!("{}: missing", file.path)),
                Some(&size) if size != file.size => problems.push(format!(
                    "{}: {size} bytes, the manifest says {}",
                    file.path, file.size
                )),
                Some(_) => to_hash.push(file),
            }
        }
        let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        for path in present.keys() {
            if !listed.contains(path.as_str()) {
                problems.push(format!("{path}: not in the manifest"));
            }
        }
        let paths: Vec<Path> = to_hash
            .iter()
            .map(|f| Path::from(f.path.as_str()))
            .collect();
        let hashes = self.visit_objects(&paths, |_, bytes| Ok(sha256_hex(&bytes)))?;
        for (file, hash) in to_hash.iter().zip(hashes) {
            if hash != file.sha256 {
                problems.push(format!(
                    "{}: SHA-256 {hash}, the manifest says {}",
                    file.path, file.sha256
                ));
            }
        }
        problems.sort();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::ManifestMismatch {
                location: self.label().to_owned(),
                problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use arrow::array::RecordBatch;

    fn image(release: &str) -> ImageId {
        ImageId::new("debian", release, "amd64").unwrap()
    }

    fn empty_tables() -> Vec<(TableName, RecordBatch)> {
        TableName::ALL
            .iter()
            .map(|t| (*t, RecordBatch::new_empty(schema::schema(*t))))
            .collect()
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn manifest_lists_every_table_file_and_skips_incomplete_images() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap()).unwrap();
        ds.write_image(&image("6.1.0-1-amd64"), &empty_tables())
            .unwrap();
        // An image whose marker is missing (extraction died mid-way).
        ds.write_image(&image("6.1.0-2-amd64"), &empty_tables())
            .unwrap();
        std::fs::remove_file(
            dir.path()
                .join("images/distro=debian/release=6.1.0-2-amd64/arch=amd64/part-0.parquet"),
        )
        .unwrap();
        // Hidden and non-table objects are not table files.
        ds.put(&Path::from("_plan/plan.json"), Bytes::from_static(b"{}"))
            .unwrap();
        ds.put(&Path::from("functions/notes.txt"), Bytes::from_static(b"x"))
            .unwrap();

        let report = ds.build_manifest(at(1_736_812_800)).unwrap();
        assert_eq!(report.incomplete_images, vec![image("6.1.0-2-amd64")]);
        let m = &report.manifest;
        assert_eq!(m.created_at, "2025-01-14T00:00:00Z");
        let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        let p = "distro=debian/release=6.1.0-1-amd64/arch=amd64/part-0.parquet";
        assert_eq!(
            paths,
            [
                format!("enum_values/{p}"),
                format!("function_attach/{p}"),
                format!("function_instances/{p}"),
                format!("functions/{p}"),
                format!("images/{p}"),
                format!("kconfig/{p}"),
                format!("kfuncs/{p}"),
                format!("lsm_hooks/{p}"),
                format!("modules/{p}"),
                format!("symbols/{p}"),
                format!("syscalls/{p}"),
                format!("tracepoints/{p}"),
                format!("type_members/{p}"),
                format!("types/{p}"),
                format!("unit_errors/{p}"),
            ]
        );
        for file in &m.files {
            let bytes = std::fs::read(dir.path().join(&file.path)).unwrap();
            assert_eq!(file.size, bytes.len() as u64);
            assert_eq!(file.sha256, sha256_hex(&bytes));
            assert_eq!(file.rows, 0);
            assert_eq!(file.schema_version, SCHEMA_VERSION);
            assert_eq!(file.table, file.path.split('/').next().unwrap());
            assert_eq!(
                file.partition,
                BTreeMap::from([
                    ("arch".to_owned(), "amd64".to_owned()),
                    ("distro".to_owned(), "debian".to_owned()),
                    ("release".to_owned(), "6.1.0-1-amd64".to_owned()),
                ])
            );
        }
        assert_eq!(m.content_sha256, content_hash(&m.files));
        assert_eq!(
            m.snapshot_id(),
            format!("20250114-{}", &m.content_sha256[..12])
        );

        // Same files, another day: only created_at differs.
        let later = ds.build_manifest(at(1_800_000_000)).unwrap().manifest;
        assert_eq!(later.files, m.files);
        assert_eq!(later.content_sha256, m.content_sha256);
        assert_ne!(later.created_at, m.created_at);
    }

    #[test]
    fn written_manifest_reads_back_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap()).unwrap();
        ds.write_image(&image("6.1.0-1-amd64"), &empty_tables())
            .unwrap();
        let written = ds.write_manifest().unwrap().manifest;
        let text = std::fs::read(dir.path().join(MANIFEST_PATH)).unwrap();
        assert_eq!(text, written.to_json());
        assert_eq!(ds.read_manifest().unwrap(), written);
        ds.verify_manifest(&written).unwrap();
    }

    #[test]
    fn a_new_manifest_reads_only_files_whose_size_or_tag_changed() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap()).unwrap();
        ds.write_image(&image("6.1.0-1-amd64"), &empty_tables())
            .unwrap();
        let first = ds.write_manifest().unwrap().manifest;
        let tags_path = dir.path().join(MANIFEST_TAGS_PATH);
        let tags: ManifestTags =
            serde_json::from_slice(&std::fs::read(&tags_path).unwrap()).unwrap();
        assert_eq!(tags.content_sha256, first.content_sha256);
        assert_eq!(
            tags.tags.keys().collect::<Vec<_>>(),
            first.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        );

        // A manifest whose `symbols` entry has a hash no file has, with a
        // tag record that matches it: the entry is reused as recorded,
        // which shows the file was not read again.
        let symbols = "symbols/distro=debian/release=6.1.0-1-amd64/arch=amd64/part-0.parquet";
        let mut planted = first.clone();
        let entry = planted
            .files
            .iter_mut()
            .find(|f| f.path == symbols)
            .unwrap();
        entry.sha256 = "0".repeat(64);
        planted.content_sha256 = content_hash(&planted.files);
        ds.put(&Path::from(MANIFEST_PATH), planted.to_json())
            .unwrap();
        let planted_tags = ManifestTags {
            content_sha256: planted.content_sha256.clone(),
            tags: tags.tags.clone(),
        };
        std::fs::write(&tags_path, serde_json::to_vec(&planted_tags).unwrap()).unwrap();
        let reused = ds.write_manifest().unwrap().manifest;
        assert_eq!(reused.files, planted.files);

        // The file rewritten (same bytes, a new tag): read and hashed again.
        let bytes = ds.get(&Path::from(symbols)).unwrap();
        ds.put(&Path::from(symbols), bytes).unwrap();
        let reread = ds.write_manifest().unwrap().manifest;
        assert_eq!(reread.files, first.files);

        // A tag record of another manifest is ignored: every file is read.
        ds.put(&Path::from(MANIFEST_PATH), planted.to_json())
            .unwrap();
        let other = ManifestTags {
            content_sha256: first.content_sha256.clone(),
            tags: tags.tags.clone(),
        };
        std::fs::write(&tags_path, serde_json::to_vec(&other).unwrap()).unwrap();
        assert_eq!(ds.write_manifest().unwrap().manifest.files, first.files);
        // So is one that is not JSON.
        ds.put(&Path::from(MANIFEST_PATH), planted.to_json())
            .unwrap();
        std::fs::write(&tags_path, "{").unwrap();
        assert_eq!(ds.write_manifest().unwrap().manifest.files, first.files);
        // The tag record is hidden: not a table file of the manifest.
        assert!(!first.files.iter().any(|f| f.path.starts_with('_')));
    }

    #[test]
    fn verify_names_every_changed_missing_and_unlisted_file() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap()).unwrap();
        ds.write_image(&image("6.1.0-1-amd64"), &empty_tables())
            .unwrap();
        let manifest = ds.write_manifest().unwrap().manifest;
        let p = "distro=debian/release=6.1.0-1-amd64/arch=amd64/part-0.parquet";
        // Same size, one byte flipped.
        let symbols = dir.path().join(format!("symbols/{p}"));
        let mut bytes = std::fs::read(&symbols).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&symbols, &bytes).unwrap();
        let flipped = sha256_hex(&bytes);
        // Longer.
        let functions = dir.path().join(format!("functions/{p}"));
        let mut longer = std::fs::read(&functions).unwrap();
        longer.push(0);
        std::fs::write(&functions, &longer).unwrap();
        // Gone, and one not listed.
        std::fs::remove_file(dir.path().join(format!("unit_errors/{p}"))).unwrap();
        ds.write_image(&image("6.1.0-3-amd64"), &empty_tables())
            .unwrap();
        let listed_size = manifest
            .files
            .iter()
            .find(|f| f.path == format!("functions/{p}"))
            .unwrap()
            .size;
        let listed_hash = &manifest
            .files
            .iter()
            .find(|f| f.path == format!("symbols/{p}"))
            .unwrap()
            .sha256;
        let err = ds.verify_manifest(&manifest).unwrap_err();
        let q = "distro=debian/release=6.1.0-3-amd64/arch=amd64/part-0.parquet";
        assert_eq!(
            err.to_string(),
            format!(
                "dataset {} does not match its manifest: \
                 enum_values/{q}: not in the manifest; \
                 function_attach/{q}: not in the manifest; \
                 function_instances/{q}: not in the manifest; \
                 functions/{p}: {} bytes, the manifest says {listed_size}; \
                 functions/{q}: not in the manifest; \
                 images/{q}: not in the manifest; \
                 kconfig/{q}: not in the manifest; \
                 kfuncs/{q}: not in the manifest; \
                 lsm_hooks/{q}: not in the manifest; \
                 modules/{q}: not in the manifest; \
                 symbols/{p}: SHA-256 {flipped}, the manifest says {listed_hash}; \
                 symbols/{q}: not in the manifest; \
                 syscalls/{q}: not in the manifest; \
                 tracepoints/{q}: not in the manifest; \
                 type_members/{q}: not in the manifest; \
                 types/{q}: not in the manifest; \
                 unit_errors/{p}: missing; \
                 unit_errors/{q}: not in the manifest",
                dir.path().display(),
                listed_size + 1,
            )
        );
    }

    #[test]
    fn a_tampered_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap()).unwrap();
        ds.write_image(&image("6.1.0-1-amd64"), &empty_tables())
            .unwrap();
        let mut manifest = ds.build_manifest(at(0)).unwrap().manifest;
        let honest = manifest.content_sha256.clone();
        manifest.files[0].rows = 7;
        let tampered = manifest.to_json();
        let err = Manifest::parse("ds/_manifest.json", &tampered).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "manifest ds/_manifest.json is invalid: content_sha256 is {honest} but the file list hashes to {}",
                content_hash(&manifest.files)
            )
        );
        let err = Manifest::parse("ds/_manifest.json", b"{\"files\": 3}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest ds/_manifest.json is invalid: invalid type: integer `3`, expected a sequence at line 1 column 11"
        );
        let missing = Dataset::open(dir.path().join("empty").to_str().unwrap()).unwrap();
        assert_eq!(
            missing.read_manifest().unwrap_err().to_string(),
            format!(
                "{}/empty/_manifest.json does not exist; write it with `ksurf manifest --dataset {}/empty`",
                dir.path().display(),
                dir.path().display()
            )
        );
    }
}
