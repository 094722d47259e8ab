"""The physical limit the serving benchmark compares with: bare Starlette + uvicorn, orjson,
a NumPy row, the model called directly. Not part of ferryman.

Run: python bench/_bare_server.py MODEL.pkl PORT
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

with open(sys.argv[1], "rb") as handle:
    MODEL = pickle.load(handle)  # the benchmark's own file
COLUMNS = [f"f{i}" for i in range(20)]


async def predict(request: Request) -> Response:
    body = orjson.loads(await request.body())
    rows = np.array([[r[c] for c in COLUMNS] for r in body["records"]], dtype=np.float64)
    proba = MODEL.predict_proba(rows)
    labels = MODEL.classes_[proba.argmax(axis=1)]
    out = {"predictions": labels.tolist(), "probabilities": proba.tolist()}
    return Response(orjson.dumps(out), media_type="application/json")


async def ping(request: Request) -> Response:
    return Response(b"{}", media_type="application/json")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/ping", ping)])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[2]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
