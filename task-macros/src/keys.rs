//! The keys of the attributes: one row each, the only place a key is declared.
//!
//! [`keys!`] hands the table to a macro that takes the columns it needs:
//! - `attr.rs` (`define_keys!`): the [`Key`](crate::attr::Key) enum, the parsed arguments
//!   (`Attr`, a field per key), the parser of each value, which attributes take the key, the
//!   example and synonyms used in messages;
//! - `expand.rs` (`define_emitters!`): the key's emitter, the function of `expand.rs` that
//!   writes what the key decided into the wrapper;
//! - `lib.rs` (`key_docs!`): the manual's table of keys.
//!
//! Columns, in order:
//! - the `Key` variant, the key as written, and the `Attr` field with its type;
//! - the function of `attr.rs` that parses the value (with its extra arguments);
//! - which attributes take the key: `#[run_in_background]`, `#[async_method]` and
//!   `#[task_methods]` (a default for the attributes of the `impl` block), `yes` or `no` each;
//! - an example, for messages;
//! - the names people reach for that are not keys and mean this one;
//! - the manual's line: the value it takes and its default;
//! - its emitter in `expand.rs`.
//!
//! The order of the rows is the order keys are listed in messages and in the manual.

/// Calls `$callback! { $($args)* ; <the rows> }`.
macro_rules! keys {
    ($callback:ident $($args:tt)*) => {
        $callback! { $($args)* ;
            TaskName "task_name" => task_name: LitStr = string,
                [yes yes no], "task_name = \"Load\"", ["name"],
                "string literal", "the function's name",
                task_name;
            OnComplete "on_complete" => on_complete: Callback = callback(Receives::Value),
                [yes no no], "on_complete = self.show",
                ["on_done", "on_success", "on_finish", "on_finished", "on_result"],
                "callback taking the value", "none: the handle gets the value",
                callback;
            OnError "on_error" => on_error: Callback = callback(Receives::Error),
                [yes no no], "on_error = self.report", ["on_fail", "on_failure", "on_failed"],
                "callback taking an `AppError`", "the manager's error handler",
                callback;
            OnProgress "on_progress" => on_progress: Callback = callback(Receives::Progress),
                [yes no no], "on_progress = |p| println!(\"{p}\")", [],
                "callback taking a `Progress` (called repeatedly)", "none",
                callback;
            OnItems "on_items" => on_items: Callback = callback(Receives::Items),
                [yes no no], "on_items = self.add_results", [],
                "callback taking a `Vec<P>`, the batch of items the body published through its \
                 `&Publisher<P>` (called repeatedly)",
                "none: `Task::take_items`",
                callback;
            OnCancelled "on_cancelled" => on_cancelled: Callback = callback(Receives::Nothing),
                [yes no no], "on_cancelled = self.reset", ["on_cancel", "on_canceled"],
                "callback taking nothing", "none",
                callback;
            OnStarted "on_started" => on_started: Callback = callback(Receives::Nothing),
                [yes no no], "on_started = Self::busy", ["on_start"],
                "callback taking nothing", "none",
                callback;
            ShowProgress "show_progress" => show_progress: LitBool = boolean,
                [yes yes no], "show_progress = true", ["progress"],
                "`true` / `false`", "`false` (`true` for `#[async_method]`)",
                show_progress;
            Priority "priority" => priority: Priority = priority,
                [yes yes no], "priority = 10", [],
                "integer literal (`i32`), higher runs first", "`0`",
                priority;
            Exclusive "exclusive" => exclusive: ExclusiveMode = exclusive,
                [yes no no], "exclusive = \"cancel_previous\"", ["exclusivity"],
                "`\"cancel_previous\"` (latest wins) or `\"skip_if_active\"`", "none",
                exclusive;
            TimeoutMs "timeout_ms" => timeout_ms: TimeoutMs = milliseconds,
                [yes yes yes], "timeout_ms = 2000", [],
                "integer literal: a deadline in milliseconds, as `TaskBuilder::timeout`", "none",
                timeout_ms;
            Manager "manager" => manager: Expr = expression("an expression of type `&TaskManager`"),
                [yes yes yes], "manager = &self.tasks", [],
                "expression of type `&TaskManager`, e.g. `&self.tasks`",
                "`task_runtime::get_task_manager()`",
                manager;
            Scope "scope" => scope: Expr =
                    expression("an expression of type `&ScopeHandle` or `&TaskScope`"),
                [yes yes yes], "scope = &self.scope", [],
                "expression of type `&ScopeHandle` or `&TaskScope`: the task's scope", "none",
                scope;
            Local "local" => local: LitBool = boolean,
                [yes yes yes], "local = true", [],
                "`true`: callbacks stay on the calling thread and need not be `Send`",
                "`false`",
                local;
            Crate "crate" => krate: Path = crate_path,
                [yes yes yes], "crate = \"my_app::tasks\"", [],
                "string literal: the path to `task_runtime`", "`\"::task_runtime\"`",
                krate;
        }
    };
}

/// `yes` or `no`, as a `bool`.
macro_rules! taken {
    (yes) => {
        true
    };
    (no) => {
        false
    };
}

/// The concatenation of the strings when the column says `yes`, else `""`.
macro_rules! if_taken {
    (yes, $($text:expr),*) => {
        concat!($($text),*)
    };
    (no, $($text:expr),*) => {
        ""
    };
}

/// The manual's table of the keys an attribute takes (`run_in_background`, `async_method` or
/// `task_methods`), as Markdown: `#[doc = keys!(key_docs run_in_background)]`.
macro_rules! key_docs {
    ($which:ident; $(
        $variant:ident $name:literal => $field:ident: $ty:ty = $parse:ident $(($($arg:expr),*))?,
        [$run:ident $async:ident $methods:ident], $example:literal, [$($synonym:literal),*],
        $value:literal, $default:literal,
        $emit:ident;
    )*) => {
        concat!(
            "| key | value | default |\n|---|---|---|\n",
            $(key_docs!(@row $which [$run $async $methods] $name, $value, $default),)*
        )
    };
    (@row run_in_background [$run:ident $async:ident $methods:ident] $($row:tt)*) => {
        key_docs!(@line $run, $($row)*)
    };
    (@row async_method [$run:ident $async:ident $methods:ident] $($row:tt)*) => {
        key_docs!(@line $async, $($row)*)
    };
    (@row task_methods [$run:ident $async:ident $methods:ident] $($row:tt)*) => {
        key_docs!(@line $methods, $($row)*)
    };
    (@line $taken:ident, $name:literal, $value:literal, $default:literal) => {
        if_taken!($taken, "| `", $name, "` | ", $value, " | ", $default, " |\n")
    };
}

pub(crate) use {if_taken, key_docs, keys, taken};

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proc_macro2::TokenStream;
    use quote::quote;

    use crate::attr::{Attr, Key, MacroKind};
    use crate::expand::{emitter, expand};
    use crate::model::{Names, Wrapper};
    use crate::{signature, valid};

    /// A method every key's example applies to.
    fn plan(kind: MacroKind, attr: TokenStream) -> syn::Result<Wrapper> {
        let attr = Attr::parse(kind, attr)?;
        let func: syn::ItemFn = syn::parse2(quote! {
            fn work(&self, items: &Publisher<u32>, ctx: &TaskContext) -> u32 { 1 }
        })?;
        let shape = signature::analyse(&func.sig);
        valid::check(kind, &attr, &func, &shape)
    }

    fn example(key: Key) -> TokenStream {
        key.example().parse().unwrap()
    }

    #[test]
    fn every_key_appears_once() {
        let names: HashSet<&str> = Key::ALL.iter().map(|key| key.name()).collect();
        assert_eq!(names.len(), Key::ALL.len());
        for &key in Key::ALL {
            assert_eq!(Key::named(key.name()), Some(key));
        }
        // A synonym is no key, and means one key only.
        let mut synonyms = HashSet::new();
        for synonym in Key::ALL.iter().flat_map(|key| key.synonyms()) {
            assert!(Key::named(synonym).is_none(), "`{synonym}` is a key");
            assert!(synonyms.insert(synonym), "`{synonym}` means two keys");
        }
        // The manual lists each once.
        let manual: &str = keys!(key_docs run_in_background);
        for &key in Key::ALL {
            let row = format!("| `{}` |", key.name());
            assert_eq!(manual.matches(&row).count(), 1, "{manual}");
        }
        assert_eq!(manual.lines().count(), 2 + Key::ALL.len(), "{manual}");
    }

    #[test]
    fn every_example_is_taken_by_the_attributes_its_row_says() {
        for kind in MacroKind::ALL {
            for &key in Key::ALL {
                let attr = Attr::parse(kind, example(key)).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    valid::keys_of(kind, &attr).is_ok(),
                    key.taken_by(kind),
                    "{} {}",
                    kind.attribute(),
                    key.name()
                );
            }
            let manual = match kind {
                MacroKind::RunInBackground => keys!(key_docs run_in_background),
                MacroKind::AsyncMethod => keys!(key_docs async_method),
                MacroKind::TaskMethods => keys!(key_docs task_methods),
            };
            assert_eq!(manual.lines().count(), 2 + kind.keys().count(), "{manual}");
            for key in kind.keys() {
                assert!(
                    manual.contains(&format!("| `{}` |", key.name())),
                    "{manual}"
                );
            }
        }
        // `#[task_methods]` gives its defaults through the same table.
        let defaults: Vec<&str> = MacroKind::TaskMethods.keys().map(Key::name).collect();
        assert_eq!(
            defaults,
            ["timeout_ms", "manager", "scope", "local", "crate"]
        );
    }

    #[test]
    fn every_key_has_an_emitter_that_writes_it() {
        let names = Names::new();
        let bare = plan(MacroKind::RunInBackground, quote!()).unwrap();
        let bare_expansion = expand(&bare).to_string();
        for &key in Key::ALL {
            let given = plan(MacroKind::RunInBackground, example(key))
                .unwrap_or_else(|e| panic!("{}: {e}", key.name()));
            assert_ne!(
                expand(&given).to_string(),
                bare_expansion,
                "`{}` changes nothing",
                key.example()
            );
            // Every key but `crate` (written in every path) writes a piece of its own.
            let piece = emitter(key)(key, &given, &names);
            let written = [piece.lets, piece.steps, piece.last]
                .iter()
                .any(|tokens| !tokens.is_empty());
            assert_eq!(written, key != Key::Crate, "{}", key.name());
        }
    }
}
