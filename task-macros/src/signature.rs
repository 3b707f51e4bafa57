//! What the annotated function looks like: its receiver, its arguments, where the
//! `&TaskContext` goes, and what it returns. Everything that cannot run on a worker thread is
//! rejected here, at the offending token.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{
    FnArg, GenericArgument, GenericParam, Ident, Pat, PatIdent, PathArguments, ReturnType,
    Signature, Token, Type, TypePath, TypeReference,
};

/// How the task gets hold of `self`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReceiverKind {
    /// `&self`: the task and each `self.method` callback run on a clone.
    Shared,
    /// `self`, `mut self`, `self: Box<Self>`...: moved into the task.
    Owned,
    /// `self: Arc<Self>`: moved into the task; callbacks reach it through a `Weak`.
    Arc,
    /// `self: &Arc<Self>`: the `Arc` is cloned into the task; callbacks use a `Weak`.
    ArcRef,
}

pub(crate) struct Receiver {
    pub(crate) kind: ReceiverKind,
    pub(crate) self_token: Token![self],
}

/// An argument the caller passes (the `&TaskContext` parameter is not one).
pub(crate) struct Arg {
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
    /// The name the wrapper gives it, to forward it: the user's own for plain `name: T`
    /// arguments, a generated one for patterns such as `(a, b): (u32, u32)`.
    pub(crate) name: Ident,
    /// Whether `name` is the user's binding (so the argument can be checked by name).
    pub(crate) named: bool,
}

pub(crate) enum Output {
    /// No return type: the task yields `()`.
    Unit,
    /// Any type whose last path segment is not `Result`: the task yields it.
    Plain(Box<Type>),
    /// `Result<T, E>` or an alias: the task yields `T`. `value` is `T` when it is written
    /// as the first generic argument.
    Fallible {
        ty: Box<Type>,
        value: Option<Box<Type>>,
    },
}

pub(crate) struct Shape {
    pub(crate) receiver: Option<Receiver>,
    pub(crate) args: Vec<Arg>,
    /// Index of the `&TaskContext` parameter among the non-receiver inputs, and its pattern.
    pub(crate) context: Option<(usize, Pat, Type)>,
    pub(crate) output: Output,
}

/// Analyses `sig`, rejecting what a background task cannot be.
pub(crate) fn analyse(sig: &Signature) -> syn::Result<Shape> {
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

    let mut receiver = None;
    let mut args = Vec::new();
    let mut context = None;
    let mut index = 0;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => receiver = Some(analyse_receiver(r)?),
            FnArg::Typed(typed) => {
                if is_context(&typed.ty) {
                    if context.is_some() {
                        return Err(syn::Error::new_spanned(
                            typed,
                            "only one `&TaskContext` parameter is allowed; remove this one",
                        ));
                    }
                    context = Some((index, (*typed.pat).clone(), (*typed.ty).clone()));
                } else {
                    check_owned(&typed.pat, &typed.ty)?;
                    let (name, named) = match &*typed.pat {
                        Pat::Ident(PatIdent {
                            by_ref: None,
                            subpat: None,
                            ident,
                            ..
                        }) => (ident.clone(), true),
                        _ => (
                            format_ident!("__task_arg{}", index, span = Span::mixed_site()),
                            false,
                        ),
                    };
                    args.push(Arg {
                        pat: (*typed.pat).clone(),
                        ty: (*typed.ty).clone(),
                        name,
                        named,
                    });
                }
                index += 1;
            }
        }
    }

    let output = match &sig.output {
        ReturnType::Default => Output::Unit,
        ReturnType::Type(_, ty) => match result_value(ty) {
            Some(value) => Output::Fallible {
                ty: ty.clone(),
                value: value.map(Box::new),
            },
            None => Output::Plain(ty.clone()),
        },
    };
    Ok(Shape {
        receiver,
        args,
        context,
        output,
    })
}

fn analyse_receiver(receiver: &syn::Receiver) -> syn::Result<Receiver> {
    let mut_self = || {
        syn::Error::new_spanned(
            receiver,
            "`&mut self` cannot be moved to a worker thread; take `&self` and use interior \
             mutability (`Mutex`, atomics), or `self: Arc<Self>`",
        )
    };
    let kind = if receiver.colon_token.is_none() {
        match (&receiver.reference, &receiver.mutability) {
            (Some(_), Some(_)) => return Err(mut_self()),
            (Some(_), None) => ReceiverKind::Shared,
            (None, _) => ReceiverKind::Owned,
        }
    } else {
        match &*receiver.ty {
            Type::Reference(TypeReference {
                mutability: Some(_),
                ..
            }) => return Err(mut_self()),
            Type::Reference(TypeReference { elem, .. }) => match &**elem {
                ty if is_self(ty) => ReceiverKind::Shared,
                ty if last_segment_is(ty, "Arc") => ReceiverKind::ArcRef,
                _ => {
                    return Err(syn::Error::new_spanned(
                        &receiver.ty,
                        "unsupported receiver for a background method; use `&self`, `self`, \
                         `self: Arc<Self>` or `self: &Arc<Self>`",
                    ))
                }
            },
            ty if last_segment_is(ty, "Arc") => ReceiverKind::Arc,
            _ => ReceiverKind::Owned,
        }
    };
    Ok(Receiver {
        kind,
        self_token: receiver.self_token,
    })
}

/// `&TaskContext` (any path ending in `TaskContext`), the parameter the runtime supplies.
fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Reference(TypeReference { mutability: None, elem, .. })
        if last_segment_is(elem, "TaskContext"))
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(TypePath { qself: None, path }) if path.is_ident("Self"))
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(TypePath { qself: None, path }) => {
            path.segments.last().is_some_and(|s| s.ident == name)
        }
        _ => false,
    }
}

/// For a type whose path ends in `Result`: `Some(first generic type argument)` if written.
fn result_value(ty: &Type) -> Option<Option<Type>> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let value = match &last.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty.clone()),
            _ => None,
        }),
        _ => None,
    };
    Some(value)
}

/// Arguments move to another thread, so they must not borrow.
fn check_owned(pat: &Pat, ty: &Type) -> syn::Result<()> {
    let mut finder = BorrowFinder(false);
    finder.visit_type(ty);
    if !finder.0 {
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
        Type::Path(p) if last_is(p, "Path") => "PathBuf".to_owned(),
        Type::Path(p) if last_is(p, "OsStr") => "OsString".to_owned(),
        Type::Path(p) if last_is(p, "CStr") => "CString".to_owned(),
        Type::Slice(slice) => format!("Vec<{}>", tidy(&slice.elem)),
        other => {
            let other = tidy(other);
            return format!("`{other}` (or `Arc<{other}>` to share it)");
        }
    };
    format!("`{owned}`")
}

fn last_is(p: &TypePath, name: &str) -> bool {
    p.path.segments.last().is_some_and(|s| s.ident == name)
}

fn tidy(ty: &Type) -> String {
    let text = ty.to_token_stream().to_string();
    text.replace("& ", "&")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
}

/// Whether a type holds a reference or a non-`'static` lifetime.
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

/// The generic arguments to call the original function with: `::<T, N>`, or nothing when
/// an `impl Trait` argument forbids naming them (inference does the work then).
pub(crate) fn turbofish(sig: &Signature, args: &[Arg]) -> TokenStream {
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
