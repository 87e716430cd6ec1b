//! The shape of `crates/store/src`: no module imports another that imports it back (directly
//! or through others), and no file is over 600 lines. Modules are the files of the folder;
//! an edge is a `crate::m` or `super::m` path (also inside `crate::{...}` groups) naming
//! another module. The crate root (`lib.rs`) declares them all and is not part of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

fn store_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/src")
}

/// Every `.rs` file under `dir`, with the top-level module it belongs to.
fn files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("crates/store/src") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(files(&path).into_iter().map(|(_, p)| (name.clone(), p)));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((name, path));
        }
    }
    out
}

/// The first path segment of each item of `crate::` / `super::` paths in `text`.
fn named_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["crate::", "super::"] {
        for (at, _) in text.match_indices(prefix) {
            let rest = &text[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(inner.split(',').map(|i| first_segment(i.trim())));
            } else {
                out.push(first_segment(rest));
            }
        }
    }
    out
}

fn first_segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// A cycle of `graph`, as the modules along it, if it has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    assert_eq!(find_cycle(&graph(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        named_modules("use crate::{err, stmt::AsTx, rows::*};\nlet x = super::users::f();"),
        ["err", "stmt", "rows", "users"]
    );
}

#[test]
fn the_store_has_no_import_cycle_and_no_long_file() {
    let files = files(&store_src());
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(m, _)| m.clone())
        .filter(|m| m != "lib")
        .collect();
    assert!(modules.len() > 5, "crates/store/src not found");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut long = Vec::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).expect("source");
        if text.lines().count() > MAX_LINES {
            long.push(path.display().to_string());
        }
        if module == "lib" {
            continue;
        }
        let edges = graph.entry(module.clone()).or_default();
        for named in named_modules(&text) {
            if named != *module && modules.contains(&named) {
                edges.insert(named);
            }
        }
    }
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
    assert_eq!(
        find_cycle(&graph),
        None,
        "module import cycle in crates/store"
    );
}
