// User names that look like the macro's own locals: hygiene keeps them apart.
use task_macros::run_in_background;
use task_runtime::TaskContext;

#[run_in_background]
fn __task_manager(__task_ctx: u32, __task_builder: u32, ctx: &TaskContext) -> u32 {
    ctx.set_progress(1, 1);
    __task_ctx + __task_builder
}

#[derive(Clone)]
struct S;

impl S {
    #[run_in_background]
    fn body(&self, __task_this: u32, __task_arg0: (u32, u32), __task_body: u32) -> u32 {
        __task_this + __task_arg0.0 + __task_arg0.1 + __task_body
    }
}

fn on_complete(_: u32) {}

// A callback named like its key, and one named like the macro's own locals.
#[run_in_background(on_complete = on_complete, on_error = __task_received)]
fn callbacks(value: u32) -> Result<u32, task_runtime::AppError> {
    Ok(value)
}

fn __task_received(_: task_runtime::AppError) {}

fn main() {
    callbacks(1).join().unwrap();
    assert_eq!(__task_manager(1, 2).join().unwrap(), 3);
    assert_eq!(S.body(1, (2, 3), 4).join().unwrap(), 10);
}
