//! The export domain: encodes every event as a JSON line and writes each batch to every sink;
//! and the dead-letter writer, which keeps every failed message with its reason.

mod append;
mod dead_letter;
pub mod encode;
mod sink;

pub use append::AppendFile;
pub use dead_letter::DeadLetter;
pub use sink::{Sink, SinkOpenError};

use crate::domain::{Domain, DomainError, ErrorType, Flush, Verdict};
use crate::event::{Event, SourceNames};
use encode::EventEncoder;

/// Writes events to one or more sinks; a message completes once every sink has it.
#[derive(Debug)]
pub struct Export {
    sinks: Vec<Sink>,
    encoder: EventEncoder,
    buffer: Vec<u8>,
}

impl Export {
    /// An export domain writing to `sinks`; `sources` names the ingest sockets.
    pub fn new(sinks: Vec<Sink>, sources: SourceNames) -> Self {
        Self {
            sinks,
            encoder: EventEncoder::new(sources),
            buffer: Vec::with_capacity(64 * 1024),
        }
    }
}

impl Domain for Export {
    fn name(&self) -> &str {
        "export"
    }

    fn handle(&mut self, event: &mut Event) -> Result<Verdict, DomainError> {
        self.encoder.encode(&mut self.buffer, event);
        Ok(Verdict::Forward)
    }

    async fn flush(&mut self, _events: &[Event]) -> Result<Flush, DomainError> {
        // TODO(the network sinks, which fail transiently): retry with backoff before failing
        // the batch; a local file that refuses a write rarely accepts it a moment later.
        let mut result = Ok(Flush::Done);
        for sink in &mut self.sinks {
            if let Err(e) = sink.write(&self.buffer).await {
                let why = format!("sink {}: {e}", sink.name());
                let sink = sink.name();
                tracing::error!(sink, error = %e, "sink write failed; batch dead-lettered");
                result = Err(DomainError::new(ErrorType::WriteFailed, why));
            }
        }
        self.buffer.clear();
        result
    }

    async fn close(&mut self) -> Result<(), DomainError> {
        for sink in &mut self.sinks {
            sink.close().await.map_err(|e| {
                DomainError::new(
                    ErrorType::WriteFailed,
                    format!("close sink {}: {e}", sink.name()),
                )
            })?;
        }
        Ok(())
    }
}
