//! Streaming one image's `functions`, `function_instances`, `symbols` and
//! `function_attach` tables merged by function name: each table is read a batch at a time in
//! its stored order (sorted by name, or by stem for symbols) and
//! [`ImageCursor`] hands out one name's rows at a time, so memory holds a
//! few batches per image whatever the image's size.

use arrow::array::RecordBatch;
use ksurf_dataset::{Dataset, ImageId, TableName, TableStream};

use crate::model::{Attach, Instance, Presence, Symbol};
use crate::tables::{decode_instance, decode_symbol, Columns};
use crate::{Error, Result};

/// Rows per batch read from a table file.
pub const BATCH_ROWS: usize = 1024;

/// A position in one table file, sorted by the string column `key`: the
/// shared reader of every kind's per-name cursor.
pub(crate) struct RowCursor {
    stream: TableStream,
    key: &'static str,
    batch: Option<RecordBatch>,
    row: usize,
    rows_before: usize,
    last_key: Option<String>,
    done: bool,
}

impl RowCursor {
    pub(crate) fn new(stream: TableStream, key: &'static str) -> Self {
        RowCursor {
            stream,
            key,
            batch: None,
            row: 0,
            rows_before: 0,
            last_key: None,
            done: false,
        }
    }

    /// Makes `self.batch[self.row]` the current row; false at the end.
    fn fill(&mut self) -> Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            if let Some(b) = &self.batch {
                if self.row < b.num_rows() {
                    return Ok(true);
                }
                self.rows_before += b.num_rows();
            }
            self.row = 0;
            match self.stream.next() {
                Some(batch) => self.batch = Some(batch?),
                None => {
                    self.batch = None;
                    self.done = true;
                }
            }
        }
    }

    /// The key of the current row, checked to be in sorted order.
    pub(crate) fn current_key(&mut self) -> Result<Option<String>> {
        if !self.fill()? {
            return Ok(None);
        }
        let batch = self.batch.as_ref().expect("filled");
        let key = Columns::of_batch(batch).str(self.key, self.row).to_owned();
        if let Some(last) = &self.last_key {
            if key.as_str() < last.as_str() {
                return Err(Error::Table {
                    location: self.stream.location().to_owned(),
                    message: format!(
                        "rows are not sorted by {}: {key:?} follows {last:?} at row {}",
                        self.key,
                        self.rows_before + self.row
                    ),
                });
            }
        }
        self.last_key = Some(key.clone());
        Ok(Some(key))
    }

    /// Skips rows whose key sorts before `key` and decodes the rows whose
    /// key is `key`.
    pub(crate) fn take<T>(
        &mut self,
        key: &str,
        decode: impl Fn(&Columns<'_>, usize) -> T,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while let Some(current) = self.current_key()? {
            match current.as_str().cmp(key) {
                std::cmp::Ordering::Less => self.row += 1,
                std::cmp::Ordering::Equal => {
                    let batch = self.batch.as_ref().expect("filled");
                    out.push(decode(&Columns::of_batch(batch), self.row));
                    self.row += 1;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(out)
    }
}

/// One row of `functions`.
struct FunctionRow {
    collision_type: String,
    inline_type: String,
    transform_suffixes: Vec<String>,
}

/// One image's tables, advanced one function name at a time.
pub struct ImageCursor {
    pub image: ImageId,
    functions: RowCursor,
    instances: RowCursor,
    symbols: RowCursor,
    attach: RowCursor,
}

impl ImageCursor {
    /// Opens the four tables of `image`. With `only`, reads just the row
    /// groups that may hold that name.
    pub fn open(dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<Self> {
        let open = |table: TableName, key: &'static str| -> Result<RowCursor> {
            let path = ksurf_dataset::layout::table_file(table, image);
            let stream = dataset.stream_file(&path, table, BATCH_ROWS, only.map(|n| (key, n)))?;
            Ok(RowCursor::new(stream, key))
        };
        Ok(ImageCursor {
            image: image.clone(),
            functions: open(TableName::Functions, "name")?,
            instances: open(TableName::FunctionInstances, "name")?,
            symbols: open(TableName::Symbols, "stem")?,
            attach: open(TableName::FunctionAttach, "name")?,
        })
    }

    /// The next function name of the image, if any.
    pub fn peek(&mut self) -> Result<Option<String>> {
        self.functions.current_key()
    }

    /// The image's rows for `name`, which must be [`ImageCursor::peek`]'s.
    pub fn take(&mut self, name: &str) -> Result<Presence> {
        let mut function = self.functions.take(name, |c, row| FunctionRow {
            collision_type: c.str("collision_type", row).to_owned(),
            inline_type: c.str("inline_type", row).to_owned(),
            transform_suffixes: c.strings("transform_suffixes", row),
        })?;
        if function.len() != 1 {
            return Err(Error::Table {
                location: self.functions.stream.location().to_owned(),
                message: format!("{} rows for function {name:?}", function.len()),
            });
        }
        let function = function.pop().expect("one row");
        let instances: Vec<Instance> = self.instances.take(name, decode_instance)?;
        let symbols: Vec<Symbol> = self.symbols.take(name, decode_symbol)?;
        let mut attach = self.attach.take(name, |c, row| Attach {
            kprobe: c.str("kprobe", row).to_owned(),
            kprobe_symbols: c.strings("kprobe_symbols", row),
            kprobe_reason: c.str("kprobe_reason", row).to_owned(),
            fentry: c.bool("fentry", row),
            fentry_reason: c.str("fentry_reason", row).to_owned(),
        })?;
        if attach.len() > 1 {
            return Err(Error::Table {
                location: self.attach.stream.location().to_owned(),
                message: format!("{} rows for function {name:?}", attach.len()),
            });
        }
        Ok(Presence {
            collision_type: function.collision_type,
            inline_type: function.inline_type,
            transform_suffixes: function.transform_suffixes,
            instances,
            symbols,
            attach: attach.pop(),
        })
    }
}
