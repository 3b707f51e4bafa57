//! The annotated function as a model: its receiver, its arguments, where the `&TaskContext`
//! goes, and what it returns. Describes only; `valid.rs` rejects what cannot run on a worker.

use syn::{
    FnArg, GenericArgument, Ident, Pat, PatIdent, PathArguments, ReturnType, Signature, Token,
    Type, TypePath, TypeReference,
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
    /// `&mut self` or `self: &mut ..`: rejected.
    Unique,
    /// `self: &Rc<Self>` and other borrowed receivers: rejected.
    OtherBorrow,
}

pub(crate) struct Receiver {
    pub(crate) kind: ReceiverKind,
    pub(crate) self_token: Token![self],
    pub(crate) syntax: syn::Receiver,
}

/// An argument the caller passes (the `&TaskContext` parameter is not one).
pub(crate) struct Arg {
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
    /// The user's name for it, when the pattern is a plain `name: T` (not `(a, b): (u32, u32)`).
    pub(crate) binding: Option<Ident>,
}

pub(crate) enum Output {
    /// No return type: the task yields `()`.
    Unit,
    /// Any type whose last path segment is not `Result`: the task yields it.
    Plain(Box<Type>),
    /// `Result<T, E>` or an alias: the task yields `T`. `value` is `T` and `error` is `E`
    /// where they are written as the generic arguments.
    Fallible {
        ty: Box<Type>,
        value: Option<Box<Type>>,
        error: Option<Box<Type>>,
    },
}

/// A `&TaskContext` parameter: where it sits among the non-receiver inputs, and how it is
/// written.
pub(crate) struct Context {
    pub(crate) index: usize,
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
}

/// A `&Publisher<P>` parameter: the body publishes items of type `P` (the type as written,
/// if it is).
pub(crate) struct PublisherParam {
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
    pub(crate) item: Option<Type>,
}

pub(crate) struct Shape {
    pub(crate) receiver: Option<Receiver>,
    pub(crate) args: Vec<Arg>,
    /// Every `&TaskContext` parameter (more than one is rejected).
    pub(crate) contexts: Vec<Context>,
    /// Every `&Publisher<P>` parameter (more than one is rejected).
    pub(crate) publishers: Vec<PublisherParam>,
    pub(crate) output: Output,
}

impl Shape {
    pub(crate) fn context(&self) -> Option<&Context> {
        self.contexts.first()
    }

    pub(crate) fn publisher(&self) -> Option<&PublisherParam> {
        self.publishers.first()
    }

    /// The item type `P` of the `&Publisher<P>` parameter, where it is written.
    pub(crate) fn item_type(&self) -> Option<&Type> {
        self.publisher().and_then(|p| p.item.as_ref())
    }
}

/// Describes `sig`.
pub(crate) fn analyse(sig: &Signature) -> Shape {
    let mut receiver = None;
    let mut args = Vec::new();
    let mut contexts = Vec::new();
    let mut publishers = Vec::new();
    let mut index = 0;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => receiver = Some(analyse_receiver(r)),
            FnArg::Typed(typed) => {
                if is_context(&typed.ty) {
                    contexts.push(Context {
                        index,
                        pat: (*typed.pat).clone(),
                        ty: (*typed.ty).clone(),
                    });
                } else if let Some(item) = publisher_item(&typed.ty) {
                    publishers.push(PublisherParam {
                        pat: (*typed.pat).clone(),
                        ty: (*typed.ty).clone(),
                        item,
                    });
                } else {
                    let binding = match &*typed.pat {
                        Pat::Ident(PatIdent {
                            by_ref: None,
                            subpat: None,
                            ident,
                            ..
                        }) => Some(ident.clone()),
                        _ => None,
                    };
                    args.push(Arg {
                        pat: (*typed.pat).clone(),
                        ty: (*typed.ty).clone(),
                        binding,
                    });
                }
                index += 1;
            }
        }
    }
    let output = match &sig.output {
        ReturnType::Default => Output::Unit,
        ReturnType::Type(_, ty) => match result_types(ty) {
            Some((value, error)) => Output::Fallible {
                ty: ty.clone(),
                value: value.map(Box::new),
                error: error.map(Box::new),
            },
            None => Output::Plain(ty.clone()),
        },
    };
    Shape {
        receiver,
        args,
        contexts,
        publishers,
        output,
    }
}

fn analyse_receiver(receiver: &syn::Receiver) -> Receiver {
    let kind = if receiver.colon_token.is_none() {
        match (&receiver.reference, &receiver.mutability) {
            (Some(_), Some(_)) => ReceiverKind::Unique,
            (Some(_), None) => ReceiverKind::Shared,
            (None, _) => ReceiverKind::Owned,
        }
    } else {
        match &*receiver.ty {
            Type::Reference(TypeReference {
                mutability: Some(_),
                ..
            }) => ReceiverKind::Unique,
            Type::Reference(TypeReference { elem, .. }) => match &**elem {
                ty if is_self(ty) => ReceiverKind::Shared,
                ty if last_segment_is(ty, "Arc") => ReceiverKind::ArcRef,
                _ => ReceiverKind::OtherBorrow,
            },
            ty if last_segment_is(ty, "Arc") => ReceiverKind::Arc,
            _ => ReceiverKind::Owned,
        }
    };
    Receiver {
        kind,
        self_token: receiver.self_token,
        syntax: receiver.clone(),
    }
}

/// `&TaskContext` (any path ending in `TaskContext`), the parameter the runtime supplies.
pub(crate) fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Reference(TypeReference { mutability: None, elem, .. })
        if last_segment_is(elem, "TaskContext"))
}

/// For `&Publisher<P>` (any path ending in `Publisher`, the parameter the runtime supplies
/// to a body with items): `Some(P)` where `P` is written and not `_`, else `Some(None)`.
pub(crate) fn publisher_item(ty: &Type) -> Option<Option<Type>> {
    let Type::Reference(TypeReference {
        mutability: None,
        elem,
        ..
    }) = ty
    else {
        return None;
    };
    let Type::Path(TypePath { qself: None, path }) = &**elem else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != "Publisher" {
        return None;
    }
    let item = match &last.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(Type::Infer(_)) => None,
            GenericArgument::Type(ty) => Some(ty.clone()),
            _ => None,
        }),
        _ => None,
    };
    Some(item)
}

/// `&mut Publisher<..>`: a mistake for `&Publisher<..>`.
pub(crate) fn is_mut_publisher(ty: &Type) -> bool {
    matches!(ty, Type::Reference(TypeReference { mutability: Some(_), elem, .. })
        if last_segment_is(elem, "Publisher"))
}

/// `&mut TaskContext`: a mistake for `&TaskContext`.
pub(crate) fn is_mut_context(ty: &Type) -> bool {
    matches!(ty, Type::Reference(TypeReference { mutability: Some(_), elem, .. })
        if last_segment_is(elem, "TaskContext"))
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(TypePath { qself: None, path }) if path.is_ident("Self"))
}

pub(crate) fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(TypePath { qself: None, path }) => {
            path.segments.last().is_some_and(|s| s.ident == name)
        }
        _ => false,
    }
}

/// For a type whose path ends in `Result`: `Some(first generic type argument)` if written.
/// For a type whose last segment is `Result`: its value and error types, where written
/// (`Result<T, E>`; an alias such as `io::Result<T>` gives the value only).
fn result_types(ty: &Type) -> Option<(Option<Type>, Option<Type>)> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let mut types = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
    .into_iter();
    Some((types.next(), types.next()))
}

/// Whether a type mentions `impl Trait` (then it cannot be named in a turbofish).
pub(crate) fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

/// What the task yields: `T` of a `Result<T, E>`, or the type returned.
pub(crate) fn value_type(krate: &syn::Path, shape: &Shape) -> proc_macro2::TokenStream {
    use quote::{quote, ToTokens};
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
