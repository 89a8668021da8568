//! The gateway's HTTP/1.1 client: hyper's client connection over a TCP stream that counts
//! every byte it reads and writes, so the wire bytes of each exchange (request line, headers,
//! chunked framing and bodies) are measured on the socket, not estimated. One keep-alive
//! connection per session, as go-livepeer's `http.Client` keeps one; it is dialled again when
//! the orchestrator closed it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// go-livepeer's dial timeout.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes a connection has read and written so far.
#[derive(Debug, Default)]
pub struct WireCounters {
    pub read: AtomicU64,
    pub written: AtomicU64,
}

/// A stream that counts its bytes.
pub struct Counting<S> {
    inner: S,
    counters: Arc<WireCounters>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counters.read.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.counters
                .written
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How connections are made: plain TCP, or from inside a network namespace (the shaped link).
pub type Dialer = Arc<dyn Fn(SocketAddr) -> io::Result<std::net::TcpStream> + Send + Sync>;

/// A plain TCP dialer with go-livepeer's dial timeout.
pub fn tcp_dialer() -> Dialer {
    Arc::new(|addr| std::net::TcpStream::connect_timeout(&addr, DIAL_TIMEOUT))
}

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("{what} timed out after {seconds:.1} s")]
    Timeout { what: &'static str, seconds: f64 },
    #[error("HTTP error: {0}")]
    Http(String),
}

/// One answered exchange.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// From the start of the request to the response head.
    pub head_seconds: f64,
    /// From the start of the request to the end of the body.
    pub total_seconds: f64,
    /// Bytes written and read on the socket for this exchange.
    pub wire_bytes_sent: u64,
    pub wire_bytes_received: u64,
}

/// A keep-alive HTTP/1.1 connection to one orchestrator.
pub struct Connection {
    addr: SocketAddr,
    host: String,
    dialer: Dialer,
    /// Emulated propagation delay added once to each request and once to each response.
    one_way_delay: Duration,
    live: Option<(SendRequest<Full<Bytes>>, Arc<WireCounters>)>,
}

impl Connection {
    pub fn new(addr: SocketAddr, dialer: Dialer, one_way_delay: Duration) -> Connection {
        Connection {
            addr,
            host: addr.to_string(),
            dialer,
            one_way_delay,
            live: None,
        }
    }

    async fn connect(&mut self) -> Result<(), ClientError> {
        let dialer = Arc::clone(&self.dialer);
        let addr = self.addr;
        let std_stream = tokio::task::spawn_blocking(move || dialer(addr))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .map_err(|source| ClientError::Connect { addr, source })?;
        let _ = std_stream.set_nodelay(true);
        std_stream
            .set_nonblocking(true)
            .map_err(|source| ClientError::Connect { addr, source })?;
        let stream = tokio::net::TcpStream::from_std(std_stream)
            .map_err(|source| ClientError::Connect { addr, source })?;
        let counters = Arc::new(WireCounters::default());
        let io = TokioIo::new(Counting {
            inner: stream,
            counters: Arc::clone(&counters),
        });
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.live = Some((sender, counters));
        Ok(())
    }

    /// Sends `req` (path and headers; the Host header is added) and reads the whole answer,
    /// within `head_timeout` for the response head and `total_timeout` for all of it. A kept-alive
    /// connection the orchestrator closed before a byte of the request went out is dialled again
    /// and the request sent once more (nothing of it had been sent).
    pub async fn exchange(
        &mut self,
        req: Request<Full<Bytes>>,
        head_timeout: Duration,
        total_timeout: Duration,
    ) -> Result<Answer, ClientError> {
        let (parts, body) = req.into_parts();
        let rebuild = || {
            let mut r = Request::new(body.clone());
            *r.method_mut() = parts.method.clone();
            *r.uri_mut() = parts.uri.clone();
            *r.headers_mut() = parts.headers.clone();
            r
        };
        let reused = self.live.as_ref().is_some_and(|(s, _)| !s.is_closed());
        match self
            .exchange_once(rebuild(), head_timeout, total_timeout)
            .await
        {
            Err((_, true)) if reused => {
                self.live = None;
                self.exchange_once(rebuild(), head_timeout, total_timeout)
                    .await
                    .map_err(|(e, _)| e)
            }
            other => other.map_err(|(e, _)| e),
        }
    }

    /// One try; an error says whether nothing of the request was written.
    async fn exchange_once(
        &mut self,
        mut req: Request<Full<Bytes>>,
        head_timeout: Duration,
        total_timeout: Duration,
    ) -> Result<Answer, (ClientError, bool)> {
        if self.live.as_ref().is_none_or(|(s, _)| s.is_closed()) {
            self.connect().await.map_err(|e| (e, false))?;
        }
        let Some((sender, counters)) = self.live.as_mut() else {
            return Err((ClientError::Http("no connection".into()), false));
        };
        if let Ok(v) = hyper::header::HeaderValue::from_str(&self.host) {
            req.headers_mut().insert(hyper::header::HOST, v);
        }
        let counters = Arc::clone(counters);
        let (w0, r0) = (
            counters.written.load(Ordering::Relaxed),
            counters.read.load(Ordering::Relaxed),
        );
        let started = Instant::now();
        let deadline = started + total_timeout;
        tokio::time::sleep(self.one_way_delay).await;
        let fut = async {
            sender
                .ready()
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?;
            sender
                .send_request(req)
                .await
                .map_err(|e| ClientError::Http(e.to_string()))
        };
        let head = tokio::time::timeout(head_timeout, fut).await;
        let unsent = counters.written.load(Ordering::Relaxed) == w0;
        let resp = match head {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.live = None;
                return Err((e, unsent));
            }
            Err(_) => {
                self.live = None;
                let e = ClientError::Timeout {
                    what: "the request",
                    seconds: head_timeout.as_secs_f64(),
                };
                return Err((e, false));
            }
        };
        tokio::time::sleep(self.one_way_delay).await;
        let head_seconds = started.elapsed().as_secs_f64();
        let (parts, body) = resp.into_parts();
        let left = deadline.saturating_duration_since(Instant::now());
        let body = match tokio::time::timeout(left, body.collect()).await {
            Ok(Ok(c)) => c.to_bytes(),
            Ok(Err(e)) => {
                self.live = None;
                return Err((ClientError::Http(e.to_string()), false));
            }
            Err(_) => {
                self.live = None;
                let e = ClientError::Timeout {
                    what: "the answer",
                    seconds: total_timeout.as_secs_f64(),
                };
                return Err((e, false));
            }
        };
        let total_seconds = started.elapsed().as_secs_f64();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
            head_seconds,
            total_seconds,
            wire_bytes_sent: counters.written.load(Ordering::Relaxed) - w0,
            wire_bytes_received: counters.read.load(Ordering::Relaxed) - r0,
        })
    }
}
