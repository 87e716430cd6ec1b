//! The eva bulk CSV format: `;`-separated `email;name;company;role;password;environmentUuid;
//! environmentName;bot`, one user per line. Tolerates a header line, a UTF-8 BOM, CRLF, quoted
//! fields and blank lines; every other defect becomes an error of its own line.

pub const COLUMNS: [&str; 8] = [
    "email",
    "name",
    "company",
    "role",
    "password",
    "environmentUuid",
    "environmentName",
    "bot",
];

/// One line of the file: its fields, or why it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: u64,
    /// The first column, when it could be read.
    pub email: String,
    pub fields: Result<Vec<String>, String>,
}

impl Line {
    /// The key an error of this line is reported under: its email, else `line N`.
    pub fn key(&self) -> String {
        if self.email.is_empty() {
            format!("line {}", self.number)
        } else {
            self.email.clone()
        }
    }
}

/// Whether a line ends at byte `i`: a LF, or a CR not followed by LF (the reader takes a lone
/// CR for a line break too, as old Mac files have them).
pub fn is_line_break(bytes: &[u8], i: usize) -> bool {
    match bytes.get(i) {
        Some(b'\n') => true,
        Some(b'\r') => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// Splits a CSV file into lines. `min_columns` is how many columns a line must have (8 for
/// bulk-create; bulk-delete reads only the email and accepts a single column).
pub fn parse(bytes: &[u8], min_columns: usize) -> Vec<Line> {
    let mut header_pending = true;
    parse_segment(bytes, min_columns, 0, true, &mut header_pending)
}

/// Parses whole records of a file: `lines_before` line breaks precede `bytes` in the file,
/// `at_start` says whether `bytes` begin the file (a BOM is stripped only there), and
/// `header_pending` whether the first non-blank record is still to come (it may be a header).
fn parse_segment(
    bytes: &[u8],
    min_columns: usize,
    lines_before: u64,
    at_start: bool,
    header_pending: &mut bool,
) -> Vec<Line> {
    let bytes = if at_start {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    } else {
        bytes
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    // The reader's own line count is unreliable with CRLF: count newlines before each record,
    // carrying the count forward so the whole file is scanned once.
    let mut counted = (0usize, 1u64 + lines_before);
    let mut line_at = |byte: u64| {
        let mut at = (byte as usize).min(bytes.len());
        // A record's position may point at the line break that ended the previous one.
        while matches!(bytes.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        let (from, lines) = counted;
        let more = (from.min(at)..at)
            .filter(|&i| is_line_break(bytes, i))
            .count() as u64;
        counted = (at.max(from), lines + more);
        counted.1
    };
    let mut out = Vec::new();
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let number = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
                out.push(Line {
                    number,
                    email: String::new(),
                    fields: Err(format!("the line cannot be read as CSV: {e}")),
                });
                continue;
            }
        };
        let number = record.position().map(|p| line_at(p.byte())).unwrap_or(0);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let fields: Result<Vec<String>, String> = record
            .iter()
            .map(|f| String::from_utf8(f.to_vec()).map(|s| s.trim().to_owned()))
            .collect::<Result<_, _>>()
            .map_err(|_| "the line is not valid UTF-8".to_owned());
        if *header_pending {
            *header_pending = false;
            if let Ok(f) = &fields {
                let is_header = f.first().is_some_and(|c| c.eq_ignore_ascii_case("email"))
                    && f.iter()
                        .zip(COLUMNS)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b));
                if is_header {
                    continue;
                }
            }
        }
        let fields = fields.and_then(|f| {
            if f.len() < min_columns || f.len() > COLUMNS.len() {
                Err(format!(
                    "the line has {} columns; expected {}",
                    f.len(),
                    if min_columns == COLUMNS.len() {
                        "8 (email;name;company;role;password;environmentUuid;environmentName;bot)"
                            .to_owned()
                    } else {
                        format!("{min_columns} to 8")
                    }
                ))
            } else {
                Ok(f)
            }
        });
        let email = record
            .get(0)
            .and_then(|e| std::str::from_utf8(e).ok())
            .unwrap_or("")
            .trim()
            .to_owned();
        out.push(Line {
            number,
            email,
            fields,
        });
    }
    out
}

/// The longest record a streamed file may hold: beyond it (an unclosed quote, most likely)
/// the stream stops rather than buffer the rest of the file.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A CSV file read as it arrives: each [`LineStream::feed`] hands out the lines of the records
/// completed so far, numbered as [`parse`] numbers them in the whole file, and keeps only the
/// unfinished record. Memory is bounded by a chunk and a record, not by the file.
pub struct LineStream {
    min_columns: usize,
    /// Finds where records end (quotes included), across chunks.
    scanner: csv_core::Reader,
    pending: Vec<u8>,
    /// Bytes of `pending` the scanner has read.
    scanned: usize,
    /// The end of the last whole record in `pending`.
    boundary: usize,
    /// Line breaks of the file before `pending`.
    lines_before: u64,
    at_start: bool,
    header_pending: bool,
}

impl LineStream {
    pub fn new(min_columns: usize) -> Self {
        Self {
            min_columns,
            scanner: csv_core::ReaderBuilder::new().delimiter(b';').build(),
            pending: Vec::new(),
            scanned: 0,
            boundary: 0,
            lines_before: 0,
            at_start: true,
            header_pending: true,
        }
    }

    /// Bytes received and not yet handed out as lines.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Takes the next bytes of the file; returns the lines of the records they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Line>, String> {
        self.pending.extend_from_slice(chunk);
        let (mut out, mut ends) = ([0u8; 8192], [0usize; 16]);
        while self.scanned < self.pending.len() {
            let (result, read, _, _) =
                self.scanner
                    .read_record(&self.pending[self.scanned..], &mut out, &mut ends);
            self.scanned += read;
            match result {
                csv_core::ReadRecordResult::Record => self.boundary = self.scanned,
                csv_core::ReadRecordResult::End => break,
                _ if read == 0 => break,
                _ => {}
            }
        }
        // Cut after a LF, or after a CR whose next byte is known not to be a LF (a CR LF is
        // kept whole, so that each side counts its line breaks as the whole file would).
        let mut cut = self.boundary;
        if cut > 0 && self.pending[cut - 1] == b'\r' {
            match self.pending.get(cut) {
                Some(b'\n') => cut += 1,
                Some(_) => {}
                None => cut = 0,
            }
        }
        if cut == 0 {
            if self.pending.len() > MAX_RECORD_BYTES {
                return Err(format!(
                    "a line is longer than {} bytes (an unclosed quote?)",
                    MAX_RECORD_BYTES
                ));
            }
            return Ok(Vec::new());
        }
        Ok(self.take(cut))
    }

    /// The end of the file: the lines of what remains.
    pub fn finish(&mut self) -> Vec<Line> {
        let cut = self.pending.len();
        self.take(cut)
    }

    fn take(&mut self, cut: usize) -> Vec<Line> {
        let segment = &self.pending[..cut];
        let lines = parse_segment(
            segment,
            self.min_columns,
            self.lines_before,
            self.at_start,
            &mut self.header_pending,
        );
        self.lines_before += (0..segment.len())
            .filter(|&i| is_line_break(segment, i))
            .count() as u64;
        self.at_start = false;
        self.pending.drain(..cut);
        self.scanned = self.scanned.saturating_sub(cut);
        self.boundary = self.boundary.saturating_sub(cut);
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_files() {
        let file =
            b"\xEF\xBB\xBFemail;name;company;role;password;environmentUuid;environmentName;bot\r\n\
ana@x.example;\"Souza; Ana\";Corp;ADMIN;;;;\r\n\
\r\n\
short@x.example;Short\r\n\
bad@x.example;\xff\xfe;;ADMIN;;;;\n\
;Nameless;;ADMIN;;;;\n";
        let lines = parse(file, 8);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(
            lines[0].fields.as_ref().map(|f| f[1].clone()),
            Ok("Souza; Ana".to_owned())
        );
        assert_eq!(lines[0].number, 2);
        assert!(lines[1]
            .fields
            .as_ref()
            .is_err_and(|e| e.contains("2 columns")));
        assert_eq!(lines[1].key(), "short@x.example");
        assert!(lines[2].fields.as_ref().is_err_and(|e| e.contains("UTF-8")));
        assert_eq!(
            lines[2].key(),
            "bad@x.example",
            "the email is readable even when another column is not"
        );
        assert_eq!(lines[3].key(), format!("line {}", lines[3].number));
        assert!(parse(b"", 8).is_empty());
        assert_eq!(parse(b"a@x.example\n", 1).len(), 1);
    }

    /// Found by the `csv_lines` fuzz target: lone CRs end lines for the reader, so they must
    /// for the line numbers too.
    #[test]
    fn lone_carriage_returns_end_lines() {
        let lines = parse(b"a@x.example\rb@x.example\r\nc@x.example\r\rd@x.example", 1);
        let numbers: Vec<u64> = lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 2, 3, 5]);
        let lines = parse(b"\x8b\xff\t\r\0\0", 1);
        assert_eq!(lines.iter().map(|l| l.number).collect::<Vec<_>>(), [1, 2]);
    }

    /// A file fed in chunks of every size gives the lines the whole file gives.
    #[test]
    fn streamed_files_read_as_whole_ones() {
        let files: [&[u8]; 4] = [
            b"\xEF\xBB\xBFemail;name;company;role;password;environmentUuid;environmentName;bot\r\n\
a@x.example;\"Souza;\r\n Ana\";Corp;ADMIN;;;;\r\n\r\nshort@x.example;Short\r\n\
bad@x.example;\xff\xfe;;ADMIN;;;;\n;Nameless;;ADMIN;;;;\n",
            b"a@x.example\rb@x.example\r\nc@x.example\r\rd@x.example",
            b"\n\n\nemail\nx@x.example\n",
            b"\x8b\xff\t\r\0\0",
        ];
        for file in files {
            let whole = parse(file, 1);
            for size in 1..=file.len() {
                let mut stream = LineStream::new(1);
                let mut lines = Vec::new();
                for chunk in file.chunks(size) {
                    lines.extend(stream.feed(chunk).expect("a short line"));
                }
                lines.extend(stream.finish());
                assert_eq!(
                    lines,
                    whole,
                    "chunks of {size} of {:?}",
                    String::from_utf8_lossy(file)
                );
            }
        }
        let mut stream = LineStream::new(1);
        assert_eq!(stream.feed(b"a@x.example\n\"").map(|l| l.len()), Ok(1));
        assert!(stream.feed(&vec![b'x'; MAX_RECORD_BYTES + 1]).is_err());
    }
}
