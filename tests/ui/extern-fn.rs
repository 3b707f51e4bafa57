use task_macros::run_in_background;

#[run_in_background]
extern "C" fn callback(code: i32) -> i32 {
    code
}

fn main() {}
