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

use futures_util::future::Either;
use tower::{Service, ServiceExt, util::Oneshot};

/// `service`'s answer to `request`: called now if it is ready now, else by
/// a `Oneshot` on a clone of it.
pub fn call_ready<S, R>(service: &mut S, request: R) -> Either<S::Future, Oneshot<S, R>>
where
    S: Service<R, Error = Infallible> + Clone,
{
    match service.poll_ready(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(())) => Either::Left(service.call(request)),
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => Either::Right(service.clone().oneshot(request)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::sync::Arc;

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

    #[tokio::test]
    async fn a_ready_service_is_called_in_place_and_a_waiting_one_is_waited_for() {
        let mut service = Hesitant::default();
        // The first ask is refused: the call waits for readiness.
        assert_eq!(call_ready(&mut service, 1).await, Ok(2));
        // The next ask is granted: called at once.
        service.asked.store(1, Ordering::SeqCst);
        assert_eq!(call_ready(&mut service, 2).await, Ok(4));
        assert_eq!(service.calls.load(Ordering::SeqCst), 2);
    }
}
