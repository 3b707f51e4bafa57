//! `-> impl Trait + Send + 'static` on a free function, with the value passed to a callback
//! whose parameter type is left to inference, and inside a `Result` (the error converted
//! whether written or behind an alias).

use task_macros::run_in_background;

#[run_in_background]
fn evens(limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
    (0..limit).filter(|n| n % 2 == 0)
}

#[run_in_background(on_complete = |odds| drop(odds))]
fn odds(limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
    (0..limit).filter(|n| n % 2 == 1)
}

#[run_in_background]
fn parsed(text: String) -> Result<impl Iterator<Item = u32> + Send + 'static, std::num::ParseIntError> {
    let limit: u32 = text.parse()?;
    Ok(0..limit)
}

#[run_in_background]
fn read(limit: u32) -> std::io::Result<impl Iterator<Item = u32> + Send + 'static> {
    Ok(0..limit)
}

fn main() {
    let found: Vec<u32> = evens(7).join().unwrap().collect();
    assert_eq!(found, [0, 2, 4, 6]);
    odds(3).join().unwrap();
    assert_eq!(parsed("3".into()).join().unwrap().count(), 3);
    assert!(parsed("x".into()).join().is_err());
    assert_eq!(read(2).join().unwrap().count(), 2);
}
