//! The reject file: every rejected row with its line, field and reason,
//! written privately and moved into place before the import commits.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// Writes rejected rows (line, field, reason, then the original cells).
/// The file is only created when the first row is rejected, as a private
/// temporary file that [`RejectWriter::close`] syncs and renames into place
/// before the import commits (see `crate::outfile`).
pub(super) struct RejectWriter {
    path: PathBuf,
    pub(crate) headers: Vec<String>,
    writer: Option<csv::Writer<crate::outfile::OutFile>>,
    pub(super) count: u64,
    /// Files the reject file must never be: the database and its side
    /// files, and the input.
    protected: Vec<PathBuf>,
}

/// The most one rejected cell keeps (the reject file of a hostile file
/// stays small; a cell this long is not a value anyone retypes).
const REJECT_CELL_MAX: usize = 64 * 1024;

impl RejectWriter {
    pub(super) fn new(path: PathBuf, headers: &[String], protected: Vec<PathBuf>) -> Self {
        RejectWriter {
            path,
            headers: headers.to_vec(),
            writer: None,
            count: 0,
            protected,
        }
    }

    pub(super) fn write(
        &mut self,
        line: u64,
        field: &str,
        reason: &str,
        record: &csv::ByteRecord,
    ) -> Result<()> {
        if self.writer.is_none() {
            let f = crate::outfile::OutFile::create(&self.path, &self.protected)?;
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(f);
            let mut head = vec!["line".to_string(), "field".into(), "reason".into()];
            head.extend(self.headers.iter().cloned());
            w.write_record(&head).map_err(csv_err)?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            let mut out = csv::ByteRecord::new();
            out.push_field(line.to_string().as_bytes());
            out.push_field(field.as_bytes());
            out.push_field(reason.as_bytes());
            for f in record.iter() {
                out.push_field(&f[..f.len().min(REJECT_CELL_MAX)]);
            }
            w.write_byte_record(&out).map_err(csv_err)?;
        }
        self.count += 1;
        Ok(())
    }

    /// Sync the reject file and move it into place (before the commit: if
    /// it cannot be written, the import rolls back).
    pub(super) fn close(&mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            let f = w
                .into_inner()
                .map_err(|e| Error::Other(format!("writing the reject file: {}", e.error())))?;
            f.commit()?;
        }
        Ok(())
    }
}

fn csv_err(e: csv::Error) -> Error {
    Error::Other(format!("writing the reject file: {e}"))
}
