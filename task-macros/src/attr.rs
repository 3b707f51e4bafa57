//! The attribute's arguments as a typed model: one field per key, each keeping the key's and
//! the value's tokens so that later stages point their errors at them.
//!
//! Parsing checks only the *form* of each value (a string literal, a boolean, a callback...);
//! what depends on the function or on which attribute it is (`#[async_method]` takes no
//! callbacks) is checked in `valid.rs`. Keys are declared in the table of `keys.rs`: from its
//! rows, [`define_keys!`] makes [`Key`], the fields of [`Attr`] and their parsing.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitBool, LitStr, Member, Path, Token, UnOp};

use crate::keys::{keys, taken};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroKind {
    RunInBackground,
    AsyncMethod,
    /// `#[task_methods]` on an `impl` block: defaults for the attributes inside.
    TaskMethods,
}

impl MacroKind {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            MacroKind::RunInBackground => "#[run_in_background]",
            MacroKind::AsyncMethod => "#[async_method]",
            MacroKind::TaskMethods => "#[task_methods]",
        }
    }

    /// Every attribute.
    #[cfg(test)]
    pub(crate) const ALL: [MacroKind; 3] = [
        MacroKind::RunInBackground,
        MacroKind::AsyncMethod,
        MacroKind::TaskMethods,
    ];

    /// The keys this attribute takes, in the table's order.
    pub(crate) fn keys(self) -> impl Iterator<Item = Key> {
        Key::ALL
            .iter()
            .copied()
            .filter(move |key| key.taken_by(self))
    }
}

/// A value with the key it was given for.
pub(crate) struct Keyed<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// A callback value, with what it is called with (from its key).
pub(crate) struct Callback {
    pub(crate) receives: Receives,
    pub(crate) form: Form,
}

/// How a callback is written: `handle`, `Self::handle`, a closure, or `self.method`.
pub(crate) enum Form {
    Expr(Expr),
    SelfMethod {
        self_token: Token![self],
        method: Ident,
    },
}

impl Callback {
    /// Where errors about the callback go.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        match &self.form {
            Form::Expr(expr) => expr.span(),
            Form::SelfMethod { method, .. } => method.span(),
        }
    }
}

/// The callback in a field of [`Attr`], if the field holds one.
trait AsCallback {
    fn as_callback(&self) -> Option<&Callback> {
        None
    }
}

impl AsCallback for Callback {
    fn as_callback(&self) -> Option<&Callback> {
        Some(self)
    }
}

impl AsCallback for LitStr {}
impl AsCallback for LitBool {}
impl AsCallback for Priority {}
impl AsCallback for ExclusiveMode {}
impl AsCallback for TimeoutMs {}
impl AsCallback for Expr {}
impl AsCallback for Path {}

/// What a callback is called with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Receives {
    /// The task's value (`on_complete`).
    Value,
    /// The `AppError` (`on_error`).
    Error,
    /// The `Progress` (`on_progress`).
    Progress,
    /// A batch of items, `Vec<P>` (`on_items`).
    Items,
    /// Nothing (`on_started`, `on_cancelled`).
    Nothing,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExclusiveMode {
    CancelPrevious,
    SkipIfActive,
}

/// An integer literal that fits an `i32`, possibly negative.
pub(crate) struct Priority(pub(crate) Expr);

/// A deadline in milliseconds: an integer literal that fits a `u64`.
pub(crate) struct TimeoutMs(pub(crate) u64);

/// From the rows of the key table: [`Key`], [`Attr`] and the parsing of each value.
macro_rules! define_keys {
    (; $(
        $variant:ident $name:literal => $field:ident: $ty:ty = $parse:ident $(($($arg:expr),*))?,
        [$run:ident $async:ident $methods:ident], $example:literal, [$($synonym:literal),*],
        $value:literal, $default:literal,
        $emit:ident;
    )*) => {
        /// A key of the attributes: a row of the table in `keys.rs`.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub(crate) enum Key {
            $($variant,)*
        }

        impl Key {
            /// Every key, in the table's order.
            pub(crate) const ALL: &'static [Key] = &[$(Key::$variant),*];

            /// The key as written.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Key::$variant => $name,)*
                }
            }

            /// The key written `name`, if there is one.
            pub(crate) fn named(name: &str) -> Option<Key> {
                Key::ALL.iter().copied().find(|key| key.name() == name)
            }

            /// An example of a valid value, for error messages.
            pub(crate) fn example(self) -> &'static str {
                match self {
                    $(Key::$variant => $example,)*
                }
            }

            /// Names people reach for that are not keys and mean this one.
            pub(crate) fn synonyms(self) -> &'static [&'static str] {
                match self {
                    $(Key::$variant => &[$($synonym),*],)*
                }
            }

            /// Whether `kind` takes this key.
            pub(crate) fn taken_by(self, kind: MacroKind) -> bool {
                match (self, kind) {
                    $(
                        (Key::$variant, MacroKind::RunInBackground) => taken!($run),
                        (Key::$variant, MacroKind::AsyncMethod) => taken!($async),
                        (Key::$variant, MacroKind::TaskMethods) => taken!($methods),
                    )*
                }
            }
        }

        /// The parsed arguments: a field per key.
        #[derive(Default)]
        pub(crate) struct Attr {
            $(pub(crate) $field: Option<Keyed<$ty>>,)*
        }

        impl Attr {
            /// Sets the field of `key`, written `ident`.
            fn assign(&mut self, key: Key, ident: Ident, expr: Expr) -> syn::Result<()> {
                match key {
                    $(Key::$variant => {
                        if self.$field.is_some() {
                            return Err(twice(&ident));
                        }
                        let value = $parse(&ident, expr $($(, $arg)*)?)?;
                        self.$field = Some(Keyed { key: ident, value });
                    })*
                }
                Ok(())
            }

            /// The keys given, as written, in the table's order.
            pub(crate) fn given(&self) -> Vec<(Key, &Ident)> {
                let mut given = Vec::new();
                $(if let Some(keyed) = &self.$field {
                    given.push((Key::$variant, &keyed.key));
                })*
                given
            }

            /// The callbacks given, with their keys as written, in the table's order.
            pub(crate) fn callbacks(&self) -> Vec<(Key, &Ident, &Callback)> {
                let mut callbacks = Vec::new();
                $(if let Some(keyed) = &self.$field {
                    if let Some(callback) = keyed.value.as_callback() {
                        callbacks.push((Key::$variant, &keyed.key, callback));
                    }
                })*
                callbacks
            }
        }
    };
}

keys!(define_keys);

impl Attr {
    /// Parses the arguments; the first mistake is the error.
    pub(crate) fn parse(kind: MacroKind, tokens: proc_macro2::TokenStream) -> syn::Result<Attr> {
        syn::parse::Parser::parse2(|input: ParseStream<'_>| parse_attr(kind, input), tokens)
    }
}

fn parse_attr(kind: MacroKind, input: ParseStream<'_>) -> syn::Result<Attr> {
    let mut attr = Attr::default();
    while !input.is_empty() {
        if input.peek(Lit) {
            let literal: Lit = input.parse()?;
            return Err(positional(kind, &literal));
        }
        // `crate` is a keyword; `parse_any` accepts it as a key like the others.
        let key = Ident::parse_any(input)?;
        let name = key.unraw().to_string();
        let Some(known) = Key::named(&name) else {
            return Err(unknown_key(kind, &key));
        };
        let missing = || {
            syn::Error::new(
                key.span(),
                format!("missing value for `{name}`: write `{}`", known.example()),
            )
        };
        if input.is_empty() || input.peek(Token![,]) {
            return Err(missing());
        }
        if !input.peek(Token![=]) {
            return Err(input.error(format!(
                "expected `=` after `{name}`, as in `{}`",
                known.example()
            )));
        }
        input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(missing());
        }
        let expr: Expr = input.parse()?;
        attr.assign(known, key, expr)?;
        if !input.is_empty() {
            if !input.peek(Token![,]) {
                return Err(input.error(format!("expected `,` after the value of `{name}`")));
            }
            input.parse::<Token![,]>()?;
        }
    }
    Ok(attr)
}

fn twice(key: &Ident) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!("`{}` given twice; keep one", key.unraw()),
    )
}

/// `#[async_method("Fetch")]`: a value without its key.
fn positional(kind: MacroKind, literal: &Lit) -> syn::Error {
    let hint = match literal {
        Lit::Str(s) => format!("write `task_name = \"{}\"`", s.value()),
        Lit::Bool(_) => "write `show_progress = true`".to_owned(),
        Lit::Int(_) => "write `priority = 10`".to_owned(),
        _ => "arguments are `key = value` pairs, as in `task_name = \"Load\"`".to_owned(),
    };
    syn::Error::new(
        literal.span(),
        format!("{} takes `key = value` arguments; {hint}", kind.attribute()),
    )
}

/// Suggests the closest key when one is close enough, as rustc does for names.
fn unknown_key(kind: MacroKind, key: &Ident) -> syn::Error {
    let name = key.unraw().to_string();
    let accepted: Vec<&str> = kind.keys().map(Key::name).collect();
    let synonym = kind
        .keys()
        .find(|meant| meant.synonyms().contains(&name.as_str()))
        .map(|meant| (0, meant.name()));
    let closest = synonym.or_else(|| {
        accepted
            .iter()
            .map(|candidate| (edit_distance(&name, candidate), *candidate))
            .min()
            .filter(|(distance, candidate)| *distance <= candidate.len().max(name.len()) / 3 + 1)
    });
    let message = match closest {
        Some((_, candidate)) => format!(
            "unknown key `{name}` for {}; did you mean `{candidate}`?",
            kind.attribute()
        ),
        None => format!(
            "unknown key `{name}` for {}; the keys are {}",
            kind.attribute(),
            accepted
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    syn::Error::new(key.span(), message)
}

/// Levenshtein distance, over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

fn wrong(key: &Ident, expr: &impl Spanned, what: &str) -> syn::Error {
    let name = key.unraw().to_string();
    let example = Key::named(&name).map_or("", Key::example);
    syn::Error::new(
        expr.span(),
        format!("`{name}` expects {what}, as in `{example}`"),
    )
}

fn string(key: &Ident, expr: Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s),
        other => Err(wrong(key, &other, "a string literal")),
    }
}

fn boolean(key: &Ident, expr: Expr) -> syn::Result<LitBool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b),
        other => Err(wrong(key, &other, "`true` or `false`")),
    }
}

fn priority(key: &Ident, expr: Expr) -> syn::Result<Priority> {
    let literal = match &expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Some(i.clone()),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) => match &**inner {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => Some(i.clone()),
            _ => None,
        },
        _ => None,
    };
    let Some(int) = literal else {
        return Err(wrong(key, &expr, "an integer literal"));
    };
    let text = expr.to_token_stream().to_string().replace(' ', "");
    if text.parse::<i32>().is_err() || !int.suffix().is_empty() {
        return Err(syn::Error::new(
            expr.span(),
            format!("`{}` must fit in an `i32`, without a suffix", key.unraw()),
        ));
    }
    Ok(Priority(expr))
}

fn milliseconds(key: &Ident, expr: Expr) -> syn::Result<TimeoutMs> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = &expr
    else {
        return Err(wrong(key, &expr, "an integer literal (milliseconds)"));
    };
    match int.base10_parse::<u64>() {
        Ok(ms) if int.suffix().is_empty() => Ok(TimeoutMs(ms)),
        _ => Err(syn::Error::new(
            int.span(),
            format!(
                "`{}` is a number of milliseconds: an integer that fits in a `u64`, without a \
                 suffix",
                key.unraw()
            ),
        )),
    }
}

fn exclusive(key: &Ident, expr: Expr) -> syn::Result<ExclusiveMode> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match s.value().as_str() {
            "cancel_previous" => Ok(ExclusiveMode::CancelPrevious),
            "skip_if_active" => Ok(ExclusiveMode::SkipIfActive),
            other => Err(syn::Error::new(
                s.span(),
                format!(
                    "unknown exclusive mode \"{other}\"; expected \"cancel_previous\" or \
                     \"skip_if_active\""
                ),
            )),
        },
        other => Err(wrong(
            key,
            &other,
            "\"cancel_previous\" or \"skip_if_active\"",
        )),
    }
}

fn crate_path(key: &Ident, expr: Expr) -> syn::Result<Path> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse::<Path>().map_err(|_| {
            syn::Error::new(
                s.span(),
                format!(
                    "`crate = \"{}\"` is not a path; write the path to task_runtime as seen \
                     from here, as in `crate = \"my_app::tasks\"`",
                    s.value()
                ),
            )
        }),
        other => Err(wrong(key, &other, "a string literal holding a path")),
    }
}

/// `what`: the type the expression must have, for the message.
fn expression(key: &Ident, expr: Expr, what: &str) -> syn::Result<Expr> {
    match expr {
        Expr::Lit(_) => Err(wrong(key, &expr, what)),
        other => Ok(other),
    }
}

fn callback(key: &Ident, expr: Expr, receives: Receives) -> syn::Result<Callback> {
    let what = "a function path (`show`, `Self::show`), a closure, or `self.method`";
    let name = key.unraw().to_string();
    let form = match expr {
        Expr::Path(_) | Expr::Closure(_) => Form::Expr(expr),
        Expr::Field(field) if is_self(&field.base) => match field.member {
            Member::Named(method) => Form::SelfMethod {
                self_token: Token![self](field.base.span()),
                method,
            },
            Member::Unnamed(index) => {
                return Err(syn::Error::new(
                    index.span,
                    format!("`{name}` expects {what}, not a tuple field"),
                ))
            }
        },
        Expr::MethodCall(call) if is_self(&call.receiver) => {
            return Err(syn::Error::new(
                call.span(),
                format!(
                    "write `self.{}` without parentheses: the runtime calls it with the {}",
                    call.method,
                    match receives {
                        Receives::Value => "value",
                        Receives::Error => "error",
                        Receives::Progress => "progress",
                        Receives::Items => "items",
                        Receives::Nothing => "event",
                    }
                ),
            ))
        }
        other => return Err(wrong(key, &other, what)),
    };
    Ok(Callback { receives, form })
}

fn is_self(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("self"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_keys_are_suggested() {
        assert_eq!(edit_distance("on_done", "on_complete"), 6);
        assert_eq!(edit_distance("on_compelte", "on_complete"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        let suggestion = |name: &str| {
            unknown_key(
                MacroKind::RunInBackground,
                &Ident::new(name, proc_macro2::Span::call_site()),
            )
            .to_string()
        };
        assert!(suggestion("on_compelte").ends_with("did you mean `on_complete`?"));
        assert!(suggestion("taskname").ends_with("did you mean `task_name`?"));
        assert!(suggestion("zzz").contains("the keys are `task_name`"));
        assert!(suggestion("on_done").ends_with("did you mean `on_complete`?"));
        let for_async = unknown_key(
            MacroKind::AsyncMethod,
            &Ident::new("retries", proc_macro2::Span::call_site()),
        )
        .to_string();
        assert!(!for_async.contains("on_complete"), "{for_async}");
    }
}
