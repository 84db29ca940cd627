//! The server's modules depend on each other in one direction only, in the
//! order `src/lib.rs` documents: a module uses only modules of earlier
//! layers, so there is no import circle for a newcomer to untangle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The layers, bottom first; a module may use the modules of the layers
/// before its own.
const LAYERS: &[&[&str]] = &[
    &["error", "http", "telemetry"],
    &["config"],
    &["app"],
    &["extract"],
    &["idempotency", "middleware"],
    &["backends", "routes"],
    &["serve"],
];

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((
                path.display().to_string(),
                fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None`: the crate
/// root or the binary).
fn module_of(src: &Path, file: &str) -> Option<String> {
    let relative = Path::new(file).strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The names `lib.rs` re-exports, each with the module it comes from
/// (`pub use app::{App, AppBuilder}` gives `App -> app`, `AppBuilder -> app`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = rest.split("::").next().unwrap().trim().to_owned();
        let items = rest.rsplit("::").next().unwrap();
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.split(" as ").last().unwrap().trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), module.clone());
            }
        }
    }
    names
}

/// What each top-level module uses of the others: `crate::m` paths and
/// names re-exported at the root, outside comments.
fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let roots = reexports(&lib);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let uses = graph.entry(module.clone()).or_default();
        let code = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let mut named = Vec::new();
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                named.extend(
                    group
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap()),
                );
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                named.push(&rest[..end]);
            }
            for name in named {
                let used = roots.get(name).cloned().unwrap_or_else(|| name.to_owned());
                if used != module && LAYERS.iter().any(|layer| layer.contains(&used.as_str())) {
                    uses.insert(used);
                }
            }
        }
    }
    graph
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of LAYERS"))
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = dependencies(&src);
    assert!(graph.len() >= 10, "the scan found the modules: {graph:?}");
    let mut upward = Vec::new();
    for (module, uses) in &graph {
        for used in uses {
            if layer_of(used) >= layer_of(module) {
                upward.push(format!("{module} -> {used}"));
            }
        }
    }
    assert!(upward.is_empty(), "uses against the layering: {upward:?}");
}

#[test]
fn the_scan_sees_uses_through_paths_groups_and_root_reexports() {
    let dir = std::env::temp_dir().join(format!("layering-{}", std::process::id()));
    let src = dir.join("src");
    fs::create_dir_all(src.join("serve")).unwrap();
    fs::write(
        src.join("lib.rs"),
        "pub use app::{App, AppBuilder as Builder};\n",
    )
    .unwrap();
    fs::write(
        src.join("error.rs"),
        "// crate::serve in a comment is no use\nuse crate::{Builder, http::route};\n",
    )
    .unwrap();
    fs::write(src.join("serve").join("mod.rs"), "use crate::routes::x;\n").unwrap();
    let graph = dependencies(&src);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        graph["error"],
        BTreeSet::from(["app".into(), "http".into()])
    );
    assert_eq!(graph["serve"], BTreeSet::from(["routes".into()]));
}
