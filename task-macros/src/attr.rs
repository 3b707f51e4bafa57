//! The attribute's arguments as a typed model: one field per key, each keeping the key's and
//! the value's tokens so that later stages point their errors at them.
//!
//! Parsing checks only the *form* of each value (a string literal, a boolean, a callback...);
//! what depends on the function or on which attribute it is (`#[async_method]` takes no
//! callbacks) is checked in `valid.rs`. The table in [`model!`] is the one place a key is
//! declared: its field, its parser and an example for messages.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitBool, LitStr, Member, Path, Token, UnOp};

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

    /// Whether this attribute takes `key` (one of [`KEYS`]). `#[async_method]` is for methods
    /// awaited by their caller: no callbacks, no exclusivity.
    pub(crate) fn accepts(self, key: &str) -> bool {
        match self {
            MacroKind::RunInBackground => true,
            MacroKind::AsyncMethod => [
                "task_name",
                "show_progress",
                "priority",
                "timeout_ms",
                "manager",
                "scope",
                "local",
                "crate",
            ]
            .contains(&key),
            MacroKind::TaskMethods => DEFAULTS.contains(&key),
        }
    }
}

/// The keys `#[task_methods]` gives to every attribute inside its `impl` block.
pub(crate) const DEFAULTS: [&str; 5] = ["manager", "scope", "local", "timeout_ms", "crate"];

/// Names people reach for that are not keys, and the key they mean.
const SYNONYMS: &[(&str, &str)] = &[
    ("name", "task_name"),
    ("on_done", "on_complete"),
    ("on_success", "on_complete"),
    ("on_finish", "on_complete"),
    ("on_finished", "on_complete"),
    ("on_result", "on_complete"),
    ("on_fail", "on_error"),
    ("on_failure", "on_error"),
    ("on_failed", "on_error"),
    ("on_cancel", "on_cancelled"),
    ("on_canceled", "on_cancelled"),
    ("on_start", "on_started"),
    ("progress", "show_progress"),
    ("exclusivity", "exclusive"),
];

/// A value with the key it was given for.
pub(crate) struct Keyed<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// A callback value: `handle`, `Self::handle`, a closure, or `self.method`.
pub(crate) enum Callback {
    Expr(Expr),
    SelfMethod {
        self_token: Token![self],
        method: Ident,
    },
}

impl Callback {
    /// Where errors about the callback go.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        match self {
            Callback::Expr(expr) => expr.span(),
            Callback::SelfMethod { method, .. } => method.span(),
        }
    }
}

/// What a callback is called with.
#[derive(Clone, Copy, PartialEq, Eq)]
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

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExclusiveMode {
    CancelPrevious,
    SkipIfActive,
}

/// An integer literal that fits an `i32`, possibly negative.
pub(crate) struct Priority(pub(crate) Expr);

/// A deadline in milliseconds: an integer literal that fits a `u64`.
pub(crate) struct TimeoutMs(pub(crate) u64);

macro_rules! model {
    ($($name:literal => $field:ident: $ty:ty = $parse:ident, $example:literal;)*) => {
        /// The parsed arguments.
        #[derive(Default)]
        pub(crate) struct Attr {
            $(pub(crate) $field: Option<Keyed<$ty>>,)*
        }

        /// Every key, in the order the manual lists them.
        pub(crate) const KEYS: &[&str] = &[$($name),*];

        /// An example of a valid value of `key`, for error messages.
        pub(crate) fn example(key: &str) -> &'static str {
            match key {
                $($name => $example,)*
                _ => "",
            }
        }

        impl Attr {
            /// Sets the field of `key`, one of [`KEYS`].
            fn assign(&mut self, key: Ident, expr: Expr) -> syn::Result<()> {
                match key.unraw().to_string().as_str() {
                    $($name => {
                        if self.$field.is_some() {
                            return Err(twice(&key));
                        }
                        let value = $parse(&key, expr)?;
                        self.$field = Some(Keyed { key, value });
                    })*
                    other => unreachable!("`{other}` was checked against KEYS"),
                }
                Ok(())
            }

            /// The keys given, as written.
            pub(crate) fn keys(&self) -> Vec<&Ident> {
                let mut keys = Vec::new();
                $(if let Some(keyed) = &self.$field {
                    keys.push(&keyed.key);
                })*
                keys
            }
        }
    };
}

model! {
    "task_name" => task_name: LitStr = string, "task_name = \"Load\"";
    "on_complete" => on_complete: Callback = callback, "on_complete = self.show";
    "on_error" => on_error: Callback = callback, "on_error = self.report";
    "on_progress" => on_progress: Callback = callback, "on_progress = |p| println!(\"{p}\")";
    "on_items" => on_items: Callback = callback, "on_items = self.add_results";
    "on_cancelled" => on_cancelled: Callback = callback, "on_cancelled = self.reset";
    "on_started" => on_started: Callback = callback, "on_started = Self::busy";
    "show_progress" => show_progress: LitBool = boolean, "show_progress = true";
    "priority" => priority: Priority = priority, "priority = 10";
    "exclusive" => exclusive: ExclusiveMode = exclusive, "exclusive = \"cancel_previous\"";
    "timeout_ms" => timeout_ms: TimeoutMs = milliseconds, "timeout_ms = 2000";
    "manager" => manager: Expr = expression, "manager = &self.tasks";
    "scope" => scope: Expr = expression, "scope = &self.scope";
    "local" => local: LitBool = boolean, "local = true";
    "crate" => krate: Path = crate_path, "crate = \"my_app::tasks\"";
}

impl Attr {
    /// Parses the arguments; the first mistake is the error.
    pub(crate) fn parse(kind: MacroKind, tokens: proc_macro2::TokenStream) -> syn::Result<Attr> {
        syn::parse::Parser::parse2(|input: ParseStream<'_>| parse_attr(kind, input), tokens)
    }

    /// Every callback given, with what it receives, `on_complete` last (it changes the
    /// builder's type).
    pub(crate) fn callbacks(&self) -> impl Iterator<Item = (Receives, &Keyed<Callback>)> {
        [
            (Receives::Nothing, &self.on_started),
            (Receives::Progress, &self.on_progress),
            (Receives::Items, &self.on_items),
            (Receives::Error, &self.on_error),
            (Receives::Nothing, &self.on_cancelled),
            (Receives::Value, &self.on_complete),
        ]
        .into_iter()
        .filter_map(|(receives, keyed)| keyed.as_ref().map(|keyed| (receives, keyed)))
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
        if !KEYS.contains(&name.as_str()) {
            return Err(unknown_key(kind, &key));
        }
        let missing = || {
            syn::Error::new(
                key.span(),
                format!("missing value for `{name}`: write `{}`", example(&name)),
            )
        };
        if input.is_empty() || input.peek(Token![,]) {
            return Err(missing());
        }
        if !input.peek(Token![=]) {
            return Err(input.error(format!(
                "expected `=` after `{name}`, as in `{}`",
                example(&name)
            )));
        }
        input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(missing());
        }
        let expr: Expr = input.parse()?;
        attr.assign(key, expr)?;
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
    let accepted: Vec<&str> = KEYS.iter().copied().filter(|k| kind.accepts(k)).collect();
    let synonym = SYNONYMS
        .iter()
        .find(|(synonym, meant)| *synonym == name && kind.accepts(meant))
        .map(|(_, meant)| (0, *meant));
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
    syn::Error::new(
        expr.span(),
        format!("`{name}` expects {what}, as in `{}`", example(&name)),
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

fn expression(key: &Ident, expr: Expr) -> syn::Result<Expr> {
    let what = match key.unraw().to_string().as_str() {
        "scope" => "an expression of type `&ScopeHandle` or `&TaskScope`",
        _ => "an expression of type `&TaskManager`",
    };
    match expr {
        Expr::Lit(_) => Err(wrong(key, &expr, what)),
        other => Ok(other),
    }
}

fn callback(key: &Ident, expr: Expr) -> syn::Result<Callback> {
    let what = "a function path (`show`, `Self::show`), a closure, or `self.method`";
    let name = key.unraw().to_string();
    match expr {
        Expr::Path(_) | Expr::Closure(_) => Ok(Callback::Expr(expr)),
        Expr::Field(field) if is_self(&field.base) => match field.member {
            Member::Named(method) => Ok(Callback::SelfMethod {
                self_token: Token![self](field.base.span()),
                method,
            }),
            Member::Unnamed(index) => Err(syn::Error::new(
                index.span,
                format!("`{name}` expects {what}, not a tuple field"),
            )),
        },
        Expr::MethodCall(call) if is_self(&call.receiver) => Err(syn::Error::new(
            call.span(),
            format!(
                "write `self.{}` without parentheses: the runtime calls it with the {}",
                call.method,
                match name.as_str() {
                    "on_complete" => "value",
                    "on_error" => "error",
                    "on_progress" => "progress",
                    "on_items" => "items",
                    _ => "event",
                }
            ),
        )),
        other => Err(wrong(key, &other, what)),
    }
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
