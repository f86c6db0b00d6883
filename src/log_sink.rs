//! Log lines reach stdout from a background thread, so no request waits on a
//! slow terminal or a full pipe.
//!
//! Lines are appended to one shared buffer under a mutex; the writer thread
//! swaps the whole buffer out and writes it at once. This replaces
//! tracing-appender's non-blocking writer, which copies every line into a
//! new `Vec` and sends it through a channel (two allocations and ~700
//! instructions a line, `bench/profile`).
//!
//! The writer is woken only from idle, and then waits `BATCH` before it
//! takes the buffer: woken for every line, it was scheduled once per request
//! on the gateway's core (90k context switches a second under load, a third
//! of native gRPC's throughput). A line reaches stdout within a few
//! milliseconds; an idle gateway's writer does not wake at all.
//!
//! When more than `LIMIT` bytes are waiting (stdout is not keeping up), new
//! lines are dropped rather than queued without bound, and the stream says
//! how many once the writer catches up.

use std::{
    io::{self, Write},
    sync::{Condvar, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

/// Bytes waiting to be written before new lines are dropped (~8k access
/// lines).
pub const LIMIT: usize = 1 << 20;

/// How long the writer lets lines gather once woken.
const BATCH: Duration = Duration::from_millis(5);

/// How long exit waits for the pending lines to be written: a stdout that
/// nobody reads must not keep the process from exiting.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// A batch buffer larger than this is given back after a burst, so a quiet
/// process does not keep a burst's memory.
const KEEP: usize = 64 << 10;

/// The shared buffer between the request path and the writer thread.
pub struct LogSink {
    state: Mutex<State>,
    wake: Condvar,
    /// Signalled when the writer thread has written everything and ended.
    done: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    dropped: u64,
    closed: bool,
    /// The writer is waiting for lines and must be woken.
    idle: bool,
    /// The writer thread has ended.
    finished: bool,
}

impl LogSink {
    /// Starts the writer thread on `out`. The sink lives for the rest of the
    /// process; dropping the guard writes what is pending and stops the
    /// thread.
    pub fn start(out: impl Write + Send + 'static) -> (&'static LogSink, FlushGuard) {
        let sink: &'static LogSink = Box::leak(Box::new(LogSink {
            state: Mutex::default(),
            wake: Condvar::new(),
            done: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                sink.drain(out);
                sink.lock().finished = true;
                sink.done.notify_all();
            })
            .expect("the log writer thread starts");
        (sink, FlushGuard { sink })
    }

    /// Appends one line (or several), built by `write` straight into the
    /// shared buffer: no allocation of its own, no copy. Dropped, and
    /// counted, when the buffer is full.
    pub fn append(&self, write: impl FnOnce(&mut Vec<u8>)) {
        let mut state = self.lock();
        if state.pending.len() >= LIMIT {
            state.dropped += 1;
            return;
        }
        let wake = std::mem::take(&mut state.idle);
        write(&mut state.pending);
        drop(state);
        if wake {
            self.wake.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer thread: wait for lines, let more gather, take them all,
    /// write them.
    fn drain(&self, mut out: impl Write) {
        let mut batch = Vec::new();
        loop {
            let mut state = self.lock();
            while state.pending.is_empty() && !state.closed {
                state.idle = true;
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.idle = false;
            if !state.closed {
                drop(state);
                std::thread::sleep(BATCH);
                state = self.lock();
            }
            std::mem::swap(&mut state.pending, &mut batch);
            let dropped = std::mem::take(&mut state.dropped);
            let closed = state.closed;
            drop(state);

            let _ = out.write_all(&batch);
            if dropped > 0 {
                let _ = writeln!(out, "{dropped} log lines dropped: stdout did not keep up");
            }
            let _ = out.flush();
            batch.clear();
            batch.shrink_to(KEEP);
            if closed && self.lock().pending.is_empty() {
                return;
            }
        }
    }
}

/// The subscriber's events go through the same buffer, in order with the
/// access lines.
impl Write for &LogSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.append(|pending| pending.extend_from_slice(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Keep until exit: dropping it writes the lines still pending, waiting at
/// most `FLUSH_WAIT` for a stdout that does not drain.
pub struct FlushGuard {
    sink: &'static LogSink,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let mut state = self.sink.lock();
        state.closed = true;
        self.sink.wake.notify_one();
        let _ = self
            .sink
            .done
            .wait_timeout_while(state, FLUSH_WAIT, |state| !state.finished);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_by_the_time_the_guard_drops() {
        let out = Shared::default();
        let (sink, guard) = LogSink::start(out.clone());
        for i in 0..10_000 {
            sink.append(|line| line.extend_from_slice(format!("line {i}\n").as_bytes()));
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert!(
            lines
                .iter()
                .enumerate()
                .all(|(i, l)| *l == format!("line {i}"))
        );
    }

    /// A writer that blocks until the test lets it go: stdout not draining.
    struct Stuck(Arc<(Mutex<bool>, Condvar)>, Shared);

    impl Write for Stuck {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let (open, turn) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = turn.wait(open).unwrap();
            }
            self.1.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stdout_does_not_keep_the_process_from_exiting() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (sink, guard) = LogSink::start(Stuck(gate.clone(), Shared::default()));
        sink.append(|line| line.extend_from_slice(b"never written\n"));
        let started = std::time::Instant::now();
        drop(guard);
        let waited = started.elapsed();
        assert!(
            waited >= FLUSH_WAIT / 2 && waited < FLUSH_WAIT * 3,
            "{waited:?}"
        );
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
    }

    #[test]
    fn a_stuck_stdout_drops_lines_instead_of_blocking_and_says_how_many() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let out = Shared::default();
        let (sink, guard) = LogSink::start(Stuck(gate.clone(), out.clone()));
        let line = [b'x'; 1023];
        // The first line may be taken by the writer (which then sticks);
        // the buffer then fills to LIMIT and the rest are dropped at once.
        let total = 2 * LIMIT / 1024 + 10;
        for _ in 0..total {
            sink.append(|buf| {
                buf.extend_from_slice(&line);
                buf.push(b'\n');
            });
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let written = text.lines().filter(|l| l.starts_with('x')).count();
        let note = text
            .lines()
            .find(|l| l.contains("log lines dropped"))
            .unwrap();
        let dropped: usize = note.split(' ').next().unwrap().parse().unwrap();
        assert!(written >= LIMIT / 1024, "{written} lines written");
        assert_eq!(written + dropped, total);
    }
}
