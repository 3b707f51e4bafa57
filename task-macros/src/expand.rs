//! Generating the wrapper.
//!
//! The body runs in a closure inside the wrapper, which inherits `Self`, the generics and the
//! arguments (moved in). No other item is generated, so a method of a trait impl expands to
//! exactly the method the trait declares. For a method, the wrapper clones or moves the
//! receiver into the task, and the body's `self` tokens name that local instead (located at
//! the `self` they replace). The wrapper keeps the name, visibility, attributes and generics,
//! drops the `&TaskContext` parameter, and returns a `Task`.
//!
//! Generated locals use mixed-site hygiene, so they never collide with the user's names, and
//! every generated check is spanned at the user's token it is about.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, Ident, ItemFn, Path, Type};

use crate::attr::{Attr, Callback, ExclusiveMode, Form, MacroKind, Receives};
use crate::signature::{Output, ReceiverKind, Shape};

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

/// `function(arguments)` with the call itself (path and parentheses) located at `span`.
fn call_at(function: TokenStream, arguments: TokenStream, span: Span) -> TokenStream {
    let mut parens = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, arguments);
    parens.set_span(Span::call_site().located_at(span));
    let function = respan(function, span);
    quote!(#function #parens)
}

/// The wrapper's own locals.
struct Names {
    this: Ident,
    manager: Ident,
    scope: Ident,
    builder: Ident,
    ctx: Ident,
    publisher: Ident,
    body: Ident,
    convert: Ident,
    cb_this: Ident,
    cb_weak: Ident,
    cloner: Ident,
    /// What the body's `self` becomes.
    self_: Ident,
}

impl Names {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Names {
            this: local("__task_this"),
            manager: local("__task_manager"),
            scope: local("__task_scope"),
            builder: local("__task_builder"),
            ctx: local("__task_ctx"),
            publisher: local("__task_publisher"),
            body: local("__task_body"),
            convert: local("__task_convert"),
            cb_this: local("__task_callback_this"),
            cb_weak: local("__task_callback_weak"),
            cloner: local("__task_cloner"),
            self_: local("__task_self"),
        }
    }
}

/// What the expansion decides once, from the attribute and the function.
#[derive(Clone, Copy)]
struct Plan<'a> {
    /// `local = true`: callbacks stay on the calling thread and need not be `Send`.
    local: bool,
    /// The value's type, where it can be named (not an `impl Trait`).
    value: Option<&'a TokenStream>,
    /// The items' type, for a body with a `&Publisher<P>` parameter.
    items: Option<&'a TokenStream>,
    /// The task takes the receiver (a clone, or the receiver itself): its body uses `self`.
    /// Without `local`, a method's task always takes it, as it always did.
    captures_receiver: bool,
    /// The body names `self`: what a receiver that is not `Send` needs is then owned data,
    /// not `local = true`.
    body_uses_self: bool,
}

pub(crate) fn expand(kind: MacroKind, args: &Attr, func: &ItemFn, shape: &Shape) -> TokenStream {
    let krate: Path = args
        .krate
        .as_ref()
        .map(|k| k.value.clone())
        .unwrap_or_else(|| syn::parse_quote!(::task_runtime));
    let private = private_path(&krate);
    let names = Names::new();
    let sig = &func.sig;
    let fn_name = &sig.ident;
    let on_complete = args.on_complete.as_ref();

    let value_type = value_type(&krate, shape);
    let task_type = if on_complete.is_some() {
        quote!(())
    } else {
        value_type.clone()
    };
    // Named in checks only when it can be: `impl Trait` cannot appear in a turbofish.
    let nameable_value = match &shape.output {
        Output::Plain(ty) | Output::Fallible { ty, .. } if mentions_impl_trait(ty) => None,
        _ => Some(value_type),
    };
    // The builder chain's own type errors (a value that is not `Send`...) are about the return
    // type: report them there.
    let output_span = match &shape.output {
        Output::Plain(ty) | Output::Fallible { ty, .. } => ty.span(),
        Output::Unit => Span::call_site(),
    };

    // The wrapper's signature: same name, generics and receiver; no `&TaskContext`.
    let mut wrapper_sig = sig.clone();
    wrapper_sig.inputs = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Receiver(receiver) => {
                let mut receiver = receiver.clone();
                if receiver.reference.is_none() {
                    // Moved into the task as is: `mut` would only draw an unused-mut warning.
                    receiver.mutability = None;
                }
                Some(FnArg::Receiver(receiver))
            }
            FnArg::Typed(_) => None,
        })
        .chain(shape.args.iter().map(|arg| {
            let (pat, ty) = (&arg.pat, &arg.ty);
            syn::parse_quote!(#pat: #ty)
        }))
        .collect();
    let item_type = shape.item_type().map(|item| item.to_token_stream());
    wrapper_sig.output = match &item_type {
        Some(item) => {
            syn::parse_quote_spanned!(sig.output.span()=> -> #krate::Task<#task_type, #item>)
        }
        None => syn::parse_quote_spanned!(sig.output.span()=> -> #krate::Task<#task_type>),
    };

    let local = args.local.as_ref().is_some_and(|local| local.value.value);
    // Decided by the tokens: a body that names `self` needs the receiver on the worker.
    let body_uses_self =
        shape.receiver.is_some() && replace_self(func.block.to_token_stream(), &names.self_).1;
    let plan = Plan {
        local,
        value: nameable_value.as_ref(),
        items: item_type.as_ref(),
        captures_receiver: shape.receiver.is_some() && (!local || body_uses_self),
        body_uses_self,
    };
    let checks = checks(&krate, shape);
    let cloner = receiver_cloner(&krate, args, shape, &names, plan);
    let callbacks = callbacks(&krate, args, shape, &names, plan);
    let manager = manager(&krate, args, shape, &names, plan);
    let scope = scope(&krate, args, shape, &names, plan);
    let receiver = receiver_capture(&krate, shape, &names, plan);
    let (body, task_fn) = builder(&krate, func, shape, &names, output_span, plan);
    let task_name = match &args.task_name {
        Some(name) => name.value.clone(),
        // `fn r#match()` is the task "match".
        None => syn::LitStr::new(&fn_name.unraw().to_string(), fn_name.span()),
    };
    let options = options(&krate, kind, args, &names);
    let Names {
        builder: builder_name,
        ..
    } = &names;

    let configure = respan(
        if plan.local {
            let manager_key = args.manager.is_some();
            quote!(let #builder_name = #private::static_local_name(#builder_name, #task_name, #manager_key) #options;)
        } else {
            quote!(let #builder_name = #private::static_name(#builder_name, #task_name) #options;)
        },
        output_span,
    );
    let attach = attach_callbacks(args, builder_name);
    // One call checks the value once (a value that is not `Send` is one error, here), builds,
    // configures and starts the task.
    let run = match (plan.local, on_complete.is_some(), plan.items.is_some()) {
        (false, false, false) => quote!(run),
        (false, true, false) => quote!(run_completing),
        (true, false, false) => quote!(run_local),
        (true, true, false) => quote!(run_local_completing),
        (false, false, true) => quote!(run_items),
        (false, true, true) => quote!(run_items_completing),
        (true, false, true) => quote!(run_local_items),
        (true, true, true) => quote!(run_local_items_completing),
    };
    let run = match &nameable_value {
        Some(value) => quote!(<#value as #krate::bounds::TaskValue>::#run),
        None => quote!(#krate::bounds::TaskValue::#run),
    };
    let manager_name = &names.manager;
    let start = call_at(
        run,
        quote!(#manager_name, #task_fn, |#builder_name| { #configure #attach #builder_name }),
        output_span,
    );
    let attrs = &func.attrs;
    let vis = &func.vis;
    let wrapper = quote! {
        #(#attrs)*
        #vis #wrapper_sig {
            #checks
            #cloner
            #callbacks
            #manager
            #scope
            #receiver
            #body
            #start
        }
    };
    wrapper
}

/// Checks spanned at the user's tokens: the arguments.
fn checks(krate: &Path, shape: &Shape) -> TokenStream {
    // By value where the argument has a name (its type may be an `impl Trait`, which cannot
    // be named), by type for patterns.
    let arguments = shape.args.iter().filter_map(|arg| {
        let ty = &arg.ty;
        match &arg.binding {
            Some(name) => Some(quote_spanned!(ty.span()=>
                #krate::bounds::TaskArgument::check(&#name);)),
            None if mentions_impl_trait(ty) => None,
            None => Some(quote_spanned!(ty.span()=>
                <#ty as #krate::bounds::TaskArgument>::check_type();)),
        }
    });
    // The value is checked where the task is built (`TaskValue::run`), the error type where
    // the result is converted (`IntoAppError`): once each.
    quote!(#(#arguments)*)
}

/// The callbacks with what each receives, `on_complete` last (it changes the builder's type).
fn callbacks_in_order(args: &Attr) -> Vec<(Receives, &Ident, &Callback)> {
    let mut callbacks: Vec<_> = args
        .callbacks()
        .into_iter()
        .map(|(_, key, callback)| (callback.receives, key, callback))
        .collect();
    callbacks.sort_by_key(|(receives, ..)| *receives == Receives::Value);
    callbacks
}

fn callback_local(key: &Ident) -> Ident {
    Ident::new(&format!("__task_{}", key.unraw()), Span::mixed_site())
}

/// Each callback bound to a local, type-checked at its own expression. They are set up before
/// the receiver moves into the task, since `self.method` callbacks need it.
///
/// A callback is called from a closure of the right type (`move |value: T| callback(value)`)
/// rather than checked against an `Fn` bound: a callback taking the wrong type is then one
/// "expected `String`, found `usize`" at the callback, not two signature mismatches with the
/// types in notes. The closure is then checked for `Send` alone.
fn callbacks(
    krate: &Path,
    args: &Attr,
    shape: &Shape,
    names: &Names,
    plan: Plan<'_>,
) -> TokenStream {
    callbacks_in_order(args)
        .into_iter()
        .map(|(slot, key, callback)| {
            let local = callback_local(key);
            let value = match &callback.form {
                Form::Expr(expr) => expr_callback(krate, slot, key, expr, plan),
                Form::SelfMethod { self_token, method } => {
                    self_method(krate, slot, key, self_token, method, shape, names, plan)
                }
            };
            quote!(let #local = #value;)
        })
        .collect()
}

/// What a callback in `slot` is called with, when it can be named.
fn received_type(krate: &Path, slot: Receives, plan: Plan<'_>) -> Option<Option<TokenStream>> {
    match slot {
        Receives::Value => plan.value.map(|value| Some(value.clone())),
        Receives::Error => Some(Some(quote!(#krate::AppError))),
        Receives::Progress => Some(Some(quote!(#krate::Progress))),
        // `valid` made sure the item type is written.
        Receives::Items => plan.items.map(|item| Some(quote!(::std::vec::Vec<#item>))),
        Receives::Nothing => Some(None),
    }
}

/// The `bounds` trait that checks the callback of `slot` and hands it to the builder.
fn checked(
    krate: &Path,
    slot: Receives,
    received: Option<&TokenStream>,
    plan: Plan<'_>,
) -> TokenStream {
    let base = match slot {
        Receives::Value => "CompleteCallback",
        Receives::Error => "ErrorCallback",
        Receives::Progress => "ProgressCallback",
        Receives::Items => "ItemsCallback",
        Receives::Nothing => "EventCallback",
    };
    let local = if plan.local { "Local" } else { "" };
    let name = Ident::new(&format!("{local}{base}"), Span::call_site());
    let value = match slot {
        Receives::Value => received.map(|value| quote!(::<#value>)),
        Receives::Items => plan.items.map(|item| quote!(::<#item>)),
        _ => None,
    };
    quote!(#krate::bounds::#name #value::checked)
}

/// The check for an `on_complete` whose value type cannot be named (an `impl Trait`): an
/// `Fn` bound, from which a closure's parameter type is deduced.
fn unnamed_complete(krate: &Path, plan: Plan<'_>) -> TokenStream {
    let private = private_path(krate);
    if plan.local {
        quote!(#private::on_local_complete)
    } else {
        quote!(#private::on_complete)
    }
}

/// `{ let mut on_error = <expr>; checked(move |error: AppError| -> () { on_error(error) }) }`,
/// located at the expression. A closure's own parameters are annotated with the type they
/// receive where they have none, since it is no longer passed where its signature could be
/// deduced.
fn expr_callback(
    krate: &Path,
    slot: Receives,
    key: &Ident,
    expr: &syn::Expr,
    plan: Plan<'_>,
) -> TokenStream {
    let span = expr.span();
    let Some(received) = received_type(krate, slot, plan) else {
        return call_at(unnamed_complete(krate, plan), expr.to_token_stream(), span);
    };
    let mut expr = expr.clone();
    if let (syn::Expr::Closure(closure), Some(ty)) = (&mut expr, &received) {
        annotate(closure, ty);
    }
    // Named after the key, so that a message about it reads "`on_error` has type ..".
    let callback = Ident::new(
        &key.unraw().to_string(),
        Span::mixed_site().located_at(span),
    );
    let param = received
        .as_ref()
        .map(|_| Ident::new("__task_received", Span::mixed_site().located_at(span)));
    let params = param.iter().zip(&received).map(|(p, ty)| quote!(#p: #ty));
    let arguments = param.iter();
    let call = call_at(callback.to_token_stream(), quote!(#(#arguments),*), span);
    let check = checked(krate, slot, received.as_ref(), plan);
    let wrapper = respan(quote!(move |#(#params),*| -> () { #call }), span);
    quote!({
        #[allow(unused_mut)]
        let mut #callback = #expr;
        #check(#wrapper)
    })
}

/// Gives the closure's first parameter the type `ty` when it has none.
fn annotate(closure: &mut syn::ExprClosure, ty: &TokenStream) {
    if let Some(first) = closure.inputs.first_mut() {
        if !matches!(first, syn::Pat::Type(_)) {
            let pat = first.clone();
            let ty: Type = syn::parse_quote_spanned!(pat.span()=> #ty);
            *first = syn::Pat::Type(syn::PatType {
                attrs: Vec::new(),
                pat: Box::new(pat),
                colon_token: Default::default(),
                ty: Box::new(ty),
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn self_method(
    krate: &Path,
    slot: Receives,
    key: &Ident,
    self_token: &syn::Token![self],
    method: &Ident,
    shape: &Shape,
    names: &Names,
    plan: Plan<'_>,
) -> TokenStream {
    // Hygienic, but located at the method: a type mismatch is reported at `self.method`.
    let at_method = Span::mixed_site().located_at(method.span());
    let received = received_type(krate, slot, plan);
    let param = (slot != Receives::Nothing).then(|| Ident::new("__task_received", at_method));
    // Annotated where the type can be named; otherwise deduced from the check's bound.
    let params = param.iter().map(|p| match &received {
        Some(Some(ty)) => quote!(#p: #ty),
        _ => quote!(#p),
    });
    let arguments = param.iter();
    let check = match &received {
        Some(received) => checked(krate, slot, received.as_ref(), plan),
        None => unnamed_complete(krate, plan),
    };
    let kind = shape
        .receiver
        .as_ref()
        .map_or(ReceiverKind::Shared, |r| r.kind);
    let Names {
        cb_this, cb_weak, ..
    } = names;
    match kind {
        ReceiverKind::Shared | ReceiverKind::Owned => {
            // `&self` is `&Self` already; `self` is `Self`.
            let receiver = if kind == ReceiverKind::Shared {
                quote_spanned!(self_token.span=> #self_token)
            } else {
                quote_spanned!(self_token.span=> &#self_token)
            };
            let cloner = &names.cloner;
            let clone = quote_spanned!(self_token.span=> #cloner(#receiver));
            let mut at = cb_this.clone();
            at.set_span(cb_this.span().located_at(method.span()));
            let call = method_call(krate, quote!(&#at), key, method, arguments, slot);
            quote!({
                let #cb_this = #clone;
                #check(move |#(#params),*| { #call; })
            })
        }
        ReceiverKind::Arc | ReceiverKind::ArcRef => {
            let arc = if kind == ReceiverKind::Arc {
                quote_spanned!(self_token.span=> &#self_token)
            } else {
                quote_spanned!(self_token.span=> #self_token)
            };
            let private = private_path(krate);
            let call = method_call(krate, quote!(&*#cb_this), key, method, arguments, slot);
            // Through a `Weak`: if the object is gone by delivery time, the callback is skipped.
            quote!({
                let #cb_weak = #private::downgrade(#arc);
                #check(move |#(#params),*| {
                    if let ::core::option::Option::Some(#cb_this) = #cb_weak.upgrade() {
                        #call;
                    }
                })
            })
        }
        ReceiverKind::Unique | ReceiverKind::OtherBorrow => unreachable!("rejected by `valid`"),
    }
}

/// `receiver.method(arguments)` for a `self.method` callback, with `receiver` a `&Self`.
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
    krate: &Path,
    receiver: TokenStream,
    key: &Ident,
    method: &Ident,
    arguments: std::option::Iter<'_, Ident>,
    slot: Receives,
) -> TokenStream {
    let at_method = Span::mixed_site().located_at(method.span());
    let mut name = method.clone();
    name.set_span(at_method);
    // `on_progress = self.on_progress` is fine: the two names must differ.
    let key = key.unraw();
    let fallback = if key == method.unraw() {
        "callback".to_owned()
    } else {
        key.to_string()
    };
    let fallback = Ident::new(&fallback, at_method);
    let signature = match slot {
        Receives::Nothing => quote!(fn #method(&self)),
        _ => quote!(fn #method<V>(&self, _: V)),
    };
    let bound = respan(quote!(#name: #krate::bounds::SelfMethod<S>), method.span());
    let call = quote_spanned!(method.span()=> (#receiver).#method(#(#arguments),*));
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

/// The manager the task is spawned on. A reference where it can be: only a receiver that
/// moves into the task (`self`, `self: Arc<Self>`) needs its own handle, since `manager =
/// &self.tasks` would otherwise borrow what moves. (A clone is an atomic increment on a line
/// that workers also write; per task, it shows in the benchmarks.)
fn manager(krate: &Path, args: &Attr, shape: &Shape, names: &Names, plan: Plan<'_>) -> TokenStream {
    let private = private_path(krate);
    let local = &names.manager;
    match args.manager.as_ref().map(|m| &m.value) {
        Some(expr) => attribute_ref(
            expr,
            local,
            quote!(#private::manager),
            quote!(#krate::TaskManager),
            receiver_moves(shape, plan),
        ),
        None => quote!(let #local = #krate::get_task_manager();),
    }
}

/// The scope the task starts in, as `manager` (a `&TaskScope` coerces to `&ScopeHandle`).
fn scope(krate: &Path, args: &Attr, shape: &Shape, names: &Names, plan: Plan<'_>) -> TokenStream {
    let private = private_path(krate);
    args.scope.as_ref().map_or_else(TokenStream::new, |scope| {
        attribute_ref(
            &scope.value,
            &names.scope,
            quote!(#private::scope),
            quote!(#krate::ScopeHandle),
            receiver_moves(shape, plan),
        )
    })
}

/// `let local: &Ty = <expr>;` for an attribute's reference (`manager = &self.tasks`): a plain
/// `let` with a type, so the type check stays at the expression and a temporary in it
/// (`&self.app.manager()`) lives as long as the local, as in any `let x = &f();`. When the
/// receiver moves into the task, `take` clones what the expression borrows from it first.
fn attribute_ref(
    expr: &syn::Expr,
    local: &Ident,
    take: TokenStream,
    ty: TokenStream,
    receiver_moves: bool,
) -> TokenStream {
    if receiver_moves {
        let value = quote_spanned!(expr.span()=> #take(#expr));
        quote!(let #local = &#value;)
    } else {
        // The type located at the expression too: "expected `&TaskManager`" points there.
        let ty = respan(ty, expr.span());
        quote_spanned!(expr.span()=> let #local: &#ty = #expr;)
    }
}

/// Whether the receiver moves into the task (`self`, `self: Arc<Self>`): what the
/// attribute's expressions borrow from it must be taken before.
fn receiver_moves(shape: &Shape, plan: Plan<'_>) -> bool {
    plan.captures_receiver
        && shape
            .receiver
            .as_ref()
            .is_some_and(|r| matches!(r.kind, ReceiverKind::Owned | ReceiverKind::Arc))
}

/// `let cloner: fn(&Self) -> Self = <Self as Trait>::clone..;`: the one check that `Self` can
/// be cloned for the task and the `self.method` callbacks, at the receiver when the task takes
/// a clone, else at the first such callback. A function pointer, so that each use of it is
/// not checked again: a type that cannot be cloned is one error, however many callbacks.
fn receiver_cloner(
    krate: &Path,
    args: &Attr,
    shape: &Shape,
    names: &Names,
    plan: Plan<'_>,
) -> TokenStream {
    let Some(receiver) = &shape.receiver else {
        return TokenStream::new();
    };
    let bounds = quote!(#krate::bounds);
    let cloner = &names.cloner;
    let callback_self = callbacks_in_order(args)
        .into_iter()
        .find_map(|(_, _, callback)| match &callback.form {
            Form::SelfMethod { self_token, .. } => Some(self_token.span),
            Form::Expr(_) => None,
        });
    let task_clones = receiver.kind == ReceiverKind::Shared && plan.captures_receiver;
    // The clone goes to a worker thread: `Send`, checked apart from `Clone` so that its error
    // says what to do, which depends on what uses the receiver.
    let send = task_clones.then(|| {
        let sent = if plan.body_uses_self {
            quote!(SentForBody)
        } else {
            quote!(SentForCallbacks)
        };
        quote_spanned!(receiver.self_token.span=> <Self as #bounds::#sent>::check();)
    });
    let check = match (task_clones, callback_self) {
        (true, _) => quote_spanned!(receiver.self_token.span=>
            <Self as #bounds::ClonedForTask>::clone_for_task),
        (false, None) => return TokenStream::new(),
        (false, Some(_))
            if !matches!(receiver.kind, ReceiverKind::Shared | ReceiverKind::Owned) =>
        {
            // `Arc` receivers' callbacks use a `Weak`, not a clone.
            return TokenStream::new();
        }
        (false, Some(span)) if plan.local => quote_spanned!(span=>
            <Self as #bounds::ClonedForLocalCallback>::clone_for_local_callback),
        (false, Some(span)) => quote_spanned!(span=>
            <Self as #bounds::ClonedForCallback>::clone_for_callback),
    };
    quote!(#send let #cloner: fn(&Self) -> Self = #check;)
}

fn receiver_capture(krate: &Path, shape: &Shape, names: &Names, plan: Plan<'_>) -> TokenStream {
    let Some(receiver) = shape.receiver.as_ref().filter(|_| plan.captures_receiver) else {
        return TokenStream::new();
    };
    let this = &names.this;
    let self_token = &receiver.self_token;
    let bounds = quote!(#krate::bounds);
    let value = match receiver.kind {
        // Naming `Self` keeps rustc from suggesting `&&self`.
        ReceiverKind::Shared => {
            let cloner = &names.cloner;
            quote_spanned!(self_token.span=> #cloner(#self_token))
        }
        // Checked at the receiver: it moves to a worker thread.
        ReceiverKind::Owned | ReceiverKind::Arc => quote_spanned!(receiver.syntax.ty.span()=>
            #bounds::TaskReceiver::into_task(#self_token)),
        ReceiverKind::ArcRef => quote_spanned!(receiver.syntax.ty.span()=>
            #bounds::TaskReceiver::into_task(::std::sync::Arc::clone(#self_token))),
        ReceiverKind::Unique | ReceiverKind::OtherBorrow => {
            unreachable!("rejected by `valid`")
        }
    };
    quote!(let #this = #value;)
}

/// The body as a closure (`let mut body = move |ctx| { .. };`), and the task's function that
/// calls it: `move |ctx| convert(body(ctx))`.
fn builder(
    krate: &Path,
    func: &ItemFn,
    shape: &Shape,
    names: &Names,
    output_span: Span,
    plan: Plan<'_>,
) -> (TokenStream, TokenStream) {
    let private = private_path(krate);
    let bounds = quote!(#krate::bounds);
    let Names {
        this,
        ctx,
        publisher,
        body,
        convert: convert_local,
        ..
    } = names;
    // A body with items takes the publisher too, in the order of our own closure (the user's
    // parameters are bound by pattern, so their order does not matter).
    let body_args = match plan.items {
        Some(_) => quote!(#ctx, #publisher),
        None => quote!(#ctx),
    };
    // The error type is checked by naming its conversion, at the error type where it is
    // written: once, and nothing else about the result depends on it.
    let (convert, run) = match &shape.output {
        Output::Fallible { ty, error, .. } => {
            let convert = match error {
                Some(error) if !mentions_impl_trait(error) => quote_spanned!(error.span()=>
                    <#error as #bounds::IntoAppError>::into_app_error),
                _ if !mentions_impl_trait(ty) => quote_spanned!(ty.span()=>
                    <<#ty as #bounds::TaskReturn>::Error as #bounds::IntoAppError>::into_app_error),
                _ => quote_spanned!(ty.span()=> <_ as #bounds::IntoAppError>::into_app_error),
            };
            let run = call_at(
                quote!(#bounds::TaskReturn::into_task_result),
                quote!(#body(#body_args), #convert_local),
                output_span,
            );
            // A function pointer: its call has no bound of its own to fail a second time.
            let app_error = quote!(#krate::AppError);
            (
                quote!(let #convert_local: fn(_) -> #app_error = #convert;),
                run,
            )
        }
        Output::Unit | Output::Plain(_) => {
            let run = call_at(
                quote!(#private::infallible),
                quote!(#body(#body_args)),
                output_span,
            );
            (TokenStream::new(), run)
        }
    };
    // A closure cannot name an `impl Trait`: that part of the type is inferred (`-> _`,
    // `-> io::Result<_>`), the rest still guides inference (`Ok(..)`'s error type).
    let ret = match &func.sig.output {
        syn::ReturnType::Default => quote!(-> ()),
        syn::ReturnType::Type(_, ty) => {
            let ty = infer_impl_trait((**ty).clone());
            quote!(-> #ty)
        }
    };
    let param = match shape.context() {
        Some(context) => {
            let (pat, ty) = (&context.pat, &context.ty);
            quote!(#pat: #ty)
        }
        None => quote!(_: &#krate::TaskContext),
    };
    let param = match (shape.publisher(), plan.items) {
        (Some(publisher), Some(_)) => {
            let (pat, ty) = (&publisher.pat, &publisher.ty);
            quote!(#param, #pat: #ty)
        }
        _ => param,
    };
    let block = match shape.receiver.as_ref().filter(|_| plan.captures_receiver) {
        // The body's `self` is the task's own receiver (a clone, or the moved one): its
        // tokens name a local instead, bound at the top of the body.
        //
        // The binding joins the body's own statements in the body's own braces: wrapping the
        // block in another (`{ let self_ = ..; { body } }`) makes a one-line body the inner
        // block's return value, which rustc's `unused_braces` reports at the user's braces.
        // `mut` only where the receiver is `mut self`, so no lint about it needs silencing;
        // the binding itself is unused when the body does not name `self` (the task still
        // takes the receiver), which is the one lint about a generated name allowed here.
        Some(receiver) => {
            let stmts: TokenStream = func
                .block
                .stmts
                .iter()
                .map(ToTokens::to_token_stream)
                .collect();
            let (stmts, _) = replace_self(stmts, &names.self_);
            let self_ = &names.self_;
            let mutability = receiver.syntax.mutability;
            let bind = match receiver.kind {
                ReceiverKind::Shared | ReceiverKind::ArcRef => quote!(&#this),
                ReceiverKind::Owned | ReceiverKind::Arc => quote!(#this),
                ReceiverKind::Unique | ReceiverKind::OtherBorrow => {
                    unreachable!("rejected by `valid`")
                }
            };
            let mut block = proc_macro2::Group::new(
                proc_macro2::Delimiter::Brace,
                quote! {
                    #[allow(unused_variables)]
                    let #mutability #self_ = #bind;
                    #stmts
                },
            );
            block.set_span(func.block.brace_token.span.join());
            block.into_token_stream()
        }
        None => func.block.to_token_stream(),
    };
    let call = match plan.items {
        Some(item) => respan(
            quote!(move |#ctx: &#krate::TaskContext, #publisher: &#krate::Publisher<#item>| #run),
            output_span,
        ),
        None => respan(quote!(move |#ctx: &#krate::TaskContext| #run), output_span),
    };
    // `mut`: a body that mutates a `mut` argument in place makes the closure `FnMut`.
    let prelude = quote! {
        #[allow(unused_mut)]
        let mut #body = move |#param| #ret #block;
        #convert
    };
    (prelude, call)
}

/// `tokens` (a method's body) with every `self` naming the receiver replaced by `with`, which
/// keeps the location of the `self` it replaces, and whether there was any. Left alone: `self::` paths and the bodies
/// of items nested in the body (`fn`, `impl`, `trait`, `mod`), where `self` is another one.
fn replace_self(tokens: TokenStream, with: &Ident) -> (TokenStream, bool) {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    let mut nested_item = false;
    let mut replaced_any = false;
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(ident) if ident == "self" => {
                let path = matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if path {
                    out.push(TokenTree::Ident(ident));
                } else {
                    let mut replaced = with.clone();
                    replaced.set_span(with.span().located_at(ident.span()));
                    out.push(TokenTree::Ident(replaced));
                    replaced_any = true;
                }
            }
            TokenTree::Ident(ident) => {
                if ["fn", "impl", "trait", "mod"]
                    .iter()
                    .any(|item| ident == item)
                {
                    nested_item = true;
                }
                out.push(TokenTree::Ident(ident));
            }
            TokenTree::Punct(punct) => {
                if punct.as_char() == ';' {
                    nested_item = false; // `fn` in a type, as in `let f: fn() = ..;`
                }
                out.push(TokenTree::Punct(punct));
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace && nested_item => {
                nested_item = false;
                out.push(TokenTree::Group(group));
            }
            TokenTree::Group(group) => {
                let (stream, any) = replace_self(group.stream(), with);
                replaced_any |= any;
                let mut replaced = Group::new(group.delimiter(), stream);
                replaced.set_span(group.span());
                out.push(TokenTree::Group(replaced));
            }
            other => out.push(other),
        }
    }
    (out.into_iter().collect(), replaced_any)
}

/// `.priority(..).show_progress(..).exclusive(..).timeout(..)` (the name is set before,
/// without a copy).
fn options(krate: &Path, kind: MacroKind, args: &Attr, names: &Names) -> TokenStream {
    let show_progress = args
        .show_progress
        .as_ref()
        .map_or(kind == MacroKind::AsyncMethod, |b| b.value.value);
    let priority = args.priority.as_ref().map(|p| {
        let value = &p.value.0;
        quote!(.priority(#value))
    });
    let timeout = args.timeout_ms.as_ref().map(|ms| {
        let ms = ms.value.0;
        quote!(.timeout(::core::time::Duration::from_millis(#ms)))
    });
    let exclusive = args.exclusive.as_ref().map(|mode| match mode.value {
        ExclusiveMode::CancelPrevious => quote!(.exclusive(#krate::Exclusive::CancelPrevious)),
        ExclusiveMode::SkipIfActive => quote!(.exclusive(#krate::Exclusive::SkipIfActive)),
    });
    let scope = args.scope.as_ref().map(|_| {
        let local = &names.scope;
        quote!(.scope(#local))
    });
    quote! {
        #priority
        .show_progress(#show_progress)
        #exclusive
        #timeout
        #scope
    }
}

/// One statement per callback, `let builder = builder.on_error(local);`, located at the
/// callback: if the callback has the wrong type, every error about it points there.
fn attach_callbacks(args: &Attr, builder: &Ident) -> TokenStream {
    // `on_complete` last: it changes the builder's type.
    callbacks_in_order(args)
        .into_iter()
        .map(|(_, key, callback)| {
            let method = Ident::new(&key.unraw().to_string(), Span::call_site());
            let local = callback_local(key);
            respan(
                quote!(let #builder = #builder.#method(#local);),
                callback.span(),
            )
        })
        .collect()
}

/// `ty` with each `impl Trait` in it replaced by `_`.
fn infer_impl_trait(mut ty: Type) -> Type {
    struct Infer;
    impl syn::visit_mut::VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(opaque) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](opaque.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    syn::visit_mut::VisitMut::visit_type_mut(&mut Infer, &mut ty);
    ty
}

/// Whether a type mentions `impl Trait` (then it cannot be named in a turbofish).
pub(crate) fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// What the task yields: `T` of a `Result<T, E>`, or the type returned.
pub(crate) fn value_type(krate: &Path, shape: &Shape) -> TokenStream {
    match &shape.output {
        Output::Unit => quote!(()),
        Output::Plain(ty) => ty.to_token_stream(),
        Output::Fallible { value: Some(t), .. } => t.to_token_stream(),
        Output::Fallible {
            ty, value: None, ..
        } => {
            quote!(<#ty as #krate::bounds::TaskReturn>::Value)
        }
    }
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
