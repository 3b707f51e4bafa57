//! The workspace's root package: it depends on `task-runtime` and `task-macros` exactly as an
//! application would and owns the integration tests (`tests/`) and examples (`examples/`).
//! The README's code blocks are compiled as doctests by `checks/readme`, a crate with the one
//! dependency the README's install section gives, so the README cannot drift from the API.
