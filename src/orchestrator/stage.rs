//! Runs one domain as a task: batches in, timed `handle` calls, typed failures to the
//! dead-letter output, forwarded events to the next domain or to completion.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::domain::{Domain, DomainError, ErrorType, Flush, Verdict};
use crate::event::Event;
use crate::monitor::{BatchRecorder, Monitor, OpHandle};

/// A message that failed, on its way to the dead-letter output.
#[derive(Debug)]
pub struct Failure {
    /// The event, with its original frames.
    pub event: Event,
    /// The domain it failed in.
    pub domain: Arc<str>,
    /// The operation that failed: `handle` or `flush`.
    pub operation: &'static str,
    /// Why.
    pub error: DomainError,
    /// When.
    pub failed_at: SystemTime,
}

/// Where a stage sends what it forwards.
pub(crate) enum Output {
    /// To the next domain's queue.
    Next(mpsc::Sender<Vec<Event>>),
    /// Nowhere: this is the last domain, so forwarding completes the message. The recorder
    /// takes each message's end-to-end latency.
    Complete(BatchRecorder),
}

/// Everything a stage task is connected to.
pub(crate) struct StageIo {
    pub input: mpsc::Receiver<Vec<Event>>,
    pub output: Output,
    pub dead_letter: mpsc::Sender<Vec<Failure>>,
    pub monitor: Arc<Monitor>,
}

/// A domain waiting to be started, type-erased so that any [`Domain`] fits in one list.
pub(crate) struct StageSpec {
    pub name: String,
    spawn: Box<dyn FnOnce(StageIo) -> JoinHandle<()> + Send>,
}

impl StageSpec {
    pub fn new<D: Domain>(domain: D) -> Self {
        let name = domain.name().to_owned();
        let spawn = Box::new(move |io: StageIo| {
            let span = tracing::info_span!("domain", name = %domain.name());
            tokio::spawn(run(domain, io).instrument(span))
        });
        Self { name, spawn }
    }

    pub fn spawn(self, io: StageIo) -> JoinHandle<()> {
        (self.spawn)(io)
    }
}

async fn run<D: Domain>(mut domain: D, mut io: StageIo) {
    let name: Arc<str> = Arc::from(domain.name());
    let mut handle = BatchRecorder::new(io.monitor.register(&name, "handle"));
    let mut flush_op: Option<OpHandle> = None;
    tracing::debug!("started");

    while let Some(batch) = io.input.recv().await {
        let mut forward = Vec::with_capacity(batch.len());
        let mut failures = Vec::new();
        let mut filtered = 0;

        // Per message: decide, time, and note locally; published once per batch. One clock
        // read per message: each one ends this message's time and starts the next one's.
        let mut started = Instant::now();
        for mut event in batch {
            let verdict = domain.handle(&mut event);
            let ended = Instant::now();
            let took = ended - started;
            started = ended;
            match verdict {
                Ok(Verdict::Forward) => {
                    handle.success(took);
                    forward.push(event);
                }
                Ok(Verdict::Filter) => {
                    handle.success(took);
                    filtered += 1;
                }
                Err(error) => {
                    handle.error(error.error_type);
                    failures.push(failure(event, &name, "handle", error));
                }
            }
        }
        handle.publish();
        if filtered > 0 {
            io.monitor.completion().filtered(filtered);
        }

        // Per batch: let the domain write out what it forwarded.
        if !forward.is_empty() {
            let started = Instant::now();
            let result = domain.flush(&forward).await;
            let mut op = || {
                flush_op
                    .get_or_insert_with(|| io.monitor.register(&name, "flush"))
                    .clone()
            };
            match result {
                Ok(Flush::Skipped) => {}
                Ok(Flush::Done) => op().success(started.elapsed()),
                Err(error) => {
                    op().errors(error.error_type, 1);
                    let failed = forward
                        .drain(..)
                        .map(|e| failure(e, &name, "flush", error.clone()));
                    failures.extend(failed);
                }
            }
        }

        if !failures.is_empty() {
            send_failures(&io.dead_letter, failures).await;
        }
        pass_on(&mut io, &name, forward).await;
    }

    if let Err(e) = domain.close().await {
        tracing::error!(error = %e, "close failed");
    }
    tracing::debug!("finished");
}

fn failure(
    event: Event,
    domain: &Arc<str>,
    operation: &'static str,
    error: DomainError,
) -> Failure {
    tracing::trace!(error_type = %error.error_type, error = %error.message, "message failed");
    Failure {
        event,
        domain: Arc::clone(domain),
        operation,
        error,
        failed_at: SystemTime::now(),
    }
}

async fn send_failures(dead_letter: &mpsc::Sender<Vec<Failure>>, failures: Vec<Failure>) {
    if let Err(lost) = dead_letter.send(failures).await {
        let count = lost.0.len();
        tracing::error!(
            lost = count,
            "dead-letter writer gone; failed messages lost"
        );
    }
}

async fn pass_on(io: &mut StageIo, name: &Arc<str>, forward: Vec<Event>) {
    if forward.is_empty() {
        return;
    }
    match &mut io.output {
        Output::Complete(latency) => {
            let now = SystemTime::now();
            for event in &forward {
                latency.success(
                    now.duration_since(event.raw().received_at)
                        .unwrap_or_default(),
                );
            }
            latency.publish();
            io.monitor.completion().completed(forward.len() as u64);
        }
        Output::Next(next) => {
            if let Err(unsent) = next.send(forward).await {
                // The next domain stopped early; keep the messages in the dead-letter output.
                let error = DomainError::new(ErrorType::TransformFailed, "next domain stopped");
                let failures = unsent
                    .0
                    .into_iter()
                    .map(|e| failure(e, name, "forward", error.clone()));
                send_failures(&io.dead_letter, failures.collect()).await;
            }
        }
    }
}
