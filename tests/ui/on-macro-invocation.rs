use task_macros::run_in_background;

macro_rules! make {
    () => {
        fn made() {}
    };
}

#[run_in_background]
make!();

fn main() {}
