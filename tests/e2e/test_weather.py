"""End to end: the weather example config, fed by a real pyzmq peer over loopback.

Each pattern test replays the whole dataset plus three malformed messages, then checks that
every message is accounted for in three places that must agree: the admin server's /stats and
/metrics, the exported events file and the dead-letter file.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import zmq

import harness
import replay
from harness import BINARY, MAX_WAIT_S, REPO, Zeropipe, http_get, metric, parse_metrics

CONFIG = REPO / "examples" / "weather.toml"
SUB_ENDPOINT = "tcp://127.0.0.1:5556"
PULL_ENDPOINT = "tcp://127.0.0.1:5557"
METRIC = "temp_max_by_weather"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

ROWS = replay.load_rows()
MALFORMED = replay.malformed()
SENT = replay.messages(ROWS)
VALID = len(ROWS)
RECEIVED = len(SENT)


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True)


def expected_series() -> dict[str, dict]:
    """Per weather kind: event count and the summary of temp_max, computed from the CSV."""
    values = defaultdict(list)
    for row in ROWS:
        values[row["weather"]].append(row["temp_max"])
    return {
        kind: {"count": len(v), "sum": sum(v), "mean": sum(v) / len(v), "min": min(v),
               "max": max(v)}
        for kind, v in values.items()
    }


def close(actual: float, expected: float) -> bool:
    return actual == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for port in (5556, 5557, 9955):
        harness.assert_port_free(port)
    return tmp_path


def run_pipeline(workdir: Path, source: str, replay_into) -> None:
    """Starts zeropipe on the weather config, lets `replay_into(zp)` send every message, then
    checks the admin server while running and the files after a graceful shutdown."""
    zp = Zeropipe(["run", "-c", str(CONFIG)], cwd=workdir)
    try:
        replay_into(zp)
        zp.wait_until(
            f"waiting for {RECEIVED} messages received and none in flight",
            lambda: settled(harness.stats()),
        )
        check_stats(harness.stats(), source)
        check_metrics()

        code = zp.terminate(timeout_s=MAX_WAIT_S)
        assert code == 0, f"zeropipe exited with {code} after SIGTERM"
        check_files(workdir / "out", source)
    except BaseException:
        print(f"--- zeropipe stderr ---\n{zp.stderr()}")
        raise
    finally:
        zp.close()


def settled(stats: dict) -> bool:
    pipeline = stats["pipeline"]
    return pipeline["received"] >= RECEIVED and pipeline["in_flight"] == 0


def wait_ready(zp: Zeropipe) -> None:
    zp.wait_until("waiting for /live", lambda: http_get("/live")[0] == 200)
    zp.wait_until("waiting for /ready", lambda: http_get("/ready")[0] == 200)


def test_pub_sub_every_message_accounted_for(workdir: Path):
    with zmq.Context() as context:
        publisher = replay.open_socket(context, zmq.XPUB, SUB_ENDPOINT, bind=True)
        publisher.setsockopt(zmq.RCVTIMEO, 200)

        def replay_into(zp: Zeropipe) -> None:
            wait_ready(zp)
            # PUB/SUB drops whatever is published before the subscriber's subscription has
            # reached the publisher (the "slow joiner" problem), so sleeping a while is a
            # guess. An XPUB hands each subscription to the application instead: once it has
            # received zeropipe's b"\x01" + b"" (subscribe to the empty prefix, i.e. to
            # everything), the filter is in place and nothing sent afterwards is lost.
            zp.wait_until("waiting for the SUB subscription", lambda: subscribed(publisher))
            replay.send_all(publisher, SENT)

        try:
            run_pipeline(workdir, "weather-sub", replay_into)
        finally:
            publisher.close(linger=0)


def subscribed(publisher: zmq.Socket) -> bool:
    try:
        return publisher.recv() == b"\x01"
    except zmq.Again:
        return False


def test_push_pull_every_message_accounted_for(workdir: Path):
    with zmq.Context() as context:
        pusher = None

        def replay_into(zp: Zeropipe) -> None:
            nonlocal pusher
            # The PULL socket is bound once /ready answers 200, so the PUSH can connect.
            wait_ready(zp)
            pusher = replay.open_socket(context, zmq.PUSH, PULL_ENDPOINT, bind=False)
            replay.send_all(pusher, SENT)

        try:
            run_pipeline(workdir, "weather-pull", replay_into)
        finally:
            if pusher is not None:
                pusher.close(linger=0)


def check_stats(stats: dict, source: str) -> None:
    other = "weather-pull" if source == "weather-sub" else "weather-sub"
    assert stats["pipeline"] == {
        "received": RECEIVED, "completed": VALID, "failed": len(MALFORMED), "filtered": 0,
        "in_flight": 0, "lost": 0,
    }

    counts, errors = stats["counts"], stats["errors"]
    assert counts[f"ingest.{source}"] == RECEIVED
    assert counts.get(f"ingest.{other}", 0) == 0
    assert counts["process.handle"] == VALID
    assert errors["process.handle"] == len(MALFORMED)
    assert stats["error_types"]["process.handle"] == {
        "invalid_json": 1, "invalid_utf8": 1, "missing_frame": 1,
    }
    for key in ("collect.handle", "export.handle", "pipeline.complete"):
        assert counts[key] == VALID, key
    # Writes and flushes count batches, whose sizes depend on timing.
    assert 1 <= counts["dead_letter.write"] <= len(MALFORMED)
    assert counts["export.flush"] >= 1
    for key, n in errors.items():
        if key != "process.handle":
            assert n == 0, f"{key} reports {n} errors: {stats['error_types'].get(key)}"
    for key in ("avg_duration", "durations"):
        assert "process.handle" in stats[key]

    derived = stats["metrics"][METRIC]
    assert derived["field"] == "temp_max"
    assert derived["label"] == "weather"
    assert derived["other_events"] == 0
    assert derived["missing_field"] == 0
    expected = expected_series()
    assert set(derived["series"]) == set(expected)
    for kind, want in expected.items():
        got = derived["series"][kind]
        assert got["events"] == want["count"], kind
        assert got["count"] == want["count"], kind
        for key in ("sum", "mean", "min", "max"):
            assert close(got[key], want[key]), f"{kind} {key}: {got[key]} != {want[key]}"
        assert want["min"] <= got["rolling_mean"] <= want["max"], kind


def check_metrics() -> None:
    status, text = http_get("/metrics")
    assert status == 200, f"GET /metrics answered {status}"
    samples = parse_metrics(text)

    assert metric(samples, "zeropipe_messages_received_total") == RECEIVED
    assert metric(samples, "zeropipe_messages_completed_total") == VALID
    assert metric(samples, "zeropipe_messages_failed_total") == len(MALFORMED)
    assert metric(samples, "zeropipe_messages_in_flight") == 0
    assert metric(samples, "zeropipe_messages_lost_total") == 0
    for message in MALFORMED:
        errors = metric(samples, "zeropipe_operation_errors_total", domain="process",
                        operation="handle", error_type=message.error_type)
        assert errors == 1, message.error_type
    for kind, want in expected_series().items():
        labels = {"metric": METRIC, "label": kind}
        assert metric(samples, "zeropipe_derived_events_total", **labels) == want["count"]
        assert close(metric(samples, "zeropipe_derived_mean", **labels), want["mean"]), kind


def check_files(out: Path, source: str) -> None:
    events = read_jsonl(out / "events.jsonl")
    dead = read_jsonl(out / "dead-letter.jsonl")
    assert len(events) + len(dead) == RECEIVED

    # Every row exactly once, decoded to the same values that were sent.
    assert len(events) == VALID
    assert Counter(canonical(e["data"]) for e in events) == Counter(map(canonical, ROWS))
    for event in events:
        assert event["source"] == source
        assert event["topic"] == event["data"]["weather"]
        assert TIMESTAMP.match(event["received_at"]), event["received_at"]

    # Each malformed message once, with its frames exactly as sent.
    assert sorted(d["error_type"] for d in dead) == sorted(m.error_type for m in MALFORMED)
    by_type = {d["error_type"]: d for d in dead}
    for message in MALFORMED:
        line = by_type[message.error_type]
        assert (line["source"], line["domain"], line["operation"]) == (source, "process", "handle")
        assert [base64.b64decode(f, validate=True) for f in line["frames"]] == list(message.frames)
        assert isinstance(line["error"], str) and line["error"]
        assert TIMESTAMP.match(line["failed_at"]) and TIMESTAMP.match(line["received_at"])


def read_jsonl(path: Path) -> list[dict]:
    assert path.is_file(), f"{path.name} was not written"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


BROKEN_CONFIG = """\
[[ingest.sockets]]
name = "dealer"
type = "dealer"
bind = ["tcp://127.0.0.1:5591"]

[[ingest.sockets]]
name = "no-port"
type = "pull"
bind = ["tcp://127.0.0.1"]

[export]
dead_letter = "out/dead-letter.jsonl"

[[export.sinks]]
type = "file"
path = "out/events.jsonl"

[admin]
address = "127.0.0.1:9956"
enabeld = true
"""

# The key of each mistake above: bad socket type, endpoint without a port, misspelled key.
BROKEN_KEYS = ("ingest.sockets[0].type", "ingest.sockets[1].bind[0]", "admin.enabeld")


def test_bad_config_lists_every_problem_and_exits_2(tmp_path: Path):
    config = tmp_path / "broken.toml"
    config.write_text(BROKEN_CONFIG)

    checked = run_to_exit(["check", "-c", str(config)], tmp_path)
    assert checked.returncode == 2, f"check exited with {checked.returncode}"
    assert "panicked" not in checked.stderr
    for key in BROKEN_KEYS:
        assert key in checked.stderr, f"check's stderr does not mention {key}"

    ran = run_to_exit(["run", "-c", str(config)], tmp_path)
    assert ran.returncode == 2, f"run exited with {ran.returncode}"
    assert "panicked" not in ran.stderr
    assert not (tmp_path / "out").exists(), "a rejected config must not open its sinks"


def run_to_exit(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BINARY), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=MAX_WAIT_S)
    print(f"--- zeropipe {' '.join(args)}: exit {done.returncode}, stderr ---\n{done.stderr}")
    return done
