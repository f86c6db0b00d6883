//! hyper's HTTP/1.1 header-read deadline (the slow-loris guard,
//! `--header-read-timeout`) on one reusable timer per connection.
//!
//! hyper arms the deadline each time it waits for a request head, which on
//! a keep-alive connection is once per request, and drops it when the head
//! is in. With hyper-util's `TokioTimer` each arming is a new tokio `Sleep`:
//! the runtime's handle fetched, an entry put into the timer wheel on the
//! first poll and taken out again on drop, ~850 instructions a request
//! (`bench/profile`). [`ConnectionTimer`] keeps the connection's one `Sleep`
//! between armings and moves its deadline forward, which tokio does without
//! touching the wheel: the later deadline is noted in the entry, and the
//! wheel files it anew only when the old one comes due.
//!
//! The deadline itself is unchanged: the whole head within the timeout, an
//! idle keep-alive connection closed after it.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::time::Sleep;

/// A connection's spare `Sleep`, between one armed deadline and the next.
type Spare = Arc<Mutex<Option<Pin<Box<Sleep>>>>>;

/// hyper's timer for one connection (a fresh one per connection, never
/// shared: its spare `Sleep` belongs to that connection's runtime and task).
#[derive(Default)]
pub struct ConnectionTimer {
    spare: Spare,
}

impl hyper::rt::Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let sleep = match spare {
            Some(mut sleep) => {
                sleep.as_mut().reset(deadline.into());
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(deadline.into())),
        };
        Box::pin(Lent {
            sleep: Some(sleep),
            home: Arc::clone(&self.spare),
        })
    }
}

/// An armed deadline; dropped, its `Sleep` goes back to the connection.
struct Lent {
    /// Always `Some` until `drop` hands it back.
    sleep: Option<Pin<Box<Sleep>>>,
    home: Spare,
}

impl Future for Lent {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.sleep
            .as_mut()
            .expect("a lent Sleep is only taken back on drop")
            .as_mut()
            .poll(cx)
    }
}

impl hyper::rt::Sleep for Lent {}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(sleep) = self.sleep.take() {
            *self.home.lock().unwrap_or_else(PoisonError::into_inner) = Some(sleep);
        }
    }
}

#[cfg(test)]
mod tests {
    use hyper::rt::Timer as _;
    use tokio::time::Instant as Clock;

    use super::*;

    /// A deadline `secs` from now on tokio's clock, which the tests pause.
    fn after(secs: u64) -> Instant {
        Clock::now().into_std() + Duration::from_secs(secs)
    }

    #[tokio::test(start_paused = true)]
    async fn a_rearmed_deadline_fires_at_its_new_time_not_the_old_one() {
        let timer = ConnectionTimer::default();
        let start = Clock::now();
        // Registered in the wheel for +30 s, handed back 10 s later...
        let mut first = timer.sleep_until(after(30));
        assert!(futures_util::poll!(first.as_mut()).is_pending());
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(first);
        // ... and re-armed for +30 s from then, on the same Sleep.
        let second = timer.sleep_until(after(30));
        assert!(timer.spare.lock().unwrap().is_none(), "the spare is lent");
        second.await;
        assert_eq!(start.elapsed(), Duration::from_secs(40));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_deadline_fires_the_next_one_still_does() {
        let timer = ConnectionTimer::default();
        timer.sleep_until(after(1)).await;
        let start = Clock::now();
        timer.sleep_until(after(2)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }
}
