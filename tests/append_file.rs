//! A write that fails half-way through is cut back off the file, so the file only ever holds
//! whole lines. The failure is real: the process's file-size limit stops the write.
//!
//! The limit applies to every regular file the process writes, its own output too when that is
//! redirected to a file, so the scenario runs in a child process whose output is a pipe.

use std::process::Command;

use zeropipe::export::AppendFile;

/// Set in the child process that runs the scenario under the limit.
const CHILD: &str = "ZEROPIPE_TEST_FILE_SIZE_LIMITED";

#[test]
fn a_failed_append_is_cut_back_to_whole_lines() {
    if std::env::var_os(CHILD).is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(cut_back_scenario());
        return;
    }
    let test = "a_failed_append_is_cut_back_to_whole_lines";
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let output = String::from_utf8_lossy(&child.stdout) + String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{output}");
    assert!(output.contains("1 passed"), "the scenario ran: {output}");
}

fn limit_file_size(bytes: u64) {
    // SAFETY: plain libc calls with valid arguments; ignoring SIGXFSZ makes an oversized write
    // fail with EFBIG instead of ending the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

async fn cut_back_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.jsonl");
    let line = |n: usize| format!("{{\"n\":{n:>3},\"pad\":\"{}\"}}\n", "x".repeat(40));
    let batch = |from: usize| (from..from + 5).map(line).collect::<String>();
    limit_file_size(500);

    let mut file = AppendFile::open(&path).await.unwrap();
    file.append(batch(0).as_bytes()).await.unwrap();
    let whole = std::fs::read_to_string(&path).unwrap();
    assert_eq!(whole.len(), 5 * line(0).len());

    // The next batch crosses the limit part of the way in.
    let err = file.append(batch(5).as_bytes()).await.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EFBIG), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        whole,
        "the torn part is gone"
    );

    // A smaller batch fits again and starts on a fresh line.
    file.append(line(10).as_bytes()).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, whole.clone() + &line(10));
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );

    // Someone truncates the file (log rotation by copy and truncate); a failure after that is
    // still cut back to where this write began, not to the length before the truncation.
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    file.append(batch(20).as_bytes()).await.unwrap();
    file.append(batch(25).as_bytes()).await.unwrap_err();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        batch(20),
        "no gap, no torn part"
    );
}
