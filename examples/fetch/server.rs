//! A small HTTP/1.1 server on 127.0.0.1 that serves CSV files slowly, for the downloads of
//! `examples/fetch` and of the egui demo (`demos/egui`, which includes this file by path).
//! It counts the connections a client closed before their body was sent: what a cancelled
//! download looks like from the other end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server has: `data-0.csv` .. `data-{files - 1}.csv`, and a large `big.csv`.
#[derive(Clone, Copy, Debug)]
pub struct Catalog {
    /// How many `data-N.csv` files there are.
    pub files: usize,
    /// Rows of the smallest file: `data-N.csv` has `rows * (1 + N % sizes)`, `big.csv` a
    /// thousand times `rows`.
    pub rows: usize,
    /// How many sizes the files come in (1: all the same).
    pub sizes: usize,
    /// The pause after each 4 KiB sent: what makes the server slow.
    pub pace: Duration,
}

impl Catalog {
    /// The data rows of `data-{index}.csv` (the header excluded).
    pub fn rows_of(&self, index: usize) -> usize {
        self.rows * (1 + index % self.sizes.max(1))
    }

    fn body(&self, path: &str) -> Option<Vec<u8>> {
        if path == "big.csv" {
            return Some(csv(self.rows * 1000));
        }
        let index = path
            .strip_prefix("data-")?
            .strip_suffix(".csv")?
            .parse::<usize>()
            .ok()
            .filter(|index| *index < self.files)?;
        Some(csv(self.rows_of(index)))
    }
}

/// A running server: its address, and how many of its answers a client cut short.
#[derive(Clone, Debug)]
pub struct Server {
    /// Where it listens, on 127.0.0.1.
    pub address: SocketAddr,
    closed_early: Arc<AtomicUsize>,
}

impl Server {
    /// Starts serving `catalog` on a free port of 127.0.0.1, on the current tokio runtime.
    pub async fn start(catalog: Catalog) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let closed_early = Arc::new(AtomicUsize::new(0));
        let server = Server {
            address: listener.local_addr()?,
            closed_early: Arc::clone(&closed_early),
        };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, catalog, Arc::clone(&closed_early)));
            }
        });
        Ok(server)
    }

    /// `http://127.0.0.1:PORT/name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.address)
    }

    /// Answers whose client closed the connection before the whole body was sent.
    pub fn closed_early(&self) -> usize {
        self.closed_early.load(Ordering::SeqCst)
    }
}

/// Answers one request: the file, slowly, in chunks; or a 404.
async fn answer(mut stream: TcpStream, catalog: Catalog, closed_early: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let Some(body) = catalog.body(path.trim_start_matches('/')) else {
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
    for chunk in body.chunks(4096) {
        if stream.write_all(chunk).await.is_err() {
            closed_early.fetch_add(1, Ordering::SeqCst);
            return;
        }
        tokio::time::sleep(catalog.pace).await;
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
