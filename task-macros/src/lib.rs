//! Attribute macros for `task-runtime`: `#[run_in_background]` and `#[async_method]`.
//!
//! The macros arrive in a later release; this crate is part of the workspace already so
//! that applications can depend on both crates from the start.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
