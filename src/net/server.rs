//! A small HTTP/1.1 server on hyper, shared by the orchestrator and the metrics endpoint: one
//! task per connection, a header read timeout, and a stop flag polled by the accept loop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

/// A response body: whole bytes or a body produced later.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A whole-bytes body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A plain-text response.
pub fn text(status: StatusCode, msg: impl Into<String>) -> Response<Body> {
    let mut msg = msg.into();
    msg.push('\n');
    let mut r = Response::new(full(msg));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Binds `addr` (std, so the caller learns the port before the runtime starts).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Serves `listener` until `stop` is set; each request goes to `handle`. Must run inside a
/// tokio runtime with timers enabled.
pub async fn serve<H, F>(
    listener: std::net::TcpListener,
    header_timeout: Duration,
    stop: Arc<AtomicBool>,
    handle: H,
) -> std::io::Result<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let accepted =
            match tokio::time::timeout(Duration::from_millis(100), listener.accept()).await {
                Err(_) => continue,
                Ok(Err(_)) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Ok(Ok((stream, _peer))) => stream,
            };
        let _ = accepted.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let fut = handle(req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            // A client that goes away or sends garbage ends only its own connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(256 * 1024)
                .serve_connection(TokioIo::new(accepted), svc)
                .await;
        });
    }
}

/// The address a listener is bound to, as `http://host:port`.
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// A plain 404.
pub fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "not found")
}
