//! Writing the model out: the wrapper, from a [`Wrapper`] that `valid.rs` planned. Nothing
//! here reads the attribute or the function, and nothing is chosen: each function writes one
//! part of the model.
//!
//! The body runs in a closure inside the wrapper, which inherits `Self`, the generics and the
//! arguments (moved in). No other item is generated, so a method of a trait impl expands to
//! exactly the method the trait declares. The wrapper is:
//!
//! ```text
//! fn name(receiver, arguments) -> Task<..> {
//!     <argument checks> <receiver cloner>
//!     <each key's `lets`: callbacks, manager, scope, mode>
//!     <the receiver, taken by the task>
//!     let mut body = move |ctx, publisher| { <the body> };
//!     <T as TaskValue>::start(manager, mode, move |ctx| convert(body(ctx)), |builder| {
//!         <each key's steps: name, options, callbacks; `on_complete` last>
//!         builder
//!     })
//! }
//! ```
//!
//! For an `async fn` the body is a closure that takes the context owned and returns the
//! future, checked as `Send` at the `async` keyword, and the entry is `start_async`:
//!
//! ```text
//!     let body = move |ctx: TaskContext| async move { let ctx: &TaskContext = &ctx; <the body> };
//!     <T as TaskValue>::start_async(manager, mode, move |ctx| {
//!         let future = checked(body(ctx));
//!         async move { convert(future.await) }
//!     }, configure)
//! ```
//!
//! Each key of the table (`keys.rs`) names its emitter here, which writes what the key
//! decided: [`emitter`] maps every key to it.
//!
//! Generated locals use mixed-site hygiene ([`Names`]), so they never collide with the user's
//! names, and every generated check is spanned at the user's token it is about.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Path};

use crate::attr::{ExclusiveMode, Key, Receives};
use crate::keys::keys;
use crate::model::{
    ArgumentCheck, Block, Borrowed, Call, Callback, Capture, Check, ClonedFor, Conversion,
    ErrorType, Mode, Names, Received, Runs, SelfMethod, SentFor, Wrapper,
};

/// What one key writes into the wrapper.
#[derive(Default)]
pub(crate) struct Piece {
    /// Statements before the task is made, while the receiver is still the caller's.
    pub(crate) lets: TokenStream,
    /// Statements of the closure that configures the builder: `let b = b.priority(3);`.
    pub(crate) steps: TokenStream,
    /// Steps that change the builder's type (`on_complete`), after every other.
    pub(crate) last: TokenStream,
}

/// An emitter: what `key` decided, written out.
pub(crate) type Emitter = fn(Key, &Wrapper, &Names) -> Piece;

/// From the rows of the key table: each key's emitter.
macro_rules! define_emitters {
    (; $(
        $variant:ident $name:literal => $field:ident: $ty:ty = $parse:ident $(($($arg:expr),*))?,
        [$run:ident $async:ident $methods:ident], $example:literal, [$($synonym:literal),*],
        $value:literal, $default:literal,
        $emit:ident;
    )*) => {
        /// The emitter the key table names for `key`.
        pub(crate) fn emitter(key: Key) -> Emitter {
            match key {
                $(Key::$variant => $emit,)*
            }
        }
    };
}

keys!(define_emitters);

pub(crate) fn expand(wrapper: &Wrapper) -> TokenStream {
    let names = Names::new();
    let pieces: Vec<Piece> = Key::ALL
        .iter()
        .map(|&key| emitter(key)(key, wrapper, &names))
        .collect();
    let lets = pieces.iter().map(|piece| &piece.lets);
    let steps = pieces.iter().map(|piece| &piece.steps);
    let last = pieces.iter().map(|piece| &piece.last);
    let checks = argument_checks(wrapper);
    let cloner = cloner(wrapper, &names);
    let receiver = receiver_capture(wrapper, &names);
    let (body, task_fn) = body(wrapper, &names);
    let builder = &names.builder;
    let start = entry(
        wrapper,
        &names,
        task_fn,
        quote!(|#builder| { #(#steps)* #(#last)* #builder }),
    );
    let Wrapper {
        attrs, vis, sig, ..
    } = wrapper;
    quote! {
        #(#attrs)*
        #vis #sig {
            #checks
            #cloner
            #(#lets)*
            #receiver
            #body
            #start
        }
    }
}

// ---------------------------------------------------------------------------------------
// The emitters of the keys, in the table's order.
// ---------------------------------------------------------------------------------------

/// `task_name`: the builder's name, a literal kept without a copy.
fn task_name(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let (private, b, name) = (private_path(&w.krate), &n.builder, &w.options.name);
    step_at_output(w, quote!(let #b = #private::Named::named(#b, #name);))
}

/// `on_complete`, `on_error`, `on_progress`, `on_items`, `on_cancelled`, `on_started`: the
/// callback bound to a local, type-checked at its own expression, before the receiver moves
/// into the task (`self.method` needs it); then `let b = b.on_error(local);`, located at the
/// callback, so that every error about it points there.
fn callback(key: Key, w: &Wrapper, n: &Names) -> Piece {
    let Some(callback) = w.callbacks.iter().find(|callback| callback.key == key) else {
        return Piece::default();
    };
    let local = Names::callback(key);
    let value = match &callback.call {
        Call::Expr(expr) => expr_callback(w, n, callback, expr),
        Call::OnClone(call) => on_clone(w, n, callback, call),
        Call::OnWeak(call) => on_weak(w, n, callback, call),
    };
    let method = Ident::new(key.name(), Span::call_site());
    let b = &n.builder;
    let step = respan(quote!(let #b = #b.#method(#local);), callback.at);
    let (steps, last) = if callback.takes_value() {
        (TokenStream::new(), step)
    } else {
        (step, TokenStream::new())
    };
    Piece {
        lets: quote!(let #local = #value;),
        steps,
        last,
    }
}

/// `show_progress`: given or defaulted, always set.
fn show_progress(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let (b, show) = (&n.builder, w.options.show_progress);
    step_at_output(w, quote!(let #b = #b.show_progress(#show);))
}

fn priority(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let b = &n.builder;
    w.options
        .priority
        .as_ref()
        .map_or_else(Piece::default, |priority| {
            step_at_output(w, quote!(let #b = #b.priority(#priority);))
        })
}

fn exclusive(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let (krate, b) = (&w.krate, &n.builder);
    let mode = match w.options.exclusive {
        Some(ExclusiveMode::CancelPrevious) => quote!(#krate::Exclusive::CancelPrevious),
        Some(ExclusiveMode::SkipIfActive) => quote!(#krate::Exclusive::SkipIfActive),
        None => return Piece::default(),
    };
    step_at_output(w, quote!(let #b = #b.exclusive(#mode);))
}

fn timeout_ms(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let b = &n.builder;
    w.options.timeout_ms.map_or_else(Piece::default, |ms| {
        step_at_output(
            w,
            quote!(let #b = #b.timeout(::core::time::Duration::from_millis(#ms));),
        )
    })
}

/// `manager`: the manager the task is spawned on, the global one by default.
fn manager(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let (krate, local) = (&w.krate, &n.manager);
    let private = private_path(krate);
    let lets = match &w.manager {
        Some(given) => borrowed(
            given,
            local,
            quote!(#private::manager),
            quote!(#krate::TaskManager),
        ),
        None => quote!(let #local = #krate::get_task_manager();),
    };
    Piece {
        lets,
        ..Piece::default()
    }
}

/// `scope`: the scope the task starts in, as `manager` (a `&TaskScope` coerces to
/// `&ScopeHandle`).
fn scope(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let Some(given) = &w.scope else {
        return Piece::default();
    };
    let (krate, local, b) = (&w.krate, &n.scope, &n.builder);
    let private = private_path(krate);
    Piece {
        lets: borrowed(
            given,
            local,
            quote!(#private::scope),
            quote!(#krate::ScopeHandle),
        ),
        ..step_at_output(w, quote!(let #b = #b.scope(#local);))
    }
}

/// `local`: the mode the task is made in, which decides the builder `configure` works on.
fn local(_: Key, w: &Wrapper, n: &Names) -> Piece {
    let (krate, local) = (&w.krate, &n.mode);
    let mode = match w.mode {
        Mode::Plain => quote!(#krate::bounds::Plain),
        Mode::Local { manager_key } => {
            quote!(#krate::bounds::Local { manager_key: #manager_key })
        }
    };
    Piece {
        lets: quote!(let #local = #mode;),
        ..Piece::default()
    }
}

/// `crate`: nothing of its own; every emitter writes its paths from `w.krate`.
fn krate(_: Key, _: &Wrapper, _: &Names) -> Piece {
    Piece::default()
}

/// A step of the builder, reported at the return type: the chain's own type errors (a value
/// that is not `Send`...) are about it.
fn step_at_output(w: &Wrapper, step: TokenStream) -> Piece {
    Piece {
        steps: respan(step, w.output_span),
        ..Piece::default()
    }
}

/// `let local: &Ty = <expr>;` for an attribute's reference (`manager = &self.tasks`): a plain
/// `let` with a type, so the type check stays at the expression and a temporary in it
/// (`&self.app.manager()`) lives as long as the local, as in any `let x = &f();`. When the
/// receiver moves into the task, `take` clones what the expression borrows from it first.
fn borrowed(given: &Borrowed, local: &Ident, take: TokenStream, ty: TokenStream) -> TokenStream {
    let expr = &given.expr;
    if given.take {
        let value = quote_spanned!(expr.span()=> #take(#expr));
        quote!(let #local = &#value;)
    } else {
        // The type located at the expression too: "expected `&TaskManager`" points there.
        let ty = respan(ty, expr.span());
        quote_spanned!(expr.span()=> let #local: &#ty = #expr;)
    }
}

// ---------------------------------------------------------------------------------------
// Callbacks.
// ---------------------------------------------------------------------------------------

/// `bounds::ErrorCallback::checked`, or for a value that cannot be named,
/// `__private::on_complete`.
fn check(w: &Wrapper, callback: &Callback) -> TokenStream {
    let krate = &w.krate;
    match &callback.check {
        Check::Bound { name, generic } => {
            let generic = generic.as_ref().map(|generic| quote!(::<#generic>));
            quote!(#krate::bounds::#name #generic::checked)
        }
        Check::Unnamed { local: true } => {
            let private = private_path(krate);
            quote!(#private::on_local_complete)
        }
        Check::Unnamed { local: false } => {
            let private = private_path(krate);
            quote!(#private::on_complete)
        }
    }
}

/// `{ let mut on_error = <expr>; checked(move |error: AppError| -> () { on_error(error) }) }`,
/// located at the expression.
fn expr_callback(w: &Wrapper, n: &Names, callback: &Callback, expr: &syn::Expr) -> TokenStream {
    let span = callback.at;
    let check = check(w, callback);
    let received = match &callback.received {
        Received::Unnamed => return call_at(check, expr.to_token_stream(), span),
        Received::Nothing => None,
        Received::Named(ty) => Some(ty),
    };
    // Named after the key, so that a message about it reads "`on_error` has type ..".
    let local = Ident::new(callback.key.name(), Span::mixed_site().located_at(span));
    let param = received.map(|_| located(&n.received, span));
    let params = param.iter().zip(received).map(|(p, ty)| quote!(#p: #ty));
    let arguments = param.iter();
    let call = call_at(local.to_token_stream(), quote!(#(#arguments),*), span);
    let wrapper = respan(quote!(move |#(#params),*| -> () { #call }), span);
    quote!({
        #[allow(unused_mut)]
        let mut #local = #expr;
        #check(#wrapper)
    })
}

/// The parameter of the closure that calls a `self.method` callback, annotated where its type
/// can be named (else deduced from the check's bound), and its use as an argument.
fn self_method_param(
    n: &Names,
    callback: &Callback,
    call: &SelfMethod,
) -> (Option<TokenStream>, Option<Ident>) {
    let param =
        (callback.receives != Receives::Nothing).then(|| located(&n.received, call.method.span()));
    let declared = param.as_ref().map(|p| match &callback.received {
        Received::Named(ty) => quote!(#p: #ty),
        Received::Nothing | Received::Unnamed => quote!(#p),
    });
    (declared, param)
}

/// `self.method` on a clone of the receiver.
fn on_clone(w: &Wrapper, n: &Names, callback: &Callback, call: &SelfMethod) -> TokenStream {
    let self_token = &call.self_token;
    // `&self` is `&Self` already; `self` is `Self`.
    let receiver = if call.self_is_ref {
        quote_spanned!(self_token.span=> #self_token)
    } else {
        quote_spanned!(self_token.span=> &#self_token)
    };
    let (cloner, cb_this) = (&n.cloner, &n.cb_this);
    let clone = quote_spanned!(self_token.span=> #cloner(#receiver));
    let at = located(cb_this, call.method.span());
    let (param, argument) = self_method_param(n, callback, call);
    let method_call = method_call(w, quote!(&#at), callback, call, argument);
    let check = check(w, callback);
    quote!({
        let #cb_this = #clone;
        #check(move |#param| { #method_call; })
    })
}

/// `self.method` through a `Weak`: if the object is gone by delivery time, the callback is
/// skipped.
fn on_weak(w: &Wrapper, n: &Names, callback: &Callback, call: &SelfMethod) -> TokenStream {
    let self_token = &call.self_token;
    let arc = if call.self_is_ref {
        quote_spanned!(self_token.span=> #self_token)
    } else {
        quote_spanned!(self_token.span=> &#self_token)
    };
    let (cb_this, cb_weak) = (&n.cb_this, &n.cb_weak);
    let private = private_path(&w.krate);
    let (param, argument) = self_method_param(n, callback, call);
    let method_call = method_call(w, quote!(&*#cb_this), callback, call, argument);
    let check = check(w, callback);
    quote!({
        let #cb_weak = #private::downgrade(#arc);
        #check(move |#param| {
            if let ::core::option::Option::Some(#cb_this) = #cb_weak.upgrade() {
                #method_call;
            }
        })
    })
}

/// `receiver.method(argument)` for a `self.method` callback, with `receiver` a `&Self`.
///
/// Method-call syntax finds `method` as a method of `Self` taking `&self` (inherent, or of a
/// trait in scope), as `Self::method(receiver, ..)` would. Anything else (an associated
/// function without `self`, a method taking `&mut self` or `self`) is then found one autoref
/// step later, as the method of a local trait implemented for `&S`, whose bound
/// `method: SelfMethod<Self>` is never met: one error, "`self.show` calls `show` on the
/// receiver, so `show` must be a method of `View` that takes `&self`", at the method's name,
/// where calling it by path would say "takes 1 argument but 2 arguments were supplied". A
/// method of the right kind given the wrong type is still "expected `String`, found `usize`".
/// The local items are named after what the message is about: a struct after the method, the
/// trait after the key (its note reads "required by a bound in `on_complete::show`"), or
/// `callback` when the method has the key's name.
fn method_call(
    w: &Wrapper,
    receiver: TokenStream,
    callback: &Callback,
    call: &SelfMethod,
    argument: Option<Ident>,
) -> TokenStream {
    let krate = &w.krate;
    let SelfMethod {
        method, fallback, ..
    } = call;
    let at_method = Span::mixed_site().located_at(method.span());
    let mut name = method.clone();
    name.set_span(at_method);
    let signature = match callback.receives {
        Receives::Nothing => quote!(fn #method(&self)),
        _ => quote!(fn #method<V>(&self, _: V)),
    };
    let bound = respan(quote!(#name: #krate::bounds::SelfMethod<S>), method.span());
    let call = quote_spanned!(method.span()=> (#receiver).#method(#argument));
    quote_spanned! {at_method=>
        #[allow(dead_code, non_camel_case_types)]
        struct #name {}
        #[allow(dead_code, non_camel_case_types)]
        trait #fallback<S: ?Sized> {
            #signature where #bound {}
        }
        impl<S: ?Sized> #fallback<S> for &S {}
        #call
    }
}

// ---------------------------------------------------------------------------------------
// The arguments, the receiver, the body and the entry.
// ---------------------------------------------------------------------------------------

/// Each argument's check, spanned at its type. The value is checked where the task is made
/// (`TaskValue::start`), the error type where the result is converted (`IntoAppError`): once
/// each.
fn argument_checks(w: &Wrapper) -> TokenStream {
    let krate = &w.krate;
    w.arguments
        .iter()
        .map(|check| match check {
            ArgumentCheck::Named { name, at } => {
                quote_spanned!(*at=> #krate::bounds::TaskArgument::check(&#name);)
            }
            ArgumentCheck::Typed { ty } => quote_spanned!(ty.span()=>
                <#ty as #krate::bounds::TaskArgument>::check_type();),
        })
        .collect()
}

/// `let cloner: fn(&Self) -> Self = <Self as Trait>::clone..;`: the one check that `Self` can
/// be cloned for the task and the `self.method` callbacks. A function pointer, so that each
/// use of it is not checked again: a type that cannot be cloned is one error, however many
/// callbacks.
fn cloner(w: &Wrapper, n: &Names) -> TokenStream {
    let Some(receiver) = &w.receiver else {
        return TokenStream::new();
    };
    let Some(cloner) = &receiver.cloner else {
        return TokenStream::new();
    };
    let bounds = {
        let krate = &w.krate;
        quote!(#krate::bounds)
    };
    let send = cloner.sent.map(|sent| {
        let sent = match sent {
            SentFor::Body => quote!(SentForBody),
            SentFor::Callbacks => quote!(SentForCallbacks),
        };
        quote_spanned!(receiver.self_token.span=> <Self as #bounds::#sent>::check();)
    });
    let at = cloner.at;
    let check = match cloner.check {
        ClonedFor::Task => quote_spanned!(at=> <Self as #bounds::ClonedForTask>::clone_for_task),
        ClonedFor::Callback => {
            quote_spanned!(at=> <Self as #bounds::ClonedForCallback>::clone_for_callback)
        }
        ClonedFor::LocalCallback => quote_spanned!(at=>
            <Self as #bounds::ClonedForLocalCallback>::clone_for_local_callback),
    };
    let local = &n.cloner;
    quote!(#send let #local: fn(&Self) -> Self = #check;)
}

/// `let this = <the receiver, as the task takes it>;`.
fn receiver_capture(w: &Wrapper, n: &Names) -> TokenStream {
    let Some(receiver) = &w.receiver else {
        return TokenStream::new();
    };
    let self_token = &receiver.self_token;
    let krate = &w.krate;
    let value = match receiver.capture {
        None => return TokenStream::new(),
        // Naming `Self` keeps rustc from suggesting `&&self`.
        Some(Capture::Clone) => {
            let cloner = &n.cloner;
            quote_spanned!(self_token.span=> #cloner(#self_token))
        }
        // Checked at the receiver's type: it moves to a worker thread.
        Some(Capture::Move { at }) => {
            quote_spanned!(at=> #krate::bounds::TaskReceiver::into_task(#self_token))
        }
        Some(Capture::CloneArc { at }) => quote_spanned!(at=>
            #krate::bounds::TaskReceiver::into_task(::std::sync::Arc::clone(#self_token))),
    };
    let this = &n.this;
    quote!(let #this = #value;)
}

/// The body as a closure (`let mut body = move |ctx| { .. };`), and the task's function that
/// calls it: `move |ctx| convert(body(ctx))`. For an `async fn`, the closure makes the future
/// from the owned context (see [`polled_body`]) and the task's function awaits it:
/// `move |ctx| { let future = checked(body(ctx)); async move { convert(future.await) } }`.
fn body(w: &Wrapper, n: &Names) -> (TokenStream, TokenStream) {
    let krate = &w.krate;
    let private = private_path(krate);
    let bounds = quote!(#krate::bounds);
    let Names {
        ctx,
        publisher,
        body,
        convert: convert_local,
        future,
        ..
    } = n;
    let output_span = w.output_span;
    let body_ = &w.body;
    // A body with items takes the publisher too, in the order of our own closure (the user's
    // parameters are bound by pattern, so their order does not matter).
    let body_args = match &w.items {
        Some(_) => quote!(#ctx, #publisher),
        None => quote!(#ctx),
    };
    // What the body gives: its value, or the value its future resolves to.
    let value = match body_.runs {
        Runs::Blocking => quote!(#body(#body_args)),
        Runs::Polled { .. } => quote!(#future.await),
    };
    let (convert, run) = match &body_.result {
        Conversion::Fallible(error) => {
            let convert = match error {
                ErrorType::Written(error) => quote_spanned!(error.span()=>
                    <#error as #bounds::IntoAppError>::into_app_error),
                ErrorType::OfReturn(ty) => quote_spanned!(ty.span()=>
                    <<#ty as #bounds::TaskReturn>::Error as #bounds::IntoAppError>::into_app_error),
                ErrorType::Inferred(at) => {
                    quote_spanned!(*at=> <_ as #bounds::IntoAppError>::into_app_error)
                }
            };
            let run = call_at(
                quote!(#bounds::TaskReturn::into_task_result),
                quote!(#value, #convert_local),
                output_span,
            );
            // A function pointer: its call has no bound of its own to fail a second time.
            (
                quote!(let #convert_local: fn(_) -> #krate::AppError = #convert;),
                run,
            )
        }
        Conversion::Infallible => {
            let run = call_at(quote!(#private::infallible), value, output_span);
            (TokenStream::new(), run)
        }
    };
    let (closure, call) = match body_.runs {
        Runs::Blocking => {
            let call = match &w.items {
                Some(item) => quote!(
                    move |#ctx: &#krate::TaskContext, #publisher: &#krate::Publisher<#item>| #run
                ),
                None => quote!(move |#ctx: &#krate::TaskContext| #run),
            };
            (blocking_body(w, n), respan(call, output_span))
        }
        Runs::Polled { at } => {
            let params = match &w.items {
                Some(item) => {
                    quote!(#ctx: #krate::TaskContext, #publisher: #krate::Publisher<#item>)
                }
                None => quote!(#ctx: #krate::TaskContext),
            };
            let checked = send_check(quote!(#body(#body_args)), at);
            let head = respan(quote!(move |#params|), output_span);
            let converted = respan(quote!(async move { #run }), output_span);
            let call = quote!(#head {
                let #future = #checked;
                #converted
            });
            (polled_body(w, n, at), call)
        }
    };
    let prelude = quote! {
        #closure
        #convert
    };
    (prelude, call)
}

/// `let mut body = move |ctx: &TaskContext, ..| -> Ret { block };`.
fn blocking_body(w: &Wrapper, n: &Names) -> TokenStream {
    let krate = &w.krate;
    let body_ = &w.body;
    let body = &n.body;
    let ret = &body_.ret;
    let context = match &body_.context {
        Some((pat, ty)) => quote!(#pat: #ty),
        None => quote!(_: &#krate::TaskContext),
    };
    let params = match &body_.publisher {
        Some((pat, ty)) => quote!(#context, #pat: #ty),
        None => context,
    };
    let block = match &body_.block {
        Block::AsWritten(block) => block.to_token_stream(),
        Block::OnReceiver { braces, .. } => {
            let mut block = proc_macro2::Group::new(
                proc_macro2::Delimiter::Brace,
                block_statements(w, n, None),
            );
            block.set_span(*braces);
            block.into_token_stream()
        }
    };
    // `mut`: a body that mutates a `mut` argument in place makes the closure `FnMut`.
    quote! {
        #[allow(unused_mut)]
        let mut #body = move |#params| -> #ret #block;
    }
}

/// `let body = move |ctx: TaskContext, publisher: Publisher<P>| async move { .. };` for an
/// `async fn`: the future owns the context and the publisher, and the block begins by binding
/// the user's `ctx: &TaskContext` and `items: &Publisher<P>` parameters to them, then fixes
/// its output to the function's return type (a `return` that is never taken, at the return
/// type), so that `?` converts to the function's error type and `return` returns from the
/// function, as in the `async fn`. The user's statements follow in the same braces (the
/// block's own, where its errors go).
fn polled_body(w: &Wrapper, n: &Names, at: Span) -> TokenStream {
    let krate = &w.krate;
    let body_ = &w.body;
    let Names {
        ctx,
        publisher,
        body,
        returned,
        ..
    } = n;
    let ret = &body_.ret;
    let context_param = match &body_.context {
        Some(_) => quote!(#ctx: #krate::TaskContext),
        None => quote!(_: #krate::TaskContext),
    };
    let params = match &w.items {
        Some(item) => quote!(#context_param, #publisher: #krate::Publisher<#item>),
        None => context_param,
    };
    let context = body_
        .context
        .as_ref()
        .map(|(pat, ty)| quote!(let #pat: #ty = &#ctx;));
    let items = body_
        .publisher
        .as_ref()
        .map(|(pat, ty)| quote!(let #pat: #ty = &#publisher;));
    let typed = respan(
        quote! {
            if let ::core::option::Option::Some(#returned) = ::core::option::Option::None::<#ret> {
                return #returned;
            }
        },
        w.output_span,
    );
    let braces = match &body_.block {
        Block::AsWritten(block) => block.brace_token.span.join(),
        Block::OnReceiver { braces, .. } => *braces,
    };
    let statements = block_statements(w, n, Some(at));
    let mut block = proc_macro2::Group::new(
        proc_macro2::Delimiter::Brace,
        quote! {
            #context
            #items
            #typed
            #statements
        },
    );
    block.set_span(braces);
    let async_move = respan(quote!(async move), at);
    quote! {
        let #body = move |#params| #async_move #block;
    }
}

/// The statements of the body: as written, or for a body on the receiver, the receiver's
/// binding first (`let self_ = &this;`), then the statements with `self` renamed.
///
/// The binding joins the body's own statements in the body's own braces: wrapping the block
/// in another (`{ let self_ = ..; { body } }`) makes a one-line body the inner block's return
/// value, which rustc's `unused_braces` reports at the user's braces. In an `async fn`'s body
/// (`polled` is the `async` keyword) the binding is located at the receiver: a borrowed `self`
/// held across an `.await` is reported there.
fn block_statements(w: &Wrapper, n: &Names, polled: Option<Span>) -> TokenStream {
    let Names { this, self_, .. } = n;
    match &w.body.block {
        Block::AsWritten(block) => block.stmts.iter().map(ToTokens::to_token_stream).collect(),
        // The body's `self` is the task's own receiver (a clone, or the moved one), bound at
        // the top of the body. `mut` only where the receiver is `mut self`, so no lint about
        // it needs silencing; the binding itself is unused when the body does not name `self`
        // (the task still takes the receiver), which is the one lint about a generated name
        // allowed here.
        Block::OnReceiver {
            stmts,
            by_ref,
            mutability,
            ..
        } => {
            let bind = if *by_ref {
                quote!(&#this)
            } else {
                quote!(#this)
            };
            let self_ = match (polled, &w.receiver) {
                (Some(_), Some(receiver)) => located(self_, receiver.self_token.span),
                _ => self_.clone(),
            };
            quote! {
                #[allow(unused_variables)]
                let #mutability #self_ = #bind;
                #stmts
            }
        }
    }
}

/// `future`, checked as `Send + 'static`: the workers poll it. The check is a function of a
/// local trait whose name says what the bound asks, so rustc's own error ("future cannot be
/// sent between threads safely", which names the value held across an `.await`) ends with
/// "required by a bound in `async_fn::holds_only_send_values_across_await`". The call and the
/// bound are the `async` keyword's own span (`at`), so that the error and its note are about
/// the user's code only. The check returns an opaque future that is `Send` by declaration, so
/// the entry's own bound does not report the same value again. The items are in a block of
/// their own, apart from the user's code, whose names they would otherwise shadow.
fn send_check(future: TokenStream, at: Span) -> TokenStream {
    quote_spanned! {at=>
        {
            #[allow(non_camel_case_types)]
            trait async_fn {
                fn holds_only_send_values_across_await<F>(
                    future: F,
                ) -> impl ::core::future::Future<Output = F::Output>
                       + ::core::marker::Send
                       + 'static
                where
                    F: ::core::future::Future + ::core::marker::Send + 'static,
                {
                    future
                }
            }
            impl async_fn for () {}
            <() as async_fn>::holds_only_send_values_across_await(#future)
        }
    }
}

/// `<T as TaskValue>::start(manager, mode, task, configure)`, or `start_with_items` for a
/// body with items, or their `start_async` forms for an `async fn`: one call makes,
/// configures and starts the task, and checks the value once (a value that is not `Send` is
/// one error, at the return type).
///
/// The call is the return type's own span, not only located there: the check of `T` as the
/// entry's `Self` and that of the handle's value (`R: TaskValue`, `T` too without
/// `on_complete`) then share a span, and rustc reports them once.
fn entry(w: &Wrapper, n: &Names, task_fn: TokenStream, configure: TokenStream) -> TokenStream {
    let krate = &w.krate;
    let entry = match (&w.items, w.body.runs) {
        (Some(_), Runs::Blocking) => quote!(start_with_items),
        (None, Runs::Blocking) => quote!(start),
        (Some(_), Runs::Polled { .. }) => quote!(start_async_with_items),
        (None, Runs::Polled { .. }) => quote!(start_async),
    };
    let path = if w.value.nameable {
        let value = &w.value.ty;
        quote!(<#value as #krate::bounds::TaskValue>::#entry)
    } else {
        quote!(#krate::bounds::TaskValue::#entry)
    };
    let (manager, mode) = (&n.manager, &n.mode);
    let mut arguments = proc_macro2::Group::new(
        proc_macro2::Delimiter::Parenthesis,
        quote!(#manager, #mode, #task_fn, #configure),
    );
    arguments.set_span(w.output_span);
    let path = span_all(path, w.output_span);
    quote!(#path #arguments)
}

// ---------------------------------------------------------------------------------------
// Spans and paths.
// ---------------------------------------------------------------------------------------

/// `tokens` reported at `span`: every token (inside groups too) keeps its hygiene but takes
/// the location of `span`, so generated expressions whose type errors are about one user
/// token are reported there, not at the attribute.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            let located = token.span().located_at(span);
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(group.span().located_at(span));
                token = respanned.into();
            } else {
                token.set_span(located);
            }
            token
        })
        .collect()
}

/// The generated local `name`, located at `span`.
fn located(name: &Ident, span: Span) -> Ident {
    let mut located = name.clone();
    located.set_span(name.span().located_at(span));
    located
}

/// `tokens` with `span` itself, hygiene included (only for absolute paths and the user's
/// own types, which resolve the same anywhere).
fn span_all(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), span_all(group.stream(), span));
                respanned.set_span(span);
                token = respanned.into();
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// `function(arguments)` with the call itself (path and parentheses) located at `span`.
fn call_at(function: TokenStream, arguments: TokenStream, span: Span) -> TokenStream {
    let mut parens = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, arguments);
    parens.set_span(Span::call_site().located_at(span));
    let function = respan(function, span);
    quote!(#function #parens)
}

/// The runtime's module for generated code, named after the version both crates share: a
/// macro crate paired with a runtime of another version fails to compile here instead of
/// expanding to code that does something else.
pub(crate) fn private_path(krate: &Path) -> TokenStream {
    let module = Ident::new(
        &format!(
            "__private_{}",
            env!("CARGO_PKG_VERSION").replace(['.', '-', '+'], "_")
        ),
        Span::call_site(),
    );
    quote!(#krate::#module)
}
