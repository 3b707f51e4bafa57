//! Feature `tokio`: every body runs inside a tokio runtime context, so tokio timers and sockets
//! work in blocking and `async` bodies; a cancel drops an async body's socket (its peer sees
//! the end of the stream). Run with `cargo test --features tokio --test tokio`.
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use common::PATIENCE;
use task_runtime::{AppError, TaskManager, TaskState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server on 127.0.0.1 that answers each connection's request line with `reply`, then
/// reports what it saw of the peer: `eof` once the client closed its end.
fn server(reply: &'static [u8]) -> (std::net::SocketAddr, mpsc::Receiver<&'static str>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (seen, events) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut request = [0u8; 5];
                if stream.read_exact(&mut request).is_err() {
                    return;
                }
                if !reply.is_empty() {
                    let _ = stream.write_all(reply);
                }
                // Then wait for the client to go away.
                let mut rest = [0u8; 1];
                if let Ok(0) = stream.read(&mut rest) {
                    let _ = seen.send("eof");
                }
            });
        }
    });
    (address, events)
}

#[test]
fn an_async_body_talks_to_a_real_socket() {
    let (address, _events) = server(b"hello");
    let manager = TaskManager::new(2);
    let task = manager.spawn_async(move |_| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream.write_all(b"hi!!\n").await?;
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).await?;
        Ok::<_, AppError>(String::from_utf8_lossy(&reply).into_owned())
    });
    assert_eq!(task.join().unwrap(), "hello");
}

#[test]
fn a_cancel_mid_read_closes_the_socket() {
    let (address, events) = server(b"");
    let manager = TaskManager::new(2);
    let (connected, ready) = mpsc::channel();
    let task = manager.spawn_async(move |_| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream.write_all(b"hi!!\n").await?;
        connected.send(()).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?; // the server never answers
        Ok::<_, AppError>(reply)
    });
    ready.recv_timeout(PATIENCE).unwrap();
    task.cancel();
    assert!(task.join().unwrap_err().is_cancelled());
    assert_eq!(
        events.recv_timeout(PATIENCE).unwrap(),
        "eof",
        "the peer saw the socket close"
    );
}

#[test]
fn tokio_time_works_in_blocking_and_async_bodies() {
    let manager = TaskManager::new(2);
    let slept = manager.spawn_async(|_| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok::<_, AppError>("async")
    });
    let blocking = manager.spawn(|_| {
        // A blocking body may block on tokio work: it has the runtime's context.
        let handle = tokio::runtime::Handle::current();
        handle.block_on(tokio::time::sleep(Duration::from_millis(20)));
        Ok::<_, AppError>("blocking")
    });
    assert_eq!(slept.join().unwrap(), "async");
    assert_eq!(blocking.join().unwrap(), "blocking");
}

#[test]
fn a_given_runtime_is_the_one_bodies_use() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("given-runtime")
        .enable_all()
        .build()
        .unwrap();
    let manager = TaskManager::builder()
        .tokio(runtime.handle().clone())
        .build()
        .unwrap();
    let task = manager.spawn_async(|_| async {
        // Work handed to tokio runs on the given runtime's threads.
        let name = tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .map_err(|e| AppError::new("E_JOIN", e.to_string()))?;
        Ok::<_, AppError>(name)
    });
    assert_eq!(task.join().unwrap().as_deref(), Some("given-runtime"));
}

#[test]
fn a_manager_with_its_own_runtime_drops_without_hanging() {
    let manager = TaskManager::builder()
        .shutdown_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let task = manager.spawn_async(|_| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<_, AppError>(())
    });
    common::eventually("the body waits", || task.state() == TaskState::Running);
    drop(manager);
    assert!(task.wait_for(PATIENCE));
    assert!(task.join().unwrap_err().is_cancelled());
}
