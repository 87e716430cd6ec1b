//! The eva bulk CSV reader: any bytes give lines, in order, each with its fields or its error,
//! and never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_domain::import::{is_line_break, parse};

fuzz_target!(|data: &[u8]| {
    let breaks = (0..data.len()).filter(|&i| is_line_break(data, i)).count() as u64;
    for min_columns in [1, 8] {
        let lines = parse(data, min_columns);
        let mut last = 0;
        for line in &lines {
            assert!(line.number > last, "line numbers increase");
            assert!(line.number <= breaks + 1, "no line past the end");
            last = line.number;
            if let Ok(fields) = &line.fields {
                assert!(fields.len() >= min_columns);
            }
        }
    }
});
