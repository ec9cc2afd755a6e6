"""Replays the Seattle weather dataset over ZeroMQ as two-frame messages.

Frame 0 is the weather kind (the topic), frame 1 the day's row as JSON, with the measurements as
numbers. Used by the end-to-end tests and runnable by hand against a running zeropipe:

    python tests/e2e/replay.py push tcp://127.0.0.1:5557
    python tests/e2e/replay.py pub tcp://127.0.0.1:5556 --malformed
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import zmq

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "data" / "seattle-weather.csv"

# Columns holding measurements; the others (date, weather) stay strings.
NUMERIC_COLUMNS = ("precipitation", "temp_max", "temp_min", "wind")

# Sends never block for longer than this, so a stalled peer fails the replay instead of hanging.
SEND_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Message:
    """One message to send, and the error type zeropipe must report for it (None = valid)."""

    frames: tuple[bytes, ...]
    error_type: str | None = None


def load_rows(path: Path = DATASET) -> list[dict]:
    """Reads the CSV into dicts, with the measurement columns as floats."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for column in NUMERIC_COLUMNS:
            row[column] = float(row[column])
    return rows


def encode(row: dict) -> Message:
    """The two frames for one row: the weather kind, then the row as JSON."""
    topic = row["weather"].encode("utf-8")
    body = json.dumps(row, separators=(",", ":")).encode("utf-8")
    return Message((topic, body))


def malformed() -> list[Message]:
    """One message for each way a message can fail to decode, with its expected error type."""
    return [
        Message((b"rain", b'{"date":"2012/01/02","temp_max":'), "invalid_json"),
        Message((b"rain", b'{"date":"\xff\xfe"}'), "invalid_utf8"),
        Message((b"rain",), "missing_frame"),
    ]


def messages(rows: list[dict], with_malformed: bool = True) -> list[Message]:
    """Every row in file order, then the malformed messages if asked for."""
    out = [encode(row) for row in rows]
    if with_malformed:
        out.extend(malformed())
    return out


def open_socket(context: zmq.Context, kind: int, endpoint: str, bind: bool) -> zmq.Socket:
    """A sending socket that queues up to 100 000 messages rather than dropping them."""
    socket = context.socket(kind)
    socket.setsockopt(zmq.SNDHWM, 100_000)
    socket.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
    socket.setsockopt(zmq.LINGER, 5_000)
    if bind:
        socket.bind(endpoint)
    else:
        socket.connect(endpoint)
    return socket


def send_all(socket: zmq.Socket, batch: list[Message]) -> None:
    """Sends every message in order; raises zmq.Again if a send waits past SNDTIMEO."""
    for message in batch:
        socket.send_multipart(list(message.frames))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", choices=["pub", "push"], help="socket type to send from")
    parser.add_argument("endpoint", help="a loopback endpoint, such as tcp://127.0.0.1:5557")
    parser.add_argument("--bind", action="store_true", help="bind instead of connect")
    parser.add_argument("--malformed", action="store_true", help="also send malformed messages")
    parser.add_argument("--settle-s", type=float, default=1.0,
                        help="seconds to wait after connecting before sending (PUB slow joiner)")
    args = parser.parse_args(argv)

    kind = zmq.PUB if args.pattern == "pub" else zmq.PUSH
    batch = messages(load_rows(), with_malformed=args.malformed)
    with zmq.Context() as context:
        socket = open_socket(context, kind, args.endpoint, bind=args.bind or kind == zmq.PUB)
        time.sleep(max(0.0, min(args.settle_s, 60.0)))
        send_all(socket, batch)
        socket.close()
    print(f"sent {len(batch)} messages to {args.endpoint}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
