//! Snapshot archives for download: `ksurf-dataset-<id>.tar.zst` holding a
//! dataset's `_manifest.json`, every table file it lists and a generated
//! `README.md`, plus `ksurf-dataset-<id>.tar.zst.sha256` beside it.
//!
//! The archive is a pure function of the manifest and the files: entries
//! sorted by path under one `ksurf-dataset-<id>/` directory, mtime the
//! manifest's `created_at`, owner 0/0, mode 0644, zstd level 3 on one
//! thread. Every file is checked against the manifest (size and SHA-256) as
//! it is packed; on any mismatch no archive is left behind.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path as FsPath, PathBuf};
use std::time::SystemTime;

use object_store::path::Path;

use sha2::{Digest, Sha256};

use crate::manifest::{hex, sha256_hex, Manifest, MANIFEST_PATH};
use crate::{Dataset, Error, Result};

/// zstd level of the archive (the Parquet files inside are compressed already).
const ZSTD_LEVEL: i32 = 3;

/// What [`publish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub snapshot_id: String,
    pub archive: PathBuf,
    pub checksum_file: PathBuf,
    /// SHA-256 of the archive, lowercase hex.
    pub sha256: String,
    /// Table files packed.
    pub files: usize,
    /// Bytes of the archive.
    pub size: u64,
}

/// The archive's file name for a snapshot id.
pub fn archive_name(snapshot_id: &str) -> String {
    format!("ksurf-dataset-{snapshot_id}.tar.zst")
}

/// Packs the snapshot `dataset/_manifest.json` describes into `out_dir`
/// (created if needed). Refuses, naming the file, when a listed table file
/// is missing or differs from the manifest.
pub fn publish(dataset: &Dataset, out_dir: &FsPath) -> Result<Published> {
    let manifest_bytes = dataset.manifest_bytes()?;
    let manifest = Manifest::parse(
        &dataset.object_label(&Path::from(MANIFEST_PATH)),
        &manifest_bytes,
    )?;
    let id = manifest.snapshot_id();
    let root = format!("ksurf-dataset-{id}");
    let archive = out_dir.join(archive_name(&id));
    let archive_err = |path: &FsPath| {
        let path = path.to_owned();
        move |source| Error::Archive { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(archive_err(out_dir))?;
    let mtime = humantime::parse_rfc3339(&manifest.created_at)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());

    let temp = tempfile::Builder::new()
        .prefix(".ksurf-dataset-")
        .suffix(".partial")
        .tempfile_in(out_dir)
        .map_err(archive_err(out_dir))?;
    let sink = HashingWriter {
        file: temp.as_file().try_clone().map_err(archive_err(&archive))?,
        hasher: Sha256::new(),
        written: 0,
    };
    let encoder = zstd::Encoder::new(sink, ZSTD_LEVEL).map_err(archive_err(&archive))?;
    let mut tar = tar::Builder::new(encoder);
    let mut append = |name: &str, data: &[u8]| -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{root}/{name}"), data)
            .map_err(archive_err(&archive))
    };

    // Entries in byte order of their names: README.md, _manifest.json,
    // then the table files (lowercase), which the manifest keeps sorted.
    append("README.md", dataset_readme(&manifest, &id).as_bytes())?;
    append(MANIFEST_PATH, &manifest_bytes)?;
    let paths: Vec<Path> = manifest
        .files
        .iter()
        .map(|f| Path::from(f.path.as_str()))
        .collect();
    let mut listed_files = manifest.files.iter();
    dataset.visit_objects(&paths, |_, bytes| {
        let listed = listed_files.next().expect("one object per listed file");
        let hash = sha256_hex(&bytes);
        if bytes.len() as u64 != listed.size || hash != listed.sha256 {
            return Err(Error::ManifestMismatch {
                location: dataset.label().to_owned(),
                problems: vec![format!(
                    "{}: {} bytes with SHA-256 {hash}, the manifest says {} bytes with SHA-256 {}",
                    listed.path,
                    bytes.len(),
                    listed.size,
                    listed.sha256
                )],
            });
        }
        append(&listed.path, &bytes)
    })?;
    let encoder = tar.into_inner().map_err(archive_err(&archive))?;
    let sink = encoder.finish().map_err(archive_err(&archive))?;
    sink.file.sync_all().map_err(archive_err(&archive))?;
    set_readable(temp.as_file()).map_err(archive_err(&archive))?;
    let sha256 = hex(&sink.hasher.finalize());
    let size = sink.written;
    temp.persist(&archive).map_err(|e| Error::Archive {
        path: archive.clone(),
        source: e.error,
    })?;
    // The checksum is written after the archive: its presence means the
    // archive beside it is complete.
    let checksum_file = out_dir.join(format!("{}.sha256", archive_name(&id)));
    write_atomically(
        &checksum_file,
        format!("{sha256}  {}\n", archive_name(&id)).as_bytes(),
    )?;
    sync_dir(out_dir)?;
    Ok(Published {
        snapshot_id: id,
        archive,
        checksum_file,
        sha256,
        files: manifest.files.len(),
        size,
    })
}

/// Writes to the archive file while hashing what it writes.
struct HashingWriter {
    file: std::fs::File,
    hasher: Sha256,
    written: u64,
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn write_atomically(path: &FsPath, data: &[u8]) -> Result<()> {
    let err = |source| Error::Archive {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(FsPath::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".ksurf-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(err)?;
    temp.write_all(data).map_err(err)?;
    set_readable(temp.as_file()).map_err(err)?;
    temp.as_file().sync_all().map_err(err)?;
    temp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Published files are for everyone to read (temporary files start 0600).
fn set_readable(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

fn sync_dir(dir: &FsPath) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Archive {
            path: dir.to_owned(),
            source,
        })
}

/// One line about each table ksurf writes; other tables get a pointer to
/// the documentation.
fn table_description(table: &str) -> &'static str {
    match table {
        "images" => "one row per kernel image: flavor, build-id, vmlinux SHA-256, banner, ELF machine, unit and row counts",
        "functions" => "one row per function name per image: collision type, inline type (Full/Selective/No), GCC clone suffixes",
        "function_instances" => "one row per function instance (DWARF definition) per image: declaration, inline status, callers, prototype, parameters",
        "symbols" => "one row per STT_FUNC symbol per image: name, stem, clone suffixes, address, size, binding, section",
        "function_attach" => "one row per function name per image: kprobe verdict (yes/ambiguous/no) and symbols, fentry verdict, in .BTF, ftrace call site, reasons, inlined call sites",
        "unit_errors" => "one row per compile unit that could not be read",
        "function_status" => "one row per function name per image and comparison group: status across the group's images",
        "function_changes" => "one row per function whose status or prototype changes between consecutive images of a group",
        "types" => "one row per struct, union, enum and typedef definition per image: kind, size, declaration, definition hash",
        "type_members" => "one row per struct/union member per definition: path, C type, bit offset and size",
        "enum_values" => "one row per enumerator per enum definition: name, value",
        "tracepoints" => "one row per tracepoint per image: system, class, trace event, arguments, event record struct",
        "syscalls" => "one row per syscall table slot per ABI per image: number, name, entry symbol, implemented",
        "kfuncs" => "one row per kfunc per image: prototype, kfunc sets, KF_* flags",
        "lsm_hooks" => "one row per LSM hook per image: prototype, whether bpf_lsm_<hook> exists",
        "type_changes" => "one row per type change between the two images of a compared pair",
        "kconfig" => "one row per build configuration option per image: name, value (NULL: is not set)",
        "tracepoint_changes" | "syscall_changes" | "kfunc_changes" | "lsm_hook_changes"
        | "kconfig_changes" => {
            "one row per change of that kind between the two images of a compared pair"
        }
        "comparison_groups" => "one row per aggregated comparison group: mode, images, labels, names and changes per kind",
        _ => "see docs/dataset.md in the ksurf sources",
    }
}

/// The README packed into the archive: what the snapshot holds and how to
/// query it in place.
pub fn dataset_readme(manifest: &Manifest, snapshot_id: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# ksurf dataset snapshot {snapshot_id}\n");
    let _ = writeln!(
        out,
        "Kernel function surface tables written by ksurf (schema version {}), \
         snapshot of {} ({} files, content SHA-256 {}).\n",
        manifest.schema_version,
        manifest.created_at,
        manifest.files.len(),
        manifest.content_sha256
    );
    let _ = writeln!(
        out,
        "Each table is a directory of zstd-compressed Parquet files, hive-partitioned:\n\
         `<table>/distro=<distro>/release=<release>/arch=<arch>/part-0.parquet`.\n\
         The partition keys become columns when read with hive partitioning.\n"
    );
    let _ = writeln!(out, "## Tables\n");
    let _ = writeln!(out, "| table | files | rows | holds |");
    let _ = writeln!(out, "| --- | ---: | ---: | --- |");
    for (table, (files, rows)) in manifest.rows_per_table() {
        let _ = writeln!(
            out,
            "| `{table}` | {files} | {rows} | {} |",
            table_description(table)
        );
    }
    let mut images: Vec<String> = manifest
        .files
        .iter()
        .filter(|f| f.table == "images")
        .map(|f| {
            let get = |k: &str| f.partition.get(k).map_or("?", String::as_str);
            format!("{}/{}/{}", get("distro"), get("release"), get("arch"))
        })
        .collect();
    images.sort();
    let _ = writeln!(out, "\n## Images ({})\n", images.len());
    for image in &images {
        let _ = writeln!(out, "- {image}");
    }
    let _ = writeln!(
        out,
        "\n## Query with DuckDB\n\n\
         Unpack the archive and run `duckdb` in this directory:\n\n\
         ```sql\n\
         -- functions inlined everywhere in one release\n\
         select name, collision_type\n\
         from read_parquet('functions/**/*.parquet', hive_partitioning = true)\n\
         where release = '{example}' and inline_type = 'Full'\n\
         order by name limit 20;\n\n\
         -- rows per image\n\
         select distro, release, arch, function_names, function_instances, symbols\n\
         from read_parquet('images/**/*.parquet', hive_partitioning = true)\n\
         order by all;\n\
         ```\n\n\
         Spark reads the same directories: `spark.read.parquet('functions')`.\n\n\
         ## Checking\n\n\
         `_manifest.json` lists every file with its row count, size and SHA-256;\n\
         `sha256sum -c` on the `.sha256` file published beside the archive checks\n\
         the download. Column meanings: `docs/dataset.md` in the ksurf sources.",
        example = images
            .first()
            .and_then(|i| i.split('/').nth(1))
            .unwrap_or("6.1.0-47-cloud-amd64")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use crate::{ImageId, TableName};
    use arrow::array::RecordBatch;
    use std::io::Read;

    fn dataset_with_one_image(dir: &FsPath) -> Dataset {
        let ds = Dataset::open(dir.to_str().unwrap()).unwrap();
        let tables: Vec<_> = TableName::ALL
            .iter()
            .map(|t| (*t, RecordBatch::new_empty(schema::schema(*t))))
            .collect();
        ds.write_image(
            &ImageId::new("debian", "6.1.0-1-amd64", "amd64").unwrap(),
            &tables,
        )
        .unwrap();
        ds
    }

    /// (name, mode, mtime, uid, gid, bytes) of every entry, in archive order.
    fn unpack(archive: &FsPath) -> Vec<(String, u32, u64, u64, u64, Vec<u8>)> {
        let file = std::fs::File::open(archive).unwrap();
        let mut tar = tar::Archive::new(zstd::Decoder::new(file).unwrap());
        tar.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    data,
                )
            })
            .collect()
    }

    #[test]
    fn archive_holds_sorted_fixed_entries_matching_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let ds = dataset_with_one_image(&dir.path().join("ds"));
        let manifest = ds.write_manifest().unwrap().manifest;
        let out = dir.path().join("dist");
        let published = publish(&ds, &out).unwrap();
        let id = manifest.snapshot_id();
        assert_eq!(published.snapshot_id, id);
        assert_eq!(
            published.archive,
            out.join(format!("ksurf-dataset-{id}.tar.zst"))
        );
        assert_eq!(published.files, 15);
        let bytes = std::fs::read(&published.archive).unwrap();
        assert_eq!(published.size, bytes.len() as u64);
        assert_eq!(published.sha256, sha256_hex(&bytes));
        assert_eq!(
            std::fs::read_to_string(&published.checksum_file).unwrap(),
            format!("{}  ksurf-dataset-{id}.tar.zst\n", published.sha256)
        );
        let mtime = humantime::parse_rfc3339(&manifest.created_at)
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let entries = unpack(&published.archive);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        let mut want = vec![
            format!("ksurf-dataset-{id}/README.md"),
            format!("ksurf-dataset-{id}/_manifest.json"),
        ];
        want.extend(
            manifest
                .files
                .iter()
                .map(|f| format!("ksurf-dataset-{id}/{}", f.path)),
        );
        assert_eq!(names, want);
        let mut sorted = want.clone();
        sorted.sort();
        assert_eq!(want, sorted);
        for (name, mode, time, uid, gid, data) in &entries {
            assert_eq!((*mode, *time, *uid, *gid), (0o644, mtime, 0, 0), "{name}");
            let rel = name.split_once('/').unwrap().1;
            if let Some(f) = manifest.files.iter().find(|f| f.path == rel) {
                assert_eq!(sha256_hex(data), f.sha256);
                assert_eq!(
                    data,
                    &std::fs::read(dir.path().join("ds").join(rel)).unwrap()
                );
            }
        }
        assert_eq!(entries[1].5, manifest.to_json().to_vec());
        assert_eq!(
            String::from_utf8(entries[0].5.clone()).unwrap(),
            dataset_readme(&manifest, &id)
        );
        // Nothing else is left in dist/.
        let mut left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!("ksurf-dataset-{id}.tar.zst"),
                format!("ksurf-dataset-{id}.tar.zst.sha256")
            ]
        );
    }

    #[test]
    fn a_changed_table_file_stops_publishing_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ds = dataset_with_one_image(&dir.path().join("ds"));
        let manifest = ds.write_manifest().unwrap().manifest;
        let listed = &manifest.files[2];
        let path = dir.path().join("ds").join(&listed.path);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let out = dir.path().join("dist");
        let err = publish(&ds, &out).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "dataset {} does not match its manifest: {}: {} bytes with SHA-256 {}, the manifest says {} bytes with SHA-256 {}",
                dir.path().join("ds").display(),
                listed.path,
                bytes.len(),
                sha256_hex(&bytes),
                listed.size,
                listed.sha256
            )
        );
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn readme_lists_tables_rows_and_images() {
        let dir = tempfile::tempdir().unwrap();
        let ds = dataset_with_one_image(dir.path());
        let manifest = ds.build_manifest(SystemTime::UNIX_EPOCH).unwrap().manifest;
        let text = dataset_readme(&manifest, "19700101-abc");
        assert!(
            text.starts_with("# ksurf dataset snapshot 19700101-abc\n"),
            "{text}"
        );
        assert!(
            text.contains("| `functions` | 1 | 0 | one row per function name per image:"),
            "{text}"
        );
        assert!(
            text.contains("## Images (1)\n\n- debian/6.1.0-1-amd64/amd64\n"),
            "{text}"
        );
        assert!(
            text.contains("where release = '6.1.0-1-amd64' and inline_type = 'Full'"),
            "{text}"
        );
    }
}
