//! `shutdown_signal` ends the wait on SIGTERM, which is what `docker stop`
//! and systemd send. Its own test binary: the signal goes to the whole
//! process, and nothing else may be running in it.

#![cfg(unix)]

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

#[tokio::test]
async fn sigterm_ends_the_wait() {
    let mut stop = std::pin::pin!(telemetry::shutdown_signal());
    // The first poll installs the handlers; without them SIGTERM would kill
    // this process instead of ending the wait.
    let pending = std::future::poll_fn(|cx| Poll::Ready(stop.as_mut().poll(cx).is_pending())).await;
    assert!(pending, "resolved before any signal");

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());

    // A bound on a hang, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(30), stop)
        .await
        .expect("SIGTERM ends the wait");
}
