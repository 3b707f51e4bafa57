mod service {
    use task_macros::run_in_background;

    #[derive(Clone)]
    pub struct Service;

    impl Service {
        #[run_in_background]
        pub(crate) fn visible_in_crate(&self) -> u8 {
            1
        }

        #[run_in_background]
        pub fn public(&self) -> u8 {
            2
        }
    }

    #[run_in_background]
    pub(crate) fn free_in_crate() -> u8 {
        3
    }
}

fn main() {
    let s = service::Service;
    let total = s.visible_in_crate().join().unwrap()
        + s.public().join().unwrap()
        + service::free_in_crate().join().unwrap();
    assert_eq!(total, 6);
}
