//! The import's two threads: a reader that reads and validates records
//! (and on a file resolves their customers) in batches, and the batch loop
//! that hands each valid row to a writer (a file's or a server's) and
//! counts and rejects every record in file order.

use super::import::{ImportOptions, ImportSummary, Input};
use super::input::{self, Framer};
use super::parse::{Parsed, Parser, Reject};
use super::rejects::RejectWriter;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store::row_writer::{Resolver, Verdict, WriteError, Writes};
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;

/// What the reader thread found in one record.
pub(super) enum Outcome {
    Blank,
    /// Columns found, and the lines the record spans (more than one: a
    /// quote left open swallowed the lines after it).
    WrongWidth(usize, u64),
    Rejected(Reject),
    Row(Parsed),
}

/// Where a record of a batch stands on the writer side.
enum Slot {
    Blank,
    /// Waiting in the writer's batch until its flush.
    Pending,
    Done(std::result::Result<Verdict, Reject>),
}

/// Records read and validated by the reader thread, in file order.
pub(super) struct Batch {
    records: Vec<csv::ByteRecord>,
    outcomes: Vec<Outcome>,
    /// The line each record starts on.
    lines: Vec<u64>,
    byte_pos: u64,
}

/// Records per batch, and the bytes a batch may hold (so that memory stays
/// flat however long the records are: the reader holds at most a few
/// batches).
const BATCH: usize = 4096;
const BATCH_BYTES: usize = 16 << 20;

pub(super) type CsvReader = csv::Reader<Framer<Box<dyn Read + Send>>>;

/// Reader thread: read and validate records, send them in batches. Record
/// buffers come back through `free` to be reused.
#[allow(clippy::too_many_arguments)]
fn read_batches(
    mut rdr: CsvReader,
    mut parser: Parser,
    mut resolver: Option<Resolver>,
    width: usize,
    delimiter: u8,
    path: PathBuf,
    out: mpsc::SyncSender<Result<Batch>>,
    free: mpsc::Receiver<Vec<csv::ByteRecord>>,
    cancel: &'static std::sync::atomic::AtomicBool,
) {
    loop {
        let mut records = free.try_recv().unwrap_or_default();
        // A buffer that held a long record gives its memory back.
        for r in records.iter_mut() {
            if r.as_slice().len() > 1 << 16 {
                *r = csv::ByteRecord::new();
            }
        }
        records.resize_with(BATCH, csv::ByteRecord::new);
        let mut n = 0;
        let mut bytes = 0;
        let mut outcomes = Vec::with_capacity(BATCH);
        let mut lines = Vec::with_capacity(BATCH);
        let mut ended = false;
        while n < BATCH && bytes < BATCH_BYTES {
            match rdr.read_byte_record(&mut records[n]) {
                Ok(true) => {}
                Ok(false) => {
                    ended = true;
                    break;
                }
                Err(e) => {
                    let err = if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                        Error::Cancelled
                    } else {
                        Error::Other(format!(
                            "{}: read error: {e}",
                            crate::term::safe(&path.display().to_string())
                        ))
                    };
                    let _ = out.send(Err(err));
                    return;
                }
            }
            lines.push(rdr.get_mut().take_line());
            if let Some(whole) = input::uncut(&records[n]) {
                records[n] = whole;
                outcomes.push(Outcome::Rejected(Reject::new(
                    "",
                    format!(
                        "the record is longer than {} MiB (no line end?); only its start is kept here",
                        input::RECORD_MAX >> 20
                    ),
                )));
                bytes += records[n].as_slice().len();
                n += 1;
                continue;
            }
            let rec = &records[n];
            bytes += rec.as_slice().len();
            outcomes.push(
                if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) {
                    Outcome::Blank
                } else if rec.len() != width {
                    Outcome::WrongWidth(rec.len(), lines_spanned(rec))
                } else if let Some(r) = swallowed_rows(rec, width, delimiter) {
                    Outcome::Rejected(r)
                } else {
                    match parser.parse(rec) {
                        Ok(mut p) => {
                            // (On a server, the writer resolves a batch at once.)
                            if let Some(Err(e)) = resolver.as_mut().map(|r| r.resolve(&mut p)) {
                                let _ = out.send(Err(e));
                                return;
                            }
                            Outcome::Row(p)
                        }
                        Err(r) => Outcome::Rejected(r),
                    }
                },
            );
            n += 1;
        }
        records.truncate(n);
        let byte_pos = rdr.position().byte();
        let last = ended;
        if out
            .send(Ok(Batch {
                records,
                outcomes,
                lines,
                byte_pos,
            }))
            .is_err()
            || last
        {
            return;
        }
    }
}

/// The reader thread (records read and validated, and on a file their
/// customers resolved) beside the batch loop that hands them to `writer`.
pub(super) fn read_and_apply(
    writer: &mut dyn Writes,
    input: Input,
    resolver: Option<Resolver>,
    opts: &ImportOptions,
    summary: &mut ImportSummary,
    rejects: &mut RejectWriter,
    ctl: Ctl,
) -> Result<()> {
    let Input {
        parser,
        rdr,
        width,
        total_bytes,
    } = input;
    std::thread::scope(|s| -> Result<()> {
        let (out, batches) = mpsc::sync_channel::<Result<Batch>>(4);
        let (recycle, free) = mpsc::channel::<Vec<csv::ByteRecord>>();
        let file = opts.file.clone();
        let delimiter = opts.delimiter;
        let cancel = crate::signals::cancel_flag();
        let reader = s.spawn(move || {
            read_batches(
                rdr, parser, resolver, width, delimiter, file, out, free, cancel,
            )
        });
        let r = apply_batches(
            writer,
            &batches,
            &recycle,
            summary,
            rejects,
            total_bytes,
            ctl,
        );
        drop(batches);
        reader
            .join()
            .map_err(|_| Error::Other("the CSV reader thread panicked".into()))?;
        r
    })
}

/// How many lines of the file a record spans: one, plus the line ends
/// inside its quoted fields (CR, LF and CRLF each end a line, as the line
/// numbers count them; one that ends the record's last line does not count).
fn lines_spanned(rec: &csv::ByteRecord) -> u64 {
    let mut b = rec.as_slice();
    // A line end that closes the record's last line starts no new one.
    for end in [b"\n".as_slice(), b"\r"] {
        b = b.strip_suffix(end).unwrap_or(b);
    }
    let mut n = 1;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// A record of the right width whose quoted field runs over lines that hold
/// as many separators as a whole row: a quote left open that a later
/// field's quote closed, the rows between read as text of one field (a
/// legitimate multi-line text, as a note, seldom has a line that looks
/// like a whole row). Rejected, not imported as one garbled row.
fn swallowed_rows(rec: &csv::ByteRecord, width: usize, delimiter: u8) -> Option<Reject> {
    // Most records hold no line break: two memchr scans answer for them.
    let b = rec.as_slice();
    if width < 3 || !(b.contains(&b'\n') || b.contains(&b'\r')) || lines_spanned(rec) < 2 {
        return None;
    }
    let row_like = |line: &[u8]| line.iter().filter(|&&b| b == delimiter).count() >= width - 1;
    let rows: usize = rec
        .iter()
        .map(|f| {
            f.split(|&b| b == b'\n' || b == b'\r')
                .skip(1)
                .filter(|l| row_like(l))
                .count()
        })
        .sum();
    (rows > 0).then(|| {
        Reject::new(
            "",
            format!(
                "a quote opened on this line seems to close only {} line{} later: the lines between \
                 read as one field, and {} as many separators as a whole row \
                 (all of them are in the rejects file: close the quote there and import it again)",
                lines_spanned(rec) - 1,
                if lines_spanned(rec) == 2 { "" } else { "s" },
                if rows == 1 {
                    "one of them holds".to_string()
                } else {
                    format!("{rows} of them hold")
                }
            ),
        )
    })
}

/// The batch loop, on either engine: each record's verdict (at once, or at
/// the writer's flush), counted and rejected in file order.
fn apply_batches(
    writer: &mut dyn Writes,
    batches: &mpsc::Receiver<Result<Batch>>,
    recycle: &mpsc::Sender<Vec<csv::ByteRecord>>,
    summary: &mut ImportSummary,
    rejects: &mut RejectWriter,
    total_bytes: u64,
    ctl: Ctl,
) -> Result<()> {
    for batch in batches.iter() {
        ctl.check()?;
        let Batch {
            records,
            outcomes,
            lines,
            byte_pos,
        } = batch?;
        // Each record's verdict: at once, or after the flush of the
        // rows the writer batches; then counted and rejected in order.
        let mut verdicts: Vec<Slot> = Vec::with_capacity(records.len());
        for (slot, outcome) in outcomes.into_iter().enumerate() {
            verdicts.push(match outcome {
                Outcome::Blank => Slot::Blank,
                Outcome::WrongWidth(n, 1) => Slot::Done(Err(Reject::new(
                    "",
                    format!("expected {} columns, found {n}", rejects.headers.len()),
                ))),
                Outcome::WrongWidth(n, span) => Slot::Done(Err(Reject::new(
                    "",
                    format!(
                        "expected {} columns, found {n}: a quote opened on this line is not closed \
                         before the line ends, so this line and the {} after it were read as one \
                         record (all {span} lines are in the rejects file: close the quote there \
                         and import it again)",
                        rejects.headers.len(),
                        span - 1
                    ),
                ))),
                Outcome::Rejected(r) => Slot::Done(Err(r)),
                Outcome::Row(p) => match writer.write(slot, p) {
                    Ok(Some(v)) => Slot::Done(Ok(v)),
                    Ok(None) => Slot::Pending,
                    Err(WriteError::Reject(r)) => Slot::Done(Err(r)),
                    Err(WriteError::Fatal(e)) => return Err(e),
                },
            });
        }
        for (slot, v) in writer.flush()? {
            if let Some(s) = verdicts.get_mut(slot) {
                *s = Slot::Done(v);
            }
        }
        for ((rec, verdict), &line) in records.iter().zip(verdicts).zip(&lines) {
            let verdict = match verdict {
                Slot::Blank => {
                    summary.blank_lines += 1;
                    continue;
                }
                Slot::Done(v) => v,
                Slot::Pending => {
                    return Err(Error::Other(format!(
                        "line {line}: the writer lost track of this row"
                    )))
                }
            };
            summary.read += 1;
            match verdict {
                Ok(Verdict::Inserted) => summary.inserted += 1,
                Ok(Verdict::Updated) => summary.updated += 1,
                Ok(Verdict::Unchanged) => summary.unchanged += 1,
                Err(r) => {
                    summary.rejected += 1;
                    rejects.write(line, &r.field, &r.reason, rec)?;
                }
            }
        }
        ctl.report("import", byte_pos, total_bytes.max(byte_pos));
        let _ = recycle.send(records);
    }
    Ok(())
}
