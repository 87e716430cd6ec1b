//! The CI scripts' own rules: `scripts/schemathesis` fails on every wrong answer from Roster and
//! never on an error inside schemathesis itself (that pass is rerun once and reported), and its
//! log keeps lines short. The verdict comes from `scripts/schemathesis_verdict.py`, fed here
//! with JUnit reports in the shape schemathesis writes.

use std::io::Write;
use std::process::{Command, Stdio};

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/schemathesis_verdict.py")
}

fn report(cases: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(
        f,
        r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis">{cases}</testsuite></testsuites>"#
    )
    .unwrap();
    f
}

fn verdict(cases: &str) -> (i32, String) {
    let f = report(cases);
    let out = Command::new("python3")
        .arg(script())
        .arg("verdict")
        .arg(f.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn schemathesis_passes_fail_on_roster_and_not_on_the_tool_itself() {
    let ok = r#"<testcase name="GET /v1/{organization}/user/"/>"#;
    assert_eq!(verdict(ok).0, 0);
    // The defect seen in CI: every case passed, the tool crashed generating a body.
    let internal = r#"<testcase name="POST /v1/{organization}/organization/"><error type="error">hypothesis.errors.FlakyFailure: Hypothesis test_case produces unreliable results
SystemError: AST constructor recursion depth mismatch (before=48, after=50)</error></testcase>"#;
    let (code, said) = verdict(&format!("{ok}{internal}"));
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("errors inside schemathesis"), "{said}");
    // A wrong response from Roster fails, even next to an internal error.
    let wrong = r#"<testcase name="GET /users"><failure type="failure" message="not_a_server_error">1. Server error</failure></testcase>"#;
    assert_eq!(verdict(wrong).0, 1);
    assert_eq!(verdict(&format!("{internal}{wrong}")).0, 1);
    // Roster not answering is Roster's, though schemathesis files it as an error.
    let down = r#"<testcase name="GET /users"><error type="error">requests.exceptions.ConnectionError: Max retries exceeded ([Errno 111] Connection refused)</error></testcase>"#;
    assert_eq!(verdict(down).0, 1);
}

#[test]
fn schemathesis_log_lines_are_cut_short() {
    let mut child = Command::new("python3")
        .arg(script())
        .args(["clip", "2000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let long = "x".repeat(100_000);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("short\n{long}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "short");
    assert!(lines[1].len() < 2100, "a {} byte line", lines[1].len());
    assert!(
        lines[1].ends_with("[... 98000 more characters cut]"),
        "{}",
        &lines[1][1990..]
    );
}
