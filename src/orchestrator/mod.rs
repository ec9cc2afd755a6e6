//! The orchestrator: builds every domain from a validated config, wires them in order with
//! bounded queues, attaches the monitor, tracks completion, and runs the lifecycle
//! (build, start, graceful shutdown with a deadline, report).

mod report;
mod stage;
mod wiring;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

pub use report::Report;
pub use stage::Failure;
use stage::StageSpec;

use crate::admin::{AdminServer, AdminState, Phase, PhaseCell};
use crate::collect::{Collect, DerivedMetrics};
use crate::config::Config;
use crate::domain::Domain;
use crate::event::SourceNames;
use crate::export::{Export, SinkOpenError};
use crate::ingest::IngestError;
use crate::monitor::Monitor;
use crate::process::Process;

/// Starting the pipeline failed; nothing is left running.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A sink could not be opened.
    #[error(transparent)]
    Sink(#[from] SinkOpenError),
    /// The dead-letter file could not be opened.
    #[error("open dead-letter file {path}: {source}")]
    DeadLetter {
        /// The configured path.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An ingest socket could not be set up.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The admin server could not bind.
    #[error("admin server: bind {address}: {source}")]
    Admin {
        /// The configured address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Two outputs are one file under two names (a link).
    #[error("{first} and {second} are the same file; each output needs a file of its own")]
    SameFile {
        /// One output: `sink <name>` or `the dead-letter file`.
        first: String,
        /// The other.
        second: String,
    },
    /// Reading an output's metadata failed.
    #[error("inspect {output}: {source}")]
    Inspect {
        /// The output.
        output: String,
        /// Why.
        source: std::io::Error,
    },
    /// An ingest thread could not be started.
    #[error("start ingest thread: {0}")]
    Thread(std::io::Error),
}

/// A pipeline built from its config: nothing runs until [`Pipeline::start`].
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use zeropipe::config::Config;
/// use zeropipe::orchestrator::Pipeline;
///
/// let config = Config::load("pipeline.toml".as_ref())?;
/// let running = Pipeline::new(config).start().await?;
/// tokio::signal::ctrl_c().await?;
/// let report = running.shutdown().await;
/// println!("{}", report.summary());
/// # Ok(())
/// # }
/// ```
pub struct Pipeline {
    config: Config,
    monitor: Arc<Monitor>,
    metrics: Arc<DerivedMetrics>,
    extra: Vec<StageSpec>,
}

impl Pipeline {
    /// Builds the pipeline described by `config`.
    pub fn new(config: Config) -> Self {
        let monitor = Arc::new(Monitor::new(config.monitor.window));
        let metrics = Arc::new(DerivedMetrics::new(config.metrics.clone()));
        Self {
            config,
            monitor,
            metrics,
            extra: Vec::new(),
        }
    }

    /// Adds a domain after collect and before export; domains added later run later. The
    /// monitor and completion tracking cover it like the built-in ones.
    pub fn with_domain<D: Domain>(mut self, domain: D) -> Self {
        self.extra.push(StageSpec::new(domain));
        self
    }

    /// The monitor every domain reports to.
    pub fn monitor(&self) -> &Arc<Monitor> {
        &self.monitor
    }

    /// Opens sinks and the dead-letter file, binds and connects the sockets, starts the admin
    /// server, then starts every domain and ingest thread.
    ///
    /// # Errors
    ///
    /// [`StartError`] for the first step that failed; what was started is stopped again.
    pub async fn start(self) -> Result<Running, StartError> {
        let Pipeline {
            config,
            monitor,
            metrics,
            extra,
        } = self;
        let names = config.sockets.iter().map(|s| s.name.clone()).collect();
        let sources = SourceNames::new(names);
        let phase = Arc::new(PhaseCell::default());

        // Sinks start first, so nothing is received that could not be written; then sockets
        // are bound and connecting before anything runs, so a failure leaves nothing running.
        let (sinks, dead_letter) = wiring::open_outputs(&config, &sources, &monitor).await?;
        let (ctx, sockets) = wiring::open_sockets(&config)?;
        let bound = sockets
            .iter()
            .flat_map(|s| s.bound_endpoints().iter().cloned())
            .collect();
        let state = AdminState::new(
            Arc::clone(&monitor),
            Arc::clone(&metrics),
            Arc::clone(&phase),
        );
        let admin = wiring::start_admin(&config, state).await?;

        // Domains in data-flow order, each fed by a bounded queue; ingest starts last.
        let mut specs = vec![StageSpec::new(Process::new(config.process.clone()))];
        specs.push(StageSpec::new(Collect::new(Arc::clone(&metrics))));
        specs.extend(extra);
        specs.push(StageSpec::new(Export::new(sinks, sources)));
        wiring::register_operations(&monitor, &config, &specs);
        let capacity = config.pipeline.queue_batches;
        let domains = wiring::spawn_domains(specs, dead_letter, &monitor, capacity);
        let stop = Arc::new(AtomicBool::new(false));
        let batch_max = config.pipeline.batch_max;
        let threads = wiring::spawn_ingest(sockets, domains.input, &stop, &monitor, batch_max)?;

        let background = CancellationToken::new();
        spawn_summary(&config, &monitor, &background);
        phase.set(Phase::Ready);
        let (sockets, stages) = (threads.len(), domains.stages.len());
        tracing::info!(sockets, domains = stages, "pipeline running");

        Ok(Running {
            config,
            monitor,
            metrics,
            phase,
            stop,
            threads,
            stages: domains.stages,
            dead_letter: domains.dead_letter,
            admin,
            background,
            bound,
            _ctx: ctx,
        })
    }
}

/// A running pipeline. Dropping it without [`Running::shutdown`] leaves the tasks running
/// until the runtime ends.
pub struct Running {
    config: Config,
    monitor: Arc<Monitor>,
    metrics: Arc<DerivedMetrics>,
    phase: Arc<PhaseCell>,
    stop: Arc<AtomicBool>,
    threads: Vec<(String, std::thread::JoinHandle<()>)>,
    stages: Vec<(String, JoinHandle<()>)>,
    dead_letter: JoinHandle<()>,
    admin: Option<AdminServer>,
    background: CancellationToken,
    bound: Vec<String>,
    _ctx: zmq::Context,
}

impl Running {
    /// The monitor every domain reports to.
    pub fn monitor(&self) -> &Arc<Monitor> {
        &self.monitor
    }

    /// The derived metrics.
    pub fn metrics(&self) -> &Arc<DerivedMetrics> {
        &self.metrics
    }

    /// The admin server's bound address, when it runs.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminServer::address)
    }

    /// Every endpoint the ingest sockets bound, with wildcard ports resolved.
    pub fn bound_endpoints(&self) -> &[String] {
        &self.bound
    }

    /// Graceful shutdown within the configured deadline.
    pub async fn shutdown(self) -> Report {
        self.shutdown_or(std::future::pending()).await
    }

    /// Graceful shutdown: ingest stops first, every message in flight drains through the
    /// domains, sinks flush, the dead-letter file syncs. It is forced when the configured
    /// deadline passes or when `force` completes (a second signal, say); the report then
    /// names what did not finish.
    pub async fn shutdown_or(self, force: impl Future<Output = ()>) -> Report {
        let started = Instant::now();
        let deadline = Duration::from_millis(self.config.pipeline.shutdown_deadline_ms);
        tracing::info!(deadline_ms = deadline.as_millis() as u64, "draining");
        self.phase.set(Phase::Draining);
        self.stop.store(true, Ordering::Release);

        // Ingest threads end first; their queue closes and each domain ends after the one
        // before it, then the dead-letter writer after every domain.
        let mut waiting = JoinSet::new();
        let mut names = Vec::new();
        let mut aborts: Vec<(String, AbortHandle)> = Vec::new();
        for (name, thread) in self.threads {
            let name = format!("ingest.{name}");
            names.push(name.clone());
            waiting.spawn_blocking(move || {
                let _ = thread.join();
                name
            });
        }
        for (name, task) in self
            .stages
            .into_iter()
            .chain([("dead_letter".into(), self.dead_letter)])
        {
            names.push(name.clone());
            aborts.push((name.clone(), task.abort_handle()));
            waiting.spawn(async move {
                let _ = task.await;
                name
            });
        }
        let unfinished = wait_all(waiting, names, deadline, force).await;
        let aborted: Vec<AbortHandle> = aborts
            .into_iter()
            .filter(|(name, _)| unfinished.contains(name))
            .map(|(_, abort)| abort)
            .collect();
        stop_aborted(&aborted).await;

        self.background.cancel();
        if let Some(admin) = self.admin {
            admin.stop().await;
        }
        let report = Report::new(&self.monitor, &self.metrics, unfinished, started.elapsed());
        tracing::info!(summary = %report.summary(), "stopped");
        report
    }
}

/// Waits for every named task; returns the names of those still running when the deadline
/// passed or `force` completed, or that failed.
async fn wait_all(
    mut waiting: JoinSet<String>,
    mut names: Vec<String>,
    deadline: Duration,
    force: impl Future<Output = ()>,
) -> Vec<String> {
    let timer = tokio::time::sleep(deadline);
    tokio::pin!(timer, force);
    loop {
        tokio::select! {
            biased;
            // A second signal: stop waiting now.
            () = &mut force => break,
            // The deadline passed.
            () = &mut timer => break,
            // One more part finished.
            joined = waiting.join_next() => match joined {
                Some(Ok(name)) => names.retain(|n| *n != name),
                Some(Err(e)) => tracing::error!(error = %e, "a pipeline task failed"),
                None => break,
            },
        }
    }
    if !names.is_empty() {
        tracing::warn!(unfinished = ?names, "shutdown forced before every part finished");
    }
    waiting.abort_all();
    names
}

/// Aborts `tasks` and waits (briefly) until they have stopped, so that the report taken next
/// counts every write they made.
async fn stop_aborted(tasks: &[AbortHandle]) {
    tasks.iter().for_each(AbortHandle::abort);
    for _ in 0..ABORT_WAIT_STEPS {
        if tasks.iter().all(AbortHandle::is_finished) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::warn!("aborted parts did not stop within a second");
}

/// How many 10 ms steps [`stop_aborted`] waits at most.
const ABORT_WAIT_STEPS: u32 = 100;

/// Logs a one-line summary every `summary_interval_s` until `stop` is cancelled.
fn spawn_summary(config: &Config, monitor: &Arc<Monitor>, stop: &CancellationToken) {
    let seconds = config.monitor.summary_interval_s;
    if seconds == 0 {
        return;
    }
    let monitor = Arc::clone(monitor);
    let stop = stop.clone();
    tokio::spawn(async move {
        let period = Duration::from_secs(seconds);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut last = 0;
        loop {
            tokio::select! {
                biased;
                // Shutdown: the final report takes over.
                () = stop.cancelled() => return,
                // Time for the next line.
                _ = ticker.tick() => {}
            }
            let p = monitor.completion().snapshot();
            let rate = (p.received - last) as f64 / period.as_secs_f64();
            last = p.received;
            tracing::info!(
                received = p.received,
                completed = p.completed,
                failed = p.failed,
                filtered = p.filtered,
                in_flight = p.in_flight,
                lost = p.lost,
                rate_per_s = rate.round(),
                "summary"
            );
        }
    });
}
