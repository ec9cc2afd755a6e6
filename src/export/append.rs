//! A JSON Lines file that only ever holds whole lines: a write that fails half-way is cut back
//! off, so the next write never continues a torn line.

use std::io;
use std::path::Path;

use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;

/// A file opened for appending whole lines.
#[derive(Debug)]
pub struct AppendFile {
    file: File,
    /// Bytes of whole lines in the file: where a failed write is cut back to.
    len: u64,
}

impl AppendFile {
    /// Opens `path` for appending, creating it and its parent directories.
    ///
    /// # Errors
    ///
    /// The I/O error of creating the directories or opening the file.
    pub async fn open(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let len = file.metadata().await?.len();
        Ok(Self { file, len })
    }

    /// Appends `bytes` (whole lines) and hands them to the operating system; all or nothing.
    ///
    /// # Errors
    ///
    /// The I/O error of the write. Whatever part of `bytes` reached the file is removed again,
    /// as far as the file allows.
    pub async fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let written = async {
            self.file.write_all(bytes).await?;
            self.file.flush().await
        };
        match written.await {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                if let Err(cut) = self.file.set_len(self.len).await {
                    tracing::error!(error = %cut, "cannot cut a failed write back off the file");
                }
                Err(e)
            }
        }
    }

    /// Flushes and syncs the file's data to disk.
    ///
    /// # Errors
    ///
    /// The I/O error of the flush or sync.
    pub async fn sync(&mut self) -> io::Result<()> {
        self.file.flush().await?;
        self.file.sync_data().await
    }
}
