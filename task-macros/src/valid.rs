//! Checks that need both the attribute's arguments and the function's shape.

use crate::args::{Args, Callback};
use crate::signature::Shape;

/// The first problem, if any.
pub(crate) fn check(args: &Args, shape: &Shape, fn_name: &syn::Ident) -> syn::Result<()> {
    for (key, callback) in args.callbacks() {
        if let Callback::SelfMethod { self_token, method } = callback {
            if shape.receiver.is_none() {
                return Err(syn::Error::new(
                    self_token.span,
                    format!(
                        "`{} = self.{method}` needs a method with a `self` receiver, but `{fn_name}` \
                         has none; pass a function path (`Self::{method}`) or a closure",
                        key.name()
                    ),
                ));
            }
        }
    }
    Ok(())
}
