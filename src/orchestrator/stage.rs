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

async fn run<D: Domain>(domain: D, mut io: StageIo) {
    let mut stage = Stage::new(domain, &io.monitor);
    tracing::debug!("started");
    while let Some(batch) = io.input.recv().await {
        let mut sorted = stage.handle(batch, &io.monitor);
        stage.flush(&mut sorted, &io.monitor).await;
        if !sorted.failures.is_empty() {
            send_failures(&io.dead_letter, sorted.failures).await;
        }
        pass_on(&mut io, &stage.name, sorted.forward).await;
    }
    if let Err(e) = stage.domain.close().await {
        tracing::error!(error = %e, "close failed");
    }
    tracing::debug!("finished");
}

/// A domain with its monitor handles.
struct Stage<D> {
    domain: D,
    name: Arc<str>,
    handle: BatchRecorder,
    /// `<name>.flush`, registered when the domain first flushes for real.
    flush: Option<OpHandle>,
}

/// One batch after `handle`: what goes on, and what failed.
struct Sorted {
    forward: Vec<Event>,
    failures: Vec<Failure>,
}

impl<D: Domain> Stage<D> {
    fn new(domain: D, monitor: &Monitor) -> Self {
        let name: Arc<str> = Arc::from(domain.name());
        let handle = BatchRecorder::new(monitor.register(&name, "handle"));
        Self {
            domain,
            name,
            handle,
            flush: None,
        }
    }

    /// Runs `handle` on every event, timing each with one clock read (each read ends one
    /// message's time and starts the next one's), and publishes the counts once.
    fn handle(&mut self, batch: Vec<Event>, monitor: &Monitor) -> Sorted {
        let mut sorted = Sorted {
            forward: Vec::with_capacity(batch.len()),
            failures: Vec::new(),
        };
        let mut filtered = 0;
        let mut started = Instant::now();
        for mut event in batch {
            let verdict = self.domain.handle(&mut event);
            let ended = Instant::now();
            let took = ended - started;
            started = ended;
            match verdict {
                Ok(Verdict::Forward) => {
                    self.handle.success(took);
                    sorted.forward.push(event);
                }
                Ok(Verdict::Filter) => {
                    self.handle.success(took);
                    filtered += 1;
                }
                Err(error) => {
                    self.handle.error(error.error_type);
                    sorted
                        .failures
                        .push(failure(event, &self.name, "handle", error));
                }
            }
        }
        self.handle.publish();
        if filtered > 0 {
            monitor.completion().filtered(filtered);
        }
        sorted
    }

    /// Lets the domain write out what it forwarded; if that fails, the whole batch fails.
    async fn flush(&mut self, sorted: &mut Sorted, monitor: &Monitor) {
        if sorted.forward.is_empty() {
            return;
        }
        let started = Instant::now();
        let result = self.domain.flush(&sorted.forward).await;
        let name = &self.name;
        let mut op = || {
            self.flush
                .get_or_insert_with(|| monitor.register(name, "flush"))
                .clone()
        };
        match result {
            Ok(Flush::Skipped) => {}
            Ok(Flush::Done) => op().success(started.elapsed()),
            Err(error) => {
                op().errors(error.error_type, 1);
                let failed = sorted.forward.drain(..);
                let failed = failed.map(|e| failure(e, name, "flush", error.clone()));
                sorted.failures.extend(failed);
            }
        }
    }
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
