//! A task: its shared state and outcome, its delivery, its handle and its context. The core,
//! which knows no feature: scopes, items, a line in the progress display, the latest of a
//! name and deadlines are features of their own places, which a task carries and tells of its
//! life through one seam, [`Feature`](feature::Feature).
//!
//! A task knows its [`Host`](crate::host::Host) and nothing above it: not the manager, the
//! registry or the pool. The manager builds tasks from a [`TaskSpec`](cell::TaskSpec) and
//! submits them through [`Admit`](admit::Admit), the one seam toward it, which the host holds
//! weakly so that a running task can submit more; from then on a task runs, is cancelled and
//! delivers on its own.

pub(crate) mod admit;
pub(crate) mod body;
mod cancel_on_drop;
pub(crate) mod cell;
pub(crate) mod context;
pub(crate) mod delivery;
pub(crate) mod feature;
mod handle;
pub(crate) mod name;
pub(crate) mod polled;
pub(crate) mod run;
pub(crate) mod slot;
#[cfg(all(test, not(loom)))]
pub(crate) mod testing;
pub(crate) mod travel;

pub use cancel_on_drop::CancelOnDrop;
pub use handle::Task;
