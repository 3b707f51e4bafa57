use task_macros::run_in_background;

#[run_in_background]
fn sum<I>(items: I) -> u64
where
    I: IntoIterator<Item = u64> + Send + 'static,
{
    items.into_iter().sum()
}

fn main() {
    assert_eq!(sum(vec![1, 2, 3]).join().unwrap(), 6);
}
