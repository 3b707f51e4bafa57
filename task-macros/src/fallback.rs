//! What is emitted beside a compile error: the function with the signature the macro would
//! have generated (`-> Task<T>` or `-> Task<T, P>`, no `&TaskContext` nor `&Publisher<P>`)
//! and a body that is never run, so that callers written against that signature, and a
//! trait impl that declares it, raise no second error. When even that signature cannot be
//! written (a function that is not one, a borrowed or `impl Trait` value), the item is
//! emitted as written.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, ItemFn, Path, ReturnType, Type};

use crate::attr::Attr;
use crate::signature;
use crate::signature::{mentions_impl_trait, value_type};
use crate::valid::borrows;

/// `attr` is the parsed attribute when it parsed; `attr_tokens` serves otherwise.
pub(crate) fn fallback(
    attr: Option<&Attr>,
    attr_tokens: &TokenStream,
    item: TokenStream,
) -> TokenStream {
    let Ok(func) = syn::parse2::<ItemFn>(item.clone()) else {
        return item;
    };
    let borrowed_or_opaque = match &func.sig.output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => mentions_impl_trait(ty) || borrows(ty),
    };
    if borrowed_or_opaque {
        return quote!(#func);
    }
    let krate: Path = attr
        .and_then(|attr| attr.krate.as_ref().map(|k| k.value.clone()))
        .unwrap_or_else(|| syn::parse_quote!(::task_runtime));
    let on_complete = match attr {
        Some(attr) => attr.on_complete.is_some(),
        None => mentions_on_complete(attr_tokens),
    };
    let shape = signature::analyse(&func.sig);
    let task_type = if on_complete {
        quote!(())
    } else {
        value_type(&krate, &shape)
    };
    let mut sig = func.sig.clone();
    sig.asyncness = None;
    sig.constness = None;
    sig.variadic = None;
    // The context's type stays named in the body, so its import is still used.
    let contexts: Vec<Type> = shape
        .contexts
        .iter()
        .map(|context| context.ty.clone())
        // `&Publisher<_>` (rejected) as `&Publisher<()>`: one more error otherwise, "type
        // annotations needed".
        .chain(shape.publishers.iter().map(|publisher| {
            let mut ty = publisher.ty.clone();
            syn::visit_mut::visit_type_mut(&mut InferAsUnit, &mut ty);
            ty
        }))
        .collect();
    sig.inputs = sig
        .inputs
        .into_iter()
        .filter(|input| match input {
            FnArg::Typed(typed) => {
                !signature::is_context(&typed.ty) && signature::publisher_item(&typed.ty).is_none()
            }
            FnArg::Receiver(_) => true,
        })
        .collect();
    sig.inputs.pop_punct();
    sig.output = match shape.item_type() {
        Some(item) => syn::parse_quote!(-> #krate::Task<#task_type, #item>),
        None => syn::parse_quote!(-> #krate::Task<#task_type>),
    };
    let attrs = &func.attrs;
    let vis = &func.vis;
    quote! {
        #(#attrs)*
        #[allow(unused_variables, unused_mut, clippy::diverging_sub_expression)]
        #vis #sig {
            #(let _: ::core::option::Option<#contexts> = ::core::option::Option::None;)*
            ::core::unreachable!("this function did not compile")
        }
    }
}

/// Whether the attribute's tokens mention `on_complete` (when they did not parse).
fn mentions_on_complete(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "on_complete",
        _ => false,
    })
}

/// Replaces each `_` in a type by `()`.
struct InferAsUnit;

impl syn::visit_mut::VisitMut for InferAsUnit {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if matches!(ty, Type::Infer(_)) {
            *ty = syn::parse_quote!(());
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
