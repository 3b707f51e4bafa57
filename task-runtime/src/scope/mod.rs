//! Scopes: tasks that share a lifetime. [`ScopeNode`](node::ScopeNode) is the state a scope
//! shares with its tasks (it is a feature of each of them) and its children.

pub(crate) mod node;

pub(crate) use node::ScopeNode;
