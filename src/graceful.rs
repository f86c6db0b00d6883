//! Graceful shutdown of a listener's open connections: on the signal each
//! connection is told to finish what it is serving and close (hyper's
//! graceful shutdown: `Connection: close` on the next HTTP/1.1 answer,
//! GOAWAY on HTTP/2), and the listener waits until every one has.
//!
//! hyper-util's `GracefulShutdown` does the same through a `watch` channel:
//! every connection polls the channel's `changed()` future each time it is
//! itself polled, which takes the channel's lock to compare wakers, ~330
//! instructions a request (`bench/profile`). Here a connection reads one
//! flag per poll, and hands its waker to the registry only when the waker
//! changed, which on tokio it does not (a task keeps its waker for life).
//! The registry's lock is taken when a connection opens, when it closes,
//! and in that rare case.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Waker},
};

use hyper_util::server::graceful::GracefulConnection;
use pin_project_lite::pin_project;
use slab::Slab;
use tokio::sync::Notify;

/// The trigger side: hands out a [`Watcher`] per accepted connection, then
/// signals them all and waits for them.
pub struct Shutdown {
    shared: Arc<Shared>,
}

struct Shared {
    /// Set once, when the signal is given; read on every poll.
    draining: AtomicBool,
    /// One slot per open connection: the waker to call when the signal is
    /// given (none until the connection is first polled).
    open: Mutex<Slab<Option<Waker>>>,
    /// Notified when the last connection closes after the signal.
    all_closed: Notify,
}

impl Shared {
    fn open(&self) -> MutexGuard<'_, Slab<Option<Waker>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            shared: Arc::new(Shared {
                draining: AtomicBool::new(false),
                open: Mutex::new(Slab::new()),
                all_closed: Notify::new(),
            }),
        }
    }
}

impl Shutdown {
    /// A place for one more connection, taken when it is accepted: from now
    /// until the [`Watcher`] (or the [`Watched`] connection it becomes) is
    /// dropped, [`Shutdown::shutdown`] waits for it.
    pub fn watcher(&self) -> Watcher {
        let key = self.shared.open().insert(None);
        Watcher {
            slot: Slot {
                shared: Arc::clone(&self.shared),
                key,
                waker: None,
                told: false,
            },
        }
    }

    /// Tells every watched connection to close gracefully, and waits until
    /// all have closed.
    pub async fn shutdown(self) {
        let shared = &self.shared;
        shared.draining.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = shared
            .open()
            .iter_mut()
            .filter_map(|(_, waker)| waker.take())
            .collect();
        wakers.into_iter().for_each(Waker::wake);
        loop {
            let closed = shared.all_closed.notified();
            if shared.open().is_empty() {
                return;
            }
            closed.await;
        }
    }
}

/// An accepted connection's place, before it is served (a TLS handshake
/// may come first).
pub struct Watcher {
    slot: Slot,
}

impl Watcher {
    /// Serves `connection` under the shutdown.
    pub fn watch<C: GracefulConnection>(self, connection: C) -> Watched<C> {
        Watched {
            connection,
            slot: self.slot,
        }
    }
}

pin_project! {
    /// A connection under a [`Shutdown`]: polls the connection, and the
    /// first poll after the signal tells it to close gracefully.
    pub struct Watched<C> {
        #[pin]
        connection: C,
        slot: Slot,
    }
}

/// A connection's place in the registry; dropping it closes the slot.
struct Slot {
    shared: Arc<Shared>,
    key: usize,
    /// The waker last handed to the registry.
    waker: Option<Waker>,
    /// The connection has been told to close.
    told: bool,
}

impl Slot {
    /// Whether the connection must now be told to close: the signal has
    /// been given and it has not been told yet. Otherwise makes sure the
    /// registry holds `waker`, so the signal wakes this connection.
    fn must_close(&mut self, waker: &Waker) -> bool {
        if self.told {
            return false;
        }
        if !self.shared.draining.load(Ordering::Acquire) {
            if self
                .waker
                .as_ref()
                .is_some_and(|held| held.will_wake(waker))
            {
                return false;
            }
            self.shared.open()[self.key] = Some(waker.clone());
            self.waker = Some(waker.clone());
            // The signal may have been given while the waker was on its
            // way: the registry's lock orders this read after its flag.
            if !self.shared.draining.load(Ordering::Acquire) {
                return false;
            }
        }
        self.told = true;
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.shared.open();
        open.remove(self.key);
        let last = open.is_empty();
        drop(open);
        if last && self.shared.draining.load(Ordering::Acquire) {
            self.shared.all_closed.notify_waiters();
        }
    }
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let mut this = self.project();
        if this.slot.must_close(cx.waker()) {
            this.connection.as_mut().graceful_shutdown();
        }
        this.connection.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, time::Duration};

    use http::{Request, Response};
    use hyper::{body::Incoming, server::conn::http1, service::service_fn};
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
        Ok(Response::new("hello".to_owned()))
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_and_waited_for() {
        let shutdown = Shutdown::default();
        let (mut client, server) = tokio::io::duplex(4096);
        let connection =
            http1::Builder::new().serve_connection(TokioIo::new(server), service_fn(hello));
        let served = tokio::spawn(shutdown.watcher().watch(connection));

        // One request answered, the connection kept open.
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = vec![0; 1024];
        let n = client.read(&mut answer).await.unwrap();
        assert!(
            answer[..n].ends_with(b"hello"),
            "{:?}",
            String::from_utf8_lossy(&answer[..n])
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!served.is_finished());

        tokio::time::timeout(Duration::from_secs(5), shutdown.shutdown())
            .await
            .expect("the idle connection closes at once");
        served.await.unwrap().unwrap();
        assert_eq!(client.read(&mut answer).await.unwrap(), 0, "closed");
    }

    #[tokio::test]
    async fn a_connection_not_yet_served_is_waited_for_until_it_is_dropped() {
        let shutdown = Shutdown::default();
        let watcher = shutdown.watcher();
        let mut waiting = std::pin::pin!(shutdown.shutdown());
        assert!(futures_util::poll!(waiting.as_mut()).is_pending());
        drop(watcher);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the last connection gone, shutdown ends");
    }
}
