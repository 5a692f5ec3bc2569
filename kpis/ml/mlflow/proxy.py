"""MLflow's artifact proxy API (`<tracking uri>/api/2.0/mlflow-artifacts/...`), what
`mlflow server --serve-artifacts` answers and what the unchanged client calls for every
`mlflow-artifacts:/` URI. Thin: authenticate, locate, call kpis.ml.mlflow.artifacts.
"""
from __future__ import annotations

import json
import mimetypes

from django.http import JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from kpis.ml.mlflow import artifacts as art
from kpis.ml.mlflow.errors import BAD_REQUEST, MlflowError, from_exception, invalid, unsupported
from kpis.ml.mlflow import mapping as m, selectors as sel
from kpis.ml.mlflow.views import _authenticate, route

UNSUPPORTED_MPU = "Multipart upload is not supported for the current artifact repository"


def _length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise invalid("Content-Length must be a number.") from None


def _body_chunks(request, length: int | None):
    """The request body in chunks, never whole.

    gunicorn's wsgi.input (its Body) refills from the connection 1 KB at a time, which
    caps an upload near 80 MB/s of CPU; its reader, asked for 256 KB at a time, is what
    the socket gives (bench/mlflow_artifacts.py). Read from it while nothing has been
    buffered yet and the length is known; any other server gets the plain stream.
    """
    raw = request.META.get("wsgi.input")
    reader, buffered = getattr(raw, "reader", None), getattr(raw, "buf", None)
    if length is not None and reader is not None and hasattr(buffered, "tell") and buffered.tell() == 0:
        return art.stream_chunks(reader, length, chunk=256 * 1024)
    return art.stream_chunks(request, length)


def _json(request) -> dict:
    try:
        data = json.loads(request.read(1024 * 1024) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise MlflowError("The request body is not valid JSON.", BAD_REQUEST) from None
    if not isinstance(data, dict):
        raise MlflowError("The request body must be a JSON object.", BAD_REQUEST)
    return data


def _guarded(view):
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - only ours become MLflow errors
            error = from_exception(exc)
            if error is None:
                raise
            if request.method in ("PUT", "POST"):
                _drain(request)
            return error.response()
    wrapped.__name__ = view.__name__
    return csrf_exempt(wrapped)


DRAIN_LIMIT = 8 * 1024 * 1024


def _drain(request) -> None:
    """Read what is left of a refused body (up to 8 MB) so the connection can serve the next request.

    gunicorn answers `Connection: keep-alive` and then drops a connection whose body was left
    unread, so the client's next request on it fails. Past 8 MB it is cheaper to let it drop.
    """
    raw = request.META.get("wsgi.input")
    if raw is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > DRAIN_LIMIT:
        return
    remaining = length
    try:
        while remaining > 0:
            data = raw.read(min(64 * 1024, remaining))
            if not data:
                return
            remaining -= len(data)
    except Exception:  # noqa: BLE001 - a server whose input refuses to read past what it has: nothing to drain
        return


def _method(request, *allowed):
    if request.method not in allowed:
        raise MlflowError(f"Use {' or '.join(allowed)} here.", BAD_REQUEST, status=405)


@_guarded
def artifacts_root(request):
    """GET ?path=<experiment>/<...>: list a directory."""
    _method(request, "GET")
    user = _authenticate(request)
    loc = art.locate(user=user, raw_path=request.GET.get("path"), allow_root=True)
    files = []
    for entry in art.artifact_list(model=loc.model, path=loc.path):
        item = {"path": entry.name, "is_dir": entry.is_dir}
        if not entry.is_dir:
            item["file_size"] = entry.size
        files.append(item)
    return JsonResponse({"files": files} if files else {})


@_guarded
def artifact(request, path: str):
    """GET downloads, PUT uploads (the body is the file), DELETE deletes a file or directory."""
    _method(request, "GET", "PUT", "DELETE")
    user = _authenticate(request)
    if request.method == "PUT":
        length = _length(request) if request.META.get("CONTENT_LENGTH") else None
        loc = art.locate(user=user, raw_path=path)
        art.artifact_upload(actor=user, location=loc, chunks=_body_chunks(request, length), length=length,
                            content_type=request.META.get("CONTENT_TYPE", ""))
        return JsonResponse({})
    loc = art.locate(user=user, raw_path=path, allow_root=request.method == "GET")
    if request.method == "DELETE":
        art.artifacts_delete(actor=user, location=loc)
        return JsonResponse({})
    row = art.artifact_get(model=loc.model, path=loc.path)
    if row is None:
        raise MlflowError(f"No artifact at '{loc.path}'.", "RESOURCE_DOES_NOT_EXIST")
    name = loc.path.rsplit("/", 1)[-1]
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    resp = StreamingHttpResponse(art.blob_chunks(row.blob), content_type=ctype)
    resp["Content-Length"] = str(row.size)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    resp["ETag"] = f'"{row.sha256}"'
    resp["X-Checksum-Sha256"] = row.sha256
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _mpu_location(user, path: str, data: dict):
    """The client sends the directory in the URL and its local file's path in the body (MLflow's protocol):
    the file goes to <directory>/<the local file's name>."""
    local = data.get("path")
    if not isinstance(local, str) or not local.strip():
        raise invalid("Missing value for required parameter 'path'.")
    name = local.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return art.locate(user=user, raw_path=f"{path.rstrip('/')}/{name}")


@_guarded
def mpu_create(request, path: str):
    _method(request, "POST")
    user = _authenticate(request)
    data = _json(request)
    loc = _mpu_location(user, path, data)
    num_parts = data.get("num_parts", 1)
    if isinstance(num_parts, str) and num_parts.isdigit():
        num_parts = int(num_parts)
    upload = art.multipart_create(actor=user, location=loc, num_parts=num_parts)
    prefix = "ajax-api" if "/ajax-api/" in request.path else "api"
    credentials = []
    for n in range(1, upload.num_parts + 1):
        url = request.build_absolute_uri(reverse(f"mlflow:{prefix}-mpu-part", args=[art.part_token(upload, n)]))
        credentials.append({"url": url, "part_number": n, "headers": {}})
    return JsonResponse({"upload_id": upload.upload_id, "credentials": credentials})


@_guarded
def mpu_part(request, token: str):
    """PUT one part to its signed URL (the URL is the credential, as a presigned S3 URL is)."""
    _method(request, "PUT")
    length = _length(request) if request.META.get("CONTENT_LENGTH") else None
    sha = art.part_upload(token=token, chunks=_body_chunks(request, length), length=length)
    resp = JsonResponse({})
    resp["ETag"] = f'"{sha}"'
    return resp


@_guarded
def mpu_complete(request, path: str):
    _method(request, "POST")
    user = _authenticate(request)
    data = _json(request)
    loc = _mpu_location(user, path, data)
    parts = data.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise invalid("parts must be a list of {part_number, etag}.")
    try:
        numbers = [int(p.get("part_number")) for p in parts]
    except (TypeError, ValueError):
        raise invalid("Every part needs a part_number.") from None
    art.multipart_complete(actor=user, location=loc, upload_id=str(data.get("upload_id") or ""),
                           part_numbers=numbers)
    return JsonResponse({})


@_guarded
def mpu_abort(request, path: str):
    _method(request, "POST")
    user = _authenticate(request)
    data = _json(request)
    loc = _mpu_location(user, path, data)
    art.multipart_abort(actor=user, location=loc, upload_id=str(data.get("upload_id") or ""))
    return JsonResponse({})


@_guarded
def presigned(request, path: str):
    _authenticate(request)
    raise unsupported("pmhub serves artifact downloads itself; it hands out no presigned URLs "
                      "(leave MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD unset).")


@route("artifacts/list", "GET")
def tracking_list_artifacts(user, data):
    """The tracking API's ListArtifacts (runs' artifacts by run id)."""
    run_id = m.get_str(data, "run_id", required=True, aliases=("run_uuid",))
    run = sel.run_get_for_user(user=user, run_id=run_id)
    if run is None:
        raise MlflowError(f"Run '{run_id}' not found.", "RESOURCE_DOES_NOT_EXIST")
    sub = art.clean_path(m.get_str(data, "path"), allow_empty=True)
    root = f"{run.run_uuid}/artifacts"
    files = [{"path": e.path[len(root) + 1:], "is_dir": e.is_dir, **({} if e.is_dir else {"file_size": e.size})}
             for e in art.artifact_list(model=run.version.model, path=f"{root}/{sub}" if sub else root)]
    out = {"root_uri": m.run_info_json(run)["artifact_uri"]}
    if files:
        out["files"] = files
    return out
