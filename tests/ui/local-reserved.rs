use task_macros::async_method;

#[derive(Clone)]
struct Panel;

impl Panel {
    #[async_method(local = true)]
    fn refresh(&self) -> u32 {
        1
    }
}

fn main() {}
