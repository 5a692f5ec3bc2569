"""MLflow artifacts: the files a training job logs (configs, plots, tables, model files).

The client reaches them through MLflow's artifact proxy API with paths under
`mlflow-artifacts:/<experiment id>/...`: `<run id>/artifacts/...` for a run,
`models/<logged model id>/artifacts/...` for a logged model. The experiment id
is the AI model's id, so the first segment decides the product and with it who
may read (VIEW) and who may write (TRACK); other products' paths are 404.

Bytes go through Django's storage API (`storages["mlflow_artifacts"]`: the file
system under var/ by default, S3-compatible object storage in production), by
content: a file is streamed to a temporary file while its SHA-256 and size are
taken, then stored once as `blobs/<aa>/<sha256>`. ArtifactFile rows map the
user's paths onto blobs; a blob goes when the last row naming it goes. Nothing
reads a whole body into memory, upload or download.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.http import Http404

from kpis.ml.mlflow.models import ArtifactFile, ArtifactUpload, LoggedModel, MlflowRun
from kpis.ml.models import AIModel
from pmhub.audit import audit_record
from pmhub.permissions import require
from pmhub.roles import Action

CHUNK = 1024 * 1024
MAX_PARTS = 10_000
MAX_PATH = 1024
RUN_ROOT = re.compile(r"^[0-9a-f]{32}$")
LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
PART_URL_MAX_AGE = 24 * 3600


class TooLarge(ValidationError):
    """The file is over MLFLOW_ARTIFACT_MAX_FILE_SIZE."""


def storage():
    return storages["mlflow_artifacts"]


def max_file_size() -> int:
    return settings.MLFLOW_ARTIFACT_MAX_FILE_SIZE


# --- paths ---------------------------------------------------------------------------------


def clean_path(raw: str | None, *, allow_empty: bool = False) -> str:
    """A relative POSIX path with no '.', '..', empty, absolute or control-character parts.

    Refused, not repaired: a path that needs repair is a client bug or an attack.
    """
    raw = "" if raw is None else raw
    if not isinstance(raw, str):
        raise ValidationError({"path": ["Must be a string."]})
    path = raw.rstrip("/")
    if not path:
        if allow_empty:
            return ""
        raise ValidationError({"path": ["An artifact path is required."]})
    problem = None
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        problem = "absolute paths are not allowed"
    elif "\\" in path:
        problem = "backslashes are not allowed"
    elif len(path) > MAX_PATH:
        problem = f"at most {MAX_PATH} characters"
    elif any(not ch.isprintable() for ch in path):
        problem = "control characters are not allowed"
    else:
        parts = path.split("/")
        if any(p in ("", ".", "..") for p in parts):
            problem = "'.', '..' and empty segments are not allowed"
    if problem:
        raise ValidationError({"path": [f"Invalid artifact path '{raw[:200]}': {problem}."]})
    return path


@dataclass(frozen=True)
class Location:
    """Where an artifact path points: the AI model (experiment) and the path under its root."""

    model: AIModel
    path: str  # relative to the experiment root, "" for the root itself


def _visible_models(user):
    from products.selectors import product_list_for_user

    return AIModel.objects.filter(product__in=product_list_for_user(user=user).values("pk")).select_related("product")


def locate(*, user, raw_path: str | None, allow_root: bool = False) -> Location:
    """The experiment and relative path of `<experiment id>/<rest>`, for a user who may see it.

    The first part of <rest> must be a run of that experiment or
    `models/<logged model id>` of it: nothing else lives under an experiment.
    """
    path = clean_path(raw_path, allow_empty=False)
    head, _, rest = path.partition("/")
    model = _visible_models(user).filter(pk=int(head)).first() if head.isdigit() and len(head) < 19 else None
    if model is None:
        raise Http404(f"No experiment '{head}' that you can see.")
    if not rest:
        if allow_root:
            return Location(model, "")
        raise ValidationError({"path": ["Give a path under a run or a logged model."]})
    first, _, after = rest.partition("/")
    if RUN_ROOT.match(first):
        if not MlflowRun.objects.filter(run_uuid=first, version__model=model).exists():
            raise Http404(f"Run '{first}' not found in experiment {model.pk}.")
    elif first == "models" and after:
        logged_id = after.partition("/")[0]
        if not LOGGED_MODEL_ID.match(logged_id) or not LoggedModel.objects.filter(
                mlflow_id=logged_id, model=model).exists():
            raise Http404(f"Logged model '{logged_id}' not found in experiment {model.pk}.")
    elif first != "models":
        raise Http404(f"Nothing at '{path}': artifacts live under <run id>/artifacts/ or "
                      "models/<logged model id>/artifacts/.")
    return Location(model, rest)


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    name: str  # the last segment
    path: str  # relative to the listed directory's parent root
    is_dir: bool
    size: int | None = None
    sha256: str = ""
    content_type: str = ""
    updated_at: object = None


def artifact_get(*, model: AIModel, path: str) -> ArtifactFile | None:
    return ArtifactFile.objects.filter(model=model, path=path).first()


def artifact_list(*, model: AIModel, path: str) -> list[Entry]:
    """The immediate children of directory `path` (files with sizes, then directories), by name.

    A file's own path lists as [] (MLflow's rule), an unknown path as [] too.
    """
    prefix = f"{path}/" if path else ""
    rows = (ArtifactFile.objects.filter(model=model, path__startswith=prefix)
            .values_list("path", "size", "sha256", "content_type", "updated_at").order_by("path"))
    files, dirs = {}, set()
    for full, size, sha, ctype, updated in rows.iterator(chunk_size=2000):
        rest = full[len(prefix):]
        name, sep, _ = rest.partition("/")
        if sep:
            dirs.add(name)
        else:
            files[name] = Entry(name, prefix + name, False, size, sha, ctype, updated)
    out = [Entry(d, prefix + d, True) for d in sorted(dirs - set(files))]
    out.extend(files[n] for n in sorted(files))
    return sorted(out, key=lambda e: e.name)


def artifact_tree(*, model: AIModel, root: str, limit: int = 500) -> list[ArtifactFile]:
    """Every file under root (for the version page), by path."""
    return list(ArtifactFile.objects.filter(model=model, path__startswith=f"{root}/").order_by("path")[:limit])


def blob_chunks(blob: str, *, chunk: int = CHUNK):
    """The bytes of a blob, a chunk at a time, without holding the file in memory.

    Opens (and checks) the blob now, so a missing or linked file fails before a
    response starts; the returned iterator reads it as the response is sent.
    """
    store = storage()
    bucket = getattr(store, "bucket", None)
    if bucket is not None:  # S3: stream the object's body (S3File would spool it whole first)
        from storages.utils import clean_name

        try:
            body = bucket.Object(store._normalize_name(clean_name(blob))).get()["Body"]
        except Exception as exc:  # botocore's NoSuchKey and friends
            raise Http404(f"The artifact's stored object is missing ({type(exc).__name__}).") from None
        return _iter_close(body.iter_chunks(chunk), body)
    if hasattr(store, "path"):  # the file system: never follow a link, never leave the storage root
        root = os.path.realpath(store.location)
        full = store.path(blob)
        if os.path.islink(full) or not os.path.realpath(full).startswith(root + os.sep) or not os.path.isfile(full):
            raise Http404("The artifact's stored file is missing or not a regular file under the storage root.")
    try:
        fh = store.open(blob, "rb")
    except FileNotFoundError:
        raise Http404("The artifact's stored file is missing.") from None
    return _iter_close(iter(lambda: fh.read(chunk), b""), fh)


def _iter_close(it, closable):
    try:
        yield from it
    finally:
        closable.close()


# --- writes --------------------------------------------------------------------------------


class _TempFile(File):
    """A File with temporary_file_path(): FileSystemStorage moves it instead of copying."""

    def temporary_file_path(self):
        return self.file.name


def _tmp_dir() -> str:
    path = str(settings.MLFLOW_ARTIFACT_TMP_DIR)
    os.makedirs(path, exist_ok=True)
    return path


def _spool(chunks, *, expected: int | None, limit: int) -> tuple[str, int, str]:
    """Write chunks to a temporary file: (its path, size, sha256). Refuses past limit."""
    fd, tmp = tempfile.mkstemp(prefix="upload-", dir=_tmp_dir())
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for data in chunks:
                size += len(data)
                if size > limit:
                    raise TooLarge({"file": [f"The file is larger than the limit of {limit} bytes "
                                             "(MLFLOW_ARTIFACT_MAX_FILE_SIZE)."]})
                digest.update(data)
                out.write(data)
        if expected is not None and size != expected:
            raise ValidationError({"file": [f"The upload ended after {size} of {expected} bytes; nothing stored."]})
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size, digest.hexdigest()


def _blob_name(sha: str) -> str:
    return f"blobs/{sha[:2]}/{sha}"


def _store_blob(tmp: str, sha: str) -> str:
    name = _blob_name(sha)
    store = storage()
    try:
        if not store.exists(name):
            with open(tmp, "rb") as fh:
                saved = store.save(name, _TempFile(fh, name=name))
            if saved != name:  # two uploads of the same bytes at once: keep one copy
                store.delete(saved)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return name


def stream_chunks(stream, length: int | None, *, chunk: int = CHUNK):
    """Read a request body in chunks up to length (a WSGI input never signals its end otherwise)."""
    remaining = length
    while remaining is None or remaining > 0:
        data = stream.read(chunk if remaining is None else min(chunk, remaining))
        if not data:
            break
        if remaining is not None:
            remaining -= len(data)
        yield data


def artifact_upload(*, actor, location: Location, chunks, length: int | None, content_type: str = "") -> ArtifactFile:
    """Store one file at location (replacing what was there, as MLflow does). TRACK on the product."""
    require(actor, location.model.product_id, Action.TRACK)
    if not location.path or "/" not in location.path:
        raise ValidationError({"path": ["Give a file path under the run's or logged model's artifacts."]})
    limit = max_file_size()
    if length is not None and length > limit:
        raise TooLarge({"file": [f"The file is {length} bytes, over the limit of {limit} bytes "
                                 "(MLFLOW_ARTIFACT_MAX_FILE_SIZE)."]})
    if ArtifactFile.objects.filter(model=location.model, path__startswith=location.path + "/").exists():
        raise ValidationError({"path": [f"'{location.path}' is a directory of artifacts; pick another name."]})
    tmp, size, sha = _spool(chunks, expected=length, limit=limit)
    return _record(actor=actor, location=location, tmp=tmp, size=size, sha=sha, content_type=content_type)


def _record(*, actor, location: Location, tmp: str, size: int, sha: str, content_type: str) -> ArtifactFile:
    blob = _store_blob(tmp, sha)
    with transaction.atomic():
        parent_files = []
        parts = location.path.split("/")
        for i in range(1, len(parts)):
            parent_files.append("/".join(parts[:i]))
        if ArtifactFile.objects.filter(model=location.model, path__in=parent_files).exists():
            raise ValidationError({"path": [f"A parent of '{location.path}' is a file."]})
        row, created = ArtifactFile.objects.select_for_update().get_or_create(
            model=location.model, path=location.path,
            defaults={"blob": blob, "size": size, "sha256": sha, "content_type": content_type[:120],
                      "created_by": actor if getattr(actor, "is_authenticated", False) else None},
        )
        if not created:
            old_blob = row.blob
            row.blob, row.size, row.sha256, row.content_type = blob, size, sha, content_type[:120]
            row.save(update_fields=["blob", "size", "sha256", "content_type", "updated_at"])
            if old_blob != blob:
                transaction.on_commit(lambda: blobs_purge(blobs=[old_blob]))
    return row


def artifacts_delete(*, actor, location: Location) -> int:
    """Delete the file at location, or every file under it. TRACK; audited."""
    require(actor, location.model.product_id, Action.TRACK)
    if not location.path:
        raise ValidationError({"path": ["Refusing to delete every artifact of an experiment at once."]})
    with transaction.atomic():
        qs = ArtifactFile.objects.filter(Q(path=location.path) | Q(path__startswith=location.path + "/"),
                                         model=location.model)
        blobs = list(qs.values_list("blob", flat=True).distinct())
        count = qs.count()
        if not count:
            raise Http404(f"No artifact at '{location.path}'.")
        qs.delete()
        audit_record(actor=actor, action="mlflow_artifacts.deleted", product=location.model.product_id,
                     target=location.model, data={"path": location.path, "files": count})
        transaction.on_commit(lambda: blobs_purge(blobs=blobs))
    return count


def blobs_purge(*, blobs) -> int:
    """Delete blobs no ArtifactFile names any more. Safe to call twice."""
    blobs = set(blobs)
    if not blobs:
        return 0
    used = set(ArtifactFile.objects.filter(blob__in=blobs).values_list("blob", flat=True))
    store = storage()
    gone = 0
    for name in blobs - used:
        try:
            store.delete(name)
            gone += 1
        except FileNotFoundError:
            pass
    return gone


def artifacts_purge_on_commit(*, model_ids=None, product_id=None) -> None:
    """Before deleting AI models (or a product): delete their blobs once the deletion commits."""
    qs = ArtifactFile.objects.all()
    if product_id is not None:
        qs = qs.filter(model__product_id=product_id)
    else:
        qs = qs.filter(model_id__in=list(model_ids or []))
    blobs = list(qs.values_list("blob", flat=True).distinct())
    uploads = list(ArtifactUpload.objects.filter(
        model__product_id=product_id) if product_id is not None else ArtifactUpload.objects.filter(
        model_id__in=list(model_ids or [])))
    if blobs or uploads:
        upload_ids = [u.upload_id for u in uploads]
        transaction.on_commit(lambda: (blobs_purge(blobs=blobs), _parts_delete(upload_ids)))


# --- multipart uploads (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true) ------------------------------


def _part_name(upload_id: str, number: int) -> str:
    return f"uploads/{upload_id}/{number:05d}"


def _parts_delete(upload_ids) -> None:
    store = storage()
    for upload_id in upload_ids:
        try:
            _dirs, files = store.listdir(f"uploads/{upload_id}")
        except FileNotFoundError:
            continue
        for name in files:
            store.delete(f"uploads/{upload_id}/{name}")


def multipart_create(*, actor, location: Location, num_parts: int) -> ArtifactUpload:
    require(actor, location.model.product_id, Action.TRACK)
    if not location.path or "/" not in location.path:
        raise ValidationError({"path": ["Give a file path under the run's or logged model's artifacts."]})
    if not isinstance(num_parts, int) or not 1 <= num_parts <= MAX_PARTS:
        raise ValidationError({"num_parts": [f"Between 1 and {MAX_PARTS}."]})
    return ArtifactUpload.objects.create(upload_id=uuid.uuid4().hex, model=location.model, path=location.path,
                                         num_parts=num_parts, created_by=actor)


def part_token(upload: ArtifactUpload, number: int) -> str:
    return signing.dumps({"u": upload.upload_id, "p": number}, salt="mlflow-mpu")


def part_upload(*, token: str, chunks, length: int | None) -> str:
    """Store one part (the client sends parts without credentials: the signed URL is the credential)."""
    try:
        data = signing.loads(token, salt="mlflow-mpu", max_age=PART_URL_MAX_AGE)
    except signing.BadSignature:
        raise Http404("Unknown or expired part upload URL.") from None
    upload = ArtifactUpload.objects.filter(upload_id=data["u"]).first()
    if upload is None:
        raise Http404("The multipart upload is over (completed or aborted).")
    limit = max_file_size()
    if length is not None and length > limit:
        raise TooLarge({"file": [f"A part of {length} bytes is over the file limit of {limit} bytes."]})
    tmp, size, sha = _spool(chunks, expected=length, limit=limit)
    try:
        with open(tmp, "rb") as fh:
            name = _part_name(upload.upload_id, data["p"])
            store = storage()
            if store.exists(name):
                store.delete(name)
            store.save(name, _TempFile(fh, name=name))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return sha


def _upload_for(actor, location: Location, upload_id: str) -> ArtifactUpload:
    upload = ArtifactUpload.objects.filter(upload_id=upload_id or "", model=location.model,
                                           path=location.path).first()
    if upload is None:
        raise Http404(f"No multipart upload '{upload_id}' for '{location.path}'.")
    return upload


def multipart_complete(*, actor, location: Location, upload_id: str, part_numbers: list[int]) -> ArtifactFile:
    require(actor, location.model.product_id, Action.TRACK)
    upload = _upload_for(actor, location, upload_id)
    expected = list(range(1, upload.num_parts + 1))
    if sorted(part_numbers) != expected:
        raise ValidationError({"parts": [f"Send parts 1 to {upload.num_parts}, each once."]})
    store = storage()
    for n in expected:
        if not store.exists(_part_name(upload.upload_id, n)):
            raise ValidationError({"parts": [f"Part {n} was never uploaded."]})

    def chunks():
        for n in expected:
            yield from blob_chunks(_part_name(upload.upload_id, n))  # noqa: B023

    tmp, size, sha = _spool(chunks(), expected=None, limit=max_file_size())
    row = _record(actor=actor, location=location, tmp=tmp, size=size, sha=sha, content_type="")
    upload.delete()
    _parts_delete([upload.upload_id])
    return row


def multipart_abort(*, actor, location: Location, upload_id: str) -> None:
    require(actor, location.model.product_id, Action.TRACK)
    upload = _upload_for(actor, location, upload_id)
    upload.delete()
    _parts_delete([upload.upload_id])
