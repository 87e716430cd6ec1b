//! Group commit of effects that belong to no other change (a sign-in's audit event): each
//! caller still waits until its rows are committed, but the callers that arrive while one
//! transaction commits share the next one. An error fails every caller of that transaction,
//! so a request never succeeds without its audit row.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::store::{Effects, Store, StoreError, StoreResult};

/// Most callers' effects written in one transaction.
pub const MAX_BATCH: usize = 256;

/// Callers that may wait for a place in the queue beyond this are held back (backpressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// Batches committing at once: while one waits for its commit to reach the disk, the next can
/// start (PostgreSQL flushes concurrent commits together; SQLite's one writer queues them).
const IN_FLIGHT: usize = 4;

struct Job {
    fx: Effects,
    done: oneshot::Sender<StoreResult<()>>,
}

pub(crate) struct GroupCommit {
    store: Arc<dyn Store>,
    /// `None` outside a Tokio runtime: every caller then writes its own transaction.
    queue: Option<mpsc::Sender<Job>>,
    stop: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let stop = Arc::new(Notify::new());
        let (queue, task) = match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                let task = rt.spawn(run(store.clone(), rx, stop.clone()));
                (Some(tx), Some(task))
            }
            Err(_) => (None, None),
        };
        Self {
            store,
            queue,
            stop,
            task: Mutex::new(task),
        }
    }

    /// Writes `fx`, returning once it is committed (or failed, with the batch it was part of).
    pub(crate) async fn write(&self, fx: Effects) -> StoreResult<()> {
        let Some(queue) = &self.queue else {
            return self.store.write_effects(fx).await;
        };
        let (done, answer) = oneshot::channel();
        match queue.send(Job { fx, done }).await {
            Ok(()) => answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the audit writer stopped before answering".into(),
                ))
            }),
            // Shutting down: write it alone rather than lose it.
            Err(mpsc::error::SendError(job)) => self.store.write_effects(job.fx).await,
        }
    }

    /// Stops taking effects, commits those already queued, and waits for the writer to end.
    pub(crate) async fn close(&self) {
        self.stop.notify_one();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, stop: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut closing = false;
    loop {
        let first = if closing {
            rx.recv().await
        } else {
            tokio::select! {
                job = rx.recv() => job,
                _ = stop.notified() => {
                    // New callers now write on their own; what is queued is still committed.
                    rx.close();
                    closing = true;
                    continue;
                }
            }
        };
        let Some(first) = first else { break };
        // Wait for a free transaction before gathering: whoever queues meanwhile joins this
        // batch. No waiting for company otherwise, so a lone caller pays no delay.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            commit(store.as_ref(), batch).await;
            drop(slot);
        });
    }
    // Every batch taken is committed before the writer ends.
    let _ = slots.acquire_many(IN_FLIGHT as u32).await;
}

async fn commit(store: &dyn Store, batch: Vec<Job>) {
    let (effects, waiters): (Vec<Effects>, Vec<_>) =
        batch.into_iter().map(|j| (j.fx, j.done)).unzip();
    match store.write_effects_batch(&effects).await {
        Ok(()) => {
            for w in waiters {
                let _ = w.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, callers = waiters.len(), "audit batch not written");
            for w in waiters {
                let _ = w.send(Err(share(&e)));
            }
        }
    }
}

/// The same error for each caller of a failed batch.
fn share(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict { field } => StoreError::Conflict { field },
        StoreError::Refused(r) => StoreError::Refused(r.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Other(e) => StoreError::Other(anyhow::anyhow!("{e:#}")),
    }
}
