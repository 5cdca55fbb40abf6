//! A connection that starts like HTTP/2's cleartext preface (RFC 9113
//! 3.4, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) but stops before its 24 bytes
//! are in would otherwise be held open in silence: the server cannot tell
//! HTTP/2 from HTTP/1 until it has them all. Here such a connection gets
//! [`GRACE`] to finish the preface, then is closed. A whole preface is
//! answered at once (HTTP/2 with prior knowledge), and any other first
//! bytes are HTTP/1 as usual.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// HTTP/2's connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a connection may sit on a part of the preface.
pub const GRACE: Duration = Duration::from_secs(1);

/// A TCP listener whose connections are [`Guarded`].
pub struct GuardedListener(pub TcpListener);

impl axum::serve::Listener for GuardedListener {
    type Io = Guarded;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (Guarded::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection watched until its first bytes tell whether it is the
/// HTTP/2 preface.
pub struct Guarded {
    inner: TcpStream,
    /// How many bytes of the preface have arrived so far, while every byte
    /// has matched; `None` once it is decided.
    matched: Option<usize>,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Guarded {
    fn new(inner: TcpStream) -> Self {
        Self {
            inner,
            matched: Some(0),
            deadline: None,
        }
    }

    /// Account for `bytes`, newly read.
    fn saw(&mut self, bytes: &[u8]) {
        let Some(matched) = self.matched else {
            return;
        };
        let take = bytes.len().min(PREFACE.len() - matched);
        if bytes[..take] != PREFACE[matched..matched + take] || matched + take == PREFACE.len() {
            // Not the preface, or all of it: decided.
            self.matched = None;
            self.deadline = None;
        } else if take > 0 {
            self.matched = Some(matched + take);
            if self.deadline.is_none() {
                self.deadline = Some(Box::pin(tokio::time::sleep(GRACE)));
            }
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if self.matched.is_some() {
                    self.saw(&buf.filled()[before..]);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let expired = self
                    .deadline
                    .as_mut()
                    .is_some_and(|d| d.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the HTTP/2 preface was not completed in time",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn served() -> std::net::SocketAddr {
        let listener = crate::server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move {
            let _ = axum::serve(GuardedListener(listener), app.into_make_service()).await;
        });
        addr
    }

    /// What the server sends back to `first` before it closes the
    /// connection (or within 10 s: a bound, not a timing assertion).
    async fn answer_to(addr: std::net::SocketAddr, first: &[u8]) -> Option<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(first).await.unwrap();
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got)).await;
        read.ok().map(|_| got)
    }

    #[tokio::test]
    async fn a_stalled_preface_is_closed_and_a_whole_one_answered() {
        let addr = served().await;
        // Part of the preface, then nothing: closed, without an answer.
        assert_eq!(
            answer_to(addr, b"PRI * HTTP/2.0\r\n\r\n").await,
            Some(vec![])
        );
        // The whole preface: the server's SETTINGS frame (type 4) at once.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(PREFACE).await.unwrap();
        let mut head = [0u8; 9];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(head[3], 4, "{head:?}");
        // HTTP/1 is unaffected, even a request starting like the preface.
        let ok = answer_to(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        assert!(
            ok.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&ok)
        );
        let put = answer_to(
            addr,
            b"PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        assert!(
            put.starts_with(b"HTTP/1.1 405"),
            "{}",
            String::from_utf8_lossy(&put)
        );
    }

    #[test]
    fn the_preface_is_tracked_across_reads() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let _client = TcpStream::connect(addr).await.unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let mut g = Guarded::new(stream);
            g.saw(b"PRI * ");
            assert_eq!(g.matched, Some(6));
            assert!(g.deadline.is_some());
            g.saw(&PREFACE[6..]);
            assert_eq!(g.matched, None);
            assert!(g.deadline.is_none());
            let mut g2 = Guarded::new(g.inner);
            g2.saw(b"POST / HTTP/1.1");
            assert_eq!(g2.matched, None);
            assert!(g2.deadline.is_none());
        });
    }
}
