//! The validated wrapper: every decision the generated code depends on, made once by
//! `valid::check` from the attribute (`attr::Attr`) and the function (`signature::Shape`).
//!
//! `expand.rs` writes this model out and nothing else: it reads no attribute, scans no body
//! and chooses nothing. Each field is a decision, made in `valid.rs` (`plan` and the `plan_*`
//! function of its part) after every check passed.

use proc_macro2::{Span, TokenStream};
use syn::{Attribute, Expr, Ident, LitStr, Pat, Path, Signature, Token, Type, Visibility};

use crate::attr::{ExclusiveMode, Key, Receives};

/// The function the attribute turns into one that starts a task.
pub(crate) struct Wrapper {
    /// The path to the runtime: `crate = ".."`, else `::task_runtime`.
    pub(crate) krate: Path,
    /// The function's own attributes and visibility, kept.
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    /// The wrapper's signature: the function's name, generics and where clause; its receiver
    /// (without `mut` when it moves into the task) and arguments, without the `&TaskContext`
    /// and `&Publisher<P>` parameters; returning the handle, `Task<T>`, `Task<()>` when
    /// `on_complete` takes the value, and `Task<_, P>` for a body with items.
    pub(crate) sig: Signature,
    /// Where errors about the task as a whole go: the function's return type (the call site
    /// when it has none).
    pub(crate) output_span: Span,
    /// A method's receiver.
    pub(crate) receiver: Option<Receiver>,
    /// The check of each argument, at its type.
    pub(crate) arguments: Vec<ArgumentCheck>,
    /// What the task yields.
    pub(crate) value: Value,
    /// The task's body.
    pub(crate) body: Body,
    /// The items' type `P`, for a body with a `&Publisher<P>` parameter: the task is made by
    /// `TaskValue::start_with_items` instead of `TaskValue::start`.
    pub(crate) items: Option<Type>,
    /// The callbacks, in the order of the key table.
    pub(crate) callbacks: Vec<Callback>,
    /// `manager = ..`; `None`: the global manager.
    pub(crate) manager: Option<Borrowed>,
    /// `scope = ..`.
    pub(crate) scope: Option<Borrowed>,
    /// The builder's options.
    pub(crate) options: Options,
    /// Where callbacks are delivered (`local = ..`).
    pub(crate) mode: Mode,
}

/// How the task gets hold of `self`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ReceiverKind {
    /// `&self`.
    Shared,
    /// `self`, `mut self`, `self: Box<Self>`...
    Owned,
    /// `self: Arc<Self>`.
    Arc,
    /// `self: &Arc<Self>`.
    ArcRef,
}

pub(crate) struct Receiver {
    pub(crate) self_token: Token![self],
    /// Whether the body names `self` (the receiver, not a `self::` path, nor the `self` of an
    /// item nested in the body): what `capture` and `cloner` follow from. Its own mark in the
    /// wrapper is the renamed `self` of [`Block::OnReceiver`].
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) body_uses_self: bool,
    /// How the task takes the receiver; `None` when it does not (a `local = true` task whose
    /// body does not use `self`: only its callbacks need it, on this thread).
    pub(crate) capture: Option<Capture>,
    /// The one check that `Self` can be cloned (and sent where the clone goes), when the task
    /// or a `self.method` callback takes a clone.
    pub(crate) cloner: Option<Cloner>,
}

/// How the task takes the receiver.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Capture {
    /// `&self`: a clone, made by the cloner.
    Clone,
    /// `self`, `self: Arc<Self>`: moved, checked as `TaskReceiver` at `at` (the receiver's
    /// type). What the attribute's expressions borrow from it is taken before.
    Move { at: Span },
    /// `self: &Arc<Self>`: the `Arc` cloned, checked as `TaskReceiver` at `at`.
    CloneArc { at: Span },
}

/// `let cloner: fn(&Self) -> Self = <Self as Check>::..;`, one check for every clone.
pub(crate) struct Cloner {
    /// The `bounds` trait that clones.
    pub(crate) check: ClonedFor,
    /// Where its error goes: the receiver when the task takes a clone, else the first
    /// `self.method` callback.
    pub(crate) at: Span,
    /// The `Send` check of a clone that goes to a worker thread, at the receiver, apart from
    /// `Clone`, so that its error says what to do.
    pub(crate) sent: Option<SentFor>,
}

/// The trait that clones the receiver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ClonedFor {
    /// `ClonedForTask`: the task runs on a clone (`&self`).
    Task,
    /// `ClonedForCallback`: only `self.method` callbacks take a clone, delivered anywhere.
    Callback,
    /// `ClonedForLocalCallback`: only callbacks of a `local = true` task take a clone.
    LocalCallback,
}

/// What a clone that goes to a worker thread needs, by what uses it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SentFor {
    /// `SentForBody`: the body uses `self`; owned arguments are the fix.
    Body,
    /// `SentForCallbacks`: only callbacks use it; `local = true` is the fix.
    Callbacks,
}

/// The check of an argument, which moves into the task.
pub(crate) enum ArgumentCheck {
    /// By value where the argument has a name (its type may be an `impl Trait`).
    Named { name: Ident, at: Span },
    /// By type for a pattern.
    Typed { ty: Type },
}

/// What the task yields: the handle's value, and the callbacks'.
pub(crate) struct Value {
    /// `T` of `Result<T, E>`, the type returned, `()`, or `<R as TaskReturn>::Value` for an
    /// alias that does not write it.
    pub(crate) ty: TokenStream,
    /// Whether `ty` can be named where a type is expected: not when it is or holds an
    /// `impl Trait`. Then the task is made by `TaskValue::start` without naming `Self`, and an
    /// `on_complete` callback's parameter type is left to inference.
    pub(crate) nameable: bool,
}

/// The body, as a closure of the task.
pub(crate) struct Body {
    /// The closure's first parameter: the `&TaskContext` parameter as written, or `_`.
    pub(crate) context: Option<(Pat, Type)>,
    /// The `&Publisher<P>` parameter as written, for a body with items.
    pub(crate) publisher: Option<(Pat, Type)>,
    /// The closure's return type: the function's, with `impl Trait` inferred (`_`).
    pub(crate) ret: Type,
    /// Its block.
    pub(crate) block: Block,
    /// How what it returns becomes the task's `Result<T, AppError>`.
    pub(crate) result: Conversion,
    /// Whether it is called on a worker or polled there.
    pub(crate) runs: Runs,
}

/// How the body runs: what the task is made of, and by which entry
/// (`TaskValue::start`/`start_with_items`, or `start_async`/`start_async_with_items`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Runs {
    /// A closure called once on a worker, with `&TaskContext` (and `&Publisher<P>`).
    Blocking,
    /// An `async fn`'s body: a closure that takes the context (and the publisher) owned and
    /// returns the future, whose block binds the user's `&TaskContext` (and `&Publisher<P>`)
    /// parameters to them, and whose type is fixed by the function's return type (so that
    /// `?` and `return` mean what they mean in the `async fn`). Its `Send` check, one for
    /// every value held across an `.await`, is reported at `at`, the `async` keyword.
    Polled { at: Span },
}

pub(crate) enum Block {
    /// The function's block, as written: the task does not take a receiver.
    AsWritten(syn::Block),
    /// A method's statements, with each `self` naming the receiver renamed to the local
    /// `names.self_`, bound at the top of the body (in the body's own braces).
    OnReceiver {
        stmts: TokenStream,
        /// `&this` for a borrowed receiver (`&self`, `self: &Arc<Self>`), `this` for one that
        /// moved in.
        by_ref: bool,
        /// `mut` where the receiver is `mut self`.
        mutability: Option<Token![mut]>,
        /// The block's braces, where the block's errors go.
        braces: Span,
    },
}

/// How the body's return value becomes the task's result.
pub(crate) enum Conversion {
    /// Not a `Result`: `Ok(value)`.
    Infallible,
    /// A `Result`: `TaskReturn::into_task_result`, its error converted by `IntoAppError`,
    /// named where the error type is (once, so a type that does not convert is one error).
    Fallible(ErrorType),
}

pub(crate) enum ErrorType {
    /// `Result<T, E>`: `<E as IntoAppError>`, at `E`.
    Written(Box<Type>),
    /// An alias that does not write it (`io::Result<T>`): through `TaskReturn::Error`, at the
    /// return type.
    OfReturn(Box<Type>),
    /// One holding an `impl Trait`: inferred, at the return type.
    Inferred(Span),
}

/// A callback given by a key.
pub(crate) struct Callback {
    pub(crate) key: Key,
    /// Where its errors go: the callback's expression (the method of `self.method`).
    pub(crate) at: Span,
    /// What it receives.
    pub(crate) receives: Receives,
    /// The type of what it is called with, where it can be named.
    pub(crate) received: Received,
    /// The check it passes on the way to the builder.
    pub(crate) check: Check,
    /// How it is called.
    pub(crate) call: Call,
}

impl Callback {
    /// `on_complete`: its step changes the builder's type (`TaskBuilder<T>` becomes
    /// `TaskBuilder<()>`), so it comes after every other.
    pub(crate) fn takes_value(&self) -> bool {
        self.receives == Receives::Value
    }
}

pub(crate) enum Received {
    /// `on_started`, `on_cancelled`.
    Nothing,
    /// The value, the error, the progress, or the batch of items (`Vec<P>`).
    Named(TokenStream),
    /// A value whose type cannot be named (an `impl Trait`).
    Unnamed,
}

/// The check a callback passes: a `bounds` trait (reported at the callback), or for an
/// `on_complete` whose value cannot be named, a function whose `Fn` bound gives a closure its
/// parameter type.
pub(crate) enum Check {
    /// `<callback as bounds::Trait<generic>>::checked`.
    Bound {
        name: Ident,
        generic: Option<TokenStream>,
    },
    /// `__private::on_complete` or, local, `__private::on_local_complete`.
    Unnamed { local: bool },
}

pub(crate) enum Call {
    /// A path or a closure, called from a closure of the right type. A closure's first
    /// parameter is annotated with the received type where it has none.
    Expr(Expr),
    /// `self.method`, on a clone of the receiver made by the cloner: of `self` when it is
    /// already a reference (`&self`), of `&self` when it is the value (`self`).
    OnClone(SelfMethod),
    /// `self.method`, through a `Weak` of an `Arc` receiver (`self: Arc<Self>` gives `&self`,
    /// `self: &Arc<Self>` gives `self`): skipped once the object is gone.
    OnWeak(SelfMethod),
}

pub(crate) struct SelfMethod {
    pub(crate) self_token: Token![self],
    pub(crate) method: Ident,
    /// Whether `self` is a reference already (`&self`, `self: &Arc<Self>`).
    pub(crate) self_is_ref: bool,
    /// The local trait whose bound reports a method without `&self`: named after the key,
    /// or `callback` where the method has the key's name.
    pub(crate) fallback: Ident,
}

/// An expression of the attribute that the task borrows (`manager = &self.tasks`).
pub(crate) struct Borrowed {
    pub(crate) expr: Expr,
    /// Whether the receiver moves into the task (`self`, `self: Arc<Self>`): then what the
    /// expression borrows from it is taken (cloned) before.
    pub(crate) take: bool,
}

/// The builder's options, each from its key or its default.
pub(crate) struct Options {
    /// `task_name`, else the function's name (`r#match` is "match").
    pub(crate) name: LitStr,
    /// `show_progress`, else `true` for `#[async_method]` and `false` for the other.
    pub(crate) show_progress: bool,
    /// `priority`, an `i32` literal.
    pub(crate) priority: Option<Expr>,
    /// `exclusive`.
    pub(crate) exclusive: Option<ExclusiveMode>,
    /// `timeout_ms`.
    pub(crate) timeout_ms: Option<u64>,
}

/// Where callbacks are delivered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Where the manager's dispatcher runs them: callbacks are `Send`.
    Plain,
    /// `local = true`: on the calling thread (`TaskBuilder::local`); `manager_key` says
    /// whether the attribute has `manager = ..`, for the panic's advice.
    Local { manager_key: bool },
}

/// The wrapper's own locals. Mixed-site hygiene: they never collide with the user's names.
pub(crate) struct Names {
    pub(crate) this: Ident,
    pub(crate) manager: Ident,
    pub(crate) scope: Ident,
    pub(crate) mode: Ident,
    pub(crate) builder: Ident,
    pub(crate) ctx: Ident,
    pub(crate) publisher: Ident,
    pub(crate) body: Ident,
    pub(crate) convert: Ident,
    pub(crate) received: Ident,
    pub(crate) cb_this: Ident,
    pub(crate) cb_weak: Ident,
    pub(crate) cloner: Ident,
    /// What the body's `self` becomes.
    pub(crate) self_: Ident,
    /// What an `async fn`'s block returned, the value of its type check.
    pub(crate) returned: Ident,
    /// The future of an `async fn`'s body, checked.
    pub(crate) future: Ident,
}

impl Names {
    pub(crate) fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Names {
            this: local("__task_this"),
            manager: local("__task_manager"),
            scope: local("__task_scope"),
            mode: local("__task_mode"),
            builder: local("__task_builder"),
            ctx: local("__task_ctx"),
            publisher: local("__task_publisher"),
            body: local("__task_body"),
            convert: local("__task_convert"),
            received: local("__task_received"),
            cb_this: local("__task_callback_this"),
            cb_weak: local("__task_callback_weak"),
            cloner: local("__task_cloner"),
            self_: local("__task_self"),
            returned: local("__task_returned"),
            future: local("__task_future"),
        }
    }

    /// The local a callback is bound to: `__task_on_error`.
    pub(crate) fn callback(key: Key) -> Ident {
        Ident::new(&format!("__task_{}", key.name()), Span::mixed_site())
    }
}

#[cfg(test)]
mod tests;
