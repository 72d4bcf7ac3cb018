"""The cold-start floor: the least a FastAPI+Mangum Lambda that reads DynamoDB can cost.

One GET route reads one item with a plain boto3 client and returns JSON. The client is built at
import, as a typical Lambda does, so its cost lands in init; a context that defers it pays the same
cost in its first request instead, which is why the benchmark compares init + first request.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from fastapi import FastAPI
from mangum import Mangum

ROUTE = "/api/floor/health"

_TABLE_NAME = os.environ["TABLE_NAME"]
_dynamodb = boto3.client("dynamodb")

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


# response_model=None: a return annotation would make FastAPI build a response model, and checking
# it for pydantic.v1 imports pydantic.v1 (~30 ms); the kernel's routes return JSONResponse and skip it.
@app.get(ROUTE, response_model=None)
def health() -> dict[str, Any]:
    """Read the HEALTH item; a missing item is still a reachable table."""
    found = _dynamodb.get_item(TableName=_TABLE_NAME, Key={"pk": {"S": "HEALTH"}, "sk": {"S": "HEALTH"}})
    return {"status": "ok", "table": "reachable", "item": "Item" in found}


handler = Mangum(app, lifespan="off")
