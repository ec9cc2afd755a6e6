//! The dead-letter writer: one task that appends every failed message, with its original frames
//! and the reason, to a JSON Lines file, and then counts it as failed.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::fs::File;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::encode;
use super::sink::open_append;
use crate::domain::ErrorType;
use crate::event::SourceNames;
use crate::monitor::{Monitor, OpHandle};
use crate::orchestrator::Failure;

/// The open dead-letter file, before its task runs.
#[derive(Debug)]
pub struct DeadLetter {
    file: File,
    sources: SourceNames,
    monitor: Arc<Monitor>,
}

impl DeadLetter {
    /// Opens (creating if needed) the dead-letter file at `path` for appending.
    ///
    /// # Errors
    ///
    /// The I/O error of creating or opening it.
    pub async fn open(
        path: &Path,
        sources: SourceNames,
        monitor: Arc<Monitor>,
    ) -> std::io::Result<Self> {
        let file = open_append(path).await?;
        Ok(Self {
            file,
            sources,
            monitor,
        })
    }

    /// Writes failures until every sender is gone, then syncs the file.
    pub async fn run(mut self, mut input: mpsc::Receiver<Vec<Failure>>) {
        let write: OpHandle = self.monitor.register("dead_letter", "write");
        let mut buffer = Vec::with_capacity(16 * 1024);
        while let Some(failures) = input.recv().await {
            let started = Instant::now();
            buffer.clear();
            for failure in &failures {
                encode::dead_letter_line(&mut buffer, failure, &self.sources);
            }
            let count = failures.len() as u64;
            match write_flush(&mut self.file, &buffer).await {
                Ok(()) => write.success(started.elapsed()),
                Err(e) => {
                    write.errors(ErrorType::WriteFailed, 1);
                    let why = "dead-letter write failed; failed messages lost";
                    tracing::error!(error = %e, lost = count, "{why}");
                }
            }
            self.monitor.completion().failed(count);
        }
        if let Err(e) = self.file.sync_data().await {
            tracing::error!(error = %e, "dead-letter sync failed");
        }
    }
}

async fn write_flush(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes).await?;
    file.flush().await
}
