//! Compile-time behaviour of the macros (trybuild): every misuse is an error at the offending
//! token with a message that says how to fix it (`tests/ui/*.rs` with their `.stderr`), and
//! the valid-but-unusual shapes compile (`tests/ui/pass/*.rs`).
//!
//! After a deliberate change to a message, regenerate with `TRYBUILD=overwrite cargo test
//! --test ui` and review the `.stderr` diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
