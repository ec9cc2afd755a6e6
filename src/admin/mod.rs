//! The admin HTTP server: liveness, readiness, the JSON snapshot and the Prometheus exposition.
//! It binds to loopback unless configured otherwise.

mod prometheus;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::collect::DerivedMetrics;
use crate::monitor::Monitor;

/// How long a stopping server waits for requests in progress.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Where the pipeline is in its lifecycle, as `/ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Sockets and sinks are being set up.
    Starting = 0,
    /// Every socket is bound or connecting and every sink is open.
    Ready = 1,
    /// Shutdown has begun: ingest has stopped and in-flight messages drain.
    Draining = 2,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Ready => "ready",
            Phase::Draining => "draining",
        }
    }
}

/// The lifecycle phase, shared between the orchestrator (writer) and the server (reader).
#[derive(Debug, Default)]
pub struct PhaseCell(AtomicU8);

impl PhaseCell {
    /// Moves to `phase`.
    pub fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Release);
    }

    /// The current phase.
    pub fn get(&self) -> Phase {
        match self.0.load(Ordering::Acquire) {
            1 => Phase::Ready,
            2 => Phase::Draining,
            _ => Phase::Starting,
        }
    }
}

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AdminState {
    monitor: Arc<Monitor>,
    metrics: Arc<DerivedMetrics>,
    phase: Arc<PhaseCell>,
    registry: Arc<::prometheus_client::registry::Registry>,
}

impl AdminState {
    /// State over the pipeline's monitor, derived metrics and phase.
    pub fn new(monitor: Arc<Monitor>, metrics: Arc<DerivedMetrics>, phase: Arc<PhaseCell>) -> Self {
        let registry = Arc::new(prometheus::registry(
            Arc::clone(&monitor),
            Arc::clone(&metrics),
        ));
        Self {
            monitor,
            metrics,
            phase,
            registry,
        }
    }
}

/// A running admin server.
#[derive(Debug)]
pub struct AdminServer {
    address: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl AdminServer {
    /// Binds `address` and starts serving.
    ///
    /// # Errors
    ///
    /// The I/O error of binding, such as the address being in use.
    pub async fn start(address: SocketAddr, state: AdminState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let stop = CancellationToken::new();
        let app = router(state);
        let shutdown = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        });
        tracing::info!(%address, "admin server listening");
        Ok(Self {
            address,
            stop,
            task,
        })
    }

    /// The address actually bound (a configured port 0 is resolved).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting requests and lets open requests finish for a moment; connections still
    /// open after [`STOP_GRACE`] (a client that never completes its request, say) are dropped.
    pub async fn stop(mut self) {
        self.stop.cancel();
        match tokio::time::timeout(STOP_GRACE, &mut self.task).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "admin server ended with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "admin server task failed"),
            Ok(Ok(Ok(()))) => {}
            Err(_) => {
                tracing::debug!("admin connections still open; closing them");
                self.task.abort();
            }
        }
    }
}

/// The routes, on `state`.
///
/// TODO(an admin address beyond loopback): idle and slow connections are never timed out, so
/// a client holding many open can exhaust the process's file descriptors.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/live", get(live))
        .route("/ready", get(ready))
        .route("/stats", get(stats))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn index() -> &'static str {
    concat!(
        "zeropipe admin\n\n",
        "/live     liveness\n",
        "/ready    readiness\n",
        "/stats    JSON snapshot\n",
        "/metrics  Prometheus exposition\n",
    )
}

async fn live() -> &'static str {
    "live\n"
}

// TODO(a health model for sinks): /ready stays 200 while a sink keeps failing; its failures
// show in /stats and /metrics as `export.flush` errors.
async fn ready(State(state): State<AdminState>) -> Response {
    let phase = state.phase.get();
    let status = if phase == Phase::Ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, format!("{}\n", phase.as_str())).into_response()
}

/// The monitor snapshot (seed keys first), the derived metrics and the phase, as one document.
pub fn stats_document(monitor: &Monitor, metrics: &DerivedMetrics, phase: Phase) -> Value {
    let mut doc = serde_json::to_value(monitor.snapshot()).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut doc {
        map.insert("phase".into(), json!(phase.as_str()));
        map.insert(
            "metrics".into(),
            serde_json::to_value(metrics.snapshot()).unwrap_or_default(),
        );
    }
    doc
}

async fn stats(State(state): State<AdminState>) -> Response {
    let doc = stats_document(&state.monitor, &state.metrics, state.phase.get());
    axum::Json(doc).into_response()
}

async fn metrics(State(state): State<AdminState>) -> Response {
    match prometheus::encode(&state.registry) {
        Ok(text) => {
            let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            ([(header::CONTENT_TYPE, kind)], text).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response(),
    }
}
