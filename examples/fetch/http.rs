//! The client side of `examples/fetch`, shared with the egui demo (`demos/egui`, which
//! includes this file by path): a download as an async body, and a CSV check as a blocking
//! one.

use task_runtime::{AppError, TaskContext};

/// Fetches `url`, reporting the bytes received as the task's progress. A status other than
/// 2xx is a structured error: its code, the status and the URL as context.
pub async fn download(
    ctx: &TaskContext,
    client: &reqwest::Client,
    url: &str,
) -> Result<Vec<u8>, AppError> {
    let mut response = client.get(url).send().await?;
    let status = response.status();
    if !status.is_success() {
        return Err(AppError::new(
            "ERR_HTTP_STATUS",
            format!("the server answered {status} for {url}"),
        )
        .with_user_message(format!("Could not download {}", file_name(url)))
        .with_context("status", status.as_u16())
        .with_context("url", url));
    }
    let total = response.content_length().unwrap_or(0);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        let message = format!(
            "{} {} of {} KB",
            file_name(url),
            body.len() >> 10,
            total >> 10
        );
        ctx.report_progress(body.len() as u64, total, message);
    }
    Ok(body)
}

/// Counts the data rows of a CSV file (the header excluded), checking each has 3 fields.
pub fn parse(body: &[u8]) -> Result<usize, AppError> {
    let text = std::str::from_utf8(body)?;
    let mut rows = 0;
    for (number, line) in text.lines().enumerate().skip(1) {
        if line.split(',').count() != 3 {
            return Err(AppError::new(
                "ERR_CSV",
                format!("line {} is malformed", number + 1),
            ));
        }
        rows += 1;
    }
    Ok(rows)
}

/// The last segment of a URL's path.
fn file_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}
