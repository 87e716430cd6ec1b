//! Ids travel typed: no function or trait method of the core (`crates/domain/src/core`), of
//! the store contract (`crates/domain/src/store`, and the two store traits beside it,
//! `connections.rs` and `directory.rs`) or of the store (`crates/store/src`), public or
//! private, takes an organization's or a user's id as a string, alone or in a slice, a `Vec`
//! or an `Option`. They take `&OrgId` and `&UserId` (`roster_domain::types`), and lists of
//! them as `&[UserId]`, which the surfaces build at the edge.
//!
//! The sources are read as text: comments, strings and character literals are blanked, then
//! the parameters of each `fn` are checked. A parameter is an id by its name (`NAMES`, or a
//! name ending in one of `SUFFIXES`: `target_user_id`, `creator_org_ids`), and a string when
//! its type is built of `str` or `String` and the wrappers of `WRAPPERS` only (`&[String]`,
//! `Option<&str>`, `impl Into<String>`). A list of user ids named only `ids` is not seen: name
//! it `user_ids`.

use std::path::{Path, PathBuf};

const CRATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The folders and files whose signatures are checked, relative to `crates/`.
const CHECKED: &[&str] = &[
    "domain/src/core",
    "domain/src/store",
    "domain/src/connections.rs",
    "domain/src/directory.rs",
    "store/src",
];

/// The parameter names of organization and user ids, and of lists of them (`target` is the
/// user an audit event is about, `Core::audit`'s).
const NAMES: &[&str] = &[
    "org_id", "user_id", "org", "user", "org_ids", "user_ids", "orgs", "users", "target", "targets",
];
/// The endings of the other names of such ids: `target_user_id`, `creator_org_id`, `new_org`.
const SUFFIXES: &[&str] = &[
    "_org_id",
    "_user_id",
    "_org_ids",
    "_user_ids",
    "_org",
    "_user",
    "_orgs",
    "_users",
];

/// Whether a parameter's name is that of an organization's or a user's id.
fn is_id_name(name: &str) -> bool {
    NAMES.contains(&name) || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// The types that hold strings without making them anything else: a parameter's type whose
/// every word is one of these or `str`/`String` is a string, or a list of strings.
const WRAPPERS: &[&str] = &[
    "Option",
    "Vec",
    "Box",
    "Arc",
    "Cow",
    "HashSet",
    "BTreeSet",
    "impl",
    "Into",
    "AsRef",
    "IntoIterator",
    "Item",
    "dyn",
];

/// Whether a type (whitespace and lifetimes removed, so `impl Into<String>` reads
/// `implInto<String>`) is a string or a collection of strings.
fn is_strings(ty: &str) -> bool {
    let words: Vec<&str> = ty
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .flat_map(
            |w| match w.strip_prefix("impl").or_else(|| w.strip_prefix("dyn")) {
                Some(rest) if !rest.is_empty() => vec!["impl", rest],
                _ => vec![w],
            },
        )
        .collect();
    words.iter().any(|w| *w == "str" || *w == "String")
        && words
            .iter()
            .all(|w| *w == "str" || *w == "String" || WRAPPERS.contains(w))
}

fn sources(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
        return;
    }
    for entry in std::fs::read_dir(path).expect("sources") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text with comments, string literals and character literals replaced by spaces (line
/// breaks kept, so that positions keep their line numbers).
fn blank(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                wipe(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                wipe(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = text[body..]
                    .find(&close)
                    .map_or(b.len(), |n| body + n + close.len());
                wipe(&mut out, i, end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(b.len());
                wipe(&mut out, i, end);
                i = end;
            }
            // A character literal ('x', '\n', '\''), not a lifetime ('a).
            b'\'' => {
                let end = if b.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map(|n| i + 2 + n + 1)
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 3)
                } else {
                    None
                };
                match end {
                    Some(end) => {
                        wipe(&mut out, i, end);
                        i = end;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("ASCII blanks keep UTF-8")
}

/// A parameter: its name, its type with whitespace and lifetimes removed (`&'a str` is
/// `&str`), and where it begins.
struct Param {
    name: String,
    ty: String,
    at: usize,
}

fn param(text: &str, from: usize, to: usize) -> Option<Param> {
    let p = &text[from..to];
    let (name, ty) = p.split_once(':')?;
    let name = name.trim().trim_start_matches("mut ").trim().to_owned();
    let mut plain = String::new();
    let mut chars = ty.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            while chars
                .next_if(|c| c.is_alphanumeric() || *c == '_')
                .is_some()
            {}
        } else if !c.is_whitespace() {
            plain.push(c);
        }
    }
    let at = from + (p.len() - p.trim_start().len());
    Some(Param {
        name,
        ty: plain,
        at,
    })
}

/// The parameters of the list starting after `(` at `from`, and the position after its `)`.
fn params(text: &str, from: usize) -> (Vec<Param>, usize) {
    let mut depth = 0i32;
    let mut start = from;
    let mut out = Vec::new();
    let mut last = ' ';
    for (n, c) in text[from..].char_indices() {
        let at = from + n;
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' if depth == 0 => {
                out.extend(param(text, start, at));
                return (out, at + 1);
            }
            // `->` in a closure's type is not a closing angle bracket.
            '>' if last == '-' => {}
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.extend(param(text, start, at));
                start = at + 1;
            }
            _ => {}
        }
        last = c;
    }
    (out, text.len())
}

/// Each `file:line: fn name(name: type)` of the text that takes an id as a string.
fn problems_in_text(file: &str, text: &str) -> Vec<String> {
    let text = blank(text);
    let b = text.as_bytes();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut problems = Vec::new();
    let mut i = 0;
    while let Some(n) = text[i..].find("fn ") {
        let at = i + n;
        i = at + 3;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let Some(open) = text[at..].find('(').map(|n| at + n) else {
            break;
        };
        let name = text[at + 3..open].trim();
        let name = name.split('<').next().unwrap_or(name).trim();
        let (list, after) = params(&text, open + 1);
        for p in list {
            if is_id_name(&p.name) && is_strings(&p.ty) {
                problems.push(format!(
                    "{file}:{}: fn {name}({}: {})",
                    line_of(p.at),
                    p.name,
                    p.ty
                ));
            }
        }
        i = after;
    }
    problems
}

fn problems_under(root: &Path, checked: &[&str]) -> (usize, Vec<String>) {
    let mut files = Vec::new();
    for c in checked {
        sources(&root.join(c), &mut files);
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        problems.extend(problems_in_text(&shown, &text));
    }
    (files.len(), problems)
}

#[test]
fn no_signature_takes_an_org_or_user_id_as_a_string() {
    let (files, problems) = problems_under(Path::new(CRATES), CHECKED);
    assert!(files > 60, "the sources were found: {files} files");
    assert!(
        problems.is_empty(),
        "these take an id as a string (use &OrgId / &UserId from roster_domain::types):\n{}",
        problems.join("\n")
    );
}

/// The check finds what it looks for: string ids planted in a public function, a trait
/// method, a trait implementation's method, a public method, a private method and a private
/// helper, alone or as slices, vectors and options, are reported with their lines; a struct
/// field, typed ids, a closure's string, a tuple with a record, an id named only `ids` and the
/// same words in comments and strings are not; nor are typed targets, nor names that only
/// begin like an id's (`user_agent`, `org_name`).
#[test]
fn the_check_sees_planted_string_ids() {
    let text = r##"
//! fn commented(org_id: &str)
pub struct Row {
    pub org_id: String,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user(&self, org_id: &str, user_id: &UserId) -> StoreResult<Option<User>>;
    /// fn in_doc(user_id: &str)
    async fn typed(&self, org_id: &OrgId, f: impl Fn(&str) -> Option<String>) -> R<()>;
    async fn env_access(&self, org_id: &OrgId, user_ids: &[String]) -> R<()>;
}

#[async_trait]
impl UserStore for SqlStore {
    async fn get_user(
        &self,
        org_id: &OrgId,
        user_id: &'_ str,
        mut user_id: String,
    ) -> R<Option<User>> {
        let q = "fn in_string(org_id: &str) {";
        let c = '{';
        Ok(None)
    }
}

impl SqlStore {
    pub(crate) async fn route(&self, org_id: Option<&str>) -> R<&Db> {
        todo!()
    }
    async fn private(&self, org_id: &str) {}
}

pub fn free<'a>(x: &'a str, user_id: impl Into<String>) {}
fn helper(org: &str, user: &'a str, users: Vec<String>) {}
fn lists(user_ids: &[&str], org_ids: Option<&[String]>, ids: &[String]) {}
fn fine(user_ids: &[UserId], org: &Organization, user: &[(String, EnvAccess)]) {}
fn more(target: Option<&str>, target_user_id: &str, creator_org_ids: Vec<String>, new_org: String) {}
fn typed_more(target: Option<&UserId>, user_agent: &str, org_name: &str, targets: &[UserId]) {}
"##;
    let problems = problems_in_text("planted.rs", text).join("\n");
    for expected in [
        "planted.rs:9: fn get_user(org_id: &str)",
        "planted.rs:12: fn env_access(user_ids: &[String])",
        "planted.rs:20: fn get_user(user_id: &str)",
        "planted.rs:21: fn get_user(user_id: String)",
        "planted.rs:30: fn route(org_id: Option<&str>)",
        "planted.rs:33: fn private(org_id: &str)",
        "planted.rs:36: fn free(user_id: implInto<String>)",
        "planted.rs:37: fn helper(org: &str)",
        "planted.rs:37: fn helper(user: &str)",
        "planted.rs:37: fn helper(users: Vec<String>)",
        "planted.rs:38: fn lists(user_ids: &[&str])",
        "planted.rs:38: fn lists(org_ids: Option<&[String]>)",
        "planted.rs:40: fn more(target: Option<&str>)",
        "planted.rs:40: fn more(target_user_id: &str)",
        "planted.rs:40: fn more(creator_org_ids: Vec<String>)",
        "planted.rs:40: fn more(new_org: String)",
    ] {
        assert!(problems.contains(expected), "{expected} in:\n{problems}");
    }
    for unexpected in ["commented", "in_doc", "in_string", "typed", "fine", "(ids:"] {
        assert!(
            !problems.contains(unexpected),
            "{unexpected} in:\n{problems}"
        );
    }
    assert_eq!(problems.lines().count(), 16, "{problems}");
}
