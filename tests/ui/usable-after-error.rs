// After a mistake in the attribute, the function is still emitted as written: the only
// error is the macro's, not a cascade of "cannot find function" at every call site.
use task_macros::run_in_background;

#[run_in_background(priority = "high")]
fn word_count(text: String) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let n: usize = word_count("still usable".to_owned());
    assert_eq!(n, 2);
}
