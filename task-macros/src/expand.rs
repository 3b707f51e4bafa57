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

use crate::attr::{Attr, Callback, ExclusiveMode, Keyed, MacroKind, Receives};
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
    builder: Ident,
    ctx: Ident,
    body: Ident,
    cb_this: Ident,
    cb_weak: Ident,
    /// What the body's `self` becomes.
    self_: Ident,
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
            self_: local("__task_self"),
        }
    }
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

    let value_type = value_type(&private, shape);
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
    wrapper_sig.output = syn::parse_quote_spanned!(sig.output.span()=> -> #krate::Task<#task_type>);

    let checks = checks(&krate, shape);
    let callbacks = callbacks(&krate, args, shape, &names, nameable_value.as_ref());
    let manager = manager(&krate, args, shape, &names);
    let receiver = receiver_capture(&krate, shape, &names);
    let (body, task_fn) = builder(&krate, func, shape, &names, output_span);
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
        quote!(let #builder_name = #private::static_name(#builder_name, #task_name) #options;),
        output_span,
    );
    let attach = attach_callbacks(args, builder_name);
    // One call checks the value once (a value that is not `Send` is one error, here), builds,
    // configures and starts the task.
    let run = if on_complete.is_some() {
        quote!(#private::run_completing)
    } else {
        quote!(#private::run)
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
            #callbacks
            #manager
            #receiver
            #body
            #start
        }
    };
    wrapper
}

/// Checks spanned at the user's tokens: the arguments.
fn checks(krate: &Path, shape: &Shape) -> TokenStream {
    let private = private_path(krate);
    // By value where the argument has a name (its type may be an `impl Trait`, which cannot
    // be named), by type for patterns.
    let arguments = shape.args.iter().filter_map(|arg| {
        let ty = &arg.ty;
        match &arg.binding {
            Some(name) => Some(quote_spanned!(ty.span()=> #private::assert_task_argument(&#name);)),
            None if mentions_impl_trait(ty) => None,
            None => Some(quote_spanned!(ty.span()=> #private::assert_task_argument_type::<#ty>();)),
        }
    });
    // The return type is checked where the task is built (`run`) and its result converted
    // (`TaskReturn`): once each, at the return type.
    quote!(#(#arguments)*)
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
    let private = private_path(krate);
    args.callbacks()
        .map(
            |(
                slot,
                Keyed {
                    key,
                    value: callback,
                },
            )| {
                let local = callback_local(key);
                let check = match slot {
                    Receives::Value => match value_type {
                        // The value type is pinned so that a callback of the wrong type is
                        // reported at the callback, not somewhere in the builder chain.
                        Some(value) => quote!(#private::on_complete::<#value>),
                        None => quote!(#private::on_complete),
                    },
                    Receives::Error => quote!(#private::on_error),
                    Receives::Progress => quote!(#private::on_progress),
                    Receives::Nothing => quote!(#private::on_event),
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

fn self_method(
    krate: &Path,
    slot: Receives,
    check: &TokenStream,
    self_token: &syn::Token![self],
    method: &Ident,
    shape: &Shape,
    names: &Names,
) -> TokenStream {
    let private = private_path(krate);
    // Hygienic, but located at the method: a type mismatch is reported at `self.method`.
    let at_method = Span::mixed_site().located_at(method.span());
    let param = match slot {
        Receives::Value => Some(Ident::new("__task_value", at_method)),
        Receives::Error => Some(Ident::new("__task_error", at_method)),
        Receives::Progress => Some(Ident::new("__task_progress", at_method)),
        Receives::Nothing => None,
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
                    #private::clone_receiver::<Self>(#receiver))
            } else {
                quote_spanned!(self_token.span=>
                    #private::clone_for_callback::<Self>(#receiver))
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

/// The manager the task is spawned on. A reference where it can be: only a receiver that
/// moves into the task (`self`, `self: Arc<Self>`) needs its own handle, since `manager =
/// &self.tasks` would otherwise borrow what moves. (A clone is an atomic increment on a line
/// that workers also write; per task, it shows in the benchmarks.)
fn manager(krate: &Path, args: &Attr, shape: &Shape, names: &Names) -> TokenStream {
    let private = private_path(krate);
    let local = &names.manager;
    let receiver_moves = shape
        .receiver
        .as_ref()
        .is_some_and(|r| matches!(r.kind, ReceiverKind::Owned | ReceiverKind::Arc));
    match args.manager.as_ref().map(|m| &m.value) {
        // A reference to a clone of its own, so that the receiver can move.
        Some(expr) if receiver_moves => {
            let value = quote_spanned!(expr.span()=> #private::manager(#expr));
            quote!(let #local = &#value;)
        }
        // A plain `let` with a type: the check stays at the expression, and a temporary in
        // it (`&self.app.manager()`) lives as long as the local, as in any `let x = &f();`.
        Some(expr) => quote_spanned!(expr.span()=> let #local: &#krate::TaskManager = #expr;),
        None => quote!(let #local = #krate::get_task_manager();),
    }
}

fn receiver_capture(krate: &Path, shape: &Shape, names: &Names) -> TokenStream {
    let private = private_path(krate);
    let Some(receiver) = &shape.receiver else {
        return TokenStream::new();
    };
    let this = &names.this;
    let self_token = &receiver.self_token;
    let value = match receiver.kind {
        ReceiverKind::Shared => quote_spanned!(self_token.span=>
            #private::clone_receiver::<Self>(#self_token)),
        // Checked at the receiver: it moves to a worker thread.
        ReceiverKind::Owned | ReceiverKind::Arc => quote_spanned!(receiver.syntax.ty.span()=>
            #private::task_receiver(#self_token)),
        ReceiverKind::ArcRef => quote_spanned!(receiver.syntax.ty.span()=>
            #private::task_receiver(::std::sync::Arc::clone(#self_token))),
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
) -> (TokenStream, TokenStream) {
    let private = private_path(krate);
    let Names {
        this, ctx, body, ..
    } = names;
    let convert = match shape.output {
        Output::Fallible { .. } => quote!(#private::TaskReturn::into_task_result),
        Output::Unit | Output::Plain(_) => quote!(#private::infallible),
    };
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
    let block = match &shape.receiver {
        // The body's `self` is the task's own receiver (a clone, or the moved one): its
        // tokens name a local instead, bound at the top of the body.
        Some(receiver) => {
            let stmts = replace_self(func.block.to_token_stream(), &names.self_);
            let self_ = &names.self_;
            let bind = match receiver.kind {
                ReceiverKind::Shared | ReceiverKind::ArcRef => quote!(&#this),
                ReceiverKind::Owned | ReceiverKind::Arc => quote!(#this),
                ReceiverKind::Unique | ReceiverKind::OtherBorrow => {
                    unreachable!("rejected by `valid`")
                }
            };
            quote!({
                #[allow(unused_mut, unused_variables)]
                let mut #self_ = #bind;
                #stmts
            })
        }
        None => func.block.to_token_stream(),
    };
    let run = call_at(convert, quote!(#body(#ctx)), output_span);
    let call = respan(quote!(move |#ctx: &#krate::TaskContext| #run), output_span);
    // `mut`: a body that mutates a `mut` argument in place makes the closure `FnMut`.
    let prelude = quote! {
        #[allow(unused_mut)]
        let mut #body = move |#param| #ret #block;
    };
    (prelude, call)
}

/// `tokens` (a method's body) with every `self` naming the receiver replaced by `with`, which
/// keeps the location of the `self` it replaces. Left alone: `self::` paths and the bodies
/// of items nested in the body (`fn`, `impl`, `trait`, `mod`), where `self` is another one.
fn replace_self(tokens: TokenStream, with: &Ident) -> TokenStream {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    let mut nested_item = false;
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
                let mut replaced =
                    Group::new(group.delimiter(), replace_self(group.stream(), with));
                replaced.set_span(group.span());
                out.push(TokenTree::Group(replaced));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
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
            |(
                _,
                Keyed {
                    key,
                    value: callback,
                },
            )| {
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
pub(crate) fn value_type(private: &TokenStream, shape: &Shape) -> TokenStream {
    match &shape.output {
        Output::Unit => quote!(()),
        Output::Plain(ty) => ty.to_token_stream(),
        Output::Fallible { value: Some(t), .. } => t.to_token_stream(),
        Output::Fallible { ty, value: None } => {
            quote!(<#ty as #private::TaskReturn>::Value)
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
