//! Every semantic check, over the two models: the attribute ([`Attr`]) and the function
//! ([`Shape`], with its signature). Each rejects at the offending token with a message that
//! says how to fix it; the first problem is the error.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, GenericParam, Pat, Signature, Type, TypeReference};

use crate::attr::{Attr, Form, MacroKind};
use crate::signature::{self, Output, ReceiverKind, Shape};

/// The first problem, if any.
pub(crate) fn check(
    kind: MacroKind,
    attr: &Attr,
    sig: &Signature,
    shape: &Shape,
) -> syn::Result<()> {
    keys_of(kind, attr)?;
    function(sig)?;
    receiver(shape)?;
    arguments(sig, shape)?;
    output(shape)?;
    items(attr, shape)?;
    callbacks(attr, shape, &sig.ident)
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

/// What kind of function can run in the background.
fn function(sig: &Signature) -> syn::Result<()> {
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span,
            "an `async fn` cannot run on a worker thread; remove `async`: the generated \
             function returns a `Task` you can `.await`",
        ));
    }
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

fn receiver(shape: &Shape) -> syn::Result<()> {
    let Some(receiver) = &shape.receiver else {
        return Ok(());
    };
    match receiver.kind {
        ReceiverKind::Unique => Err(syn::Error::new_spanned(
            &receiver.syntax,
            "`&mut self` cannot be moved to a worker thread; take `&self` and use interior \
             mutability (`Mutex`, atomics), or `self: Arc<Self>`",
        )),
        ReceiverKind::OtherBorrow => Err(syn::Error::new_spanned(
            &receiver.syntax.ty,
            "unsupported receiver for a background method; use `&self`, `self`, \
             `self: Arc<Self>` or `self: &Arc<Self>`",
        )),
        ReceiverKind::Shared | ReceiverKind::Owned | ReceiverKind::Arc | ReceiverKind::ArcRef => {
            Ok(())
        }
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
    for (_, written, callback) in attr.callbacks() {
        if let Form::Expr(syn::Expr::Closure(closure)) = &callback.form {
            // Only a borrowed receiver (`&self`, `self: &Arc<Self>`) is gone by then; an owned
            // one may be moved into the closure.
            let borrowed = shape.receiver.as_ref().is_some_and(|receiver| {
                matches!(receiver.kind, ReceiverKind::Shared | ReceiverKind::ArcRef)
            });
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
