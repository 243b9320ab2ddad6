//! Load and slow clients: many connections get answers, none leak, and
//! clients that never finish their request cannot hold the server.
//!
//! A test binary of its own: cargo runs test binaries one after another, so
//! thirty seconds of load never overlap the functional tests in `tests/api`.

#[allow(dead_code)] // the load tests use a few of the shared helpers
#[path = "../api/helpers.rs"]
mod helpers;

use std::{process::Command, time::Duration};

use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use helpers::{new_client, spawn_app};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test]
async fn a_thousand_connections_for_thirty_seconds_get_answers_and_leak_no_descriptors() {
    let app = spawn_app().await;
    let (_, public, _) = app.publish_one_of_each().await;
    let url = app.url(&format!("/p/{public}"));
    assert_eq!(app.get(&format!("/p/{public}")).await.status(), StatusCode::OK);
    let before = open_descriptors();
    // wrk is installed by .ci/run; the server runs in this test process.
    let report = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t2", "-c1000", "-d30s", "--timeout", "10s", "--latency", &url])
            .output()
            .expect("wrk is installed (apt-get install wrk; .ci/run does)")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&report.stdout).into_owned();
    println!("{report}"); // shown with --nocapture, and on failure
    assert!(report.contains("requests in"), "{report}");
    assert!(!report.contains("Socket errors"), "{report}");
    assert!(!report.contains("Non-2xx"), "{report}");
    // Closed connections give their descriptors back.
    let mut after = open_descriptors();
    for _ in 0..50 {
        if after <= before + 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = open_descriptors();
    }
    assert!(after <= before + 10, "{before} descriptors before, {after} after");
}

#[tokio::test]
async fn clients_that_never_finish_their_request_are_cut_off_and_cannot_starve_others() {
    let app = spawn_app().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        // Headers begun and never ended (slowloris).
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // Everyone else is served meanwhile.
    let (status, _) = app.get_text(&new_client(), "/").await;
    assert_eq!(status, StatusCode::OK);
    // Past the 5 s request timeout every slow client is answered or dropped.
    tokio::time::sleep(Duration::from_secs(7)).await;
    for (n, stream) in slow.iter_mut().enumerate() {
        let mut buffer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(3), async {
            // Drain whatever the server said (a 408) until it closes.
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(read.is_ok(), "slow client {n} is still held open");
    }
}
