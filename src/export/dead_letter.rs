//! The dead-letter writer: one task that appends every failed message, with its original frames
//! and the reason, to a JSON Lines file, and then counts it as failed; if the file refuses it
//! after a few tries, also as lost.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::append::AppendFile;
use super::encode;
use crate::domain::ErrorType;
use crate::event::SourceNames;
use crate::monitor::{Monitor, OpHandle};
use crate::orchestrator::Failure;

/// How many times a batch of failures is offered to the file before it counts as lost.
const WRITE_ATTEMPTS: u32 = 3;

/// The pause before the second attempt; it doubles before each further one.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// The open dead-letter file, before its task runs.
#[derive(Debug)]
pub struct DeadLetter {
    file: AppendFile,
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
        let file = AppendFile::open(path).await?;
        Ok(Self {
            file,
            sources,
            monitor,
        })
    }

    /// The device and inode of the file, if it is a regular file.
    ///
    /// # Errors
    ///
    /// The I/O error of reading the file's metadata.
    pub async fn identity(&self) -> std::io::Result<Option<(u64, u64)>> {
        self.file.identity().await
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
            match self.append_with_retries(&buffer).await {
                Ok(()) => write.success(started.elapsed()),
                Err(e) => {
                    write.errors(ErrorType::WriteFailed, count);
                    self.monitor.completion().lost(count);
                    let why = "dead-letter write failed; failed messages lost";
                    tracing::error!(error = %e, lost = count, "{why}");
                }
            }
            self.monitor.completion().failed(count);
        }
        if let Err(e) = self.file.sync().await {
            tracing::error!(error = %e, "dead-letter sync failed");
        }
    }

    /// Appends `bytes`, trying again after a short pause when the file refuses them.
    async fn append_with_retries(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut pause = RETRY_PAUSE;
        for _ in 1..WRITE_ATTEMPTS {
            match self.file.append(bytes).await {
                Ok(()) => return Ok(()),
                Err(e) => tracing::warn!(error = %e, "dead-letter write failed; trying again"),
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        self.file.append(bytes).await
    }
}
