//! Downloads with `async` bodies: a small HTTP server on 127.0.0.1 (started here, with tokio)
//! serves a few dozen CSV files slowly; each is fetched by an async body through a real HTTP
//! client (reqwest) in one scope shown as a progress line, with a deadline, and parsed by a
//! blocking body that the async one awaits. One request is cancelled mid-body (the server
//! sees its connection close), and one asks for a file that is not there: a 404 that becomes
//! a structured `AppError`.
//!
//! ```text
//! cargo run --release --features tokio --example fetch
//! ```
//!
//! Exits with an error if any of that did not happen as described.

mod http;
mod server;

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use task_runtime::{AppError, TaskError, TaskManager};

use http::{download, parse};
use server::{Catalog, Server};

/// What the server has: `data-0.csv` .. `data-29.csv` of 400 rows each, and one large
/// `big.csv`, sent 4 KiB every 2 ms.
const CATALOG: Catalog = Catalog {
    files: 30,
    rows: 400,
    sizes: 1,
    pace: Duration::from_millis(2),
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fetch: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), AppError> {
    // The server: a runtime of its own, as a real server would be another process.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let server = server.block_on(Server::start(CATALOG))?;
    println!("server on {}", server.address);

    // The application: with feature `tokio`, every body runs inside a tokio runtime context
    // (here one the manager starts), so reqwest works in them.
    let manager = TaskManager::builder().max_threads(2).build()?;
    let client = reqwest::Client::new();
    let downloads = manager.scope().named("downloads").show_progress(true);
    let started = Instant::now();

    let mut names: Vec<String> = (0..CATALOG.files)
        .map(|i| format!("data-{i}.csv"))
        .collect();
    names.push("missing.csv".to_owned());
    let mut tasks = Vec::new();
    for name in &names {
        let (client, manager, url) = (client.clone(), manager.clone(), server.url(name));
        let task = downloads
            .task_async(move |ctx| async move {
                let body = download(&ctx, &client, &url).await?;
                // Parsing is CPU work: a blocking body, awaited without holding a worker.
                let rows = manager.spawn(move |_| parse(&body)).await?;
                Ok::<_, AppError>(rows)
            })
            .name(format!("GET {name}"))
            .timeout(Duration::from_secs(20))
            .start();
        tasks.push((name.clone(), task));
    }

    // The big file: cancelled once its first bytes arrived, mid-body.
    let (first_bytes, arrived) = mpsc::channel();
    let big = {
        let (client, url) = (client.clone(), server.url("big.csv"));
        downloads
            .task_async(move |ctx| async move { download(&ctx, &client, &url).await })
            .name("GET big.csv")
            .on_progress(move |_| {
                let _ = first_bytes.send(());
            })
            .start()
    };
    arrived
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| AppError::new("ERR_FETCH", "big.csv sent nothing"))?;
    big.cancel();
    println!(
        "big.csv cancelled mid-body (decided at once: {})",
        big.is_finished()
    );

    let mut problems = Vec::new();
    let mut parsed = 0;
    for (name, task) in tasks {
        match task.join() {
            Ok(rows) if rows == CATALOG.rows => parsed += 1,
            Ok(rows) => problems.push(format!("{name}: {rows} rows, not {}", CATALOG.rows)),
            Err(TaskError::Failed(error)) if name == "missing.csv" => {
                println!(
                    "{name}: {} ({}; status {})",
                    error.user_message(),
                    error.code(),
                    error.context().get("status").map_or("?", String::as_str)
                );
                if error.code() != "ERR_HTTP_STATUS" {
                    problems.push(format!("{name}: {error}"));
                }
            }
            Err(error) => problems.push(format!("{name}: {error}")),
        }
    }
    if !matches!(big.join(), Err(TaskError::Cancelled)) {
        problems.push("big.csv was not cancelled".to_owned());
    }
    // The cancelled body's future was dropped by a worker: its socket closed, and the
    // server, still writing, sees it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.closed_early() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let closed = server.closed_early();
    if closed == 0 {
        problems.push("the server never saw the cancelled download's connection close".to_owned());
    }
    println!(
        "{parsed} of {} files downloaded and parsed ({} rows each) in {:.2} s; \
         {closed} connection(s) closed by a cancel",
        CATALOG.files,
        CATALOG.rows,
        started.elapsed().as_secs_f64()
    );
    drop(downloads);
    if problems.is_empty() && parsed == CATALOG.files {
        Ok(())
    } else {
        Err(AppError::new("ERR_FETCH", problems.join("; ")))
    }
}
