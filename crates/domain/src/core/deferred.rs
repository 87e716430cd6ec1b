//! Work done after the answer: the lookups and emails of requests whose answer must not depend
//! on what they find ("email me a sign-in link", "forgot password"), so that known and unknown
//! addresses take the same time to answer. Shutdown waits for what is in flight.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// How long deferred work waits for its request's answer to be on its way.
const AFTER_THE_ANSWER: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Default)]
pub struct Deferred {
    running: AtomicUsize,
    idle: Notify,
}

struct Running(Arc<Deferred>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Deferred {
    /// Runs `work` on its own task; a failure is logged, as nobody waits for its answer.
    pub fn spawn<F>(self: &Arc<Self>, what: &'static str, work: F)
    where
        F: Future<Output = crate::Result<()>> + Send + 'static,
    {
        self.running.fetch_add(1, Ordering::AcqRel);
        let guard = Running(self.clone());
        tokio::spawn(async move {
            let _guard = guard;
            // After the answer has left: otherwise the work competes with the answer for the
            // CPU, and an answer that leaves more work behind is measurably slower.
            tokio::time::sleep(AFTER_THE_ANSWER).await;
            if let Err(e) = work.await {
                tracing::warn!(error = %e, "{what} failed after its answer");
            }
        });
    }

    /// Waits until no deferred work is running.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_every_task() {
        let d = Arc::new(Deferred::default());
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let done = done.clone();
            d.spawn("test", async move {
                tokio::task::yield_now().await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        d.idle().await;
        assert_eq!(done.load(Ordering::SeqCst), 10);
    }
}
