//! The file an import reads, opened once and read with bounded memory.
//!
//! - `-` is standard input; a FIFO is opened without blocking (a writer may
//!   come later) and read with `poll`, so Ctrl-C ends an import that waits
//!   for input; directories and devices are refused with a clear message.
//! - [`Framer`] sits between the file and the CSV reader. It follows the
//!   CSV grammar the reader uses (quotes, `""`, CR, LF and CRLF line ends,
//!   blank lines skipped) to know where each record starts, so it can give
//!   every record its true line number without reading the file twice, and
//!   it cuts a record longer than [`RECORD_MAX`] short: the reader never
//!   holds more than that of one record, whatever the file (a 2 GB line, a
//!   file of NULs), and the cut record is marked so the importer rejects it.

use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest record (one CSV row, all its fields) an import accepts.
pub const RECORD_MAX: usize = 4 << 20;

/// Ends the part of a cut record the reader sees: bytes no valid UTF-8 text
/// and no ASCII delimiter contain.
pub const CUT_MARK: &[u8] = b"\xFF\xFE\xFF\xFE";

/// The input of an import.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    /// The size of a regular file (for progress); None for a pipe.
    pub size: Option<u64>,
    /// A regular file (the only kind `--dry-run`'s checks can read twice).
    pub regular: bool,
}

fn file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Open the input of an import once: `-` for standard input.
pub fn open(path: &Path, cancel: &'static AtomicBool) -> Result<Input> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        if std::io::IsTerminal::is_terminal(&stdin) {
            return Err(file_error(
                path,
                "standard input is a terminal; pipe a CSV file into crmtop or name the file",
            ));
        }
        // SAFETY: fd 0 stays open for the life of the process; the File is
        // leaked-by-dup so closing it does not close standard input.
        let fd = unsafe { libc::dup(0) };
        if fd < 0 {
            return Err(file_error(
                path,
                std::io::Error::last_os_error().to_string(),
            ));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let f = unsafe { File::from_raw_fd(fd) };
        let regular = f.metadata().map(|m| m.is_file()).unwrap_or(false);
        return Ok(Input {
            size: if regular {
                f.metadata().ok().map(|m| m.len())
            } else {
                None
            },
            regular,
            reader: Box::new(PollRead { file: f, cancel }),
        });
    }
    // O_NONBLOCK: opening a FIFO must not wait for its writer here (where
    // nothing could be cancelled); the reads below wait with poll instead.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| file_error(path, e.to_string()))?;
    let m = f.metadata().map_err(|e| file_error(path, e.to_string()))?;
    let ft = m.file_type();
    if ft.is_dir() {
        return Err(file_error(path, "is a directory, not a CSV file"));
    }
    if ft.is_block_device() || ft.is_char_device() || ft.is_socket() {
        return Err(file_error(
            path,
            "is a device or socket, not a CSV file (use `-` to read standard input)",
        ));
    }
    // Back to blocking reads (poll decides when to read).
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    if ft.is_file() {
        if m.len() == 0 {
            return Err(file_error(
                path,
                "the file is empty (a header row is required)",
            ));
        }
        return Ok(Input {
            size: Some(m.len()),
            regular: true,
            reader: Box::new(f),
        });
    }
    Ok(Input {
        size: None,
        regular: false,
        reader: Box::new(PollRead { file: f, cancel }),
    })
}

/// Reads a pipe, waiting with `poll` in short steps so a cancel (Ctrl-C)
/// ends the wait.
struct PollRead {
    file: File,
    cancel: &'static AtomicBool,
}

impl Read for PollRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("cancelled"));
            }
            let mut pfd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, 100) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n > 0 {
                return match self.file.read(buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    r => r,
                };
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum St {
    /// Between records (line ends and blank lines are skipped here).
    StartRecord,
    StartField,
    InField,
    InQuoted,
    /// A quote inside a quoted field: the end of the field, or `""`.
    QuoteInQuoted,
}

/// See the module documentation.
pub struct Framer<R: Read> {
    inner: R,
    delimiter: u8,
    st: St,
    /// The line the input is on (1-based; CR, LF and CRLF each end a line).
    line: u64,
    last_cr: bool,
    /// Bytes of the current record so far.
    rec_len: usize,
    /// Skipping the rest of a cut record.
    skipping: bool,
    /// The line each record starts on, in order, until taken.
    starts: VecDeque<u64>,
    /// The longest record handed on whole.
    limit: usize,
    /// Read from `inner` but not yet handed on.
    carry: Vec<u8>,
    carry_at: usize,
    /// Bytes to hand on before anything else (a cut record's end).
    inject: Vec<u8>,
}

impl<R: Read> Framer<R> {
    pub fn new(inner: R, delimiter: u8) -> Self {
        Self::with_limit(inner, delimiter, RECORD_MAX)
    }

    pub fn with_limit(inner: R, delimiter: u8, limit: usize) -> Self {
        Framer {
            inner,
            delimiter,
            st: St::StartRecord,
            line: 1,
            last_cr: false,
            rec_len: 0,
            skipping: false,
            starts: VecDeque::new(),
            limit,
            carry: Vec::new(),
            carry_at: 0,
            inject: Vec::new(),
        }
    }

    /// The line the next record the reader returns starts on.
    pub fn take_line(&mut self) -> u64 {
        self.starts.pop_front().unwrap_or(self.line)
    }

    /// Advance the grammar by one input byte; returns whether the byte is
    /// part of a record (false for line ends and blank lines between
    /// records).
    fn step(&mut self, b: u8) -> bool {
        let eol = b == b'\n' || b == b'\r';
        if b == b'\n' {
            if !self.last_cr {
                self.line += 1;
            }
        } else if b == b'\r' {
            self.line += 1;
        }
        self.last_cr = b == b'\r';
        match self.st {
            St::StartRecord => {
                if eol {
                    return false;
                }
                // The line counter already moved for a CR/LF before this.
                self.starts.push_back(self.line);
                self.rec_len = 0;
                self.st = St::StartField;
                self.field_byte(b);
            }
            St::StartField | St::InField => {
                if eol {
                    self.st = St::StartRecord;
                } else if self.st == St::StartField {
                    self.field_byte(b);
                } else if b == self.delimiter {
                    self.st = St::StartField;
                }
            }
            St::InQuoted => {
                if b == b'"' {
                    self.st = St::QuoteInQuoted;
                }
            }
            St::QuoteInQuoted => {
                if b == b'"' {
                    self.st = St::InQuoted;
                } else if b == self.delimiter {
                    self.st = St::StartField;
                } else if eol {
                    self.st = St::StartRecord;
                } else {
                    self.st = St::InField;
                }
            }
        }
        true
    }

    /// The first byte of a field.
    fn field_byte(&mut self, b: u8) {
        self.st = if b == b'"' {
            St::InQuoted
        } else if b == self.delimiter {
            St::StartField
        } else {
            St::InField
        };
    }

    fn refill(&mut self) -> std::io::Result<bool> {
        if self.carry_at < self.carry.len() {
            return Ok(true);
        }
        self.carry.resize(1 << 16, 0);
        self.carry_at = 0;
        let n = loop {
            match self.inner.read(&mut self.carry) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        self.carry.truncate(n);
        Ok(n > 0)
    }
}

impl<R: Read> Read for Framer<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.inject.is_empty() {
            let n = self.inject.len().min(buf.len());
            buf[..n].copy_from_slice(&self.inject[..n]);
            self.inject.drain(..n);
            return Ok(n);
        }
        let mut out = 0;
        while out < buf.len() {
            if !self.refill()? {
                break;
            }
            let b = self.carry[self.carry_at];
            self.carry_at += 1;
            if self.skipping {
                self.step(b);
                if self.st == St::StartRecord {
                    self.skipping = false;
                }
                continue;
            }
            let in_record = self.step(b);
            if in_record {
                self.rec_len += 1;
                if self.rec_len > self.limit && self.st != St::StartRecord {
                    // Cut: the reader gets the mark and an end of record;
                    // the rest of this record is skipped.
                    let mut end = CUT_MARK.to_vec();
                    if self.st == St::InQuoted {
                        end.push(b'"');
                    }
                    end.push(b'\n');
                    self.inject = end;
                    self.skipping = true;
                    break;
                }
            }
            buf[out] = b;
            out += 1;
        }
        if out == 0 && !self.inject.is_empty() {
            return self.read(buf);
        }
        Ok(out)
    }
}

/// Whether a record was cut by the framer (its last field ends with the
/// mark); returns the record without the mark.
pub fn uncut(rec: &csv::ByteRecord) -> Option<csv::ByteRecord> {
    let last = rec.get(rec.len().checked_sub(1)?)?;
    if !last.ends_with(CUT_MARK) {
        return None;
    }
    let mut out = csv::ByteRecord::new();
    for (i, f) in rec.iter().enumerate() {
        if i + 1 == rec.len() {
            out.push_field(&f[..f.len() - CUT_MARK.len()]);
        } else {
            out.push_field(f);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8], limit: usize) -> Vec<(u64, Vec<String>, bool)> {
        let framer = Framer::with_limit(data, b',', limit);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(framer);
        let mut out = Vec::new();
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let line = rdr.get_mut().take_line();
            let (r, cut) = match uncut(&rec) {
                Some(r) => (r, true),
                None => (rec.clone(), false),
            };
            out.push((
                line,
                r.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
                cut,
            ));
        }
        out
    }

    #[test]
    fn line_numbers_follow_crlf_blank_lines_and_quoted_newlines() {
        let got = frame(
            b"a,b\r\n\r\n1,\"x\r\ny\"\r\n2,z\n\n\n3,\"q\"\"\"\r4,w",
            1 << 20,
        );
        let lines: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(lines, vec![1, 3, 5, 8, 9]);
        assert_eq!(got[1].1, vec!["1", "x\r\ny"]);
        assert_eq!(got[3].1, vec!["3", "q\""]);
        assert!(got.iter().all(|g| !g.2));
    }

    #[test]
    fn a_long_record_is_cut_and_the_next_one_is_whole() {
        let mut data = b"h1,h2\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 5000));
        data.extend(b",y\n\"quoted");
        data.extend(std::iter::repeat_n(b'\n', 3000));
        data.extend(b"\",z\nok,1\n");
        data.extend(std::iter::repeat_n(0u8, 10_000));
        let got = frame(&data, 1000);
        assert_eq!(
            got.len(),
            5,
            "{:?}",
            got.iter().map(|g| (g.0, g.2)).collect::<Vec<_>>()
        );
        assert_eq!((got[1].0, got[1].2), (2, true));
        assert!(got[1].1[0].len() <= 1000);
        assert_eq!((got[2].0, got[2].2), (3, true));
        assert_eq!((got[3].0, got[3].2), (3004, false));
        assert_eq!(got[3].1, vec!["ok", "1"]);
        assert_eq!((got[4].0, got[4].2), (3005, true));
    }
}
