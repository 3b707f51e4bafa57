//! `#[run_in_background]` and `#[async_method]`: turn a function or method (an `async fn`
//! too) into one that starts a background task on a `task_runtime` manager and returns its
//! `Task` handle at once.
//!
//! ```
//! use std::time::Duration;
//! use task_macros::run_in_background;
//! use task_runtime::{AppError, EventLoop, TaskContext, TaskManager};
//!
//! #[derive(Clone)]
//! struct Library {
//!     tasks: TaskManager,
//! }
//!
//! impl Library {
//!     /// Counts the words of a book, off the UI thread.
//!     #[run_in_background(task_name = "Count", on_complete = self.show, manager = &self.tasks)]
//!     fn count_words(&self, text: String, ctx: &TaskContext) -> Result<usize, AppError> {
//!         ctx.check_cancelled()?;
//!         Ok(text.split_whitespace().count())
//!     }
//!
//!     fn show(&self, words: usize) {
//!         println!("{words} words");
//!     }
//! }
//!
//! let ui = EventLoop::new();
//! let library = Library {
//!     tasks: TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap(),
//! };
//! let task = library.count_words("it was a dark and stormy night".into()); // returns at once
//! assert!(ui.run_until_idle(&library.tasks, Duration::from_secs(10))); // "7 words"
//! assert!(task.is_finished());
//! ```
//!
//! See [`run_in_background`] for the keys, receivers, return types and callback forms, and
//! for the same code written without the macro.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod keys;

mod attr;
mod expand;
mod fallback;
mod methods;
mod model;
mod signature;
mod valid;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::spanned::Spanned;

use attr::{Attr, MacroKind};
use keys::{if_taken, key_docs, keys};

/// Runs the function on a worker pool and returns a `Task` handle at once.
///
/// ```
/// # use task_macros::run_in_background;
/// # use task_runtime::{AppError, TaskContext};
/// # use std::path::PathBuf;
/// # struct Document;
/// # #[derive(Clone)] struct Viewer;
/// # impl Viewer {
/// #     fn show(&self, _: Document) {}
/// #     fn report(&self, _: AppError) {}
/// #     fn tick(&self, _: task_runtime::Progress) {}
/// #[run_in_background(task_name = "Load", on_complete = self.show, on_error = self.report,
///                     on_progress = self.tick)]
/// fn load(&self, path: PathBuf, ctx: &TaskContext) -> Result<Document, AppError> {
///     let bytes = std::fs::read(&path)?;
///     ctx.report_progress(1, 1, "parsed");
///     Ok(Document)
/// }
/// # }
/// ```
///
/// `viewer.load(path)` now returns a `task_runtime::Task<()>` immediately (`Task<()>` because
/// `on_complete` takes the value); the body runs on a worker, and the callbacks run on the
/// manager's dispatcher, typically the UI thread.
///
/// # Keys
///
/// Every key is optional.
///
#[doc = keys!(key_docs run_in_background)]
///
/// An unknown key is reported with the closest valid one ("did you mean `on_complete`?").
/// [`macro@task_methods`] on the `impl` block gives its keys (see there) to every method of
/// it.
///
/// A callback is a path (`show`, `Self::show`, `ui::show`), a closure (`|doc| ...`), or
/// `self.method`, which calls the method on the receiver: on a clone for `&self` and `self`
/// receivers, through a `Weak` for `self: Arc<Self>` and `self: &Arc<Self>` (if the object is
/// gone when the callback is due, the callback is skipped). Such a method takes `&self`: one
/// taking `&mut self` would change the clone, not your object, and is a compile error, as is
/// an associated function without `self`. A closure's parameter needs no type (`|doc| ...`):
/// it is the type the slot receives. A closure cannot use `self`, since it runs after the
/// call returned: name a method instead. Callbacks must be `Send + 'static` and return `()`.
///
/// With `local = true` the task is built with `TaskBuilder::local`: callbacks stay on the
/// thread that calls the function, so they may capture `Rc<RefCell<..>>` or GTK widgets, and
/// `self.method` callbacks need `Self: Clone + 'static` only. `Self: Send` is still needed
/// when the body uses `self` (it runs on a worker); the attribute's own expressions
/// (`manager = ..`) run on the calling thread and do not count. The manager's dispatcher must
/// deliver to that thread: give `manager = ..` a manager built with the dispatcher of an
/// `EventLoop` the thread drains (see *Panics*).
///
/// Mistakes are compile errors at the token they are about: a callback of the wrong type is
/// "expected `String`, found `usize`" at the callback; a type that cannot cross to a worker
/// thread names the requirement it misses, one of the traits of `task_runtime::bounds`
/// ("the trait `TaskArgument` is not implemented for `Rc<Vec<u64>>`"). A `&self` method of a
/// type that is not `Send` is told the fix: `local = true` when the body does not use `self`
/// (only callbacks need it), or passing what the body needs as owned arguments when it does.
///
/// # The function
///
/// * **Return type.** `Result<T, E>` (any path whose last segment is `Result`, so
///   `io::Result<T>` and `anyhow`-style aliases too) is fallible: the task yields `T`, and
///   `E: Into<AppError>`; `?` works as usual. Any other type `R` is the task's value; no return
///   type means `()`. The generated function returns `Task<T>`, or `Task<()>` with
///   `on_complete`. `-> impl Trait` must say `+ Send + 'static` (or, in edition 2024,
///   `+ Send + use<..>` naming no lifetime).
/// * **Context.** A parameter of type `&TaskContext` is removed from the generated signature
///   and supplied by the runtime: use it to check cancellation and report progress.
/// * **Items.** A parameter of type `&Publisher<P>` is removed too: the body publishes partial
///   results through it, `on_items` receives them in batches on the dispatcher, and the
///   generated function returns `Task<T, P>` (see `TaskManager::task_with_items`). Write the
///   item type (`&Publisher<String>`, not `&Publisher<_>`).
/// * **Receivers.** `&self` runs the body on a clone (`Self: Clone + Send + 'static`; share
///   state through `Arc`). `self` and `self: Arc<Self>` move the receiver into the task;
///   `self: &Arc<Self>` clones the `Arc`. `&mut self` is rejected: a worker thread cannot
///   hold a unique borrow of the caller's object.
/// * **Arguments** move into the task, so they must be owned and `Send + 'static`: `String`
///   rather than `&str`, `Arc<T>` rather than `&T`.
/// * **`async fn`** is accepted: see [below](#async-fn).
/// * Name, visibility, attributes, doc comments and generics are kept. Lifetime parameters,
///   `const`, `unsafe`, `extern` and variadic functions are rejected.
///
/// # `async fn`
///
/// The body of an `async fn` is polled on the manager's workers, and holds none while it
/// waits (on `ctx.sleep(..)`, another `Task`, a channel...). The generated function is still
/// a plain `fn` that starts the task at the call and returns its `Task<T>` (a trait declares
/// `fn name(..) -> Task<T>`). `ctx: &TaskContext` and `items: &Publisher<P>` parameters work
/// as in a blocking body, across `.await` too (the future owns what they borrow); `?` and
/// `return` mean what they mean in the `async fn`; every key applies as to a blocking
/// function.
///
/// ```
/// use std::time::Duration;
/// use task_macros::run_in_background;
/// use task_runtime::{AppError, TaskContext};
///
/// #[run_in_background(task_name = "Status", on_error = |error| eprintln!("{error}"))]
/// async fn wait_until_ready(url: String, ctx: &TaskContext) -> Result<bool, AppError> {
///     for _ in 0..3 {
///         ctx.sleep(Duration::from_millis(5)).await; // no worker is held meanwhile
///         ctx.check_cancelled()?;
///     }
///     Ok(url.starts_with("https://"))
/// }
///
/// let task = wait_until_ready("https://example.invalid".into()); // started, not awaited
/// assert!(task.join().unwrap());
/// ```
///
/// Any worker may poll the future, so what it holds across an `.await` must be `Send`: an
/// `Rc` or a `RefCell` borrow kept over an `.await` is a compile error that names the value
/// and the `.await` (see *Errors*). Inside the body, wait for another task with `.await`
/// rather than `join()`, which would hold the worker.
///
/// # The same code without the macro
///
/// The example above is equivalent to writing:
///
/// ```
/// # use task_runtime::{AppError, TaskContext, Task};
/// # use std::path::PathBuf;
/// # struct Document;
/// # #[derive(Clone)] struct Viewer;
/// # impl Viewer {
/// #     fn show(&self, _: Document) {}
/// #     fn report(&self, _: AppError) {}
/// #     fn tick(&self, _: task_runtime::Progress) {}
/// fn load(&self, path: PathBuf) -> Task<()> {
///     let on_complete = { let this = self.clone(); move |doc| this.show(doc) };
///     let on_error = { let this = self.clone(); move |err| this.report(err) };
///     let on_progress = { let this = self.clone(); move |p| this.tick(p) };
///     let this = self.clone();
///     task_runtime::get_task_manager()
///         .task(move |ctx: &TaskContext| this.load_body(path, ctx))
///         .name("Load")
///         .on_progress(on_progress)
///         .on_error(on_error)
///         .on_complete(on_complete)
///         .start()
/// }
///
/// fn load_body(&self, path: PathBuf, ctx: &TaskContext) -> Result<Document, AppError> {
///     let bytes = std::fs::read(&path)?;
///     ctx.report_progress(1, 1, "parsed");
///     Ok(Document)
/// }
/// # }
/// ```
///
/// An `async fn` is the same with `task_async`, whose closure takes the context owned:
/// `.task_async(move |ctx| async move { let ctx = &ctx; /* the body */ })`.
///
/// # Cancellation
///
/// Cancel through the returned handle (`task.cancel()`), by name
/// (`manager.cancel_task("Load")`), or all at once. The body sees it through
/// `ctx.is_cancelled()` / `ctx.check_cancelled()?`; the task's outcome is then *cancelled*
/// whatever the body returns, and `on_cancelled` runs instead of `on_complete`/`on_error`.
/// The future of an `async fn` waiting at an `.await` is not polled again: it stops there,
/// and the outcome is decided at once.
/// With `exclusive = "cancel_previous"`, starting the function again cancels the previous
/// call of the same name and drops its undelivered callbacks (a search box that only shows
/// the latest result).
///
/// # Errors
///
/// An `Err` from the body, or a panic, fails the task with an `AppError` (with
/// `task = <name>` in its context; a panic becomes `ERR_TASK_PANICKED`). It goes to
/// `on_error`, or to the manager's error handler when there is none, and the handle's
/// `join()` returns `Err(TaskError::Failed(..))`.
///
/// Mistakes in the attribute or the signature are compile errors at the offending token:
///
/// ```compile_fail
/// # use task_macros::run_in_background;
/// # #[derive(Clone)] struct Counter;
/// # impl Counter {
/// #[run_in_background]
/// fn bump(&mut self) {} // error: `&mut self` cannot be moved to a worker thread
/// # }
/// ```
///
/// In an `async fn`, a value that is not `Send` held across an `.await` is rustc's "future
/// cannot be sent between threads safely", at the `async` keyword, with a note naming the
/// value and the `.await`, "required by a bound in
/// `async_fn::holds_only_send_values_across_await`": drop the value before the `.await` (end
/// its scope), or use a `Send` type (`Arc` rather than `Rc`, `Mutex` rather than `RefCell`).
///
/// ```compile_fail
/// # use task_macros::run_in_background;
/// # async fn tick() {}
/// #[run_in_background]
/// async fn count(n: u32) -> u32 {
///     let shared = std::rc::Rc::new(n);
///     tick().await; // error: `shared` is held across this `.await`, and `Rc` is not `Send`
///     *shared
/// }
/// ```
///
/// # Panics
///
/// With `local = true`, the generated function panics when the manager's dispatcher cannot
/// deliver to the calling thread: the worker-thread dispatcher (that of `TaskManager::new` and
/// of the global manager used without `manager = ..`), or an `EventLoop` created on another
/// thread. The message says what to give: `manager = <a manager whose dispatcher is this
/// thread's EventLoop>`. Otherwise it does not panic. A panic in the body is caught and fails
/// the task (see *Errors*); a panic in a callback is reported to the manager's error handler.
#[proc_macro_attribute]
pub fn run_in_background(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::RunInBackground, attr.into(), item.into()).into()
}

/// Runs the function in the background with progress shown, and returns a `Task<T>` to join
/// or `.await`: [`run_in_background`] without callbacks, `show_progress = true` by default.
/// The function may be an `async fn` (see [`run_in_background`](macro@run_in_background#async-fn)).
///
/// Its keys, as for [`run_in_background`] (callbacks are not accepted: the caller handles the
/// outcome through the handle):
///
#[doc = keys!(key_docs async_method)]
///
///
/// ```
/// use task_macros::async_method;
/// use task_runtime::{AppError, TaskContext};
///
/// #[async_method(task_name = "Checksum")]
/// fn checksum(data: Vec<u8>, ctx: &TaskContext) -> Result<u32, AppError> {
///     let mut sum = 0u32;
///     for (i, chunk) in data.chunks(1024).enumerate() {
///         ctx.check_cancelled()?;
///         sum = chunk.iter().fold(sum, |s, b| s.rotate_left(5) ^ u32::from(*b));
///         ctx.set_progress(i as u64 + 1, data.len().div_ceil(1024) as u64);
///     }
///     Ok(sum)
/// }
///
/// let task = checksum(vec![7; 10_000]);
/// let sum = futures::executor::block_on(task).unwrap(); // or task.join()
/// # let _ = sum;
/// ```
///
/// An `async fn` waits without holding a worker, and its wrapper is the same plain `fn`:
///
/// ```
/// use std::time::Duration;
/// use task_macros::async_method;
/// use task_runtime::TaskContext;
///
/// #[async_method(task_name = "Later")]
/// async fn double_later(n: u64, ctx: &TaskContext) -> u64 {
///     ctx.sleep(Duration::from_millis(5)).await;
///     n * 2
/// }
///
/// assert_eq!(double_later(21).join().unwrap(), 42);
/// ```
///
/// # The same code without the macro
///
/// ```
/// # use task_runtime::{AppError, Task, TaskContext};
/// fn checksum(data: Vec<u8>) -> Task<u32> {
///     task_runtime::get_task_manager()
///         .task(move |ctx: &TaskContext| -> Result<u32, AppError> {
///             // ... the body, unchanged ...
/// #           let _ = (ctx, data);
/// #           Ok(0)
///         })
///         .name("Checksum")
///         .show_progress(true)
///         .start()
/// }
/// ```
///
/// # Cancellation
///
/// As for [`run_in_background`]: `task.cancel()`, then the body sees `ctx.is_cancelled()`;
/// awaiting or joining yields `Err(TaskError::Cancelled)`.
///
/// # Errors
///
/// A failing or panicking body makes the handle yield `Err(TaskError::Failed(..))`; the error
/// also goes to the manager's error handler, since there is no `on_error`.
///
/// # Panics
///
/// The generated function does not panic, except with `local = true`, as
/// [`run_in_background`]'s does.
#[proc_macro_attribute]
pub fn async_method(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::AsyncMethod, attr.into(), item.into()).into()
}

/// Gives every `#[run_in_background]` and `#[async_method]` method of an `impl` block the same
/// defaults, so that `manager = &self.tasks` is written once.
///
/// ```
/// use task_macros::{run_in_background, task_methods};
/// use task_runtime::TaskManager;
///
/// #[derive(Clone)]
/// struct Library {
///     tasks: TaskManager,
/// }
///
/// #[task_methods(manager = &self.tasks)]
/// impl Library {
///     #[run_in_background]
///     fn count(&self, text: String) -> usize {
///         text.split_whitespace().count()
///     }
///
///     // A key on the method wins over the block's.
///     #[run_in_background(manager = task_runtime::get_task_manager())]
///     fn shout(&self, text: String) -> String {
///         text.to_uppercase()
///     }
/// }
///
/// let library = Library { tasks: TaskManager::new(2) };
/// assert_eq!(library.count("one two".to_owned()).join().unwrap(), 2);
/// assert_eq!(library.shout("hi".to_owned()).join().unwrap(), "HI");
/// ```
///
/// # Keys
///
/// As on the methods:
///
#[doc = keys!(key_docs task_methods)]
///
///
/// Only the attributes' arguments are rewritten: each method then expands on its own, and an
/// error about a default is reported at the default's tokens here.
#[proc_macro_attribute]
pub fn task_methods(attr: TokenStream, item: TokenStream) -> TokenStream {
    match methods::expand(attr.into(), item.clone().into()) {
        Ok(expanded) => expanded.into(),
        Err(error) => {
            let error = error.to_compile_error();
            let item = TokenStream2::from(item);
            quote!(#error #item).into()
        }
    }
}

/// Parses, checks into the model of the wrapper, and expands that model; on the first
/// error, emits it *and* a fallback of the user's item, so the rest of the crate still
/// type-checks against it and rust-analyzer keeps working inside the body.
fn entry(kind: MacroKind, attr: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let parsed = Attr::parse(kind, attr.clone());
    let expanded = parsed.as_ref().map_err(Clone::clone).and_then(|parsed| {
        let func = parse_function(kind, item.clone())?;
        let shape = signature::analyse(&func.sig);
        let wrapper = valid::check(kind, parsed, &func, &shape)?;
        Ok(expand::expand(&wrapper))
    });
    match expanded {
        Ok(expanded) => expanded,
        Err(error) => {
            let error = error.to_compile_error();
            let item = fallback::fallback(parsed.as_ref().ok(), &attr, item);
            quote!(#error #item)
        }
    }
}

fn parse_function(kind: MacroKind, item: TokenStream2) -> syn::Result<syn::ItemFn> {
    if let Ok(func) = syn::parse2::<syn::ItemFn>(item.clone()) {
        return Ok(func);
    }
    let attribute = kind.attribute();
    if let Ok(method) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if method.default.is_none() {
            // A trait's method declaration and a function of an `extern` block look alike.
            return Err(syn::Error::new_spanned(
                &method.sig,
                format!(
                    "{attribute} needs a function with a body: in a trait, put it on the method \
                     of the `impl` block; a function of an `extern` block cannot run in the \
                     background (call it from a Rust function)"
                ),
            ));
        }
    }
    let what = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Impl(block)) => {
            return Err(syn::Error::new(
                block.impl_token.span,
                format!(
                    "{attribute} goes on a function or method, not on an `impl` block; put it on \
                     the methods inside"
                ),
            ))
        }
        Ok(syn::Item::Struct(s)) => ("a struct", s.struct_token.span),
        Ok(syn::Item::Enum(e)) => ("an enum", e.enum_token.span),
        Ok(syn::Item::Trait(t)) => ("a trait", t.trait_token.span),
        Ok(syn::Item::Mod(m)) => ("a module", m.mod_token.span),
        Ok(syn::Item::Macro(m)) => ("a macro invocation", m.mac.path.span()),
        Ok(syn::Item::Static(s)) => ("a static", s.static_token.span),
        Ok(syn::Item::Const(c)) => ("a constant", c.const_token.span),
        Ok(syn::Item::Use(u)) => ("a `use` declaration", u.use_token.span),
        Ok(syn::Item::Type(t)) => ("a type alias", t.type_token.span),
        Ok(other) => ("this item", other.span()),
        Err(error) => return Err(error),
    };
    Err(syn::Error::new(
        what.1,
        format!(
            "{attribute} goes on a function or method, not on {}",
            what.0
        ),
    ))
}
