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

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use task_runtime::{AppError, TaskContext, TaskError, TaskManager};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Files the server has: `data-0.csv` .. `data-29.csv`, and one large slow `big.csv`.
const FILES: usize = 30;
/// Rows of each small file; the big one has a thousand times more.
const ROWS: usize = 400;

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
    let closed_early = Arc::new(AtomicUsize::new(0));
    let address = server.block_on(serve(Arc::clone(&closed_early)))?;
    let base = format!("http://{address}");
    println!("server on {base}");

    // The application: with feature `tokio`, every body runs inside a tokio runtime context
    // (here one the manager starts), so reqwest works in them.
    let manager = TaskManager::builder().max_threads(2).build()?;
    let client = reqwest::Client::new();
    let downloads = manager.scope().named("downloads").show_progress(true);
    let started = Instant::now();

    let mut names: Vec<String> = (0..FILES).map(|i| format!("data-{i}.csv")).collect();
    names.push("missing.csv".to_owned());
    let mut tasks = Vec::new();
    for name in &names {
        let (client, manager, url) = (client.clone(), manager.clone(), format!("{base}/{name}"));
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
        let (client, url) = (client.clone(), format!("{base}/big.csv"));
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
            Ok(rows) if rows == ROWS => parsed += 1,
            Ok(rows) => problems.push(format!("{name}: {rows} rows, not {ROWS}")),
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
    while closed_early.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let closed = closed_early.load(Ordering::SeqCst);
    if closed == 0 {
        problems.push("the server never saw the cancelled download's connection close".to_owned());
    }
    println!(
        "{parsed} of {FILES} files downloaded and parsed ({} rows each) in {:.2} s; \
         {closed} connection(s) closed by a cancel",
        ROWS,
        started.elapsed().as_secs_f64()
    );
    drop(downloads);
    if problems.is_empty() && parsed == FILES {
        Ok(())
    } else {
        Err(AppError::new("ERR_FETCH", problems.join("; ")))
    }
}

/// Fetches `url`, reporting the bytes received as the task's progress. A status other than
/// 2xx is a structured error: its code, the status and the URL as context.
async fn download(
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
        .with_context("status", status.as_u16())
        .with_context("url", url));
    }
    let total = response.content_length().unwrap_or(0);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        ctx.set_progress(body.len() as u64, total);
    }
    Ok(body)
}

/// Counts the data rows of a CSV file (the header excluded), checking each has 3 fields.
fn parse(body: &[u8]) -> Result<usize, AppError> {
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

// ----- the server -----

/// Starts serving on 127.0.0.1 (a free port); returns its address.
async fn serve(closed_early: Arc<AtomicUsize>) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, Arc::clone(&closed_early)));
        }
    });
    Ok(address)
}

/// Answers one request: the file, slowly, in chunks; or a 404.
async fn answer(mut stream: TcpStream, closed_early: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let body = match path.trim_start_matches('/') {
        "big.csv" => Some(csv(ROWS * 1000)),
        name => name
            .strip_prefix("data-")
            .and_then(|n| n.strip_suffix(".csv"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n < FILES)
            .map(|_| csv(ROWS)),
    };
    let Some(body) = body else {
        let reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let _ = stream.write_all(reply.as_bytes()).await;
        return;
    };
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(reply.as_bytes()).await.is_err() {
        return;
    }
    // Slowly: 4 KiB every 2 ms.
    for chunk in body.chunks(4096) {
        if stream.write_all(chunk).await.is_err() {
            closed_early.fetch_add(1, Ordering::SeqCst);
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A CSV file of `rows` rows under a header.
fn csv(rows: usize) -> Vec<u8> {
    let mut text = String::from("id,name,score\n");
    for i in 0..rows {
        text.push_str(&format!("{i},item-{i},{}\n", i * 7 % 100));
    }
    text.into_bytes()
}
