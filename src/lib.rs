//! The workspace's root package: it depends on `task-runtime` and `task-macros` exactly as an
//! application would and owns the integration tests (`tests/`) and examples (`examples/`).
//! It also compiles the README's code blocks as doctests, so the README cannot drift from
//! the API.
#![doc = include_str!("../README.md")]
