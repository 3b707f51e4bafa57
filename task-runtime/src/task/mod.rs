//! A task: its shared state and outcome, its delivery, its handle and its context.
//!
//! A task knows its [`Host`](crate::host::Host) and nothing above it: not the manager, the
//! registry or the pool. The manager builds tasks from a [`TaskSpec`](cell::TaskSpec) and
//! submits them; from then on a task runs, is cancelled and delivers on its own.

pub(crate) mod body;
mod cancel_on_drop;
pub(crate) mod cell;
pub(crate) mod context;
pub(crate) mod delivery;
mod handle;
pub(crate) mod items;
pub(crate) mod local;
pub(crate) mod name;
pub(crate) mod run;
pub(crate) mod scope;
pub(crate) mod slot;
#[cfg(all(test, not(loom)))]
pub(crate) mod testing;

pub use cancel_on_drop::CancelOnDrop;
pub use handle::Task;
pub use items::Publisher;
