use std::fmt::Display;
use std::str::FromStr;

use task_macros::run_in_background;
use task_runtime::AppError;

#[run_in_background]
fn describe<T: Display + Send + 'static>(value: T) -> String {
    format!("<{value}>")
}

/// A type parameter that appears only in the return type is inferred from the handle.
#[run_in_background]
fn parse<T>(text: String) -> Result<T, AppError>
where
    T: FromStr + Send + 'static,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(text.parse::<T>()?)
}

#[run_in_background]
fn repeat<const N: usize>(byte: u8) -> Vec<u8> {
    vec![byte; N]
}

fn main() {
    assert_eq!(describe(7).join().unwrap(), "<7>");
    let n: u16 = parse::<u16>("65".to_owned()).join().unwrap();
    assert_eq!(n, 65);
    assert_eq!(repeat::<3>(1).join().unwrap(), [1, 1, 1]);
}
