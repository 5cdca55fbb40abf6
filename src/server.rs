//! Serving one party's router: the listener is bound first (so port 0
//! works and the real address is known before anything is served), and the
//! server stops when its handle is dropped. The IdP, the brand API and the
//! platform all run this way, their connections [`preface::Guarded`].

use std::net::SocketAddr;

use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod page_policy;
pub mod preface;

/// Pending connections the kernel queues per listener. tokio's
/// `TcpListener::bind` asks for 128, which a burst of a thousand consumers
/// overflows (each dropped connection is retried a second later).
const BACKLOG: u32 = 1024;

/// Bind a listener on `addr` (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// A router being served. Dropping it shuts the server down gracefully.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `app` on `listener` (already bound to `addr`) in the background.
    pub fn spawn(listener: TcpListener, addr: SocketAddr, app: Router) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // One service for every connection, not a router rebuilt per accept.
            let listener = preface::GuardedListener(listener);
            let _ = axum::serve(listener, app.into_make_service())
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve until the server stops (for the command line).
    pub async fn wait(&mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
