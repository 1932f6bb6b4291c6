//! Parquet encoding of table batches: zstd, fixed writer settings and no
//! timestamps, so the same rows always give byte-identical files.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::{Error, Result, SCHEMA_VERSION};

const SCHEMA_VERSION_KEY: &str = "ksurf.schema_version";
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Small pages keep what a streaming reader holds per open table small
/// (the aggregator reads every image of a group at once).
const PAGE_BYTES: usize = 128 * 1024;

/// The fixed writer settings of every table file.
pub(crate) fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .set_created_by(format!("ksurf-dataset (schema {SCHEMA_VERSION})"))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_size_limit(PAGE_BYTES)
        .set_dictionary_page_size_limit(PAGE_BYTES)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            SCHEMA_VERSION_KEY.to_owned(),
            SCHEMA_VERSION.to_string(),
        )]))
        .build()
}

/// Encodes `batch` as one Parquet file.
pub fn encode(location: &str, batch: &RecordBatch) -> Result<Bytes> {
    let props = writer_properties();
    let parquet_err = |source| Error::Parquet {
        location: location.to_owned(),
        source,
    };
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).map_err(parquet_err)?;
    writer.write(batch).map_err(parquet_err)?;
    writer.close().map_err(parquet_err)?;
    Ok(Bytes::from(out))
}

/// Decodes one Parquet file written by [`encode`], checking that it carries
/// this crate's schema version and exactly the `expected` columns.
pub fn decode(location: &str, data: Bytes, expected: &SchemaRef) -> Result<RecordBatch> {
    let parquet_err = |source| Error::Parquet {
        location: location.to_owned(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(data).map_err(parquet_err)?;
    check_schema(location, &builder, expected)?;
    let reader = builder.build().map_err(parquet_err)?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|source| Error::Arrow {
            location: location.to_owned(),
            source,
        })?;
    arrow::compute::concat_batches(expected, &batches).map_err(|source| Error::Arrow {
        location: location.to_owned(),
        source,
    })
}

/// Checks that the file behind `builder` carries this crate's schema
/// version and exactly the `expected` columns.
pub(crate) fn check_schema<T>(
    location: &str,
    builder: &parquet::arrow::arrow_reader::ArrowReaderBuilder<T>,
    expected: &SchemaRef,
) -> Result<()> {
    let mismatch = |detail: String| Error::SchemaMismatch {
        location: location.to_owned(),
        expected: SCHEMA_VERSION,
        detail,
    };
    let version = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kvs| kvs.iter().find(|kv| kv.key == SCHEMA_VERSION_KEY))
        .and_then(|kv| kv.value.clone());
    if version.as_deref() != Some(SCHEMA_VERSION.to_string().as_str()) {
        return Err(mismatch(format!("file has schema version {version:?}")));
    }
    if builder.schema().fields() != expected.fields() {
        return Err(mismatch(format!(
            "columns differ: file has {:?}",
            builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
        )));
    }
    Ok(())
}

/// The row groups whose statistics for the string column `column` may hold
/// `value` (all row groups when the column or its statistics are missing).
pub(crate) fn row_groups_holding(
    metadata: &parquet::file::metadata::ParquetMetaData,
    column: &str,
    value: &str,
) -> Vec<usize> {
    let value = value.as_bytes();
    metadata
        .row_groups()
        .iter()
        .enumerate()
        .filter(|(_, rg)| {
            let Some(chunk) = rg
                .columns()
                .iter()
                .find(|c| c.column_descr().path().string() == column)
            else {
                return true;
            };
            let Some(stats) = chunk.statistics() else {
                return true;
            };
            let below = stats.min_bytes_opt().is_some_and(|min| value < min);
            let above = stats.max_bytes_opt().is_some_and(|max| value > max);
            !below && !above
        })
        .map(|(i, _)| i)
        .collect()
}

/// What a table file's footer says, read without decoding any rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    pub rows: u64,
    /// `ksurf.schema_version`, when the file carries it.
    pub schema_version: Option<u32>,
}

/// Reads the footer of the Parquet file `data`.
pub fn footer(location: &str, data: &Bytes) -> Result<Footer> {
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(data)
        .map_err(|source| Error::Parquet {
            location: location.to_owned(),
            source,
        })?;
    let file = metadata.file_metadata();
    let schema_version = file
        .key_value_metadata()
        .and_then(|kvs| kvs.iter().find(|kv| kv.key == SCHEMA_VERSION_KEY))
        .and_then(|kv| kv.value.as_deref())
        .and_then(|v| v.parse().ok());
    Ok(Footer {
        rows: u64::try_from(file.num_rows()).unwrap_or(0),
        schema_version,
    })
}
