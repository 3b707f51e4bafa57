//! Parsing the attribute's `key = value` arguments.
//!
//! Every key is described once in [`Key`]'s table (name, kind of value), so the duplicate
//! check, the unknown-key message and the value checks cannot drift apart. Values keep their
//! tokens, so later stages can point errors at them.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitBool, LitStr, Member, Path, Token, UnOp};

/// Which attribute is being parsed: they accept different keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroKind {
    RunInBackground,
    AsyncMethod,
}

impl MacroKind {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            MacroKind::RunInBackground => "#[run_in_background]",
            MacroKind::AsyncMethod => "#[async_method]",
        }
    }

    fn accepts(self, key: Key) -> bool {
        match self {
            MacroKind::RunInBackground => true,
            MacroKind::AsyncMethod => matches!(
                key,
                Key::TaskName | Key::ShowProgress | Key::Priority | Key::Manager | Key::Crate
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Key {
    TaskName,
    OnComplete,
    OnError,
    OnProgress,
    OnCancelled,
    OnStarted,
    ShowProgress,
    Priority,
    Exclusive,
    Manager,
    Crate,
}

/// What a key's value must look like.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Bool,
    Int,
    Callback,
    Expr,
    Exclusive,
    CratePath,
}

impl Key {
    const ALL: [Key; 11] = [
        Key::TaskName,
        Key::OnComplete,
        Key::OnError,
        Key::OnProgress,
        Key::OnCancelled,
        Key::OnStarted,
        Key::ShowProgress,
        Key::Priority,
        Key::Exclusive,
        Key::Manager,
        Key::Crate,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::TaskName => "task_name",
            Key::OnComplete => "on_complete",
            Key::OnError => "on_error",
            Key::OnProgress => "on_progress",
            Key::OnCancelled => "on_cancelled",
            Key::OnStarted => "on_started",
            Key::ShowProgress => "show_progress",
            Key::Priority => "priority",
            Key::Exclusive => "exclusive",
            Key::Manager => "manager",
            Key::Crate => "crate",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Key::TaskName => Kind::Str,
            Key::OnComplete
            | Key::OnError
            | Key::OnProgress
            | Key::OnCancelled
            | Key::OnStarted => Kind::Callback,
            Key::ShowProgress => Kind::Bool,
            Key::Priority => Kind::Int,
            Key::Exclusive => Kind::Exclusive,
            Key::Manager => Kind::Expr,
            Key::Crate => Kind::CratePath,
        }
    }

    /// An example of a valid value, for error messages.
    fn example(self) -> &'static str {
        match self {
            Key::TaskName => "task_name = \"Load\"",
            Key::OnComplete => "on_complete = self.show",
            Key::OnError => "on_error = self.report",
            Key::OnProgress => "on_progress = |p| println!(\"{p}\")",
            Key::OnCancelled => "on_cancelled = self.reset",
            Key::OnStarted => "on_started = Self::busy",
            Key::ShowProgress => "show_progress = true",
            Key::Priority => "priority = 10",
            Key::Exclusive => "exclusive = \"cancel_previous\"",
            Key::Manager => "manager = &self.tasks",
            Key::Crate => "crate = \"my_app::tasks\"",
        }
    }

    fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|key| key.name() == name)
    }
}

/// A callback value: `handle`, `Self::handle`, a closure, or `self.method`.
pub(crate) enum Callback {
    Expr(Expr),
    SelfMethod {
        self_token: Token![self],
        method: Ident,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExclusiveMode {
    CancelPrevious,
    SkipIfActive,
}

pub(crate) enum Value {
    Str(LitStr),
    Bool(LitBool),
    Int(Expr),
    Callback(Callback),
    Expr(Expr),
    Exclusive(ExclusiveMode),
    Crate(Path),
}

/// One `key = value` pair.
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) value: Value,
}

/// The parsed arguments, in the order written.
pub(crate) struct Args {
    pub(crate) entries: Vec<Entry>,
}

impl Args {
    /// Parses the arguments of `kind`; the first mistake is the error.
    pub(crate) fn parse(kind: MacroKind, tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse::Parser::parse2(|input: ParseStream<'_>| parse_args(kind, input), tokens)
    }

    fn value(&self, key: Key) -> Option<&Value> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.value)
    }

    pub(crate) fn task_name(&self) -> Option<&LitStr> {
        match self.value(Key::TaskName)? {
            Value::Str(name) => Some(name),
            _ => None,
        }
    }

    pub(crate) fn show_progress(&self) -> Option<bool> {
        match self.value(Key::ShowProgress)? {
            Value::Bool(b) => Some(b.value),
            _ => None,
        }
    }

    pub(crate) fn priority(&self) -> Option<&Expr> {
        match self.value(Key::Priority)? {
            Value::Int(expr) => Some(expr),
            _ => None,
        }
    }

    pub(crate) fn exclusive(&self) -> Option<ExclusiveMode> {
        match self.value(Key::Exclusive)? {
            Value::Exclusive(mode) => Some(*mode),
            _ => None,
        }
    }

    pub(crate) fn manager(&self) -> Option<&Expr> {
        match self.value(Key::Manager)? {
            Value::Expr(expr) => Some(expr),
            _ => None,
        }
    }

    pub(crate) fn krate(&self) -> Option<&Path> {
        match self.value(Key::Crate)? {
            Value::Crate(path) => Some(path),
            _ => None,
        }
    }

    pub(crate) fn callback(&self, key: Key) -> Option<&Callback> {
        match self.value(key)? {
            Value::Callback(callback) => Some(callback),
            _ => None,
        }
    }

    /// Every callback given, with its key.
    pub(crate) fn callbacks(&self) -> impl Iterator<Item = (Key, &Callback)> {
        self.entries.iter().filter_map(|entry| match &entry.value {
            Value::Callback(callback) => Some((entry.key, callback)),
            _ => None,
        })
    }
}

fn parse_args(kind: MacroKind, input: ParseStream<'_>) -> syn::Result<Args> {
    let mut entries: Vec<Entry> = Vec::new();
    while !input.is_empty() {
        // `crate` is a keyword; `parse_any` accepts it as a key like the others.
        let ident = Ident::parse_any(input)?;
        let key = match Key::from_name(&ident.to_string()) {
            Some(key) if kind.accepts(key) => key,
            Some(key) => return Err(rejected_key(kind, key, &ident)),
            None => return Err(unknown_key(kind, &ident)),
        };
        if entries.iter().any(|entry| entry.key == key) {
            return Err(syn::Error::new(
                ident.span(),
                format!("`{}` given twice; keep one", key.name()),
            ));
        }
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "missing value for `{}`: write `{}`",
                    key.name(),
                    key.example()
                ),
            ));
        }
        if !input.peek(Token![=]) {
            return Err(input.error(format!(
                "expected `=` after `{}`, as in `{}`",
                key.name(),
                key.example()
            )));
        }
        input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "missing value for `{}`: write `{}`",
                    key.name(),
                    key.example()
                ),
            ));
        }
        let expr: Expr = input.parse()?;
        let value = value_of(key, expr)?;
        entries.push(Entry { key, value });
        if !input.is_empty() {
            if !input.peek(Token![,]) {
                return Err(
                    input.error(format!("expected `,` after the value of `{}`", key.name()))
                );
            }
            input.parse::<Token![,]>()?;
        }
    }
    Ok(Args { entries })
}

fn unknown_key(kind: MacroKind, ident: &Ident) -> syn::Error {
    let valid: Vec<String> = Key::ALL
        .into_iter()
        .filter(|key| kind.accepts(*key))
        .map(|key| format!("`{}`", key.name()))
        .collect();
    syn::Error::new(
        ident.span(),
        format!(
            "unknown key `{ident}` for {}; expected one of {}",
            kind.attribute(),
            valid.join(", ")
        ),
    )
}

fn rejected_key(kind: MacroKind, key: Key, ident: &Ident) -> syn::Error {
    let why = if key.kind() == Kind::Callback {
        format!(
            "{} takes no callbacks; use `#[run_in_background({} = ...)]` to get `{}`",
            kind.attribute(),
            key.name(),
            key.name()
        )
    } else {
        format!(
            "`{}` is not supported by {}; use `#[run_in_background]`",
            key.name(),
            kind.attribute()
        )
    };
    syn::Error::new(ident.span(), why)
}

/// Checks that `expr` is the kind of value `key` takes.
fn value_of(key: Key, expr: Expr) -> syn::Result<Value> {
    let wrong = |expr: &Expr, what: &str| {
        syn::Error::new(
            expr.span(),
            format!("`{}` expects {what}, as in `{}`", key.name(), key.example()),
        )
    };
    match key.kind() {
        Kind::Str => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(Value::Str(s)),
            other => Err(wrong(&other, "a string literal")),
        },
        Kind::Bool => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(Value::Bool(b)),
            other => Err(wrong(&other, "`true` or `false`")),
        },
        Kind::Int => {
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
            match literal {
                Some(int) => {
                    let text = expr.to_token_stream().to_string().replace(' ', "");
                    if text.parse::<i32>().is_err() || !int.suffix().is_empty() {
                        return Err(syn::Error::new(
                            expr.span(),
                            format!("`{}` must fit in an `i32`, without a suffix", key.name()),
                        ));
                    }
                    Ok(Value::Int(expr))
                }
                None => Err(wrong(&expr, "an integer literal")),
            }
        }
        Kind::Exclusive => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => match s.value().as_str() {
                "cancel_previous" => Ok(Value::Exclusive(ExclusiveMode::CancelPrevious)),
                "skip_if_active" => Ok(Value::Exclusive(ExclusiveMode::SkipIfActive)),
                other => Err(syn::Error::new(
                    s.span(),
                    format!(
                        "unknown exclusive mode \"{other}\"; expected \"cancel_previous\" or \
                         \"skip_if_active\""
                    ),
                )),
            },
            other => Err(wrong(&other, "\"cancel_previous\" or \"skip_if_active\"")),
        },
        Kind::CratePath => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.parse::<Path>().map(Value::Crate).map_err(|_| {
                syn::Error::new(
                    s.span(),
                    format!(
                        "`crate = \"{}\"` is not a path; write the path to task_runtime as seen \
                         from here, as in `crate = \"my_app::tasks\"`",
                        s.value()
                    ),
                )
            }),
            other => Err(wrong(&other, "a string literal holding a path")),
        },
        Kind::Expr => match expr {
            Expr::Lit(_) => Err(wrong(&expr, "an expression of type `&TaskManager`")),
            other => Ok(Value::Expr(other)),
        },
        Kind::Callback => callback(key, expr),
    }
}

fn callback(key: Key, expr: Expr) -> syn::Result<Value> {
    let what = "a function path (`show`, `Self::show`), a closure, or `self.method`";
    match expr {
        Expr::Path(_) | Expr::Closure(_) => Ok(Value::Callback(Callback::Expr(expr))),
        Expr::Field(field) if is_self(&field.base) => match field.member {
            Member::Named(method) => Ok(Value::Callback(Callback::SelfMethod {
                self_token: Token![self](field.base.span()),
                method,
            })),
            Member::Unnamed(index) => Err(syn::Error::new(
                index.span,
                format!("`{}` expects {what}, not a tuple field", key.name()),
            )),
        },
        Expr::MethodCall(call) if is_self(&call.receiver) => Err(syn::Error::new(
            call.span(),
            format!(
                "write `self.{}` without parentheses: the runtime calls it with the {}",
                call.method,
                match key {
                    Key::OnComplete => "value",
                    Key::OnError => "error",
                    Key::OnProgress => "progress",
                    _ => "event",
                }
            ),
        )),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{}` expects {what}, as in `{}`", key.name(), key.example()),
        )),
    }
}

fn is_self(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("self"))
}
