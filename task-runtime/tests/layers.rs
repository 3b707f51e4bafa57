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
    // What a task needs of its surroundings; the runtime context its bodies run in.
    &["host", "reactor"],
    &["task"],
    // The features a task may carry: each of its own, none using another.
    &["deadline", "items", "latest", "local", "shown"],
    // The manager's core: the registry and admission of tasks, and their shutdown.
    &["admission"],
    // Scopes: a feature of the task (`scope::node`) and their handles over the core.
    &["scope"],
    &["manager"],
    &[
        "method",
        "bounds",
        "private",
        "spawn_local",
        "chain",
        "combine",
        "collection",
    ],
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

/// A file's code without its inline unit tests: tests may use any module to build what they
/// check (a scope handle is tested through a manager).
fn without_unit_tests(text: &str) -> &str {
    match text.find("#[cfg(all(test, not(loom)))]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    }
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
        for (line, used) in uses(without_unit_tests(&fs::read_to_string(file).unwrap())) {
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
        "admission",
        "scope",
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

// ----- inside a folder: no circle among the modules of `task/`, `admission/`, `scope/`, `manager/` -----

/// The one circle allowed: the recursive type of the task core. A cell carries its features
/// and points at its host, and a feature's hooks and the host's admission take the cell.
const KNOTS: &[&[&str]] = &[&["task::admit", "task::cell", "task::feature"]];

/// Every module of the crate by path (`task::delivery::drain`), with its source text (comments
/// and unit tests cut off: they may use anything).
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut found = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_str().unwrap().to_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let name = parts.join("::");
        if name == "lib" || parts.last().is_some_and(|p| p == "tests" || p == "testing") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .map(|line| line.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        found.insert(name, without_unit_tests(&code).to_owned());
    }
    found
}

/// The modules `name` (with source `code`) uses: its `crate::`, `super::` and `self::` paths,
/// each resolved to the longest module it names, and for a folder's `mod.rs` the children it
/// re-exports (`pub(crate) use child::..`).
fn edges(name: &str, code: &str, all: &BTreeMap<String, String>) -> Vec<String> {
    let own: Vec<&str> = name.split("::").collect();
    let mut found = Vec::new();
    let mut push = |path: Vec<String>| {
        for len in (1..=path.len()).rev() {
            let candidate = path[..len].join("::");
            if all.contains_key(&candidate) {
                if candidate != name && !found.contains(&candidate) {
                    found.push(candidate);
                }
                return;
            }
        }
    };
    let words = |rest: &str| -> Vec<String> {
        rest.split("::")
            .map(|w| {
                w.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|w| !w.is_empty() && w.chars().next().unwrap().is_lowercase())
            .collect()
    };
    for (start, _) in code.match_indices("crate::") {
        push(words(&code[start + "crate::".len()..]));
    }
    let is_folder = all.keys().any(|k| k.starts_with(&format!("{name}::")));
    for (start, _) in code.match_indices("super::") {
        // The first `super::` of a run: count the run.
        if code[..start].ends_with("super::") {
            continue;
        }
        let mut rest = &code[start..];
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            up += 1;
            rest = r;
        }
        // `super` is the module's parent, whether the module is a file or a folder's `mod.rs`.
        let base: Vec<String> = own[..own.len().saturating_sub(up)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        push(base.into_iter().chain(words(rest)).collect());
    }
    if is_folder {
        for line in code.lines() {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("pub(crate) use ")
                .or_else(|| line.strip_prefix("pub use "));
            if let Some(rest) = rest {
                let child = words(rest);
                if let Some(first) = child.first() {
                    push(vec![format!("{name}::{first}")]);
                }
            }
        }
    }
    found
}

/// The circles (strongly connected components of more than one module) among the modules
/// under `folder` (`task`), each sorted.
fn circles(folder: &str, all: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    let prefix = format!("{folder}::");
    let inside: Vec<&String> = all.keys().filter(|k| k.starts_with(&prefix)).collect();
    let graph: BTreeMap<&str, Vec<String>> = inside
        .iter()
        .map(|name| {
            let to = edges(name, &all[*name], all)
                .into_iter()
                .filter(|t| t.starts_with(&prefix))
                .collect();
            (name.as_str(), to)
        })
        .collect();
    // Two modules are in one circle when each reaches the other.
    let reach = |from: &str| {
        let mut seen = vec![from.to_owned()];
        let mut at = 0;
        while at < seen.len() {
            let next = graph.get(seen[at].as_str()).cloned().unwrap_or_default();
            for n in next {
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
            at += 1;
        }
        seen
    };
    let mut found: Vec<Vec<String>> = Vec::new();
    for name in graph.keys() {
        let from = reach(name);
        let mut circle: Vec<String> = graph
            .keys()
            .filter(|other| {
                from.contains(&other.to_string()) && reach(other).contains(&name.to_string())
            })
            .map(|s| s.to_string())
            .collect();
        circle.sort();
        if circle.len() > 1 && !found.contains(&circle) {
            found.push(circle);
        }
    }
    found
}

#[test]
fn no_circle_inside_a_folder() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let all = modules(&src);
    let allowed: Vec<Vec<String>> = KNOTS
        .iter()
        .map(|knot| knot.iter().map(|m| m.to_string()).collect())
        .collect();
    for folder in ["task", "admission", "scope", "manager"] {
        let wrong: Vec<_> = circles(folder, &all)
            .into_iter()
            .filter(|circle| !allowed.contains(circle))
            .collect();
        assert!(
            wrong.is_empty(),
            "modules of {folder}/ that import each other (a circle): {wrong:?}"
        );
    }
}

#[test]
fn the_circle_check_sees_a_circle() {
    let mut all = BTreeMap::new();
    all.insert("task".to_owned(), "pub(crate) use a::X;".to_owned());
    all.insert("task::a".to_owned(), "use super::b::Y;".to_owned());
    all.insert("task::b".to_owned(), "use crate::task::a::X;".to_owned());
    all.insert("task::c".to_owned(), "use super::a::X;".to_owned());
    assert_eq!(circles("task", &all), [["task::a", "task::b"]]);
    assert_eq!(edges("task", &all["task"], &all), ["task::a"]);
}

// ----- no reach up by other means: a downcast back to an owner -----

/// The files that downcast, each finding again a value of its own layer or of the user's,
/// never an owner above it: a task reaches its manager through the typed admission its host
/// holds (`task::admit`), and nothing else may be turned back into a manager.
const DOWNCASTS: &[(&str, &str)] = &[
    (
        "error/app_error.rs",
        "an error's source, of the user's type",
    ),
    (
        "local.rs",
        "a local callback's argument, of the callback's own type",
    ),
    ("unwind.rs", "a panic's payload"),
    (
        "task/cell.rs",
        "a feature finding its own data (`TaskCore::feature`)",
    ),
    (
        "task/run.rs",
        "a task the host held for a cancel round, a cell again",
    ),
];

/// The downcasts in `code`, by line: `(line, names its type)`. One whose type is inferred
/// (`.downcast().ok()`) hides what it reaches, so it is refused even in the files above.
fn downcasts(code: &str) -> Vec<(usize, bool)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        for (at, _) in line.match_indices("downcast") {
            if line[..at].ends_with("fn ") {
                continue; // a method of that name (`AppError::downcast_ref`)
            }
            let rest = line[at + "downcast".len()..]
                .trim_start_matches(|c: char| c == '_' || c.is_alphabetic());
            found.push((number + 1, rest.starts_with("::<")));
        }
    }
    found
}

#[test]
fn no_owner_is_reached_by_a_downcast() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        let text = fs::read_to_string(file).unwrap();
        let allowed = DOWNCASTS.iter().any(|(f, _)| *f == relative);
        for (line, typed) in downcasts(without_unit_tests(&text)) {
            if !allowed || !typed {
                wrong.push(format!("{relative}:{line}"));
            }
        }
        if text.contains("Weak<dyn Any") || text.contains("Weak<dyn std::any::Any") {
            wrong.push(format!("{relative}: a weak `dyn Any` (an opaque owner)"));
        }
    }
    assert!(
        wrong.is_empty(),
        "downcasts outside the known ones (a task reaches its manager through its host's \
         typed admission, `task::admit::Admit`; a new kind of downcast is listed in DOWNCASTS \
         with what it finds): {wrong:?}"
    );
}

#[test]
fn the_downcast_check_sees_an_owner() {
    let code = "let m = host.owner()?.downcast().ok();\nlet s = p.downcast_ref::<String>(); // downcast\n/// [`downcast`]\npub fn downcast_ref<E>() {}";
    assert_eq!(downcasts(code), [(1, false), (2, true)]);
}
