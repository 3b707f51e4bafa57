//! Free functions: each return form, body shape, argument form and generic form.

use std::error::Error;
use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;

use task_runtime::{run_in_background, AppError, Publisher, TaskContext};

/// One expression, a plain value.
#[run_in_background]
pub fn length(text: String) -> usize {
    text.len()
}

/// A block of statements, then the value.
#[run_in_background]
pub fn words(text: String) -> Vec<String> {
    let words = text.split_whitespace();
    words.map(str::to_owned).collect()
}

/// An early `return`.
#[run_in_background]
pub fn doubled(n: u32) -> u32 {
    if n == 0 {
        return 1;
    }
    n * 2
}

/// One expression, a `Result` with a std error.
#[run_in_background]
pub fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

/// `?` into `AppError`, with the context.
#[run_in_background]
pub fn checked(text: String, ctx: &TaskContext) -> Result<u32, AppError> {
    ctx.check_cancelled()?;
    Ok(text.trim().parse()?)
}

/// A `Result` alias.
#[run_in_background]
pub fn size(path: PathBuf) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.len())
}

/// No return type, an empty body.
#[run_in_background]
pub fn nothing() {}

/// No return type, one expression without its semicolon.
#[run_in_background]
pub fn print(line: String) {
    println!("{line}")
}

/// No return type, statements.
#[run_in_background]
pub fn print_twice(line: String) {
    println!("{line}");
    println!("{line}");
}

/// An unused context.
#[run_in_background]
pub fn one(_ctx: &TaskContext) -> u8 {
    1
}

/// `impl Trait` as an argument.
#[run_in_background]
pub fn describe(value: impl Display + Send + 'static) -> String {
    format!("<{value}>")
}

/// `impl Trait` as the value.
#[run_in_background]
pub fn evens(limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
    (0..limit).filter(|n| n % 2 == 0)
}

/// `impl Trait` inside a `Result`.
#[run_in_background]
pub fn odds(limit: String) -> Result<impl Iterator<Item = u32> + Send + 'static, AppError> {
    let limit: u32 = limit.parse()?;
    Ok((0..limit).filter(|n| n % 2 == 1))
}

/// A type parameter with bounds.
#[run_in_background]
pub fn shown<T: Display + Send + 'static>(value: T) -> String {
    value.to_string()
}

/// A type parameter only in the return type, bounded in a `where` clause.
#[run_in_background]
pub fn parsed<T>(text: String) -> Result<T, AppError>
where
    T: FromStr + Send + 'static,
    T::Err: Error + Send + Sync + 'static,
{
    Ok(text.parse::<T>()?)
}

/// A const generic.
#[run_in_background]
pub fn repeat<const N: usize>(byte: u8) -> Vec<u8> {
    vec![byte; N]
}

/// A `mut` argument.
#[run_in_background]
pub fn sorted(mut numbers: Vec<u64>) -> Vec<u64> {
    numbers.sort_unstable();
    numbers
}

/// A tuple pattern.
#[run_in_background]
pub fn add((a, b): (u32, u32)) -> u32 {
    a + b
}

/// A point, for a struct pattern.
pub struct Point {
    /// Across.
    pub x: i64,
    /// Up.
    pub y: i64,
}

/// A struct pattern.
#[run_in_background]
pub fn area(Point { x, y }: Point) -> i64 {
    x * y
}

/// Items, without a value.
#[run_in_background]
pub fn count_to(count: u32, numbers: &Publisher<u32>) {
    for n in 0..count {
        numbers.publish(n);
    }
}

/// Items, the publisher before the context, and a fallible value.
#[run_in_background]
pub fn lines(text: String, rows: &Publisher<String>, ctx: &TaskContext) -> Result<usize, AppError> {
    for line in text.lines() {
        ctx.check_cancelled()?;
        rows.publish(line.to_owned());
    }
    Ok(text.lines().count())
}

/// Raw identifiers.
#[run_in_background]
pub fn r#match(r#type: String) -> String {
    r#type
}
