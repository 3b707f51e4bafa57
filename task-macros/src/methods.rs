//! `#[task_methods]`: an `impl` block's defaults (`manager`, `crate`...) written once and
//! given to every `#[run_in_background]` and `#[async_method]` inside it, where a method's own
//! key wins. It only rewrites those attributes' arguments; each then expands as usual, so
//! their errors stay theirs, at the tokens they are about.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Expr, Ident, ImplItem, ItemImpl, Meta, MetaList, Token};

use crate::attr::{Attr, MacroKind};
use crate::valid;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let kind = MacroKind::TaskMethods;
    let parsed = Attr::parse(kind, attr.clone())?;
    valid::keys_of(kind, &parsed)?;
    let defaults = pairs.parse2(attr)?;
    let mut block: ItemImpl = syn::parse2(item.clone()).map_err(|_| not_an_impl(&item))?;
    let mut annotated = 0;
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        for attribute in &mut method.attrs {
            if is_task_attribute(attribute) {
                give_defaults(attribute, &defaults);
                annotated += 1;
            }
        }
    }
    if annotated == 0 {
        return Err(syn::Error::new(
            block.impl_token.span,
            "#[task_methods] found no method with #[run_in_background] or #[async_method] in \
             this block; annotate one, or remove #[task_methods]",
        ));
    }
    Ok(block.into_token_stream())
}

/// `key = value` pairs, as written.
fn pairs(input: ParseStream<'_>) -> syn::Result<Vec<(Ident, Expr)>> {
    let mut pairs = Vec::new();
    while !input.is_empty() {
        let key = Ident::parse_any(input)?;
        input.parse::<Token![=]>()?;
        pairs.push((key, input.parse()?));
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(pairs)
}

fn is_task_attribute(attribute: &Attribute) -> bool {
    attribute
        .path()
        .segments
        .last()
        .is_some_and(|last| last.ident == "run_in_background" || last.ident == "async_method")
}

/// Appends each default the attribute does not set itself. An attribute whose arguments do
/// not parse is left alone: its own expansion reports the mistake.
fn give_defaults(attribute: &mut Attribute, defaults: &[(Ident, Expr)]) {
    let written = match &attribute.meta {
        Meta::Path(_) => TokenStream::new(),
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(_) => return,
    };
    let Ok(own) = pairs.parse2(written.clone()) else {
        return;
    };
    let missing: Vec<TokenStream> = defaults
        .iter()
        .filter(|(key, _)| !own.iter().any(|(own, _)| own.unraw() == key.unraw()))
        .map(|(key, value)| quote!(#key = #value))
        .collect();
    if missing.is_empty() {
        return;
    }
    let separator = (!own.is_empty()).then(|| quote!(,));
    let own = own.iter().map(|(key, value)| quote!(#key = #value));
    let tokens = quote!(#(#own),* #separator #(#missing),*);
    let path = attribute.path().clone();
    attribute.meta = Meta::List(MetaList {
        path,
        delimiter: syn::MacroDelimiter::Paren(Default::default()),
        tokens,
    });
}

fn not_an_impl(item: &TokenStream) -> syn::Error {
    let span = item
        .clone()
        .into_iter()
        .next()
        .map_or_else(proc_macro2::Span::call_site, |token| token.span());
    syn::Error::new(
        span,
        "#[task_methods] goes on an `impl` block; it gives defaults to the \
         #[run_in_background] and #[async_method] methods inside",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<(Ident, Expr)> {
        pairs.parse2(quote!(manager = &self.tasks)).unwrap()
    }

    fn rewritten(attribute: Attribute) -> String {
        let mut attribute = attribute;
        give_defaults(&mut attribute, &defaults());
        attribute.to_token_stream().to_string()
    }

    #[test]
    fn defaults_fill_in_what_a_method_does_not_say() {
        let bare: Attribute = syn::parse_quote!(#[run_in_background]);
        assert_eq!(
            rewritten(bare),
            "# [run_in_background (manager = & self . tasks)]"
        );
        let own: Attribute = syn::parse_quote!(#[async_method(task_name = "F")]);
        assert_eq!(
            rewritten(own),
            "# [async_method (task_name = \"F\" , manager = & self . tasks)]"
        );
        let overriding: Attribute = syn::parse_quote!(#[run_in_background(manager = &other)]);
        assert_eq!(
            rewritten(overriding),
            "# [run_in_background (manager = & other)]"
        );
    }
}
