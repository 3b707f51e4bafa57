//! The plan `valid::check` makes: given an attribute and a function, the model of the wrapper.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use super::*;
use crate::attr::{Attr, MacroKind};
use crate::{expand, signature, valid};

/// The model of `item` under `#[run_in_background(attr)]`.
fn plan(attr: TokenStream, item: TokenStream) -> Wrapper {
    plan_for(MacroKind::RunInBackground, attr, item)
}

fn plan_for(kind: MacroKind, attr: TokenStream, item: TokenStream) -> Wrapper {
    let attr = Attr::parse(kind, attr).unwrap_or_else(|error| panic!("{error}"));
    let func: syn::ItemFn = syn::parse2(item).unwrap();
    let shape = signature::analyse(&func.sig);
    valid::check(kind, &attr, &func, &shape).unwrap_or_else(|error| panic!("{error}"))
}

fn text(tokens: impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

fn receiver(wrapper: &Wrapper) -> &Receiver {
    wrapper.receiver.as_ref().expect("a method")
}

/// How the planned result converts, in words.
fn conversion(wrapper: &Wrapper) -> String {
    match &wrapper.body.result {
        Conversion::Infallible => "infallible".to_owned(),
        Conversion::Fallible(ErrorType::Written(error)) => format!("written {}", text(error)),
        Conversion::Fallible(ErrorType::OfReturn(ty)) => format!("of return {}", text(ty)),
        Conversion::Fallible(ErrorType::Inferred(_)) => "inferred".to_owned(),
    }
}

fn block_by_ref(wrapper: &Wrapper) -> Option<bool> {
    match &wrapper.body.block {
        Block::AsWritten(_) => None,
        Block::OnReceiver { by_ref, .. } => Some(*by_ref),
    }
}

// -- Receivers ---------------------------------------------------------------------------

#[test]
fn a_shared_receiver_whose_body_uses_self_runs_on_a_clone_that_must_be_sent_for_the_body() {
    let w = plan(
        quote!(),
        quote!(
            fn count(&self) -> usize {
                self.words.len()
            }
        ),
    );
    let r = receiver(&w);
    assert!(r.body_uses_self);
    assert!(matches!(r.capture, Some(Capture::Clone)));
    let cloner = r.cloner.as_ref().unwrap();
    assert_eq!(cloner.check, ClonedFor::Task);
    assert_eq!(cloner.sent, Some(SentFor::Body));
    assert_eq!(block_by_ref(&w), Some(true));
    assert!(w.manager.is_none(), "the global manager");
}

#[test]
fn a_shared_receiver_whose_body_does_not_use_self_is_still_taken_without_local() {
    let w = plan(
        quote!(),
        quote!(
            fn count(&self, n: u32) -> u32 {
                n
            }
        ),
    );
    let r = receiver(&w);
    assert!(!r.body_uses_self);
    assert!(matches!(r.capture, Some(Capture::Clone)));
    // Only callbacks could need it: the fix its error names is `local = true`.
    assert_eq!(r.cloner.as_ref().unwrap().sent, Some(SentFor::Callbacks));
}

#[test]
fn a_local_task_whose_body_does_not_use_self_leaves_the_receiver_to_its_callbacks() {
    let w = plan(
        quote!(local = true, on_complete = self.show),
        quote!(
            fn count(&self, n: u32) -> u32 {
                n
            }
        ),
    );
    let r = receiver(&w);
    assert!(r.capture.is_none());
    let cloner = r.cloner.as_ref().unwrap();
    assert_eq!(cloner.check, ClonedFor::LocalCallback);
    assert_eq!(cloner.sent, None);
    assert!(matches!(w.body.block, Block::AsWritten(_)));

    let w = plan(
        quote!(local = true),
        quote!(
            fn count(&self, n: u32) -> u32 {
                n
            }
        ),
    );
    let r = receiver(&w);
    assert!(r.capture.is_none() && r.cloner.is_none());

    // The body uses `self`: it is taken, and must be sent, whatever `local` says.
    let w = plan(
        quote!(local = true),
        quote!(
            fn count(&self) -> u32 {
                self.n
            }
        ),
    );
    let r = receiver(&w);
    assert!(matches!(r.capture, Some(Capture::Clone)));
    assert_eq!(r.cloner.as_ref().unwrap().sent, Some(SentFor::Body));
}

#[test]
fn self_paths_and_the_self_of_nested_items_are_not_uses_of_the_receiver() {
    let w = plan(
        quote!(local = true),
        quote!(
            fn count(&self) -> u32 {
                fn helper(x: &Self) -> u32 {
                    x.n
                }
                impl Other {
                    fn n(&self) -> u32 {
                        self.n
                    }
                }
                self::helper2() + Self::constant()
            }
        ),
    );
    assert!(!receiver(&w).body_uses_self);
}

#[test]
fn an_owned_receiver_moves_in_and_the_attribute_takes_what_it_borrows_first() {
    let w = plan(
        quote!(
            manager = &self.tasks,
            scope = &self.scope,
            on_complete = self.show
        ),
        quote!(
            fn consume(mut self) -> u32 {
                self.n += 1;
                self.n
            }
        ),
    );
    let r = receiver(&w);
    assert!(matches!(r.capture, Some(Capture::Move { .. })));
    // Only the `self.method` callback clones, delivered anywhere.
    assert_eq!(r.cloner.as_ref().unwrap().check, ClonedFor::Callback);
    assert!(matches!(&w.callbacks[0].call, Call::OnClone(c) if !c.self_is_ref));
    assert!(w.manager.as_ref().unwrap().take && w.scope.as_ref().unwrap().take);
    // The wrapper's receiver moves as is: no `mut`; the body's binding keeps it.
    assert_eq!(text(&w.sig.inputs), "self");
    match &w.body.block {
        Block::OnReceiver {
            by_ref, mutability, ..
        } => assert!(!by_ref && mutability.is_some()),
        Block::AsWritten(_) => panic!("the body uses self"),
    }
}

#[test]
fn arc_receivers_reach_their_callbacks_through_a_weak() {
    let w = plan(
        quote!(on_complete = self.show, manager = &self.tasks),
        quote!(
            fn count(self: Arc<Self>) -> u32 {
                self.n
            }
        ),
    );
    let r = receiver(&w);
    assert!(matches!(r.capture, Some(Capture::Move { .. })));
    assert!(r.cloner.is_none(), "nothing clones `Self`");
    assert!(matches!(&w.callbacks[0].call, Call::OnWeak(c) if !c.self_is_ref));
    assert!(w.manager.as_ref().unwrap().take);
    assert_eq!(block_by_ref(&w), Some(false));

    let w = plan(
        quote!(on_complete = self.show, manager = &self.tasks),
        quote!(
            fn count(self: &Arc<Self>) -> u32 {
                self.n
            }
        ),
    );
    let r = receiver(&w);
    assert!(matches!(r.capture, Some(Capture::CloneArc { .. })));
    assert!(r.cloner.is_none());
    assert!(matches!(&w.callbacks[0].call, Call::OnWeak(c) if c.self_is_ref));
    assert!(
        !w.manager.as_ref().unwrap().take,
        "the caller's `Arc` is only cloned"
    );
    assert_eq!(block_by_ref(&w), Some(true));
}

#[test]
fn a_free_function_has_no_receiver_and_its_block_as_written() {
    let w = plan(
        quote!(),
        quote!(
            fn total(numbers: Vec<u64>) -> u64 {
                numbers.iter().sum()
            }
        ),
    );
    assert!(w.receiver.is_none());
    assert!(matches!(w.body.block, Block::AsWritten(_)));
}

// -- The value, the result, the parameters -------------------------------------------------

#[test]
fn the_value_and_how_the_result_converts() {
    // The function's return type; the value's type, whether it can be named, the conversion
    // of the result, and the body closure's return type.
    let cases = [
        (
            "-> Result<u32, MyError>",
            "u32",
            true,
            "written MyError",
            "Result < u32 , MyError >",
        ),
        (
            "-> io::Result<u32>",
            "u32",
            true,
            "of return io :: Result < u32 >",
            "io :: Result < u32 >",
        ),
        ("-> Fallible", "Fallible", true, "infallible", "Fallible"),
        (
            "-> AppResult<u32>",
            "AppResult < u32 >",
            true,
            "infallible",
            "AppResult < u32 >",
        ),
        (
            "-> Result",
            "< Result as :: task_runtime :: bounds :: TaskReturn > :: Value",
            true,
            "of return Result",
            "Result",
        ),
        ("", "()", true, "infallible", "()"),
        (
            "-> Result<impl Display + Send + 'static, Error>",
            "impl Display + Send + 'static",
            false,
            "written Error",
            "Result < _ , Error >",
        ),
        (
            "-> io::Result<impl Display + Send + 'static>",
            "impl Display + Send + 'static",
            false,
            "inferred",
            "io :: Result < _ >",
        ),
    ];
    for (output, value, nameable, converts, ret) in cases {
        let item: TokenStream = format!("fn f() {output} {{ loop {{}} }}").parse().unwrap();
        let w = plan(quote!(), item);
        assert_eq!(text(&w.value.ty), value, "{output}");
        assert_eq!(w.value.nameable, nameable, "{output}");
        assert_eq!(conversion(&w), converts, "{output}");
        assert_eq!(text(&w.body.ret), ret, "{output}");
    }
}

#[test]
fn the_context_and_the_publisher_leave_the_signature_for_the_body() {
    let w = plan(
        quote!(),
        quote!(
            fn f(
                a: u32,
                items: &Publisher<String>,
                (b, c): (u8, u8),
                ctx: &TaskContext,
                d: impl Send + 'static,
            ) {
            }
        ),
    );
    assert_eq!(
        text(&w.sig.inputs),
        "a : u32 , (b , c) : (u8 , u8) , d : impl Send + 'static"
    );
    let (pat, ty) = w.body.context.as_ref().unwrap();
    assert_eq!(
        (text(pat), text(ty)),
        ("ctx".into(), "& TaskContext".into())
    );
    let (pat, ty) = w.body.publisher.as_ref().unwrap();
    assert_eq!(
        (text(pat), text(ty)),
        ("items".into(), "& Publisher < String >".into())
    );
    assert_eq!(text(w.items.as_ref().unwrap()), "String");
    // Named arguments are checked by value, patterns by type; `impl Trait` by name only.
    let checks: Vec<String> = w
        .arguments
        .iter()
        .map(|check| match check {
            ArgumentCheck::Named { name, .. } => format!("value {name}"),
            ArgumentCheck::Typed { ty } => format!("type {}", text(ty)),
        })
        .collect();
    assert_eq!(checks, ["value a", "type (u8 , u8)", "value d"]);

    let w = plan(
        quote!(),
        quote!(
            fn f() {}
        ),
    );
    assert!(w.body.context.is_none() && w.body.publisher.is_none() && w.items.is_none());
}

// -- Callbacks ---------------------------------------------------------------------------

#[test]
fn each_callback_with_what_it_receives_its_check_and_its_call_in_table_order() {
    let w = plan(
        quote!(
            on_started = Self::busy,
            on_cancelled = || (),
            on_items = self.add,
            on_progress = |p| println!("{p}"),
            on_error = report,
            on_complete = self.show,
        ),
        quote!(
            fn f(&self, items: &Publisher<u8>) -> Result<u32, AppError> {
                Ok(1)
            }
        ),
    );
    let got: Vec<(Key, String, String)> = w
        .callbacks
        .iter()
        .map(|c| {
            let received = match &c.received {
                Received::Nothing => "nothing".to_owned(),
                Received::Named(ty) => text(ty),
                Received::Unnamed => "unnamed".to_owned(),
            };
            let check = match &c.check {
                Check::Bound { name, generic } => {
                    format!(
                        "{name}{}",
                        generic
                            .as_ref()
                            .map(|g| format!("<{g}>"))
                            .unwrap_or_default()
                    )
                }
                Check::Unnamed { local } => format!("unnamed local={local}"),
            };
            (c.key, received, check)
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Key::OnComplete,
                "u32".into(),
                "CompleteCallback<u32>".into()
            ),
            (
                Key::OnError,
                ":: task_runtime :: AppError".into(),
                "ErrorCallback".into()
            ),
            (
                Key::OnProgress,
                ":: task_runtime :: Progress".into(),
                "ProgressCallback".into()
            ),
            (
                Key::OnItems,
                ":: std :: vec :: Vec < u8 >".into(),
                "ItemsCallback<u8>".into()
            ),
            (Key::OnCancelled, "nothing".into(), "EventCallback".into()),
            (Key::OnStarted, "nothing".into(), "EventCallback".into()),
        ]
    );
    assert!(w.callbacks[0].takes_value());
    assert!(w.callbacks[1..].iter().all(|c| !c.takes_value()));
    // A closure's parameter gets the type it receives; paths are left as written.
    let calls: Vec<String> = w
        .callbacks
        .iter()
        .map(|c| match &c.call {
            Call::Expr(expr) => text(expr),
            Call::OnClone(m) => format!("clone.{}", m.method),
            Call::OnWeak(m) => format!("weak.{}", m.method),
        })
        .collect();
    assert_eq!(
        calls,
        [
            "clone.show",
            "report",
            "| p : :: task_runtime :: Progress | println ! (\"{p}\")",
            "clone.add",
            "| | ()",
            "Self :: busy",
        ]
    );
}

#[test]
fn local_callbacks_are_checked_by_the_local_traits() {
    let w = plan(
        quote!(local = true, on_complete = |n| drop(n), on_started = || ()),
        quote!(
            fn f() -> u32 {
                1
            }
        ),
    );
    let names: Vec<String> = w
        .callbacks
        .iter()
        .map(|c| match &c.check {
            Check::Bound { name, .. } => name.to_string(),
            Check::Unnamed { .. } => "unnamed".into(),
        })
        .collect();
    assert_eq!(names, ["LocalCompleteCallback", "LocalEventCallback"]);
}

#[test]
fn an_on_complete_whose_value_cannot_be_named_is_checked_by_inference() {
    for (attr, local) in [(quote!(), false), (quote!(local = true,), true)] {
        let w = plan(
            quote!(#attr on_complete = |v| println!("{v}")),
            quote!(
                fn f() -> impl Display + Send + 'static {
                    1
                }
            ),
        );
        let c = &w.callbacks[0];
        assert!(matches!(c.received, Received::Unnamed));
        assert!(matches!(c.check, Check::Unnamed { local: l } if l == local));
        // Left unannotated: its type comes from the check's bound.
        assert!(matches!(&c.call, Call::Expr(e) if text(e) == "| v | println ! (\"{v}\")"));
    }
}

#[test]
fn a_self_method_named_like_its_key_gets_a_fallback_trait_of_another_name() {
    let w = plan(
        quote!(on_progress = self.on_progress, on_complete = self.show),
        quote!(
            fn f(&self) -> u32 {
                1
            }
        ),
    );
    let fallbacks: Vec<String> = w
        .callbacks
        .iter()
        .map(|c| match &c.call {
            Call::OnClone(m) | Call::OnWeak(m) => m.fallback.to_string(),
            Call::Expr(_) => unreachable!(),
        })
        .collect();
    assert_eq!(fallbacks, ["on_complete", "callback"]);
}

// -- Local x items x completing ------------------------------------------------------------

#[test]
fn local_items_and_completing_combine_into_the_mode_the_handle_and_the_entry() {
    for (local, items, completing, polled) in cases() {
        let mut attr = TokenStream::new();
        if local {
            attr.extend(quote!(local = true, manager = &self.tasks,));
        }
        if completing {
            attr.extend(quote!(on_complete = self.show,));
        }
        let publisher = items.then(|| quote!(, items: &Publisher<String>));
        let asyncness = polled.then(|| quote!(async));
        let w = plan(attr, quote!(#asyncness fn f(&self #publisher) -> u32 { 1 }));
        let case = format!("local {local}, items {items}, completing {completing}, async {polled}");

        let mode = if local {
            Mode::Local { manager_key: true }
        } else {
            Mode::Plain
        };
        assert_eq!(w.mode, mode, "{case}");
        assert_eq!(w.items.is_some(), items, "{case}");
        assert_eq!(
            w.callbacks.iter().any(Callback::takes_value),
            completing,
            "{case}"
        );
        let handle = match (items, completing) {
            (false, false) => "-> :: task_runtime :: Task < u32 >",
            (false, true) => "-> :: task_runtime :: Task < () >",
            (true, false) => "-> :: task_runtime :: Task < u32 , String >",
            (true, true) => "-> :: task_runtime :: Task < () , String >",
        };
        assert_eq!(text(&w.sig.output), handle, "{case}");

        // The expansion calls one entry, in the planned mode.
        let expanded = text(expand::expand(&w));
        let entry = match (items, polled) {
            (false, false) => "start",
            (true, false) => "start_with_items",
            (false, true) => "start_async",
            (true, true) => "start_async_with_items",
        };
        assert_eq!(matches!(w.body.runs, Runs::Polled { .. }), polled, "{case}");
        assert!(
            w.sig.asyncness.is_none(),
            "{case}: the wrapper is a plain `fn`"
        );
        assert!(
            expanded.contains(&format!(
                "< u32 as :: task_runtime :: bounds :: TaskValue > :: {entry} ("
            )),
            "{case}: {expanded}"
        );
        let mode = if local {
            "bounds :: Local { manager_key : true }"
        } else {
            "bounds :: Plain"
        };
        assert!(expanded.contains(mode), "{case}: {expanded}");
    }
}

/// Every combination of local, items, completing and `async`.
fn cases() -> impl Iterator<Item = (bool, bool, bool, bool)> {
    (0..16).map(|bits| (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0))
}

// -- Async bodies --------------------------------------------------------------------------

#[test]
fn an_async_fn_is_polled_and_its_future_owns_the_context_and_the_publisher() {
    let w = plan(
        quote!(on_complete = self.show),
        quote!(
            async fn count(&self, ctx: &TaskContext, items: &Publisher<u8>) -> Result<u32, E> {
                ctx.yield_now().await;
                items.publish(1);
                Ok(self.n)
            }
        ),
    );
    assert!(matches!(w.body.runs, Runs::Polled { .. }));
    assert!(w.sig.asyncness.is_none());
    assert_eq!(
        text(&w.sig.output),
        "-> :: task_runtime :: Task < () , u8 >"
    );
    // The receiver is taken as for a blocking body.
    let r = receiver(&w);
    assert!(r.body_uses_self && matches!(r.capture, Some(Capture::Clone)));
    assert_eq!(conversion(&w), "written E");

    let expanded = text(expand::expand(&w));
    for part in [
        // The closure takes them owned; the user's parameters borrow them.
        "move | __task_ctx : :: task_runtime :: TaskContext , \
         __task_publisher : :: task_runtime :: Publisher < u8 > |",
        "let ctx : & TaskContext = & __task_ctx ;",
        "let items : & Publisher < u8 > = & __task_publisher ;",
        // The block's output is the function's return type.
        ":: core :: option :: Option :: None :: < Result < u32 , E > >",
        "holds_only_send_values_across_await (__task_body (__task_ctx , __task_publisher))",
        "__task_future . await",
        "start_async_with_items (",
    ] {
        assert!(expanded.contains(part), "{part}: {expanded}");
    }
    assert!(!expanded.contains("async fn"), "{expanded}");
}

#[test]
fn an_async_fn_without_a_context_drops_it() {
    let w = plan_for(
        MacroKind::AsyncMethod,
        quote!(),
        quote!(
            async fn fetch(url: String) -> usize {
                url.len()
            }
        ),
    );
    assert!(matches!(w.body.runs, Runs::Polled { .. }));
    assert!(w.options.show_progress);
    let expanded = text(expand::expand(&w));
    assert!(
        expanded.contains("move | _ : :: task_runtime :: TaskContext | async move"),
        "{expanded}"
    );
    assert!(
        expanded.contains("< usize as :: task_runtime :: bounds :: TaskValue > :: start_async (")
    );
}

#[test]
fn local_without_a_manager_key_says_so_for_the_panic() {
    let w = plan(
        quote!(local = true),
        quote!(
            fn f() {}
        ),
    );
    assert_eq!(w.mode, Mode::Local { manager_key: false });
    let w = plan(
        quote!(local = false),
        quote!(
            fn f() {}
        ),
    );
    assert_eq!(w.mode, Mode::Plain);
}

// -- Options -------------------------------------------------------------------------------

#[test]
fn options_from_their_keys_or_their_defaults() {
    let w = plan(
        quote!(),
        quote!(
            fn r#match() {}
        ),
    );
    assert_eq!(w.options.name.value(), "match");
    assert!(!w.options.show_progress);
    assert!(w.options.priority.is_none() && w.options.exclusive.is_none());
    assert!(w.options.timeout_ms.is_none() && w.scope.is_none() && w.manager.is_none());
    assert_eq!(text(&w.krate), ":: task_runtime");

    let w = plan_for(
        MacroKind::AsyncMethod,
        quote!(),
        quote!(
            fn f() {}
        ),
    );
    assert!(
        w.options.show_progress,
        "`#[async_method]` shows progress by default"
    );

    let w = plan(
        quote!(
            task_name = "Load",
            show_progress = true,
            priority = -3,
            exclusive = "skip_if_active",
            timeout_ms = 250,
            crate = "my_app::tasks",
        ),
        quote!(
            fn f() {}
        ),
    );
    assert_eq!(w.options.name.value(), "Load");
    assert!(w.options.show_progress);
    assert_eq!(text(w.options.priority.as_ref().unwrap()), "- 3");
    assert_eq!(
        w.options.exclusive,
        Some(crate::attr::ExclusiveMode::SkipIfActive)
    );
    assert_eq!(w.options.timeout_ms, Some(250));
    assert_eq!(text(&w.krate), "my_app :: tasks");
    assert_eq!(text(&w.sig.output), "-> my_app :: tasks :: Task < () >");
}

#[test]
fn what_the_checks_reject_has_no_plan() {
    let attr = Attr::parse(MacroKind::RunInBackground, quote!()).unwrap();
    let func: syn::ItemFn = syn::parse2(quote!(
        fn f(&mut self) {}
    ))
    .unwrap();
    let shape = signature::analyse(&func.sig);
    assert!(valid::check(MacroKind::RunInBackground, &attr, &func, &shape).is_err());
}
