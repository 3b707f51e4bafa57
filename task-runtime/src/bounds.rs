//! What the attributes require of a task's types, one trait per requirement.
//!
//! `#[run_in_background]` and `#[async_method]` check each argument, receiver, value, error
//! type and callback of the function they annotate through these traits, at the token the
//! check is about, so a mistake is one compile error there that names the requirement (for
//! example "the trait `TaskArgument` is not implemented for `Rc<Vec<u64>>`") instead of an
//! error inside the generated code. Each trait is implemented for every type that meets its
//! requirement: there is nothing to implement, and code written by hand has no reason to name
//! them (use [`TaskManager::task`] and [`TaskBuilder`]'s methods, which state the same bounds).
//!
//! ```compile_fail
//! use std::rc::Rc;
//! use task_runtime::run_in_background;
//!
//! #[run_in_background]
//! fn total(numbers: Rc<Vec<u64>>) -> u64 {
//!     // error: argument of type `Rc<Vec<u64>>` cannot be moved to a worker thread: it must
//!     // be `Send + 'static` ... required for `Rc<Vec<u64>>` to implement `TaskArgument`
//!     numbers.iter().sum()
//! }
//! ```

use crate::error::AppError;
use crate::items::Publisher;
use crate::manager::{LocalTaskBuilder, TaskBuilder, TaskManager};
use crate::progress::Progress;
use crate::task::context::TaskContext;
use crate::task::Task;
use std::future::Future;

/// An argument, moved into the task: `Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "argument of type `{Self}` cannot be moved to a worker thread: it must be `Send + 'static`",
    label = "moved into the background task",
    note = "use an owned, thread-safe type (e.g. `Arc<T>` instead of `Rc<T>`, `Arc<Mutex<T>>` instead of `RefCell<T>`)"
)]
pub trait TaskArgument {
    /// Checks a named argument (its type may be an `impl Trait`, which cannot be named).
    #[doc(hidden)]
    fn check(&self) {}
    /// Checks a pattern argument (`(a, b): (u32, u32)`), which has no name, by its type.
    #[doc(hidden)]
    fn check_type() {}
}

impl<T: Send + 'static> TaskArgument for T {}

/// A task's value, sent from the worker thread to the handle and the callbacks:
/// `Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a background task: it must be `Send + 'static`",
    label = "returned from a worker thread",
    note = "return an owned, thread-safe type (e.g. `Arc<T>` instead of `Rc<T>`, `String` instead of `&str`)"
)]
pub trait TaskValue: Sized {
    /// Makes the task of `body` on `manager` in `mode` (callbacks delivered anywhere, or kept
    /// on this thread), lets `configure` name it and set its options and callbacks, and starts
    /// it. The value is checked here only, so a value that is not `Send` is one error; what the
    /// handle yields, `R` (the value, or `()` once `on_complete` took it), is checked by the
    /// same bound.
    #[doc(hidden)]
    #[track_caller]
    fn start<M, F, C, R>(manager: &TaskManager, mode: M, body: F, configure: C) -> Task<R>
    where
        M: Mode,
        F: FnOnce(&TaskContext) -> Result<Self, AppError> + Send + 'static,
        C: FnOnce(M::Builder<Self, ()>) -> M::Builder<R, ()>,
        R: TaskValue;

    /// [`TaskValue::start`] for a body that publishes items (a `&Publisher<P>` parameter).
    #[doc(hidden)]
    #[track_caller]
    fn start_with_items<M, P, F, C, R>(
        manager: &TaskManager,
        mode: M,
        body: F,
        configure: C,
    ) -> Task<R, P>
    where
        M: Mode,
        P: Send + 'static,
        F: FnOnce(&TaskContext, &Publisher<P>) -> Result<Self, AppError> + Send + 'static,
        C: FnOnce(M::Builder<Self, P>) -> M::Builder<R, P>,
        R: TaskValue;

    /// [`TaskValue::start`] for an `async` body: `body` makes the future from an owned
    /// context.
    #[doc(hidden)]
    #[track_caller]
    fn start_async<M, F, Fut, C, R>(
        manager: &TaskManager,
        mode: M,
        body: F,
        configure: C,
    ) -> Task<R>
    where
        M: Mode,
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Self, AppError>> + Send + 'static,
        C: FnOnce(M::Builder<Self, ()>) -> M::Builder<R, ()>,
        R: TaskValue;

    /// [`TaskValue::start_with_items`] for an `async` body (an owned `Publisher<P>`).
    #[doc(hidden)]
    #[track_caller]
    fn start_async_with_items<M, P, F, Fut, C, R>(
        manager: &TaskManager,
        mode: M,
        body: F,
        configure: C,
    ) -> Task<R, P>
    where
        M: Mode,
        P: Send + 'static,
        F: FnOnce(TaskContext, Publisher<P>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Self, AppError>> + Send + 'static,
        C: FnOnce(M::Builder<Self, P>) -> M::Builder<R, P>,
        R: TaskValue;

    /// Starts a configured builder whose handle yields this value: where `configure` left it.
    #[doc(hidden)]
    #[track_caller]
    fn start_configured<M: Mode, P: Send + 'static>(builder: M::Builder<Self, P>) -> Task<Self, P>;
}

impl<T: Send + 'static> TaskValue for T {
    #[track_caller]
    fn start<M, F, C, R>(manager: &TaskManager, mode: M, body: F, configure: C) -> Task<R>
    where
        M: Mode,
        F: FnOnce(&TaskContext) -> Result<T, AppError> + Send + 'static,
        C: FnOnce(M::Builder<T, ()>) -> M::Builder<R, ()>,
        R: TaskValue,
    {
        R::start_configured::<M, ()>(configure(mode.builder(manager.task(body))))
    }

    #[track_caller]
    fn start_with_items<M, P, F, C, R>(
        manager: &TaskManager,
        mode: M,
        body: F,
        configure: C,
    ) -> Task<R, P>
    where
        M: Mode,
        P: Send + 'static,
        F: FnOnce(&TaskContext, &Publisher<P>) -> Result<T, AppError> + Send + 'static,
        C: FnOnce(M::Builder<T, P>) -> M::Builder<R, P>,
        R: TaskValue,
    {
        R::start_configured::<M, P>(configure(mode.builder(manager.task_with_items(body))))
    }

    #[track_caller]
    fn start_async<M, F, Fut, C, R>(
        manager: &TaskManager,
        mode: M,
        body: F,
        configure: C,
    ) -> Task<R>
    where
        M: Mode,
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, AppError>> + Send + 'static,
        C: FnOnce(M::Builder<T, ()>) -> M::Builder<R, ()>,
        R: TaskValue,
    {
        R::start_configured::<M, ()>(configure(mode.builder(manager.task_async(body))))
    }

    #[track_caller]
    fn start_async_with_items<M, P, F, Fut, C, R>(
        manager: &TaskManager,
        mode: M,
        body: F,
        configure: C,
    ) -> Task<R, P>
    where
        M: Mode,
        P: Send + 'static,
        F: FnOnce(TaskContext, Publisher<P>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, AppError>> + Send + 'static,
        C: FnOnce(M::Builder<T, P>) -> M::Builder<R, P>,
        R: TaskValue,
    {
        R::start_configured::<M, P>(configure(mode.builder(manager.task_async_with_items(body))))
    }

    #[track_caller]
    fn start_configured<M: Mode, P: Send + 'static>(builder: M::Builder<T, P>) -> Task<T, P> {
        M::start(builder)
    }
}

// How the attributes' generated code makes a task: not a requirement, and hidden. (Here, not
// in the private module, because `TaskValue`'s entries are bounded by it.)

/// Where a task made by the attributes delivers its callbacks, which decides the builder its
/// `configure` closure works on: [`Plain`] or [`Local`]. The value's bounds are the caller's
/// (they are [`TaskValue`]'s), so that a value that is not `Send` is one error, at
/// `TaskValue`.
#[doc(hidden)]
pub trait Mode {
    /// The builder `configure` receives and returns.
    type Builder<T, P>;
    /// The builder of a task made by `TaskManager::task` (or `task_with_items`).
    fn builder<T: Send + 'static, P: Send + 'static>(
        self,
        builder: TaskBuilder<T, P>,
    ) -> Self::Builder<T, P>;
    /// Starts the configured builder.
    #[track_caller]
    fn start<T: Send + 'static, P: Send + 'static>(builder: Self::Builder<T, P>) -> Task<T, P>;
}

/// Callbacks delivered where the task's dispatcher runs them: a [`TaskBuilder`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Plain;

impl Mode for Plain {
    type Builder<T, P> = TaskBuilder<T, P>;

    fn builder<T: Send + 'static, P: Send + 'static>(
        self,
        builder: TaskBuilder<T, P>,
    ) -> TaskBuilder<T, P> {
        builder
    }

    fn start<T: Send + 'static, P: Send + 'static>(builder: TaskBuilder<T, P>) -> Task<T, P> {
        builder.start()
    }
}

/// `local = true`: callbacks kept on the calling thread, a [`LocalTaskBuilder`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Local {
    /// Whether the attribute has `manager = ..`, so that a panic of `start()` advises in the
    /// attribute's terms.
    pub manager_key: bool,
}

impl Mode for Local {
    type Builder<T, P> = LocalTaskBuilder<T, P>;

    fn builder<T: Send + 'static, P: Send + 'static>(
        self,
        builder: TaskBuilder<T, P>,
    ) -> LocalTaskBuilder<T, P> {
        builder.local().made_by_attribute(self.manager_key)
    }

    #[track_caller]
    fn start<T: Send + 'static, P: Send + 'static>(builder: LocalTaskBuilder<T, P>) -> Task<T, P> {
        builder.start()
    }
}

/// What a fallible task function returns: a `Result` (or an alias of it, such as
/// `io::Result<T>`). Its error type is checked apart, as [`IntoAppError`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a background task: a return type named `Result` must be `std::result::Result<T, E>` or an alias of it",
    label = "not a `std::result::Result`",
    note = "rename the type, or return `Result<{Self}, E>`"
)]
pub trait TaskReturn {
    /// The value the task produces.
    type Value;
    /// The function's error type.
    type Error;
    /// Converts into the runtime's result type, with `convert` for the error.
    #[doc(hidden)]
    fn into_task_result<C>(self, convert: C) -> Result<Self::Value, AppError>
    where
        C: FnOnce(Self::Error) -> AppError;
}

impl<T, E> TaskReturn for Result<T, E> {
    type Value = T;
    type Error = E;

    fn into_task_result<C>(self, convert: C) -> Result<T, AppError>
    where
        C: FnOnce(E) -> AppError,
    {
        self.map_err(convert)
    }
}

/// The error type of a fallible task function: it converts into [`AppError`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a background task: it must convert into `AppError`",
    label = "the error type of this task",
    note = "any `std::error::Error + Send + Sync + 'static` converts (give it a code with `TaskManagerBuilder::map_error`); a type that is not one can implement `From<{Self}> for AppError`"
)]
pub trait IntoAppError {
    /// Converts the error.
    #[doc(hidden)]
    fn into_app_error(self) -> AppError;
}

// Reported as "`E` is not `IntoAppError`", once, not as each bound of `From<E> for AppError`
// that `E` misses (`Send` and `Sync` are two errors each, and the conversion is checked twice).
#[diagnostic::do_not_recommend]
impl<E: Into<AppError>> IntoAppError for E {
    fn into_app_error(self) -> AppError {
        self.into()
    }
}

/// A receiver that moves into the task (`self`, `self: Box<Self>`, `self: Arc<Self>`):
/// `Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "the receiver `{Self}` moves to a worker thread, so it must be `Send + 'static`",
    label = "moved into the background task",
    note = "`Arc<Self>` rather than `Rc<Self>` (and `Self: Sync` for `Arc`), `Mutex` or atomics rather than `Cell`/`RefCell`"
)]
pub trait TaskReceiver: Sized {
    /// Passes the receiver through its check.
    #[doc(hidden)]
    fn into_task(self) -> Self {
        self
    }
}

impl<T: Send + 'static> TaskReceiver for T {}

/// The type of a `&self` background method, which runs on a clone: `Clone + 'static`. That the
/// clone may go to a worker thread is checked apart, as [`SentForBody`] or
/// [`SentForCallbacks`], so that the error names the fix that applies.
#[diagnostic::on_unimplemented(
    message = "`&self` background methods run on a clone of `{Self}`, which must be `Clone + 'static`",
    label = "cloned into the background task",
    note = "derive `Clone` (sharing state through `Arc`), or take `self: Arc<Self>`"
)]
pub trait ClonedForTask: Sized {
    /// Clones the receiver for the task.
    #[doc(hidden)]
    fn clone_for_task(&self) -> Self;
}

impl<T: Clone + 'static> ClonedForTask for T {
    fn clone_for_task(&self) -> T {
        self.clone()
    }
}

/// The type of a `&self` background method whose body uses `self`: the body runs on a worker
/// thread with a clone of it, so it must be `Send`. `local = true` does not change that (it
/// keeps the callbacks on the calling thread, not the body).
///
/// Checked whole (the error names this type and says what to do), not field by field.
#[diagnostic::on_unimplemented(
    message = "the body of this method uses `self`, so a clone of `{Self}` goes to a worker thread, but `{Self}` is not `Send`",
    label = "`{Self}` is not `Send`",
    note = "pass what the body needs as an argument of an owned `Send` type (`String`, `Vec<T>`, `Arc<T>`) instead of reading it from `self`, or make the state `{Self}` holds `Send` (`Arc<Mutex<T>>` rather than `Rc<RefCell<T>>`); `local = true` keeps only the callbacks on this thread, not the body"
)]
pub trait SentForBody {
    /// The check.
    #[doc(hidden)]
    fn check() {}
}

#[diagnostic::do_not_recommend]
impl<T: Send> SentForBody for T {}

/// The type of a `&self` background method whose body does not use `self`, without
/// `local = true`: the task takes a clone for its callbacks, which run where the dispatcher
/// delivers, so it must be `Send`. With `local = true` (`TaskBuilder::local` without the
/// macro) the callbacks stay on the calling thread and it need not be.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Send`, and the body of this method does not use `self`: add `local = true` to the attribute, so that `self` and the callbacks stay on this thread",
    label = "`{Self}` is not `Send`",
    note = "with `local = true` (`.local()` on a `TaskBuilder`), callbacks run on the thread that calls the method, so `self.method` callbacks need `{Self}: Clone + 'static` only; the manager's dispatcher must then deliver to that thread (an `EventLoop` it drains)"
)]
pub trait SentForCallbacks {
    /// The check.
    #[doc(hidden)]
    fn check() {}
}

#[diagnostic::do_not_recommend]
impl<T: Send> SentForCallbacks for T {}

/// The type whose `self.method` callbacks run on a clone of the receiver:
/// `Clone + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "`self.method` callbacks run on a clone of `{Self}`, which must be `Clone + Send + 'static`",
    label = "cloned for the callback",
    note = "derive `Clone` (sharing state through `Arc`), take `self: Arc<Self>` (callbacks then reach it through a `Weak`), or pass a closure"
)]
pub trait ClonedForCallback: Sized {
    /// Clones the receiver for a callback.
    #[doc(hidden)]
    fn clone_for_callback(&self) -> Self;
}

impl<T: Clone + Send + 'static> ClonedForCallback for T {
    fn clone_for_callback(&self) -> T {
        self.clone()
    }
}

/// The type whose `self.method` callbacks run on a clone of the receiver, in a `local = true`
/// task: `Clone + 'static` (the clone stays on this thread).
#[diagnostic::on_unimplemented(
    message = "`self.method` callbacks run on a clone of `{Self}`, which must be `Clone + 'static`",
    label = "cloned for the callback",
    note = "derive `Clone` (sharing state through `Rc` is fine in a local task), or pass a closure"
)]
pub trait ClonedForLocalCallback: Sized {
    /// Clones the receiver for a local callback.
    #[doc(hidden)]
    fn clone_for_local_callback(&self) -> Self;
}

impl<T: Clone + 'static> ClonedForLocalCallback for T {
    fn clone_for_local_callback(&self) -> T {
        self.clone()
    }
}

/// A method named by a `self.method` callback: it is called on the receiver (a clone of it,
/// or the object an `Arc<Self>` receiver points to), so it takes `&self`. Implemented by no
/// type: the attributes require it only of a name that method-call syntax does not find as a
/// `&self` method of the receiver (an associated function without `self`, a method taking
/// `&mut self` or `self`), so that the mistake is one error that names the method.
#[diagnostic::on_unimplemented(
    message = "`self.{Self}` calls `{Self}` on the receiver, so `{Self}` must be a method of `{S}` that takes `&self`",
    label = "`{Self}` does not take `&self`",
    note = "give `{Self}` a `&self` parameter (`&mut self` would change a clone, not your object), or pass it as a path, `Self::{Self}`, to be called with the value alone"
)]
pub trait SelfMethod<S: ?Sized> {}

// The callback checks return opaque types that satisfy the builder's bounds by declaration: a
// callback that is not `Send` is reported once, at the callback, and not again at the builder
// call the macro generates. (Its argument type is checked before, by calling it.)

/// An `on_complete` callback: `FnOnce(T) + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_complete` callback must be `Send + 'static`: it is made here and runs where the task's dispatcher delivers",
    label = "captures something that cannot be sent to another thread",
    note = "capture `Arc<Mutex<T>>` rather than `Rc<RefCell<T>>`, or send a message to the state's owner"
)]
pub trait CompleteCallback<T> {
    /// The callback, as the builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnOnce(T) + Send + 'static;
}

impl<T, F: FnOnce(T) + Send + 'static> CompleteCallback<T> for F {
    fn checked(self) -> impl FnOnce(T) + Send + 'static {
        self
    }
}

/// An `on_error` callback: `FnOnce(AppError) + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_error` callback must be `Send + 'static`: it is made here and runs where the task's dispatcher delivers",
    label = "captures something that cannot be sent to another thread",
    note = "capture `Arc<Mutex<T>>` rather than `Rc<RefCell<T>>`, or send a message to the state's owner"
)]
pub trait ErrorCallback {
    /// The callback, as the builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnOnce(AppError) + Send + 'static;
}

impl<F: FnOnce(AppError) + Send + 'static> ErrorCallback for F {
    fn checked(self) -> impl FnOnce(AppError) + Send + 'static {
        self
    }
}

/// An `on_progress` callback: `FnMut(Progress) + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_progress` callback must be `FnMut(Progress) + Send + 'static`: it is called once per delivered report, where the task's dispatcher delivers",
    label = "cannot be called repeatedly from another thread",
    note = "capture `Arc<Mutex<T>>` rather than `Rc<RefCell<T>>`, and clone what the callback gives away"
)]
pub trait ProgressCallback {
    /// The callback, as the builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnMut(Progress) + Send + 'static;
}

impl<F: FnMut(Progress) + Send + 'static> ProgressCallback for F {
    fn checked(self) -> impl FnMut(Progress) + Send + 'static {
        self
    }
}

/// An `on_items` callback: `FnMut(Vec<P>) + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_items` callback must be `FnMut(Vec<P>) + Send + 'static`: it is called once per delivered batch, where the task's dispatcher delivers",
    label = "cannot be called repeatedly from another thread",
    note = "capture `Arc<Mutex<T>>` rather than `Rc<RefCell<T>>`, or use `local = true`"
)]
pub trait ItemsCallback<P> {
    /// The callback, as the builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnMut(Vec<P>) + Send + 'static;
}

impl<P, F: FnMut(Vec<P>) + Send + 'static> ItemsCallback<P> for F {
    fn checked(self) -> impl FnMut(Vec<P>) + Send + 'static {
        self
    }
}

/// An `on_started` or `on_cancelled` callback: `FnOnce() + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_started` and `on_cancelled` callbacks must be `Send + 'static`: they are made here and run where the task's dispatcher delivers",
    label = "captures something that cannot be sent to another thread",
    note = "capture `Arc<Mutex<T>>` rather than `Rc<RefCell<T>>`, or send a message to the state's owner"
)]
pub trait EventCallback {
    /// The callback, as the builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnOnce() + Send + 'static;
}

impl<F: FnOnce() + Send + 'static> EventCallback for F {
    fn checked(self) -> impl FnOnce() + Send + 'static {
        self
    }
}

// Local callbacks (`local = true`) stay on the thread that starts the task: `'static` only.

/// An `on_complete` callback of a local task: `FnOnce(T) + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_complete` callback must be `'static`: it runs after the call returns",
    label = "borrows something that does not live long enough",
    note = "move owned or `Rc` state into it (`move |value| ..`)"
)]
pub trait LocalCompleteCallback<T> {
    /// The callback, as the local builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnOnce(T) + 'static;
}

impl<T, F: FnOnce(T) + 'static> LocalCompleteCallback<T> for F {
    fn checked(self) -> impl FnOnce(T) + 'static {
        self
    }
}

/// An `on_error` callback of a local task: `FnOnce(AppError) + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_error` callback must be `'static`: it runs after the call returns",
    label = "borrows something that does not live long enough",
    note = "move owned or `Rc` state into it (`move |error| ..`)"
)]
pub trait LocalErrorCallback {
    /// The callback, as the local builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnOnce(AppError) + 'static;
}

impl<F: FnOnce(AppError) + 'static> LocalErrorCallback for F {
    fn checked(self) -> impl FnOnce(AppError) + 'static {
        self
    }
}

/// An `on_progress` callback of a local task: `FnMut(Progress) + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_progress` callback must be `FnMut(Progress) + 'static`: it is called once per delivered report, after the call returns",
    label = "cannot be called repeatedly later",
    note = "move owned or `Rc` state into it, and clone what the callback gives away"
)]
pub trait LocalProgressCallback {
    /// The callback, as the local builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnMut(Progress) + 'static;
}

impl<F: FnMut(Progress) + 'static> LocalProgressCallback for F {
    fn checked(self) -> impl FnMut(Progress) + 'static {
        self
    }
}

/// An `on_items` callback of a local task: `FnMut(Vec<P>) + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_items` callback must be `FnMut(Vec<P>) + 'static`: it is called once per delivered batch, after the call returns",
    label = "cannot be called repeatedly later",
    note = "move owned or `Rc` state into it"
)]
pub trait LocalItemsCallback<P> {
    /// The callback, as the local builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnMut(Vec<P>) + 'static;
}

impl<P, F: FnMut(Vec<P>) + 'static> LocalItemsCallback<P> for F {
    fn checked(self) -> impl FnMut(Vec<P>) + 'static {
        self
    }
}

/// An `on_started` or `on_cancelled` callback of a local task: `FnOnce() + 'static`.
#[diagnostic::on_unimplemented(
    message = "the `on_started` and `on_cancelled` callbacks must be `'static`: they run after the call returns",
    label = "borrows something that does not live long enough",
    note = "move owned or `Rc` state into it (`move || ..`)"
)]
pub trait LocalEventCallback {
    /// The callback, as the local builder takes it.
    #[doc(hidden)]
    fn checked(self) -> impl FnOnce() + 'static;
}

impl<F: FnOnce() + 'static> LocalEventCallback for F {
    fn checked(self) -> impl FnOnce() + 'static {
        self
    }
}
