use task_macros::run_in_background;

#[run_in_background]
fn measure(text: impl AsRef<str> + Send + 'static, extra: u32) -> usize {
    text.as_ref().len() + extra as usize
}

#[derive(Clone)]
struct Meter;

impl Meter {
    #[run_in_background]
    fn measure(&self, items: impl IntoIterator<Item = u8> + Send + 'static) -> usize {
        items.into_iter().count()
    }
}

fn main() {
    assert_eq!(measure("four", 1).join().unwrap(), 5);
    assert_eq!(measure(String::from("ab"), 0).join().unwrap(), 2);
    assert_eq!(Meter.measure(vec![1, 2, 3]).join().unwrap(), 3);
}
