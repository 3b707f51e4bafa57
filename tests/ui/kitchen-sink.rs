// Many mistakes at once, one per function: each is reported on its own, at its own token.
use task_macros::{async_method, run_in_background};
use task_runtime::TaskContext;

#[run_in_background(task_name = 1)]
fn a() {}

#[run_in_background(show_progress = 1)]
fn b() {}

#[run_in_background(priority = 1.5)]
fn c() {}

#[run_in_background(on_error = 42)]
fn d() {}

#[run_in_background(crate = 1)]
fn e() {}

#[run_in_background(exclusive = true)]
fn f() {}

#[run_in_background(on_progress = self.tick)]
fn g() {}

#[run_in_background(task_name = "x" priority = 1)]
fn h() {}

#[async_method(on_error = |e| drop(e))]
fn i() {}

#[async_method(retries = 3)]
fn j() {}

#[run_in_background]
fn k(first: &TaskContext, second: &TaskContext) {
    let _ = (first, second);
}

#[run_in_background]
fn l(items: &[u8]) -> usize {
    items.len()
}

#[run_in_background(on_complete = self.0)]
fn m() {}

fn main() {}
