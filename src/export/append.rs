//! A JSON Lines file that only ever holds whole lines: a write that fails half-way is cut back
//! off, and a torn last line left by an earlier crash is ended before anything is appended.

use std::io;
use std::path::Path;

use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// A file opened for appending whole lines.
#[derive(Debug)]
pub struct AppendFile {
    file: File,
    /// The same open file, for reading its length without a trip to the blocking pool.
    probe: std::fs::File,
}

impl AppendFile {
    /// Opens `path` for appending, creating it and its parent directories. When the file ends
    /// in a torn line (a crash of the writer before), a newline ends it first, so that the
    /// next line starts clean.
    ///
    /// # Errors
    ///
    /// The I/O error of creating the directories, opening the file or ending its last line.
    pub async fn open(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await?;
        }
        let torn = ends_in_torn_line(path).await?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        if torn {
            tracing::warn!(path = %path.display(), "file ended in a torn line; ending it");
            file.write_all(b"\n").await?;
            file.flush().await?;
        }
        let probe = file.try_clone().await?.into_std().await;
        Ok(Self { file, probe })
    }

    /// Appends `bytes` (whole lines) and hands them to the operating system; all or nothing.
    ///
    /// # Errors
    ///
    /// The I/O error of the write. Whatever part of `bytes` reached the file is removed again,
    /// as far as the file allows.
    pub async fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        // Measured before each write, not remembered: someone may have truncated the file
        // (log rotation by copy and truncate) since the last one.
        let before = self.len()?;
        let written = async {
            self.file.write_all(bytes).await?;
            self.file.flush().await
        };
        let Err(e) = written.await else {
            return Ok(());
        };
        let now = self.len().unwrap_or(before);
        if now > before
            && let Err(cut) = self.file.set_len(before).await
        {
            tracing::error!(error = %cut, "cannot cut a failed write back off the file");
        }
        Err(e)
    }

    /// The file's length now (an `fstat`, which does not block on a regular file).
    fn len(&self) -> io::Result<u64> {
        Ok(self.probe.metadata()?.len())
    }

    /// The device and inode of a regular file, which tell two names of one file apart from two
    /// files; `None` for anything else (a device such as `/dev/null` may serve many outputs).
    ///
    /// # Errors
    ///
    /// The I/O error of reading the file's metadata.
    pub async fn identity(&self) -> io::Result<Option<(u64, u64)>> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = self.file.metadata().await?;
        Ok(meta.is_file().then(|| (meta.dev(), meta.ino())))
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

/// Whether `path` is a regular, non-empty file whose last byte is not a newline. Anything else
/// (no file yet, a device, a FIFO) is not looked into.
async fn ends_in_torn_line(path: &Path) -> io::Result<bool> {
    let is_filled_file = tokio::fs::metadata(path)
        .await
        .is_ok_and(|m| m.is_file() && m.len() > 0);
    if !is_filled_file {
        return Ok(false);
    }
    let last = async {
        let mut file = File::open(path).await?;
        file.seek(io::SeekFrom::End(-1)).await?;
        let mut last = [0u8; 1];
        file.read_exact(&mut last).await?;
        io::Result::Ok(last[0])
    };
    // A file that cannot be read back (write-only for this user) is not looked into.
    Ok(last.await.is_ok_and(|byte| byte != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_torn_last_line_is_ended_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("torn.jsonl");
        std::fs::write(&path, "{\"whole\": 1}\n{\"torn\": ").unwrap();
        let mut file = AppendFile::open(&path).await.unwrap();
        file.append(b"{\"next\": 2}\n").await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"whole\": 1}\n{\"torn\": \n{\"next\": 2}\n");
    }

    #[tokio::test]
    async fn whole_files_and_new_files_are_left_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.jsonl");
        std::fs::write(&whole, "{}\n").unwrap();
        AppendFile::open(&whole)
            .await
            .unwrap()
            .append(b"[]\n")
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&whole).unwrap(), "{}\n[]\n");

        let fresh = dir.path().join("sub/fresh.jsonl");
        AppendFile::open(&fresh)
            .await
            .unwrap()
            .append(b"1\n")
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "1\n");
    }
}
