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
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    // The reader's own line count is unreliable with CRLF: count newlines before each record,
    // carrying the count forward so the whole file is scanned once.
    let mut counted = (0usize, 1u64);
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
    let mut first = true;
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
        if first {
            first = false;
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
}
