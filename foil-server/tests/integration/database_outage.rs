//! quality.md R2: the database becomes unreachable, then comes back. Meanwhile requests get
//! 503 with `Retry-After` (never a hang or a 500); afterwards the server recovers by itself.
//!
//! The outage is real: the server reaches PostgreSQL through a TCP proxy in this test, which
//! can cut every connection and refuse new ones, then let them through again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{TestApp, TestRequest};
use axum::http::StatusCode;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards 127.0.0.1:<port> to `target` while `up`; cutting closes every open connection.
struct CuttableProxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl CuttableProxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (accept_up, accept_cut) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !accept_up.load(Ordering::SeqCst) {
                    drop(client); // refused while down
                    continue;
                }
                let target = target.clone();
                let mut cuts = accept_cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {} // dropping both ends cuts the connection
                    }
                });
            }
        });
        CuttableProxy { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db?...` with host:port replaced by the proxy.
fn through_proxy(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}127.0.0.1:{port}/{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_gives_503_then_recovers() {
    // A schema of our own on the real server, then the app reaches it through the proxy.
    let Some(probe) = TestApp::new(crate::common::Backend::Postgres).await else {
        return;
    };
    let direct = probe.database_url.clone();
    probe.ctx.db.close().await;
    let host_port = {
        let rest = direct.split_once("://").unwrap().1;
        let authority = rest.split_once('/').unwrap().0;
        authority
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or(authority)
            .to_string()
    };
    let proxy = CuttableProxy::start(host_port).await;
    let app = TestApp::with_existing_database(&through_proxy(&direct, proxy.port), |c| {
        c.database_timeout_secs = 1;
    })
    .await;

    let res = app.send(TestRequest::get("/api/v1/personas")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let token = app.signup("outage@example.com").await;

    proxy.down();
    for req in [
        TestRequest::get("/readyz"),
        TestRequest::get("/api/v1/personas"),
        TestRequest::get("/api/v1/auth/me").bearer(&token),
    ] {
        let path = req.path.clone();
        let res = tokio::time::timeout(Duration::from_secs(10), app.send(req))
            .await
            .expect("requests do not hang while the database is down");
        res.assert_error(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
        let retry: u64 = res.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1, "{path}");
    }
    // Liveness does not depend on the database.
    assert_eq!(
        app.send(TestRequest::get("/healthz")).await.status,
        StatusCode::OK
    );

    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        if app.send(TestRequest::get("/readyz")).await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the server recovers by itself");
    let res = app
        .send(TestRequest::get("/api/v1/auth/me").bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}
