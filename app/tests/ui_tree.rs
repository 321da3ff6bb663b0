//! The shape of `app/src/ui`, checked from its source text: the modules
//! import each other without a cycle, and no page reaches into another
//! page (only the shell, `ui/mod.rs`, puts pages on screen). A cycle or a
//! page importing a page is what made the editor family hard to read;
//! this keeps it from coming back.
//!
//! An edge is a path written in a module: `super::…` or `crate::ui::…`, in a
//! `use` or inline (a component in `view!`), grouped (`use super::{a, b}`)
//! or not. It ends at the deepest module file the path names. A module's
//! own `#[cfg(test)] mod tests` is left out (its `super` is the module), and
//! so are comment lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module by its path below `ui` (`[]` is `ui/mod.rs`, `["editor", "rows"]`
/// is `ui/editor/rows.rs`).
type Module = Vec<String>;

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui")
}

/// Every module file below `dir`, with its source (tests cut off).
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("app/src/ui is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name").to_owned();
        if path.is_dir() {
            let mut module = prefix.clone();
            module.push(name);
            modules(&path, &module, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.clone();
            if name != "mod" {
                module.push(name);
            }
            let source = std::fs::read_to_string(&path).expect("a readable source file");
            out.insert(module, without_tests(&source));
        }
    }
}

/// The code of a module: its test module and its comment lines left out
/// (a doc link to a module is no import of it).
fn without_tests(source: &str) -> String {
    let code = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The paths (as segments) that start with `super::` or `crate::ui::` in
/// `source`, groups expanded.
fn paths(source: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        if boundary && (rest.starts_with("super::") || rest.starts_with("crate::ui::")) {
            let (mut tails, used) = path_tree(rest);
            found.append(&mut tails);
            i += used.max(1);
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    found
}

/// Reads a path (with groups) at the start of `text`: every full path it
/// names and how many bytes it took.
fn path_tree(text: &str) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    let mut at = 0;
    loop {
        let ident: String = text[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !ident.is_empty() {
            at += ident.len();
            segments.push(ident);
        } else if text[at..].starts_with('{') {
            let close = matching_brace(&text[at..]).map_or(text.len(), |c| at + c);
            let mut all = Vec::new();
            for item in split_top(&text[at + 1..close.min(text.len())]) {
                let item = item.trim();
                let (tails, _) = path_tree(item);
                for tail in tails {
                    let mut path = segments.clone();
                    path.extend(tail);
                    all.push(path);
                }
            }
            return (all, close + 1);
        }
        if text[at..].starts_with("::") {
            at += 2;
        } else {
            return (vec![segments], at);
        }
    }
}

fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The module a path written in `from` ends at.
fn target(from: &Module, path: &[String], known: &BTreeMap<Module, String>) -> Option<Module> {
    let mut segments = path.iter().peekable();
    let mut at: Module = if path.first().is_some_and(|s| s == "crate") {
        segments.next();
        segments.next(); // `ui`
        Vec::new()
    } else {
        from.clone()
    };
    while segments.peek().is_some_and(|s| *s == "super") {
        segments.next();
        at.pop()?;
    }
    for segment in segments {
        let mut deeper = at.clone();
        deeper.push(segment.clone());
        if !known.contains_key(&deeper) {
            break;
        }
        at = deeper;
    }
    (at != *from).then_some(at)
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let mut known = BTreeMap::new();
    modules(&ui_dir(), &Vec::new(), &mut known);
    known
        .iter()
        .map(|(module, source)| {
            let edges = paths(source).iter().filter_map(|p| target(module, p, &known)).collect();
            (module.clone(), edges)
        })
        .collect()
}

fn name(module: &Module) -> String {
    if module.is_empty() { "ui".to_owned() } else { format!("ui::{}", module.join("::")) }
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        at: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        marks: &mut BTreeMap<Module, Mark>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        match marks.get(at) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack.iter().position(|m| m == at).expect("an open module is on the stack");
                let mut found = stack[from..].to_vec();
                found.push(at.clone());
                return Some(found);
            }
            None => {}
        }
        marks.insert(at.clone(), Mark::Open);
        stack.push(at.clone());
        for next in graph.get(at).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, stack) {
                return Some(found);
            }
        }
        stack.pop();
        marks.insert(at.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph.keys().find_map(|m| visit(m, graph, &mut marks, &mut Vec::new()))
}

#[test]
fn ui_modules_import_each_other_without_a_cycle() {
    let graph = graph();
    assert!(graph.len() > 10, "the ui modules were found: {:?}", graph.keys().map(name).collect::<Vec<_>>());
    if let Some(found) = cycle(&graph) {
        panic!("app/src/ui imports in a circle: {}", found.iter().map(name).collect::<Vec<_>>().join(" → "));
    }
}

#[test]
fn no_page_imports_another_page() {
    let graph = graph();
    let mut sources = BTreeMap::new();
    modules(&ui_dir(), &Vec::new(), &mut sources);
    // A page: a top-level module of `ui` whose tree defines a `…Page` component.
    let is_page_source = |s: &String| {
        s.lines().filter_map(|l| l.trim_start().strip_prefix("pub fn ")).any(|l| {
            let name: String = l.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            name.ends_with("Page") && l[name.len()..].starts_with('(')
        })
    };
    let pages: BTreeSet<String> = sources
        .iter()
        .filter(|(module, source)| !module.is_empty() && is_page_source(source))
        .map(|(module, _)| module[0].clone())
        .collect();
    assert!(pages.contains("editor") && pages.contains("list"), "the pages were found: {pages:?}");
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            let Some(page) = to.first().filter(|p| pages.contains(*p)) else { continue };
            let inside = from.first() == Some(page);
            if !from.is_empty() && !inside {
                wrong.push(format!("{} → {}", name(from), name(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "only the shell (ui/mod.rs) may import a page; found: {wrong:#?}");
}

#[test]
fn the_reader_finds_grouped_inline_and_nested_paths() {
    let found =
        paths("use super::{a::B, c::{D, e}};\n let x = view! { <super::f::G /> }; crate::ui::h::i();");
    let found: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(found, ["super::a::B", "super::c::D", "super::c::e", "super::f::G", "crate::ui::h::i"]);
}
