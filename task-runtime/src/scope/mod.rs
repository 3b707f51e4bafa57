//! Scopes: tasks that share a lifetime (a window, a panel, a view model), as Kotlin's
//! `viewModelScope` or Qt's `then(context, ..)`. [`ScopeNode`](node::ScopeNode) is the state
//! a scope shares with its tasks (it is a feature of each of them) and its children;
//! [`TaskScope`] and [`ScopeHandle`] are what its owner holds (`handle.rs`, with
//! `TaskContext::scope`, a body's scope for its subtasks). Tasks are started in a scope by the
//! builders (`ScopeHandle::task`, beside `TaskBuilder`).

mod handle;
pub(crate) mod node;

pub use handle::{ScopeHandle, ScopeProgress, TaskScope};
pub(crate) use node::ScopeNode;
