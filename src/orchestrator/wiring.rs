//! The steps of starting a pipeline: open the outputs, open the sockets, start the admin
//! server, connect the domains with bounded queues, start the ingest threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::StartError;
use super::stage::{Output, StageIo, StageSpec};
use crate::admin::{AdminServer, AdminState};
use crate::config::Config;
use crate::event::{Event, SourceId, SourceNames};
use crate::export::{DeadLetter, Sink};
use crate::ingest::IngestSocket;
use crate::monitor::{BatchRecorder, Monitor};

/// Opens every sink, then the dead-letter file.
pub(super) async fn open_outputs(
    config: &Config,
    sources: &SourceNames,
    monitor: &Arc<Monitor>,
) -> Result<(Vec<Sink>, DeadLetter), StartError> {
    let mut sinks = Vec::with_capacity(config.export.sinks.len());
    for sink in &config.export.sinks {
        sinks.push(Sink::open(sink).await?);
    }
    let path = &config.export.dead_letter;
    let dead_letter = DeadLetter::open(path, sources.clone(), Arc::clone(monitor))
        .await
        .map_err(|source| StartError::DeadLetter {
            path: path.clone(),
            source,
        })?;
    refuse_shared_files(&sinks, &dead_letter).await?;
    Ok((sinks, dead_letter))
}

/// Fails when two outputs turn out to be one file: names that differ only through links pass
/// the configuration check, which cannot look at files that may not exist yet.
async fn refuse_shared_files(sinks: &[Sink], dead_letter: &DeadLetter) -> Result<(), StartError> {
    let inspect = |output: String| move |source| StartError::Inspect { output, source };
    let mut seen: Vec<((u64, u64), String)> = Vec::new();
    for sink in sinks {
        let output = format!("sink {}", sink.name());
        let identity = sink.identity().await.map_err(inspect(output.clone()))?;
        remember(&mut seen, identity, output)?;
    }
    let output = "the dead-letter file".to_owned();
    let identity = dead_letter
        .identity()
        .await
        .map_err(inspect(output.clone()))?;
    remember(&mut seen, identity, output)
}

fn remember(
    seen: &mut Vec<((u64, u64), String)>,
    identity: Option<(u64, u64)>,
    output: String,
) -> Result<(), StartError> {
    let Some(identity) = identity else {
        return Ok(());
    };
    if let Some((_, first)) = seen.iter().find(|(id, _)| *id == identity) {
        return Err(StartError::SameFile {
            first: first.clone(),
            second: output,
        });
    }
    seen.push((identity, output));
    Ok(())
}

/// Creates every socket with its options, bound and connecting; nothing is received yet.
pub(super) fn open_sockets(
    config: &Config,
) -> Result<(zmq::Context, Vec<IngestSocket>), StartError> {
    let ctx = zmq::Context::new();
    let mut sockets = Vec::with_capacity(config.sockets.len());
    for (i, socket) in config.sockets.iter().enumerate() {
        let id = SourceId(u16::try_from(i).unwrap_or(u16::MAX));
        sockets.push(IngestSocket::open(&ctx, socket, id)?);
    }
    Ok((ctx, sockets))
}

/// Starts the admin server when it is enabled.
pub(super) async fn start_admin(
    config: &Config,
    state: AdminState,
) -> Result<Option<AdminServer>, StartError> {
    if !config.admin.enabled {
        return Ok(None);
    }
    let address = config.admin.address;
    let server = AdminServer::start(address, state).await;
    server
        .map(Some)
        .map_err(|source| StartError::Admin { address, source })
}

/// Registers every operation before anything runs, so that reports list them in data-flow
/// order and the per-message path never registers.
pub(super) fn register_operations(monitor: &Monitor, config: &Config, specs: &[StageSpec]) {
    for socket in &config.sockets {
        monitor.register("ingest", &socket.name);
    }
    for spec in specs {
        monitor.register(&spec.name, "handle");
    }
    monitor.register("dead_letter", "write");
    monitor.register("pipeline", "complete");
}

/// The running domains: the queue into the first one, and their tasks.
pub(super) struct Domains {
    pub input: mpsc::Sender<Vec<Event>>,
    pub stages: Vec<(String, JoinHandle<()>)>,
    pub dead_letter: JoinHandle<()>,
}

/// Starts the dead-letter writer and every domain, each reading the queue the previous one
/// writes; the last one completes what it forwards.
pub(super) fn spawn_domains(
    specs: Vec<StageSpec>,
    dead_letter: DeadLetter,
    monitor: &Arc<Monitor>,
    capacity: usize,
) -> Domains {
    let (dl_tx, dl_rx) = mpsc::channel(capacity);
    let dead_letter = tokio::spawn(dead_letter.run(dl_rx));
    let (input, mut queue) = mpsc::channel(capacity);
    let last = specs.len().saturating_sub(1);
    let mut stages = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let (output, next) = if i == last {
            let latency = BatchRecorder::new(monitor.register("pipeline", "complete"));
            (Output::Complete(latency), None)
        } else {
            let (tx, rx) = mpsc::channel(capacity);
            (Output::Next(tx), Some(rx))
        };
        let monitor = Arc::clone(monitor);
        let io = StageIo {
            input: queue,
            output,
            dead_letter: dl_tx.clone(),
            monitor,
        };
        stages.push((spec.name.clone(), spec.spawn(io)));
        match next {
            Some(rx) => queue = rx,
            None => break,
        }
    }
    Domains {
        input,
        stages,
        dead_letter,
    }
}

/// Starts one receiving thread per socket. If one cannot start, those already started are
/// told to stop.
pub(super) fn spawn_ingest(
    sockets: Vec<IngestSocket>,
    input: mpsc::Sender<Vec<Event>>,
    stop: &Arc<AtomicBool>,
    monitor: &Arc<Monitor>,
    batch_max: usize,
) -> Result<Vec<(String, std::thread::JoinHandle<()>)>, StartError> {
    let mut threads = Vec::with_capacity(sockets.len());
    for socket in sockets {
        let name = socket.name().to_owned();
        let spawned = socket.spawn(
            input.clone(),
            Arc::clone(stop),
            Arc::clone(monitor),
            batch_max,
        );
        match spawned {
            Ok(thread) => threads.push((name, thread)),
            Err(e) => {
                stop.store(true, Ordering::Release);
                return Err(StartError::Thread(e));
            }
        }
    }
    Ok(threads)
}
