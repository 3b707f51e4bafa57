//! Return types: `Result<T, E>` (and aliases such as `io::Result<T>`) is fallible and yields
//! `T`; anything else is the value; no return type is `()`.

use std::io;

use task_macros::run_in_background;
use task_runtime::{codes, AppError, Task, TaskError};

#[run_in_background]
fn read_config(path: String) -> io::Result<String> {
    std::fs::read_to_string(path)
}

#[run_in_background]
fn parse_port(text: String) -> Result<u16, AppError> {
    Ok(text.trim().parse::<u16>()?)
}

#[run_in_background]
fn plain_value(n: u64) -> Vec<u64> {
    (0..n).collect()
}

#[run_in_background]
fn nothing() {}

/// An alias named `Result` without generic arguments (like `std::fmt::Result`): fallible, the
/// value type comes from the alias itself.
mod checked {
    pub type Result = std::result::Result<bool, task_runtime::AppError>;
}

#[run_in_background]
fn via_alias(flag: bool) -> checked::Result {
    Ok(!flag)
}

/// Only a last path segment named `Result` makes a function fallible: a struct that merely
/// ends in "Result" is a plain value.
#[derive(Debug, PartialEq)]
struct SearchResult {
    hits: usize,
}

#[run_in_background]
fn search_result() -> SearchResult {
    SearchResult { hits: 3 }
}

#[test]
fn io_result_is_fallible_and_its_error_converts() {
    let task: Task<String> = read_config("/no/such/file.toml".to_owned());
    match task.join() {
        Err(TaskError::Failed(err)) => {
            // A missing file keeps its kind through `?` (DESIGN.md, version 2 "Errors").
            assert_eq!(err.code(), codes::ERR_FILE_NOT_FOUND);
            assert!(err.message().starts_with("Background task failed:"));
            assert_eq!(err.context()["task"], "read_config");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn result_with_app_error_yields_its_value() {
    let task: Task<u16> = parse_port(" 8080 ".to_owned());
    assert_eq!(task.join().unwrap(), 8080);
    assert!(parse_port("http".to_owned()).join().is_err());
}

#[test]
fn plain_and_unit_returns() {
    let values: Task<Vec<u64>> = plain_value(3);
    assert_eq!(values.join().unwrap(), [0, 1, 2]);
    let unit: Task<()> = nothing();
    unit.join().unwrap();
    let aliased: Task<bool> = via_alias(true);
    assert!(!aliased.join().unwrap());
    let result: Task<SearchResult> = search_result();
    assert_eq!(result.join().unwrap(), SearchResult { hits: 3 });
}
