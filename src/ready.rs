//! Calling a tower service without a `Oneshot` when it is ready now.
//!
//! tower's contract is "ready, then call"; `ServiceExt::oneshot` keeps it by
//! holding the request and the service in a state machine until the
//! service says it is ready, then moving the call's future into it. For a
//! service that is always ready (the API's stack, tonic's servers) that
//! costs a move of the request and of the future on every call, a few
//! hundred instructions (`bench/profile`). [`call_ready`] asks once, with a
//! waker that does nothing, and calls in place when the answer is yes; a
//! service that is not ready is cloned and driven by a `Oneshot`, which
//! asks again with the caller's own waker. Used by the listener (one call
//! per request, [`crate::listener::HyperService`]) and the gRPC service
//! table ([`crate::grpc`]).

use std::{
    convert::Infallible,
    task::{Context, Poll, Waker},
};

use tower::{Service, ServiceExt, util::Oneshot};

/// `service`'s answer to `request`: called now if it is ready now, else by
/// a `Oneshot` on a clone of it; each kind of future handed to its own
/// function, so a caller that boxes them boxes each at its own size (an
/// `Either` of the two would carry the `Oneshot`'s request and service
/// into every call: ~0.2k instructions a gRPC call, `bench/profile`).
#[inline]
pub fn call_ready<S, R, T>(
    service: &mut S,
    request: R,
    called: impl FnOnce(S::Future) -> T,
    waiting: impl FnOnce(Oneshot<S, R>) -> T,
) -> T
where
    S: Service<R, Error = Infallible> + Clone,
{
    match service.poll_ready(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(())) => called(service.call(request)),
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => waiting(service.clone().oneshot(request)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::sync::Arc;

    use futures_util::future::Either;

    use super::*;

    /// Ready only on every other ask, counting its calls.
    #[derive(Clone, Default)]
    struct Hesitant {
        asked: Arc<AtomicUsize>,
        calls: Arc<AtomicUsize>,
    }

    impl Service<u32> for Hesitant {
        type Response = u32;
        type Error = Infallible;
        type Future = std::future::Ready<Result<u32, Infallible>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            if self.asked.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: u32) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(request * 2))
        }
    }

    async fn call(service: &mut Hesitant, request: u32) -> Result<u32, Infallible> {
        call_ready(service, request, Either::Left, Either::Right).await
    }

    #[tokio::test]
    async fn a_ready_service_is_called_in_place_and_a_waiting_one_is_waited_for() {
        let mut service = Hesitant::default();
        // The first ask is refused: the call waits for readiness.
        assert_eq!(call(&mut service, 1).await, Ok(2));
        // The next ask is granted: called at once.
        service.asked.store(1, Ordering::SeqCst);
        assert_eq!(call(&mut service, 2).await, Ok(4));
        assert_eq!(service.calls.load(Ordering::SeqCst), 2);
    }
}
