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
JSON = "application/json"


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


def curl_line(url: str, shown_body: str | None = None, content_type: str | None = None) -> str:
    """The curl command that sends what :func:`call` sends (the body shortened for reading)."""
    parts = [f"curl -s {url}"]
    if content_type:
        parts.append(f"-H 'Content-Type: {content_type}'")
    if shown_body is not None:
        parts.append(shown_body if shown_body.startswith("--") else f"-d '{shown_body}'")
    return " ".join(parts)


def post(title: str, url: str, body: bytes, shown_body: str, content_type: str) -> str:
    answer = call(url, body, content_type)
    show(title, curl_line(url, shown_body, content_type), answer)
    return answer


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
    predict_url = f"{base}/models/{NAME}/predict"

    answer = post(
        "simple JSON API",
        predict_url,
        json.dumps({"records": records}).encode(),
        '{"records": [{"mean radius": ...}, ...]}',
        JSON,
    )
    request_id = json.loads(answer.split(" ", 1)[1])["request_id"]  # "200 {...}"
    truth = [{"request_id": request_id, "row": i, "label": 1} for i in range(len(records))]
    post(
        "ground truth, days later, for monitoring's live KPIs",
        f"{base}/models/{NAME}/feedback",
        json.dumps(truth).encode(),
        f'[{{"request_id": "{request_id}", "row": 0, "label": 1}}, ...]',
        JSON,
    )
    post(
        "bad input is refused with every problem named (422)",
        predict_url,
        json.dumps({"records": [{**records[0], "mean radius": "large"}]}).encode(),
        '{"records": [{"mean radius": "large", ...}]}',
        JSON,
    )
    matrix = [list(r.values()) for r in records]
    shape = [len(matrix), len(matrix[0])]
    infer = {
        "id": "demo-1",
        "inputs": [{"name": "input-0", "shape": shape, "datatype": "FP64", "data": matrix}],
    }
    post(
        "Open Inference Protocol (V2)",
        f"{base}/v2/models/{NAME}/infer",
        json.dumps(infer).encode(),
        '{"id": "demo-1", "inputs": [{"name": "input-0", "shape": [2, 30], "datatype": "FP64", '
        '"data": [[...]]}]}',
        JSON,
    )
    csv_body = "\n".join(",".join(str(v) for v in row) for row in matrix).encode()
    post("SageMaker", f"{base}/invocations", csv_body, "--data-binary @rows.csv", "text/csv")
    metrics = call(f"{base}/metrics")
    lines = [line for line in metrics.splitlines() if line.startswith("ferryman_requests_total")]
    show(
        "Prometheus metrics",
        f"{curl_line(base + '/metrics')} | grep ferryman_requests_total",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
