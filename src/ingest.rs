//! The ingest domain: ZeroMQ SUB and PULL sockets, each read by its own OS thread that hands
//! whole multipart messages to the pipeline in batches through a bounded queue.
//!
//! When the pipeline is slow the thread blocks on the queue, libzmq's receive high-water mark
//! fills, and the backpressure reaches the peer (a PUSH waits; a PUB drops, as PUB/SUB does).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::config::{SocketConfig, SocketKind};
use crate::domain::ErrorType;
use crate::event::{Event, Frame, RawMessage, SourceId};
use crate::monitor::{Monitor, OpHandle};

/// How long a receive waits before the thread checks for shutdown.
const POLL_INTERVAL_MS: i64 = 100;

/// How long the thread keeps taking already-queued messages after shutdown starts.
const DRAIN_LIMIT: Duration = Duration::from_millis(500);

/// Setting up an ingest socket failed.
#[derive(Debug, thiserror::Error)]
#[error("socket {socket}: {action} {target}: {source}")]
pub struct IngestError {
    /// The socket's configured name.
    pub socket: String,
    /// What was being done: `create`, `set option`, `bind`, `connect` or `subscribe`.
    pub action: &'static str,
    /// The endpoint or option concerned.
    pub target: String,
    /// libzmq's error.
    pub source: zmq::Error,
}

/// A socket with its options set and its endpoints bound or connecting; nothing is received
/// until [`IngestSocket::spawn`].
pub struct IngestSocket {
    name: String,
    id: SourceId,
    socket: zmq::Socket,
    bound: Vec<String>,
}

impl std::fmt::Debug for IngestSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestSocket")
            .field("name", &self.name)
            .field("bound", &self.bound)
            .finish()
    }
}

impl IngestSocket {
    /// Creates the socket described by `config`, sets its options, binds and connects.
    ///
    /// # Errors
    ///
    /// [`IngestError`] naming the step and endpoint that libzmq refused.
    pub fn open(
        ctx: &zmq::Context,
        config: &SocketConfig,
        id: SourceId,
    ) -> Result<Self, IngestError> {
        let fail = |action, target: &str| {
            let (socket, target) = (config.name.clone(), target.to_owned());
            move |source| IngestError {
                socket,
                action,
                target,
                source,
            }
        };
        let kind = match config.kind {
            SocketKind::Sub => zmq::SUB,
            SocketKind::Pull => zmq::PULL,
        };
        let socket = ctx
            .socket(kind)
            .map_err(fail("create", config.kind.as_str()))?;
        set_options(&socket, config).map_err(fail("set option", "socket options"))?;

        let mut bound = Vec::with_capacity(config.bind.len());
        for endpoint in &config.bind {
            socket.bind(endpoint).map_err(fail("bind", endpoint))?;
            let last = socket.get_last_endpoint().ok().and_then(Result::ok);
            let actual = last.unwrap_or_else(|| endpoint.clone());
            tracing::info!(socket = %config.name, endpoint = %actual, "bound");
            bound.push(actual);
        }
        for endpoint in &config.connect {
            socket
                .connect(endpoint)
                .map_err(fail("connect", endpoint))?;
            tracing::info!(socket = %config.name, %endpoint, "connecting");
        }
        if config.kind == SocketKind::Sub {
            for prefix in &config.subscribe {
                socket
                    .set_subscribe(prefix.as_bytes())
                    .map_err(fail("subscribe", prefix))?;
            }
        }
        Ok(Self {
            name: config.name.clone(),
            id,
            socket,
            bound,
        })
    }

    /// The socket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoints actually bound, with wildcard ports resolved (`tcp://127.0.0.1:41235`).
    pub fn bound_endpoints(&self) -> &[String] {
        &self.bound
    }

    /// Starts the receiving thread. It stops when `stop` is set (after taking what libzmq has
    /// already queued) or when the pipeline's input queue is closed.
    ///
    /// # Errors
    ///
    /// The I/O error when the operating system cannot start a thread.
    pub fn spawn(
        self,
        output: mpsc::Sender<Vec<Event>>,
        stop: Arc<AtomicBool>,
        monitor: Arc<Monitor>,
        batch_max: usize,
    ) -> std::io::Result<JoinHandle<()>> {
        let receive = monitor.register("ingest", &self.name);
        let name = format!("zp-ingest-{}", self.name);
        std::thread::Builder::new().name(name).spawn(move || {
            let span = tracing::info_span!("ingest", socket = %self.name);
            let _entered = span.enter();
            let mut reader = Reader {
                socket: self,
                output,
                monitor,
                receive,
                batch_max,
            };
            reader.run(&stop);
        })
    }
}

fn set_options(socket: &zmq::Socket, config: &SocketConfig) -> zmq::Result<()> {
    // Linger 0: closing must never wait for an unreachable peer.
    socket.set_linger(0)?;
    socket.set_ipv6(config.ipv6)?;
    socket.set_rcvhwm(config.receive_hwm)?;
    socket.set_reconnect_ivl(config.reconnect_interval_ms)?;
    socket.set_reconnect_ivl_max(config.reconnect_interval_max_ms)?;
    // TODO(a user asking where oversized messages went): libzmq drops the peer without telling
    // us; its socket monitor events could count those disconnections.
    if let Some(max) = config.max_message_bytes {
        socket.set_maxmsgsize(max)?;
    }
    if config.heartbeat_interval_ms > 0 {
        socket.set_heartbeat_ivl(config.heartbeat_interval_ms)?;
        let timeout = config.heartbeat_timeout_ms;
        socket.set_heartbeat_timeout(if timeout > 0 {
            timeout
        } else {
            config.heartbeat_interval_ms
        })?;
    }
    if let Some(keepalive) = config.tcp_keepalive {
        socket.set_tcp_keepalive(i32::from(keepalive))?;
    }
    Ok(())
}

struct Reader {
    socket: IngestSocket,
    output: mpsc::Sender<Vec<Event>>,
    monitor: Arc<Monitor>,
    receive: OpHandle,
    batch_max: usize,
}

/// Whether the reader should keep going after a receive attempt.
enum Next {
    Continue,
    Stop,
}

impl Reader {
    fn run(&mut self, stop: &AtomicBool) {
        tracing::debug!("receiving");
        while !stop.load(Ordering::Acquire) {
            match self.socket.socket.poll(zmq::POLLIN, POLL_INTERVAL_MS) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(e) => {
                    if let Next::Stop = self.on_error(e) {
                        return;
                    }
                    continue;
                }
            }
            if let Next::Stop = self.receive_batch() {
                return;
            }
        }

        // Take what libzmq already holds: a PUSH peer counts it as delivered.
        let deadline = Instant::now() + DRAIN_LIMIT;
        while Instant::now() < deadline {
            match self.receive_batch() {
                Next::Continue if self.socket.socket.poll(zmq::POLLIN, 0).unwrap_or(0) > 0 => {}
                _ => break,
            }
        }
        tracing::debug!("stopped");
    }

    /// Receives every message available right now, up to one batch, and hands it on.
    fn receive_batch(&mut self) -> Next {
        let mut batch = Vec::with_capacity(self.batch_max);
        let mut next = Next::Continue;
        // NOTE: one receive time per batch: every message in it was already queued in libzmq
        // when the batch began, and the batch is taken in one tight loop.
        let received_at = SystemTime::now();
        while batch.len() < self.batch_max {
            match receive_message(&self.socket.socket) {
                Ok(frames) => batch.push(Event::new(RawMessage {
                    frames,
                    source: self.socket.id,
                    received_at,
                })),
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => {
                    next = self.on_error(e);
                    break;
                }
            }
        }
        if batch.is_empty() {
            return next;
        }
        let count = batch.len() as u64;
        self.monitor.completion().received(count);
        self.receive.successes_untimed(count);
        if self.output.blocking_send(batch).is_err() {
            // Only a forced stop closes the queue under a running reader; the batch stays
            // counted in flight, as the final report says.
            let why = "pipeline stopped taking messages; batch left in flight";
            tracing::error!(messages = count, "{why}");
            return Next::Stop;
        }
        next
    }

    fn on_error(&self, error: zmq::Error) -> Next {
        match error {
            zmq::Error::EINTR | zmq::Error::EAGAIN => Next::Continue,
            zmq::Error::ETERM => Next::Stop,
            other => {
                self.receive.errors(ErrorType::ReceiveFailed, 1);
                tracing::warn!(error = %other, "receive failed");
                std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS as u64));
                Next::Continue
            }
        }
    }
}

/// Takes one whole multipart message if one is waiting, keeping each frame in libzmq's buffer.
///
/// libzmq delivers the frames of a multipart message together, so only the first receive can
/// find nothing (`EAGAIN`).
fn receive_message(socket: &zmq::Socket) -> zmq::Result<Vec<Frame>> {
    let mut frames = Vec::with_capacity(2);
    let mut flags = zmq::DONTWAIT;
    loop {
        let mut message = zmq::Message::new();
        socket.recv(&mut message, flags)?;
        let more = message.get_more();
        frames.push(Frame::from(message));
        if !more {
            return Ok(frames);
        }
        flags = 0;
    }
}
