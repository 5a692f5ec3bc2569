"""A WSGI app that reads the body and answers {}: the ceiling of bench/mlflow_log_batch.py.

Served by the same gunicorn as pmhub, with the same client, it measures what
HTTP, gunicorn and the benchmark's own client cost before any server does work.
"""


def application(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
