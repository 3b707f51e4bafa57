use task_macros::run_in_background;
use task_runtime::TaskContext;

struct Point {
    x: i64,
    y: i64,
}

#[run_in_background]
fn add((a, b): (u32, u32), mut total: Vec<u32>, ctx: &TaskContext) -> Vec<u32> {
    ctx.set_progress(1, 1);
    total.push(a + b);
    total
}

#[run_in_background]
fn norm(Point { x, y }: Point) -> i64 {
    x.abs() + y.abs()
}

#[derive(Clone)]
struct Calc;

impl Calc {
    #[run_in_background]
    fn swap(&self, (a, b): (String, String), _: u8) -> (String, String) {
        (b, a)
    }
}

fn main() {
    assert_eq!(add((1, 2), vec![0]).join().unwrap(), [0, 3]);
    assert_eq!(norm(Point { x: -3, y: 4 }).join().unwrap(), 7);
    let swapped = Calc.swap(("a".into(), "b".into()), 0).join().unwrap();
    assert_eq!(swapped, ("b".to_owned(), "a".to_owned()));
}
