//! Generating the wrapper.
//!
//! For a method with a receiver, the original function is kept, untouched, as a hidden
//! sibling method (`__task_body_<name>`), so `self`, `Self`, macros in the body and error
//! locations all behave as written; the wrapper moves or clones the receiver into the task and
//! calls it. A function without a receiver may be free or associated (the macro cannot tell),
//! so its body runs instead in a closure inside the wrapper, which inherits `Self` and the
//! generics. Either way the wrapper keeps the name, visibility, attributes and generics, drops
//! the `&TaskContext` parameter, and returns a `Task`.
//!
//! Generated locals use mixed-site hygiene, so they never collide with the user's names, and
//! every generated check is spanned at the user's token it is about.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, FnArg, GenericParam, Ident, ItemFn, Path, Signature, Type};

use crate::attr::{Attr, Callback, ExclusiveMode, Keyed, MacroKind};
use crate::signature::{Arg, Output, ReceiverKind, Shape};

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
    builder: Ident,
    ctx: Ident,
    body: Ident,
    cb_this: Ident,
    cb_weak: Ident,
}

impl Names {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Names {
            this: local("__task_this"),
            manager: local("__task_manager"),
            builder: local("__task_builder"),
            ctx: local("__task_ctx"),
            body: local("__task_body"),
            cb_this: local("__task_callback_this"),
            cb_weak: local("__task_callback_weak"),
        }
    }
}

/// The attributes that must also apply to the hidden sibling: conditional compilation and
/// lint levels. (Docs, `#[must_use]` and the like stay on the public wrapper.)
fn sibling_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| {
        [
            "cfg", "cfg_attr", "allow", "warn", "deny", "forbid", "expect",
        ]
        .iter()
        .any(|name| attr.path().is_ident(name))
    })
}

pub(crate) fn expand(kind: MacroKind, args: &Attr, func: &ItemFn, shape: &Shape) -> TokenStream {
    let krate: Path = args
        .krate
        .as_ref()
        .map(|k| k.value.clone())
        .unwrap_or_else(|| syn::parse_quote!(::task_runtime));
    let names = Names::new();
    let sig = &func.sig;
    let fn_name = &sig.ident;
    let on_complete = args.on_complete.as_ref();

    let value_type = match &shape.output {
        Output::Unit => quote!(()),
        Output::Plain(ty) => ty.to_token_stream(),
        Output::Fallible { value: Some(t), .. } => t.to_token_stream(),
        Output::Fallible { ty, value: None } => {
            quote!(<#ty as #krate::__private::TaskReturn>::Value)
        }
    };
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
    let sibling = format_ident!("__task_body_{}", fn_name);
    let uses_sibling = shape.receiver.is_some();
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
            let ty = &arg.ty;
            if uses_sibling {
                let name = &arg.name;
                syn::parse_quote!(#name: #ty)
            } else {
                let pat = &arg.pat;
                syn::parse_quote!(#pat: #ty)
            }
        }))
        .collect();
    wrapper_sig.output = syn::parse_quote_spanned!(sig.output.span()=> -> #krate::Task<#task_type>);

    let checks = checks(&krate, shape);
    let callbacks = callbacks(&krate, args, shape, &names, nameable_value.as_ref());
    let manager = manager(&krate, args, shape, &names);
    let receiver = receiver_capture(&krate, shape, &names);
    let builder = builder(&krate, func, shape, &names, &sibling, output_span);
    let task_name = match &args.task_name {
        Some(name) => name.value.clone(),
        // `fn r#match()` is the task "match".
        None => syn::LitStr::new(&fn_name.unraw().to_string(), fn_name.span()),
    };
    let options = options(&krate, kind, args);
    let Names {
        builder: builder_name,
        ..
    } = &names;

    let configure = respan(
        quote!(let #builder_name = #krate::__private::static_name(#builder_name, #task_name) #options;),
        output_span,
    );
    let attach = attach_callbacks(args, builder_name);
    let start = respan(quote!(#builder_name.start()), output_span);
    let attrs = &func.attrs;
    let vis = &func.vis;
    let wrapper = quote! {
        #(#attrs)*
        #vis #wrapper_sig {
            #checks
            #callbacks
            #manager
            #receiver
            #builder
            #configure
            #attach
            #start
        }
    };
    if !uses_sibling {
        return wrapper;
    }
    let mut sibling_sig = sig.clone();
    sibling_sig.ident = sibling;
    let sibling_attrs = sibling_attrs(&func.attrs);
    let block = &func.block;
    quote! {
        #wrapper

        #[doc(hidden)]
        #[inline]
        // Arguments arrive owned because the task outlives the call: "take a reference
        // instead" is advice the user cannot follow here.
        #[allow(clippy::needless_pass_by_value)]
        #(#sibling_attrs)*
        #sibling_sig #block
    }
}

/// Checks spanned at the user's tokens: arguments and the return type.
fn checks(krate: &Path, shape: &Shape) -> TokenStream {
    let arguments = shape.args.iter().filter(|arg| arg.named).map(|arg| {
        let name = &arg.name;
        quote_spanned!(arg.ty.span()=> #krate::__private::assert_task_argument(&#name);)
    });
    let output = match &shape.output {
        Output::Plain(ty) if !mentions_impl_trait(ty) => {
            Some(quote_spanned!(ty.span()=> #krate::__private::assert_task_value::<#ty>();))
        }
        Output::Fallible { ty, .. } if !mentions_impl_trait(ty) => {
            Some(quote_spanned!(ty.span()=> #krate::__private::assert_task_return::<#ty>();))
        }
        _ => None,
    };
    quote!(#(#arguments)* #output)
}

fn callback_local(key: &Ident) -> Ident {
    Ident::new(&format!("__task_{}", key.unraw()), Span::mixed_site())
}

/// Each callback bound to a local, type-checked at its own expression. They are set up before
/// the receiver moves into the task, since `self.method` callbacks need it.
fn callbacks(
    krate: &Path,
    args: &Attr,
    shape: &Shape,
    names: &Names,
    value_type: Option<&TokenStream>,
) -> TokenStream {
    args.callbacks()
        .map(
            |Keyed {
                 key,
                 value: callback,
             }| {
                let local = callback_local(key);
                let slot = Slot::of(key);
                let check = match slot {
                    Slot::Complete => match value_type {
                        // The value type is pinned so that a callback of the wrong type is
                        // reported at the callback, not somewhere in the builder chain.
                        Some(value) => quote!(#krate::__private::on_complete::<#value>),
                        None => quote!(#krate::__private::on_complete),
                    },
                    Slot::Error => quote!(#krate::__private::on_error),
                    Slot::Progress => quote!(#krate::__private::on_progress),
                    Slot::Event => quote!(#krate::__private::on_event),
                };
                let value = match callback {
                    Callback::Expr(expr) => call_at(check, expr.to_token_stream(), expr.span()),
                    Callback::SelfMethod { self_token, method } => {
                        self_method(krate, slot, &check, self_token, method, shape, names)
                    }
                };
                quote!(let #local = #value;)
            },
        )
        .collect()
}

/// What a callback receives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Complete,
    Error,
    Progress,
    Event,
}

impl Slot {
    fn of(key: &Ident) -> Slot {
        match key.unraw().to_string().as_str() {
            "on_complete" => Slot::Complete,
            "on_error" => Slot::Error,
            "on_progress" => Slot::Progress,
            _ => Slot::Event,
        }
    }
}

fn self_method(
    krate: &Path,
    slot: Slot,
    check: &TokenStream,
    self_token: &syn::Token![self],
    method: &Ident,
    shape: &Shape,
    names: &Names,
) -> TokenStream {
    // Hygienic, but located at the method: a type mismatch is reported at `self.method`.
    let at_method = Span::mixed_site().located_at(method.span());
    let param = match slot {
        Slot::Complete => Some(Ident::new("__task_value", at_method)),
        Slot::Error => Some(Ident::new("__task_error", at_method)),
        Slot::Progress => Some(Ident::new("__task_progress", at_method)),
        Slot::Event => None,
    };
    let params = param.iter();
    let arguments = param.iter();
    let kind = shape
        .receiver
        .as_ref()
        .map_or(ReceiverKind::Shared, |r| r.kind);
    let Names {
        cb_this, cb_weak, ..
    } = names;
    match kind {
        ReceiverKind::Shared | ReceiverKind::Owned => {
            // `self` is `&Self` for a shared receiver, `Self` for an owned one.
            let receiver = if kind == ReceiverKind::Shared {
                quote_spanned!(self_token.span=> #self_token)
            } else {
                quote_spanned!(self_token.span=> &#self_token)
            };
            // A `&self` method clones for its task too: one check, one message about it.
            let clone = if kind == ReceiverKind::Shared {
                quote_spanned!(self_token.span=>
                    #krate::__private::clone_receiver::<Self>(#receiver))
            } else {
                quote_spanned!(self_token.span=>
                    #krate::__private::clone_for_callback::<Self>(#receiver))
            };
            let call = quote_spanned!(method.span()=> #cb_this.#method(#(#arguments),*));
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
            let call = quote_spanned!(method.span()=> #cb_this.#method(#(#arguments),*));
            // Through a `Weak`: if the object is gone by delivery time, the callback is skipped.
            quote!({
                let #cb_weak = #krate::__private::downgrade(#arc);
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

/// The manager the task is spawned on. A reference where it can be: only a receiver that
/// moves into the task (`self`, `self: Arc<Self>`) needs its own handle, since `manager =
/// &self.tasks` would otherwise borrow what moves. (A clone is an atomic increment on a line
/// that workers also write; per task, it shows in the benchmarks.)
fn manager(krate: &Path, args: &Attr, shape: &Shape, names: &Names) -> TokenStream {
    let local = &names.manager;
    let receiver_moves = shape
        .receiver
        .as_ref()
        .is_some_and(|r| matches!(r.kind, ReceiverKind::Owned | ReceiverKind::Arc));
    match args.manager.as_ref().map(|m| &m.value) {
        Some(expr) if receiver_moves => {
            let value = quote_spanned!(expr.span()=> #krate::__private::manager(#expr));
            quote!(let #local = #value;)
        }
        // A plain `let` with a type: the check stays at the expression, and a temporary in
        // it (`&self.app.manager()`) lives as long as the local, as in any `let x = &f();`.
        Some(expr) => quote_spanned!(expr.span()=> let #local: &#krate::TaskManager = #expr;),
        None => quote!(let #local = #krate::get_task_manager();),
    }
}

fn receiver_capture(krate: &Path, shape: &Shape, names: &Names) -> TokenStream {
    let Some(receiver) = &shape.receiver else {
        return TokenStream::new();
    };
    let this = &names.this;
    let self_token = &receiver.self_token;
    let value = match receiver.kind {
        ReceiverKind::Shared => quote_spanned!(self_token.span=>
            #krate::__private::clone_receiver::<Self>(#self_token)),
        ReceiverKind::Owned | ReceiverKind::Arc => quote!(#self_token),
        ReceiverKind::ArcRef => quote!(::std::sync::Arc::clone(#self_token)),
        ReceiverKind::Unique | ReceiverKind::OtherBorrow => {
            unreachable!("rejected by `valid`")
        }
    };
    quote!(let #this = #value;)
}

/// `let builder = manager.task(move |ctx| <run the body>);`
fn builder(
    krate: &Path,
    func: &ItemFn,
    shape: &Shape,
    names: &Names,
    sibling: &Ident,
    output_span: Span,
) -> TokenStream {
    let Names {
        this,
        manager,
        builder,
        ctx,
        body,
        ..
    } = names;
    let convert = match shape.output {
        Output::Fallible { .. } => quote!(#krate::__private::TaskReturn::into_task_result),
        Output::Unit | Output::Plain(_) => quote!(#krate::__private::infallible),
    };
    if shape.receiver.is_some() {
        let mut call_args: Vec<TokenStream> = shape
            .args
            .iter()
            .map(|arg| arg.name.to_token_stream())
            .collect();
        if let Some(context) = shape.context() {
            call_args.insert(context.index, ctx.to_token_stream());
        }
        let turbofish = turbofish(&func.sig, &shape.args);
        let run = call_at(
            convert,
            quote!(#this.#sibling #turbofish (#(#call_args),*)),
            output_span,
        );
        let body = quote!(move |#ctx: &#krate::TaskContext| { #run });
        respan(quote!(let #builder = #manager.task(#body);), output_span)
    } else {
        // A closure cannot name an `impl Trait` return type: it is inferred then.
        let ret = match &func.sig.output {
            syn::ReturnType::Default => quote!(-> ()),
            syn::ReturnType::Type(_, ty) if mentions_impl_trait(ty) => TokenStream::new(),
            syn::ReturnType::Type(_, ty) => quote!(-> #ty),
        };
        let param = match shape.context() {
            Some(context) => {
                let (pat, ty) = (&context.pat, &context.ty);
                quote!(#pat: #ty)
            }
            None => quote!(_: &#krate::TaskContext),
        };
        let block = &func.block;
        let run = call_at(convert, quote!(#body(#ctx)), output_span);
        let call = quote!(move |#ctx: &#krate::TaskContext| #run);
        let task = respan(quote!(let #builder = #manager.task(#call);), output_span);
        // `mut`: a body that mutates a `mut` argument in place makes the closure `FnMut`.
        quote! {
            #[allow(unused_mut)]
            let mut #body = move |#param| #ret #block;
            #task
        }
    }
}

/// `.priority(..).show_progress(..).exclusive(..)` (the name is set before, without a copy).
fn options(krate: &Path, kind: MacroKind, args: &Attr) -> TokenStream {
    let show_progress = args
        .show_progress
        .as_ref()
        .map_or(kind == MacroKind::AsyncMethod, |b| b.value.value);
    let priority = args.priority.as_ref().map(|p| {
        let value = &p.value.0;
        quote!(.priority(#value))
    });
    let exclusive = args.exclusive.as_ref().map(|mode| match mode.value {
        ExclusiveMode::CancelPrevious => quote!(.exclusive(#krate::Exclusive::CancelPrevious)),
        ExclusiveMode::SkipIfActive => quote!(.exclusive(#krate::Exclusive::SkipIfActive)),
    });
    quote! {
        #priority
        .show_progress(#show_progress)
        #exclusive
    }
}

/// One statement per callback, `let builder = builder.on_error(local);`, located at the
/// callback: if the callback has the wrong type, every error about it points there.
fn attach_callbacks(args: &Attr, builder: &Ident) -> TokenStream {
    // `on_complete` last (`callbacks()` gives it last): it changes the builder's type.
    args.callbacks()
        .map(
            |Keyed {
                 key,
                 value: callback,
             }| {
                let method = Ident::new(&key.unraw().to_string(), Span::call_site());
                let local = callback_local(key);
                respan(
                    quote!(let #builder = #builder.#method(#local);),
                    callback.span(),
                )
            },
        )
        .collect()
}

/// Whether a type mentions `impl Trait` (then it cannot be named in a turbofish).
fn mentions_impl_trait(ty: &Type) -> bool {
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

/// The generic arguments to call the original function with: `::<T, N>`, or nothing when
/// an `impl Trait` argument forbids naming them (inference does the work then).
fn turbofish(sig: &Signature, args: &[Arg]) -> TokenStream {
    let params: Vec<&Ident> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(t) => Some(&t.ident),
            GenericParam::Const(c) => Some(&c.ident),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if params.is_empty() || args.iter().any(|arg| mentions_impl_trait(&arg.ty)) {
        TokenStream::new()
    } else {
        quote::quote!(::<#(#params),*>)
    }
}
