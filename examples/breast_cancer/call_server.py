"""Call a running ``ferryman serve`` once per protocol and show each call as curl would send it.

Uses only the standard library. Run by ``./dev demo`` once the server is up:
``python examples/breast_cancer/call_server.py --port 8000``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import ferryman

NAME = "breast-cancer"


def call(url: str, body: bytes | None = None, content_type: str | None = None) -> str:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url, data=body, method="POST" if body is not None else "GET"
    )
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server
            return f"{answer.status} {answer.read().decode()}"
    except urllib.error.HTTPError as error:
        return f"{error.code} {error.read().decode()}"


def wait_ready(base: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/v2/health/ready", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the server at {base} did not become ready in {seconds:.0f}s")


def show(title: str, curl: str, answer: str, limit: int = 400) -> None:
    print(f"\n# {title}\n$ {curl}")
    print(answer if len(answer) <= limit else answer[:limit] + " ...")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    port = parser.parse_args().port
    base = f"http://127.0.0.1:{port}"
    wait_ready(base)
    home = Path(ferryman.connect().settings.home_path)
    with (home / "new_patients.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:2]
    records = [{k: float(v) for k, v in row.items()} for row in rows]

    body = json.dumps({"records": records}).encode()
    answer = call(f"{base}/models/{NAME}/predict", body, "application/json")
    show(
        "simple JSON API",
        f"curl -s {base}/models/{NAME}/predict -H 'Content-Type: application/json' "
        '-d \'{"records": [{"mean radius": ...}, ...]}\'',
        answer,
    )
    request_id = json.loads(answer.split(" ", 1)[1])["request_id"]  # "200 {...}"
    truth = [{"request_id": request_id, "row": i, "label": 1} for i in range(len(records))]
    show(
        "ground truth, days later, for monitoring's live KPIs",
        f"curl -s {base}/models/{NAME}/feedback "
        f'-d \'[{{"request_id": "{request_id}", "row": 0, "label": 1}}, ...]\'',
        call(f"{base}/models/{NAME}/feedback", json.dumps(truth).encode(), "application/json"),
    )
    bad = json.dumps({"records": [{**records[0], "mean radius": "large"}]}).encode()
    show(
        "bad input is refused with every problem named (422)",
        f"curl -s {base}/models/{NAME}/predict "
        '-d \'{"records": [{"mean radius": "large", ...}]}\'',
        call(f"{base}/models/{NAME}/predict", bad, "application/json"),
    )
    matrix = [list(r.values()) for r in records]
    shape = [len(matrix), len(matrix[0])]
    infer = {
        "id": "demo-1",
        "inputs": [{"name": "input-0", "shape": shape, "datatype": "FP64", "data": matrix}],
    }
    show(
        "Open Inference Protocol (V2)",
        f'curl -s {base}/v2/models/{NAME}/infer -d \'{{"id": "demo-1", "inputs": '
        '[{"name": "input-0", "shape": [2, 30], "datatype": "FP64", "data": [[...]]}]}\'',
        call(f"{base}/v2/models/{NAME}/infer", json.dumps(infer).encode()),
    )
    csv_body = "\n".join(",".join(str(v) for v in row) for row in matrix).encode()
    show(
        "SageMaker",
        f"curl -s {base}/invocations -H 'Content-Type: text/csv' --data-binary @rows.csv",
        call(f"{base}/invocations", csv_body, "text/csv"),
    )
    metrics = call(f"{base}/metrics")
    lines = [line for line in metrics.splitlines() if line.startswith("ferryman_requests_total")]
    show(
        "Prometheus metrics",
        f"curl -s {base}/metrics | grep ferryman_requests_total",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
