use task_macros::run_in_background;

extern "C" {
    #[run_in_background]
    fn native_sum(a: i32, b: i32) -> i32;
}

fn main() {}
