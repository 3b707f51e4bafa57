//! Every semantic check, over the two descriptions: the attribute ([`Attr`]) and the function
//! ([`Shape`], with its signature). Each rejects at the offending token with a message that
//! says how to fix it; the first problem is the error. What passes becomes the model of the
//! wrapper ([`Wrapper`]), where every decision the expansion needs is made, once.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, GenericParam, Ident, ItemFn, Pat, Path, Signature, Type, TypeReference};

use crate::attr::{Attr, Form, MacroKind, Receives};
use crate::model::{
    ArgumentCheck, Block, Body, Borrowed, Call, Callback, Capture, Check, ClonedFor, Cloner,
    Conversion, ErrorType, Mode, Names, Options, Received, Receiver, ReceiverKind, Runs,
    SelfMethod, SentFor, Value, Wrapper,
};
use crate::signature::{self, mentions_impl_trait, Output, Shape};

/// The first problem, if any; else the model of the wrapper.
pub(crate) fn check(
    kind: MacroKind,
    attr: &Attr,
    func: &ItemFn,
    shape: &Shape,
) -> syn::Result<Wrapper> {
    let sig = &func.sig;
    keys_of(kind, attr)?;
    function(sig)?;
    let receiver = receiver(shape)?;
    arguments(sig, shape)?;
    output(shape)?;
    items(attr, shape)?;
    callbacks(attr, shape, &sig.ident)?;
    Ok(plan(kind, attr, func, shape, receiver))
}

/// The value travels to the handle from a worker thread, after the call returned.
fn output(shape: &Shape) -> syn::Result<()> {
    let ty = match &shape.output {
        Output::Unit => return Ok(()),
        Output::Plain(ty) | Output::Fallible { ty, .. } => ty,
    };
    if borrows(ty) {
        let owned = match &**ty {
            Type::Reference(reference) => owned_suggestion(reference),
            _ => "an owned type (`String`, `Vec<T>`, `Arc<T>`)".to_owned(),
        };
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "a background task's value is delivered after the call returned, so it cannot \
                 borrow: return {owned} instead of `{}`",
                tidy(ty)
            ),
        ));
    }
    if let Type::ImplTrait(imp) = &**ty {
        let bounds: Vec<String> = imp
            .bounds
            .iter()
            .map(|bound| bound.to_token_stream().to_string())
            .collect();
        let has = |name: &str| {
            bounds
                .iter()
                .any(|b| b == name || b.ends_with(&format!(":: {name}")))
        };
        // `use<..>` naming no lifetime captures none (edition 2024's precise capturing):
        // as good as `'static` here, and a captured type that is not is `TaskValue`'s error.
        let captures_no_lifetime = bounds
            .iter()
            .any(|b| b.starts_with("use <") && !b.contains('\''));
        let outlives = has("'static") || captures_no_lifetime;
        let missing: Vec<&str> = [("Send", has("Send")), ("'static", outlives)]
            .into_iter()
            .filter(|(_, present)| !present)
            .map(|(bound, _)| bound)
            .collect();
        if !missing.is_empty() {
            return Err(syn::Error::new_spanned(
                ty,
                format!(
                    "the value of a background task crosses threads and outlives the call: \
                     write `{} + {}`",
                    tidy(ty),
                    missing.join(" + ")
                ),
            ));
        }
    }
    Ok(())
}

/// `#[async_method]` takes fewer keys than `#[run_in_background]`.
pub(crate) fn keys_of(kind: MacroKind, attr: &Attr) -> syn::Result<()> {
    let callbacks = attr.callbacks();
    for (key, written) in attr.given() {
        if key.taken_by(kind) {
            continue;
        }
        let name = key.name();
        let why = if kind == MacroKind::TaskMethods {
            format!(
                "{} gives defaults for {}; put `{name}` on the methods themselves",
                kind.attribute(),
                kind.keys()
                    .map(|k| format!("`{}`", k.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else if callbacks.iter().any(|(callback, ..)| *callback == key) {
            format!(
                "{} takes no callbacks; use `#[run_in_background({name} = ...)]` to get `{name}`",
                kind.attribute()
            )
        } else {
            format!(
                "`{name}` is not supported by {}; use `#[run_in_background({})]`",
                kind.attribute(),
                key.example()
            )
        };
        return Err(syn::Error::new(written.span(), why));
    }
    Ok(())
}

/// What kind of function can run in the background (an `async fn` can: its future is
/// polled on the workers).
fn function(sig: &Signature) -> syn::Result<()> {
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(
            constness.span,
            "a `const fn` cannot start a background task; remove `const`",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new(
            unsafety.span,
            "an `unsafe fn` cannot run in the background: its caller's safety obligations \
             would not hold on another thread; wrap the unsafe call in a safe function",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new(
            abi.span(),
            "an `extern` function cannot run in the background; call it from a Rust function",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "a variadic function cannot run in the background; take a `Vec` instead",
        ));
    }
    for param in &sig.generics.params {
        if let GenericParam::Lifetime(lifetime) = param {
            return Err(syn::Error::new_spanned(
                lifetime,
                format!(
                    "a background task cannot borrow for `{}`: it outlives the call; remove the \
                     lifetime parameter and take owned arguments",
                    lifetime.lifetime
                ),
            ));
        }
    }
    Ok(())
}

/// The receivers a task can take.
fn receiver(shape: &Shape) -> syn::Result<Option<ReceiverKind>> {
    use signature::ReceiverKind as Written;
    let Some(receiver) = &shape.receiver else {
        return Ok(None);
    };
    match receiver.kind {
        Written::Unique => Err(syn::Error::new_spanned(
            &receiver.syntax,
            "`&mut self` cannot be moved to a worker thread; take `&self` and use interior \
             mutability (`Mutex`, atomics), or `self: Arc<Self>`",
        )),
        Written::OtherBorrow => Err(syn::Error::new_spanned(
            &receiver.syntax.ty,
            "unsupported receiver for a background method; use `&self`, `self`, \
             `self: Arc<Self>` or `self: &Arc<Self>`",
        )),
        Written::Shared => Ok(Some(ReceiverKind::Shared)),
        Written::Owned => Ok(Some(ReceiverKind::Owned)),
        Written::Arc => Ok(Some(ReceiverKind::Arc)),
        Written::ArcRef => Ok(Some(ReceiverKind::ArcRef)),
    }
}

fn arguments(sig: &Signature, shape: &Shape) -> syn::Result<()> {
    if let Some(second) = shape.contexts.get(1) {
        let typed = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(typed) => Some(typed),
                FnArg::Receiver(_) => None,
            })
            .nth(second.index)
            .expect("the context's index is among the typed inputs");
        return Err(syn::Error::new_spanned(
            typed,
            "only one `&TaskContext` parameter is allowed; remove this one",
        ));
    }
    if let Some(second) = shape.publishers.get(1) {
        return Err(syn::Error::new_spanned(
            &second.ty,
            "only one `&Publisher<P>` parameter is allowed; remove this one",
        ));
    }
    if let Some(publisher) = shape.publisher().filter(|p| p.item.is_none()) {
        return Err(syn::Error::new_spanned(
            &publisher.ty,
            "write the type of the items: `&Publisher<String>`, say",
        ));
    }
    for arg in &shape.args {
        if signature::is_mut_context(&arg.ty) {
            return Err(syn::Error::new_spanned(
                &arg.ty,
                "the task's context is shared, not unique: take `&TaskContext`",
            ));
        }
        if signature::is_mut_publisher(&arg.ty) {
            return Err(syn::Error::new_spanned(
                &arg.ty,
                "a publisher is shared, not unique: take `&Publisher<..>`",
            ));
        }
        owned(&arg.pat, &arg.ty)?;
    }
    Ok(())
}

/// `on_items` is fed by the body's `&Publisher<P>`.
fn items(attr: &Attr, shape: &Shape) -> syn::Result<()> {
    match &attr.on_items {
        Some(keyed) if shape.publisher().is_none() => Err(syn::Error::new(
            keyed.key.span(),
            "`on_items` receives what the body publishes: add a parameter \
             `items: &Publisher<T>` (T, the type of the items) and call `items.publish(..)`",
        )),
        _ => Ok(()),
    }
}

/// `self.method` callbacks need a receiver to call the method on; a closure cannot borrow
/// the receiver, since it runs after the call returned.
fn callbacks(attr: &Attr, shape: &Shape, fn_name: &syn::Ident) -> syn::Result<()> {
    use signature::ReceiverKind as Written;
    for (_, written, callback) in attr.callbacks() {
        if let Form::Expr(syn::Expr::Closure(closure)) = &callback.form {
            // Only a borrowed receiver (`&self`, `self: &Arc<Self>`) is gone by then; an owned
            // one may be moved into the closure.
            let borrowed = shape
                .receiver
                .as_ref()
                .is_some_and(|receiver| matches!(receiver.kind, Written::Shared | Written::ArcRef));
            if borrowed && names_self(closure.body.to_token_stream()) {
                let key = written.unraw();
                return Err(syn::Error::new_spanned(
                    closure,
                    format!(
                        "the `{key}` closure uses `self`, but it runs after `{}` has returned, \
                         when the borrow of `self` has ended: name a method instead, \
                         `{key} = self.method` (called on a clone of the receiver), or move \
                         clones of what it needs into a closure given to `TaskBuilder::{key}`",
                        fn_name.unraw()
                    ),
                ));
            }
        }
        if let Form::SelfMethod { self_token, method } = &callback.form {
            if shape.receiver.is_none() {
                return Err(syn::Error::new(
                    self_token.span,
                    format!(
                        "`{} = self.{method}` needs a method with a `self` receiver, but `{}` \
                         has none; pass a function path (`Self::{method}`) or a closure",
                        written.unraw(),
                        fn_name.unraw()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `tokens` name the receiver: a `self` that does not start a path (`self::item`).
fn names_self(tokens: proc_macro2::TokenStream) -> bool {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "self" => {
                let path = matches!(tokens.peek(),
                    Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':');
                if !path {
                    return true;
                }
            }
            proc_macro2::TokenTree::Group(group) if names_self(group.stream()) => return true,
            _ => {}
        }
    }
    false
}

/// Arguments move to another thread, so they must not borrow.
fn owned(pat: &Pat, ty: &Type) -> syn::Result<()> {
    if !borrows(ty) {
        return Ok(());
    }
    let name = match pat {
        Pat::Ident(p) => format!("`{}`", p.ident),
        other => format!("`{}`", other.to_token_stream()),
    };
    let message = match ty {
        Type::Reference(reference) => format!(
            "argument {name} is borrowed; a background task outlives the call and needs owned \
             arguments: take {} instead of `{}`",
            owned_suggestion(reference),
            tidy(ty)
        ),
        _ => format!(
            "argument {name} borrows (`{}`); a background task outlives the call and needs \
             owned arguments (`String`, `Vec<T>`, `PathBuf`, `Arc<T>`)",
            tidy(ty)
        ),
    };
    Err(syn::Error::new_spanned(ty, message))
}

fn owned_suggestion(reference: &TypeReference) -> String {
    let owned = match &*reference.elem {
        Type::Path(p) if p.path.is_ident("str") => "String".to_owned(),
        ty if signature::last_segment_is(ty, "Path") => "PathBuf".to_owned(),
        ty if signature::last_segment_is(ty, "OsStr") => "OsString".to_owned(),
        ty if signature::last_segment_is(ty, "CStr") => "CString".to_owned(),
        Type::Slice(slice) => format!("Vec<{}>", tidy(&slice.elem)),
        other => {
            let other = tidy(other);
            return format!("`{other}` (or `Arc<{other}>` to share it)");
        }
    };
    format!("`{owned}`")
}

fn tidy(ty: &Type) -> String {
    let text = ty.to_token_stream().to_string();
    text.replace("& ", "&")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
}

/// Whether a type holds a reference or a non-`'static` lifetime.
pub(crate) fn borrows(ty: &Type) -> bool {
    let mut finder = BorrowFinder(false);
    finder.visit_type(ty);
    finder.0
}

struct BorrowFinder(bool);

impl<'ast> Visit<'ast> for BorrowFinder {
    fn visit_type_reference(&mut self, reference: &'ast TypeReference) {
        if reference
            .lifetime
            .as_ref()
            .is_none_or(|l| l.ident != "static")
        {
            self.0 = true;
        }
        syn::visit::visit_type_reference(self, reference);
    }

    fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
        if lifetime.ident != "static" {
            self.0 = true;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The model: every decision, once, from what the checks let through.
// ---------------------------------------------------------------------------------------

fn plan(
    kind: MacroKind,
    attr: &Attr,
    func: &ItemFn,
    shape: &Shape,
    receiver_kind: Option<ReceiverKind>,
) -> Wrapper {
    let names = Names::new();
    let krate: Path = attr
        .krate
        .as_ref()
        .map(|k| k.value.clone())
        .unwrap_or_else(|| syn::parse_quote!(::task_runtime));
    let mode = match &attr.local {
        Some(local) if local.value.value => Mode::Local {
            manager_key: attr.manager.is_some(),
        },
        _ => Mode::Plain,
    };
    let value = plan_value(&krate, shape);
    let items = shape.item_type().cloned();
    // The body's `self` is looked for once, where it is renamed.
    let (block, receiver) = match (&shape.receiver, receiver_kind) {
        (Some(written), Some(kind)) => {
            let (block, body_uses_self) = plan_block_on_receiver(func, written, kind, &names);
            let receiver = plan_receiver(attr, written, kind, body_uses_self, mode);
            let block = if receiver.capture.is_some() {
                block
            } else {
                Block::AsWritten((*func.block).clone())
            };
            (block, Some(receiver))
        }
        _ => (Block::AsWritten((*func.block).clone()), None),
    };
    // What the attribute's expressions borrow from a receiver that moves in is taken first.
    let take = receiver
        .as_ref()
        .is_some_and(|r| matches!(r.capture, Some(Capture::Move { .. })));
    let borrowed = |expr: &syn::Expr| Borrowed {
        expr: expr.clone(),
        take,
    };
    let output_span = match &shape.output {
        Output::Plain(ty) | Output::Fallible { ty, .. } => ty.span(),
        Output::Unit => Span::call_site(),
    };
    Wrapper {
        sig: plan_signature(&krate, attr, func, shape, &value),
        attrs: func.attrs.clone(),
        vis: func.vis.clone(),
        output_span,
        arguments: plan_arguments(shape),
        body: plan_body(func, shape, block),
        callbacks: plan_callbacks(&krate, attr, receiver_kind, &value, items.as_ref(), mode),
        manager: attr.manager.as_ref().map(|m| borrowed(&m.value)),
        scope: attr.scope.as_ref().map(|s| borrowed(&s.value)),
        options: plan_options(kind, attr, &func.sig.ident),
        receiver,
        value,
        items,
        mode,
        krate,
    }
}

/// The value and whether it can be named.
fn plan_value(krate: &Path, shape: &Shape) -> Value {
    let nameable = match &shape.output {
        Output::Plain(ty) | Output::Fallible { ty, .. } => !mentions_impl_trait(ty),
        Output::Unit => true,
    };
    Value {
        ty: signature::value_type(krate, shape),
        nameable,
    }
}

/// How the task takes the receiver, and the one check of its clones. Without `local`, a
/// method's task always takes it, as it always did; with `local`, only when the body uses it.
fn plan_receiver(
    attr: &Attr,
    written: &signature::Receiver,
    kind: ReceiverKind,
    body_uses_self: bool,
    mode: Mode,
) -> Receiver {
    let local = mode != Mode::Plain;
    let captured = !local || body_uses_self;
    let at = written.syntax.ty.span();
    let capture = captured.then_some(match kind {
        ReceiverKind::Shared => Capture::Clone,
        ReceiverKind::Owned | ReceiverKind::Arc => Capture::Move { at },
        ReceiverKind::ArcRef => Capture::CloneArc { at },
    });
    let first_self_method =
        attr.callbacks()
            .into_iter()
            .find_map(|(_, _, callback)| match &callback.form {
                Form::SelfMethod { self_token, .. } => Some(self_token.span),
                Form::Expr(_) => None,
            });
    let cloner = if matches!(capture, Some(Capture::Clone)) {
        // The clone goes to a worker thread: `Send`, checked apart, in the words of what uses
        // the receiver.
        Some(Cloner {
            check: ClonedFor::Task,
            at: written.self_token.span,
            sent: Some(if body_uses_self {
                SentFor::Body
            } else {
                SentFor::Callbacks
            }),
        })
    } else {
        match (kind, first_self_method) {
            // `Arc` receivers' callbacks use a `Weak`, not a clone.
            (ReceiverKind::Shared | ReceiverKind::Owned, Some(at)) => Some(Cloner {
                check: if local {
                    ClonedFor::LocalCallback
                } else {
                    ClonedFor::Callback
                },
                at,
                sent: None,
            }),
            _ => None,
        }
    };
    Receiver {
        self_token: written.self_token,
        body_uses_self,
        capture,
        cloner,
    }
}

/// A method's block with `self` renamed, and whether it named `self`.
///
/// The binding joins the body's own statements in the body's own braces: wrapping the block
/// in another (`{ let self_ = ..; { body } }`) makes a one-line body the inner block's return
/// value, which rustc's `unused_braces` reports at the user's braces.
fn plan_block_on_receiver(
    func: &ItemFn,
    written: &signature::Receiver,
    kind: ReceiverKind,
    names: &Names,
) -> (Block, bool) {
    let stmts: TokenStream = func
        .block
        .stmts
        .iter()
        .map(ToTokens::to_token_stream)
        .collect();
    let (stmts, body_uses_self) = replace_self(stmts, &names.self_);
    let block = Block::OnReceiver {
        stmts,
        by_ref: matches!(kind, ReceiverKind::Shared | ReceiverKind::ArcRef),
        mutability: written.syntax.mutability,
        braces: func.block.brace_token.span.join(),
    };
    (block, body_uses_self)
}

/// The wrapper's signature.
fn plan_signature(
    krate: &Path,
    attr: &Attr,
    func: &ItemFn,
    shape: &Shape,
    value: &Value,
) -> Signature {
    let mut sig = func.sig.clone();
    // The wrapper starts the task at the call, `async fn` or not: it returns the handle, which
    // is itself awaitable.
    sig.asyncness = None;
    sig.inputs = func
        .sig
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
    let task_type = if attr.on_complete.is_some() {
        quote!(())
    } else {
        value.ty.clone()
    };
    sig.output = match shape.item_type() {
        Some(item) => {
            syn::parse_quote_spanned!(func.sig.output.span()=> -> #krate::Task<#task_type, #item>)
        }
        None => syn::parse_quote_spanned!(func.sig.output.span()=> -> #krate::Task<#task_type>),
    };
    sig
}

/// By value where the argument has a name (its type may be an `impl Trait`, which cannot be
/// named), by type for patterns.
fn plan_arguments(shape: &Shape) -> Vec<ArgumentCheck> {
    shape
        .args
        .iter()
        .filter_map(|arg| match &arg.binding {
            Some(name) => Some(ArgumentCheck::Named {
                name: name.clone(),
                at: arg.ty.span(),
            }),
            None if mentions_impl_trait(&arg.ty) => None,
            None => Some(ArgumentCheck::Typed { ty: arg.ty.clone() }),
        })
        .collect()
}

fn plan_body(func: &ItemFn, shape: &Shape, block: Block) -> Body {
    // A closure cannot name an `impl Trait`: that part of the type is inferred (`-> _`,
    // `-> io::Result<_>`), the rest still guides inference (`Ok(..)`'s error type).
    let ret = match &func.sig.output {
        syn::ReturnType::Default => syn::parse_quote!(()),
        syn::ReturnType::Type(_, ty) => infer_impl_trait((**ty).clone()),
    };
    // The error type is converted where it is written: once, and nothing else about the
    // result depends on it.
    let result = match &shape.output {
        Output::Fallible { ty, error, .. } => Conversion::Fallible(match error {
            Some(error) if !mentions_impl_trait(error) => ErrorType::Written(error.clone()),
            _ if !mentions_impl_trait(ty) => ErrorType::OfReturn(ty.clone()),
            _ => ErrorType::Inferred(ty.span()),
        }),
        Output::Unit | Output::Plain(_) => Conversion::Infallible,
    };
    let runs = match &func.sig.asyncness {
        Some(asyncness) => Runs::Polled { at: asyncness.span },
        None => Runs::Blocking,
    };
    Body {
        context: shape.context().map(|c| (c.pat.clone(), c.ty.clone())),
        // `valid` made sure a publisher writes its item type.
        publisher: shape.publisher().map(|p| (p.pat.clone(), p.ty.clone())),
        ret,
        block,
        result,
        runs,
    }
}

/// Each callback: what it receives, its check, and how it is called.
///
/// A callback is called from a closure of the right type (`move |value: T| callback(value)`)
/// rather than checked against an `Fn` bound: a callback taking the wrong type is then one
/// "expected `String`, found `usize`" at the callback, not two signature mismatches with the
/// types in notes. The closure is then checked by a `bounds` trait for `Send` alone.
fn plan_callbacks(
    krate: &Path,
    attr: &Attr,
    receiver: Option<ReceiverKind>,
    value: &Value,
    items: Option<&Type>,
    mode: Mode,
) -> Vec<Callback> {
    let local = mode != Mode::Plain;
    let item = || {
        items
            .expect("`valid` made sure `on_items` has a publisher with an item type")
            .to_token_stream()
    };
    attr.callbacks()
        .into_iter()
        .map(|(key, _, callback)| {
            let receives = callback.receives;
            let received = match receives {
                Receives::Value if value.nameable => Received::Named(value.ty.clone()),
                Receives::Value => Received::Unnamed,
                Receives::Error => Received::Named(quote!(#krate::AppError)),
                Receives::Progress => Received::Named(quote!(#krate::Progress)),
                Receives::Items => {
                    let item = item();
                    Received::Named(quote!(::std::vec::Vec<#item>))
                }
                Receives::Nothing => Received::Nothing,
            };
            let check = match (&received, receives) {
                (Received::Unnamed, _) => Check::Unnamed { local },
                (_, receives) => {
                    let base = match receives {
                        Receives::Value => "CompleteCallback",
                        Receives::Error => "ErrorCallback",
                        Receives::Progress => "ProgressCallback",
                        Receives::Items => "ItemsCallback",
                        Receives::Nothing => "EventCallback",
                    };
                    let prefix = if local { "Local" } else { "" };
                    Check::Bound {
                        name: Ident::new(&format!("{prefix}{base}"), Span::call_site()),
                        generic: match receives {
                            Receives::Value => Some(value.ty.clone()),
                            Receives::Items => Some(item()),
                            _ => None,
                        },
                    }
                }
            };
            let call = match &callback.form {
                Form::Expr(expr) => {
                    let mut expr = expr.clone();
                    if let (syn::Expr::Closure(closure), Received::Named(ty)) =
                        (&mut expr, &received)
                    {
                        annotate(closure, ty);
                    }
                    Call::Expr(expr)
                }
                Form::SelfMethod { self_token, method } => {
                    let kind = receiver.expect("`valid` made sure `self.method` has a receiver");
                    // `on_progress = self.on_progress` is fine: the two names must differ.
                    let fallback = if method.unraw() == key.name() {
                        "callback"
                    } else {
                        key.name()
                    };
                    let at_method = Span::mixed_site().located_at(method.span());
                    let call = SelfMethod {
                        self_token: *self_token,
                        method: method.clone(),
                        self_is_ref: matches!(kind, ReceiverKind::Shared | ReceiverKind::ArcRef),
                        fallback: Ident::new(fallback, at_method),
                    };
                    match kind {
                        ReceiverKind::Shared | ReceiverKind::Owned => Call::OnClone(call),
                        ReceiverKind::Arc | ReceiverKind::ArcRef => Call::OnWeak(call),
                    }
                }
            };
            Callback {
                key,
                at: callback.span(),
                receives,
                received,
                check,
                call,
            }
        })
        .collect()
}

fn plan_options(kind: MacroKind, attr: &Attr, fn_name: &Ident) -> Options {
    Options {
        name: match &attr.task_name {
            Some(name) => name.value.clone(),
            // `fn r#match()` is the task "match".
            None => syn::LitStr::new(&fn_name.unraw().to_string(), fn_name.span()),
        },
        show_progress: attr
            .show_progress
            .as_ref()
            .map_or(kind == MacroKind::AsyncMethod, |b| b.value.value),
        priority: attr.priority.as_ref().map(|p| p.value.0.clone()),
        exclusive: attr.exclusive.as_ref().map(|e| e.value),
        timeout_ms: attr.timeout_ms.as_ref().map(|ms| ms.value.0),
    }
}

/// Gives the closure's first parameter the type `ty` when it has none: it is no longer
/// passed where its signature could be deduced.
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

/// `tokens` (a method's body) with every `self` naming the receiver replaced by `with`, which
/// keeps the location of the `self` it replaces, and whether there was any. Left alone:
/// `self::` paths and the bodies of items nested in the body (`fn`, `impl`, `trait`, `mod`),
/// where `self` is another one.
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

#[cfg(test)]
mod tests {
    use super::names_self;
    use quote::quote;

    #[test]
    fn a_closure_names_self_unless_it_is_a_path() {
        assert!(names_self(quote!(println!("{}", self.title))));
        assert!(names_self(quote!({
            let t = &self;
            t.len()
        })));
        assert!(!names_self(quote!(self::show(n))));
        assert!(!names_self(quote!(Self::show(n))));
    }
}
