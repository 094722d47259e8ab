"""Every curl example in the README and the docs, sent to a real server as curl would send it.

The commands are read from the pages, their headers and bodies used as written. Only what a
reader fills in themselves is filled in here: the elided columns (``...``) from a real row, the
request id a feedback example refers to, and the ``rows.csv`` file. A body sent with ``-d``
and no ``Content-Type`` header goes out as a form, as curl sends it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from ferryman.access import TokenBook
from ferryman.config import Settings
from ferryman.registry import Registry
from live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"```(?:bash|sh|shell|console)\n(.*?)```", re.S)
STATUS_COMMENT = re.compile(r"#\s*(\d{3})\s*$")
# what a reader replaces with the id from the answer they got
REQUEST_ID_PLACEHOLDERS = ("REQUEST-ID-FROM-THE-ANSWER", "9a1c…")
# tokens a reader made with `ferryman tokens create`: a page using one runs against a server
# whose store has them (so it asks for tokens)
TOKEN_PLACEHOLDERS = {"$TOKEN": "predictor", "$VIEWER_TOKEN": "viewer"}
ELIDED = "..."


@dataclass
class Curl:
    """One curl command as a page writes it."""

    text: str
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    binary: bool = False
    piped: list[str] = field(default_factory=list)
    only_status: bool = False
    expected_status: int = 200


def curl_commands(page: str) -> list[Curl]:
    commands = []
    for block in SHELL_BLOCK.findall((ROOT / page).read_text(encoding="utf-8")):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if lines[i].lstrip().startswith("curl "):
                text = lines[i]
                while not _complete(text):
                    i += 1
                    text += "\n" + lines[i]
                commands.append(parse(text))
            i += 1
    return commands


def _complete(text: str) -> bool:
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # a quote still open: the command goes on on the next line
        return False
    return True


def parse(text: str) -> Curl:
    tokens = shlex.split(text.replace("\\\n", " "), comments=True)
    curl = Curl(text)
    said = STATUS_COMMENT.search(text.splitlines()[-1])
    if said:  # "curl ... -w '%{http_code}\n' URL   # 200" names the status it answers
        curl.expected_status = int(said.group(1))
    if "|" in tokens:
        at = tokens.index("|")
        tokens, curl.piped = tokens[:at], tokens[at + 1 :]
    assert tokens[0] == "curl"
    args = iter(tokens[1:])
    for arg in args:
        if arg == "-s":
            continue
        if arg == "-H":
            name, _, value = next(args).partition(":")
            curl.headers[name.strip().lower()] = value.strip()
        elif arg in ("-d", "--data-binary"):
            curl.data, curl.binary = next(args), arg == "--data-binary"
        elif arg == "-o":
            assert next(args) == "/dev/null"
        elif arg == "-w":
            assert next(args) == r"%{http_code}\n"
            curl.only_status = True
        else:
            assert not arg.startswith("-"), f"the test does not know curl's {arg} ({text})"
            curl.url = arg
    return curl


@dataclass
class Reader:
    """What a reader fills in: the elided columns, the last request id, rows.csv."""

    row: dict[str, float]
    folder: Path
    request_id: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # placeholder -> secret

    def headers(self, curl: Curl) -> dict[str, str]:
        headers = dict(curl.headers)
        for name, value in headers.items():
            for placeholder, secret in self.tokens.items():
                value = value.replace(placeholder, secret)
            headers[name] = value
        return headers

    def body(self, curl: Curl) -> bytes:
        assert curl.data is not None
        if curl.data.startswith("@"):
            return (self.folder / curl.data[1:]).read_bytes()
        text = curl.data
        for placeholder in REQUEST_ID_PLACEHOLDERS:
            if placeholder in text:
                assert self.request_id, f"{curl.text}: no predict answer came before it"
                text = text.replace(placeholder, self.request_id)
        if ELIDED in text:
            text = json.dumps(self.fill(_with_elisions_as_json(text)))
        return text.encode()

    def fill(self, value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: self.fill(v) for k, v in value.items() if k != ELIDED}
            if ELIDED in value:
                out.update({k: v for k, v in self.row.items() if k not in out})
            return out
        if isinstance(value, list):
            items = [self.fill(v) for v in value if v != ELIDED]
            if ELIDED in value:
                items += self._rest_of(items)
            return items
        return value

    def _rest_of(self, given: list[Any]) -> list[Any]:
        names = list(self.row)
        if all(isinstance(v, dict) and "name" in v for v in given):  # V2 tensors, one a column
            named = {v["name"] for v in given}
            model = given[0]
            return [{**model, "name": n, "data": [self.row[n]]} for n in names if n not in named]
        return [self.row[n] for n in names[len(given) :]]  # a row in signature order


def _with_elisions_as_json(text: str) -> Any:
    text = re.sub(r",\s*\.\.\.\s*}", ', "...": null}', text)  # {"a": 1, ...}
    text = re.sub(r'(?<!")\.\.\.(?!")', '"..."', text)  # [1, 2, ...]
    return json.loads(text)


def send(client: httpx.Client, reader: Reader, curl: Curl) -> httpx.Response:
    path = re.sub(r"^(https?://)?localhost:8000", "", curl.url)
    if curl.data is None:
        return client.get(path, headers=reader.headers(curl))
    headers = reader.headers(curl)
    body = reader.body(curl)
    headers.setdefault("content-type", "application/x-www-form-urlencoded")  # as curl sends
    if not curl.binary and curl.data.startswith("@"):
        body = body.replace(b"\r", b"").replace(b"\n", b"")  # as curl -d @file
    return client.post(path, content=body, headers=headers)


def churn_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    age = rng.integers(18, 80, 400)
    plan = rng.choice(["free", "basic", "pro"], 400)
    target = ((age > 45) ^ (plan == "pro")).astype(int)
    return pd.DataFrame({"age": age, "plan": plan, "target": target})


def churn_model(frame: pd.DataFrame) -> Pipeline:
    columns = ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough")
    model = make_pipeline(columns, LogisticRegression(max_iter=1000))
    return model.fit(frame.drop(columns="target"), frame["target"])


def uses_tokens(page: str) -> bool:
    return any(p in c.text for c in curl_commands(page) for p in TOKEN_PLACEHOLDERS)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Iterator[tuple[LiveServer, Reader]]:
    yield from _serve(tmp_path_factory, cancer_frame, cancer_model, with_tokens=False)


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Iterator[tuple[LiveServer, Reader]]:
    yield from _serve(tmp_path_factory, cancer_frame, cancer_model, with_tokens=True)


def _serve(
    tmp_path_factory: pytest.TempPathFactory,
    cancer_frame: pd.DataFrame,
    cancer_model: Pipeline,
    with_tokens: bool,
) -> Iterator[tuple[LiveServer, Reader]]:
    folder = tmp_path_factory.mktemp("curl")
    home = folder / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    registry.register(
        cancer_model, "breast-cancer", train_data=cancer_frame, target="target",
        aliases=["production"],
    )  # fmt: skip
    churn = churn_frame()
    registry.register(
        churn_model(churn), "churn", train_data=churn, target="target", aliases=["production"]
    )
    tokens = {}
    if with_tokens:
        book = TokenBook(registry)
        tokens = {p: book.create(role, role)[1] for p, role in TOKEN_PLACEHOLDERS.items()}
    registry.close()
    features = cancer_frame.drop(columns="target")
    features.head(3).to_csv(folder / "rows.csv", header=False, index=False)
    row = {str(k): float(v) for k, v in features.iloc[0].items()}
    live = LiveServer(home, ("--sagemaker-model", "breast-cancer")).start()
    yield live, Reader(row, folder, tokens=tokens)
    live.stop()


def test_the_pages_have_curl_examples() -> None:
    found = {page: curl_commands(page) for page in PAGES}
    assert sum(len(c) for c in found.values()) >= 12
    for page in PAGES:  # a page whose text shows a curl command has it read here
        if re.search(r"^\s*curl ", (ROOT / page).read_text(encoding="utf-8"), re.M):
            assert found[page], page


@pytest.mark.parametrize("page", [page for page in PAGES if curl_commands(page)])
def test_every_curl_example_answers_as_written(request: pytest.FixtureRequest, page: str) -> None:
    live, reader = request.getfixturevalue("secured" if uses_tokens(page) else "served")
    with httpx.Client(base_url=live.url, timeout=30.0) as client:
        for curl in curl_commands(page):
            answer = send(client, reader, curl)
            status = curl.expected_status
            assert answer.status_code == status, (
                f"{curl.text}\n-> {answer.status_code} {answer.text}"
            )
            if curl.only_status:
                continue
            if curl.piped:
                assert curl.piped[0] == "grep"
                assert curl.piped[1] in answer.text, curl.text
            if "/predict" in curl.url:
                reader.request_id = answer.json()["request_id"]
            if "/feedback" in curl.url:
                assert answer.json()["accepted"] >= 1, answer.text
