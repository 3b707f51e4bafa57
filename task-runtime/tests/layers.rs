//! The runtime is layered: a module uses only the modules below it, so a task never reaches
//! up into its manager, and the mechanisms (pool, dispatch, signals, display) know nothing of
//! tasks. This reads the sources and fails on any `crate::` path that goes up, sideways
//! between mechanisms, or through a root re-export (which would hide the direction).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top; a module may use the modules of lower layers, and itself.
const LAYERS: &[&[&str]] = &[
    &["sync", "unwind", "clock"],
    &["error", "progress", "debug"],
    &["vocabulary"],
    &["pool", "dispatch", "signal", "display"],
    &["host"],
    &["task"],
    &["manager"],
    &["method", "bounds", "private"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The `crate::<module>` paths of a file's code (comments, doc links among them, are skipped).
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let module: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push((number + 1, module));
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue; // the root declares the modules and re-exports them
        }
        let own = layer(&module)
            .unwrap_or_else(|| panic!("{} is in no layer of this test", relative.display()));
        *seen.entry(module.clone()).or_default() += 1;
        for (line, used) in uses(&fs::read_to_string(file).unwrap()) {
            let ok = used == module || layer(&used).is_some_and(|l| l < own);
            if !ok {
                let why = match layer(&used) {
                    None => "a root re-export (name the module instead)".to_owned(),
                    Some(l) if l == own => "a module of the same layer".to_owned(),
                    Some(_) => "a module above".to_owned(),
                };
                wrong.push(format!(
                    "{}:{line}: crate::{used}: {why}",
                    relative.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
    // The check saw the modules it is about.
    for module in [
        "task",
        "manager",
        "pool",
        "dispatch",
        "display",
        "host",
        "vocabulary",
    ] {
        assert!(seen.contains_key(module), "no source file of {module}");
    }
}

#[test]
fn the_check_sees_what_it_must_refuse() {
    let found =
        uses("use crate::manager::X; // crate::ignored\n/// [`a`](crate::Doc)\nx(crate::Task)");
    let modules: Vec<_> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(modules, ["manager", "Task"]);
}
