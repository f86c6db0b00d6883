//! The listener: accepts connections on a bound socket and serves any tower
//! service on them with hyper, HTTP/1.1 and h2c (or HTTPS with ALPN), under
//! the transport limits, until a shutdown signal; then it stops accepting
//! and lets in-flight connections finish.
//!
//! It knows nothing of the API: `main` runs the [`crate::Api`] and the demo
//! page ([`crate::web`]) through the same [`run`].

use std::{cell::RefCell, convert::Infallible, future::Future, sync::Arc, time::Duration};

use futures_util::future::Either;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
    sync::Semaphore,
};
use tower::{Service, util::Oneshot};

use crate::{
    config::Transport,
    graceful::{Shutdown, Watcher},
    header_timer::ConnectionTimer,
    metrics::Metrics,
    ready::call_ready,
};

/// Probe a connection idle for 60 s every 20 s; three unanswered probes
/// close it (a dead peer is gone within two minutes).
const TCP_KEEPALIVE: socket2::TcpKeepalive = socket2::TcpKeepalive::new()
    .with_time(Duration::from_secs(60))
    .with_interval(Duration::from_secs(20))
    .with_retries(3);

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `service` on `listener` (HTTP/1.1 and h2c, or HTTPS with ALPN when
/// `transport.tls` is set) until `shutdown` resolves, then stops accepting,
/// tells keep-alive clients to go away (hyper's graceful shutdown:
/// `Connection: close` on the next HTTP/1.1 answer, GOAWAY on HTTP/2) and
/// lets in-flight requests finish within [`SHUTDOWN_GRACE`]. The caller
/// binds and picks the trigger, so `main` and tests share one path. With
/// `counted` (the API port's metrics), each open connection is counted
/// in `greet_gateway_connections_open`.
pub async fn run<S, B>(
    listener: TcpListener,
    service: S,
    transport: Transport,
    shutdown: impl Future<Output = ()>,
    counted: Option<Arc<Metrics>>,
) where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = connection_builder(&transport);
    let tls = transport.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let connections = Arc::new(Semaphore::new(transport.max_connections));
    let graceful = Shutdown::default();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // At the connection limit, wait here: new clients queue in the
        // kernel's accept backlog instead of costing memory.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Dead peers are found by the kernel's TCP keep-alive, on every
        // protocol and at no cost per request. (hyper's HTTP/2 PING
        // keep-alive re-armed a timer on every frame: ~1.3k instructions
        // a gRPC request, `bench/profile`.)
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&TCP_KEEPALIVE);
        let service = HyperService::new(service.clone());
        // Slow-loris: the whole head must arrive within this time, on a
        // timer of this connection's own (`header_timer`).
        let mut builder = builder.clone();
        builder
            .http1()
            .timer(ConnectionTimer::default())
            .header_read_timeout(transport.header_read_timeout);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let handshake_timeout = transport.header_read_timeout;
        let open = counted.as_ref().map(|m| m.connection_open());
        tokio::spawn(async move {
            let _permit = permit;
            let _open = open;
            let result = match tls {
                None => serve(&builder, stream, service, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve(&builder, stream, service, watcher).await,
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }

    drop(listener);
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing the remaining connections");
    }
}

/// One connection, HTTP/1.1 or HTTP/2 by its first bytes, watched for
/// graceful shutdown.
async fn serve<I, S, B>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: HyperService<S>,
    watcher: Watcher,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = builder.serve_connection(TokioIo::new(io), service);
    watcher.watch(connection).await
}

/// A tower service as hyper calls it, one per connection.
///
/// hyper calls through `&self`, tower through `&mut self`; hyper-util's
/// `TowerToHyperService` bridges the two by cloning the service for every
/// request and driving the clone through a `Oneshot` (ready, then call).
/// For the API that clone is seven reference counts up and down, and the
/// `Oneshot` moves the ~900-byte request future once more: a few hundred
/// instructions a request (`bench/profile`). Here the connection's one
/// service sits in a `RefCell` (hyper calls it from the connection's task,
/// one call at a time, never re-entrantly) and is called by [`call_ready`]:
/// in place when it is ready at once (the API always is).
pub struct HyperService<S> {
    service: RefCell<S>,
}

impl<S> HyperService<S> {
    pub fn new(service: S) -> Self {
        HyperService {
            service: RefCell::new(service),
        }
    }
}

impl<S, R> hyper::service::Service<R> for HyperService<S>
where
    S: Service<R, Error = Infallible> + Clone,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = Either<S::Future, Oneshot<S, R>>;

    fn call(&self, request: R) -> Self::Future {
        call_ready(
            &mut *self.service.borrow_mut(),
            request,
            Either::Left,
            Either::Right,
        )
    }
}

/// hyper's settings, from the transport limits.
fn connection_builder(transport: &Transport) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // The header-read deadline is set in `run`, with each connection's
        // timer: hyper refuses to serve a deadline that has no timer.
        // A head larger than this buffer is answered 431 by hyper.
        .max_buf_size(transport.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(transport.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(transport.max_header_bytes).unwrap_or(u32::MAX))
        // Rapid-reset and error-reset floods: hyper/h2's defaults, made explicit.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024);
    builder
}

/// Why the process is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C (SIGINT): an operator at a terminal; stop at once.
    Interrupt,
    /// SIGTERM: an orchestrator; drain first (`--drain-delay`).
    Terminate,
}

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM, saying which.
pub async fn stop_signal() -> StopSignal {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => StopSignal::Interrupt,
        () = terminate => StopSignal::Terminate,
    }
}
