"""Runs a zeropipe process for a test and talks to its admin server.

Everything here is bounded: every wait has a deadline, and the process is killed by its PID
when a test leaves without stopping it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ZEROPIPE_BIN", REPO / "target" / "release" / "zeropipe"))
ADMIN = "http://127.0.0.1:9955"

# The longest any single wait in these tests may take.
MAX_WAIT_S = 60.0


class Zeropipe:
    """A running `zeropipe` with its output captured to files in its working directory."""

    def __init__(self, args: list[str], cwd: Path):
        assert BINARY.is_file(), f"zeropipe binary not found at {BINARY}; set ZEROPIPE_BIN"
        self.cwd = cwd
        self._stdout = open(cwd / "zeropipe.stdout", "wb")
        self._stderr = open(cwd / "zeropipe.stderr", "wb")
        self.process = subprocess.Popen(
            [str(BINARY), *args], cwd=cwd, stdout=self._stdout, stderr=self._stderr,
            stdin=subprocess.DEVNULL,
        )

    def stderr(self) -> str:
        self._stderr.flush()
        return (self.cwd / "zeropipe.stderr").read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def terminate(self, timeout_s: float = 30.0) -> int:
        """Sends SIGTERM and waits for the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def close(self) -> None:
        """Kills the process if it still runs and closes the output files."""
        if self.running():
            self.process.kill()
            self.process.wait(timeout=10)
        self._stdout.close()
        self._stderr.close()

    def wait_until(self, what: str, ready, timeout_s: float = MAX_WAIT_S, interval_s: float = 0.05):
        """Polls `ready()` until it returns a truthy value, failing if zeropipe exits first."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            assert self.running(), f"zeropipe exited with {self.process.returncode} while {what}"
            last = ready()
            if last:
                return last
            time.sleep(interval_s)
        raise AssertionError(f"timed out after {timeout_s} s {what}; last answer: {last!r}")


def http_get(path: str, timeout_s: float = 5.0) -> tuple[int, str]:
    """GETs an admin path; returns (status, body), with status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(ADMIN + path, timeout=timeout_s) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def stats() -> dict:
    status, body = http_get("/stats")
    assert status == 200, f"GET /stats answered {status}: {body[:200]}"
    return json.loads(body)


def assert_port_free(port: int) -> None:
    """Fails early, with a clear message, when another process holds a port the config uses."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise AssertionError(f"127.0.0.1:{port} is in use by another process: {e}") from e


# One sample line of the text exposition format: name, optional {labels}, value.
SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample in a Prometheus or OpenMetrics text page, labels in any order."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if match:
            name, labels, value = match.groups()
            samples.append((name, dict(LABEL.findall(labels or "")), float(value)))
    return samples


def metric(samples, name: str, **labels: str) -> float:
    """The value of the one sample named `name` whose labels include `labels`."""
    found = [v for n, ls, v in samples if n == name and labels.items() <= ls.items()]
    assert len(found) == 1, f"expected one sample {name}{labels}, found {len(found)}"
    return found[0]
