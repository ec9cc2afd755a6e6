//! Where exported lines go: a JSON Lines file or standard output.

use std::io;
use std::path::PathBuf;

use tokio::io::{AsyncWriteExt, Stdout};

use super::append::AppendFile;
use crate::config::SinkConfig;

/// Opening a sink failed.
#[derive(Debug, thiserror::Error)]
#[error("open sink {name} at {path}: {source}")]
pub struct SinkOpenError {
    /// The sink's name.
    pub name: String,
    /// The file it tried to open.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

/// An open sink.
#[derive(Debug)]
pub struct Sink {
    name: String,
    target: Target,
}

#[derive(Debug)]
enum Target {
    File(AppendFile),
    Stdout(Stdout),
}

impl Sink {
    /// Opens the sink described by `config`, creating a file's parent directories.
    ///
    /// # Errors
    ///
    /// [`SinkOpenError`] when the file cannot be created or opened for appending.
    pub async fn open(config: &SinkConfig) -> Result<Self, SinkOpenError> {
        let target = match config {
            SinkConfig::File { name, path } => {
                let file = AppendFile::open(path)
                    .await
                    .map_err(|source| SinkOpenError {
                        name: name.clone(),
                        path: path.clone(),
                        source,
                    })?;
                Target::File(file)
            }
            SinkConfig::Stdout { .. } => Target::Stdout(tokio::io::stdout()),
        };
        Ok(Self {
            name: config.name().to_owned(),
            target,
        })
    }

    /// The device and inode of a file sink's regular file, if it is one.
    ///
    /// # Errors
    ///
    /// The I/O error of reading the file's metadata.
    pub async fn identity(&self) -> io::Result<Option<(u64, u64)>> {
        match &self.target {
            Target::File(f) => f.identity().await,
            Target::Stdout(_) => Ok(None),
        }
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes `bytes` (whole lines) and flushes them to the operating system.
    ///
    /// # Errors
    ///
    /// The I/O error of the write or flush.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.target {
            Target::File(f) => f.append(bytes).await,
            Target::Stdout(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    /// Flushes and, for a file, syncs it to disk.
    ///
    /// # Errors
    ///
    /// The I/O error of the flush or sync.
    pub async fn close(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::File(f) => f.sync().await,
            Target::Stdout(s) => s.flush().await,
        }
    }
}
