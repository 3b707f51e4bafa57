//! The README's code blocks, as doctests of a crate whose one dependency is `task-runtime`, as
//! the README's install section has it: an example that imports `task_macros` (not a
//! dependency here) or anything else the section does not list fails `cargo test --workspace`.
//! (Doctests see the dev-dependencies too: `futures` and `thiserror`, which three examples
//! name.)
#![doc = include_str!("../../../README.md")]
