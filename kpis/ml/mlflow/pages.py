"""Browser pages under /mlflow/: the run link the MLflow client prints lands on pmhub's model page.

`/mlflow/#/experiments/<id>/runs/<run id>` sends only `/mlflow/` to the server; a static
script (no inline script: the CSP forbids it) reads the fragment and goes to
`/mlflow/runs/<run id>/`, which redirects to the model page at that run's row.
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from kpis.ml.mlflow import selectors as sel


@login_required
def ui(request):
    return render(request, "kpis/ml/mlflow_link.html")


def _model_page(model, anchor: str = ""):
    url = reverse("models:detail", args=[model.product.slug, model.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
def run_page(request, run_id: str):
    run = sel.run_get_for_user(user=request.user, run_id=run_id)
    if run is None:
        raise Http404("No such MLflow run (or not visible to you).")
    return _model_page(run.version.model, f"run-{run.run_uuid}")


@login_required
def experiment_page(request, experiment_id: str):
    model = sel.experiment_get_for_user(user=request.user, experiment_id=experiment_id)
    if model is None:
        raise Http404("No such experiment (or not visible to you).")
    return _model_page(model)


@login_required
def registered_model_page(request, name: str):
    from kpis.ml.mlflow.registry import model_get_for_user

    model = model_get_for_user(user=request.user, name=name)
    if model is None:
        raise Http404("No such registered model (or not visible to you).")
    return _model_page(model, "mlflow-runs-title")


PREVIEW_TEXT = {".txt", ".log", ".json", ".yaml", ".yml", ".md", ".csv", ".tsv", ".py", ".cfg", ".ini", ".toml",
                ".html", ".xml", ".mlmodel", ".MLmodel"}
PREVIEW_IMAGE = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                 ".webp": "image/webp"}  # never SVG: it can carry script
MAX_TEXT_PREVIEW = 64 * 1024
MAX_PREVIEWS = 20


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name == "MLmodel":
        return ".mlmodel"
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _run_for(request, run_id):
    run = sel.run_get_for_user(user=request.user, run_id=run_id)
    if run is None:
        raise Http404("No such MLflow run (or not visible to you).")
    return run


def _preview(row, ext):
    import csv
    import io

    from kpis.ml.mlflow.artifacts import blob_chunks

    data = b""
    for chunk in blob_chunks(row.blob, chunk=MAX_TEXT_PREVIEW):
        data += chunk
        if len(data) >= MAX_TEXT_PREVIEW:
            break
    text = data[:MAX_TEXT_PREVIEW].decode("utf-8", errors="replace")
    if ext in (".csv", ".tsv"):
        rows = list(csv.reader(io.StringIO(text), delimiter="\t" if ext == ".tsv" else ","))[:50]
        return {"kind": "table", "rows": [[c[:200] for c in r[:30]] for r in rows]}
    if ext == ".json":
        import json

        try:
            text = json.dumps(json.loads(text), indent=2)[:MAX_TEXT_PREVIEW]
        except ValueError:
            pass
    return {"kind": "text", "text": text, "cut": row.size > MAX_TEXT_PREVIEW}


@login_required
def run_artifacts(request, run_id: str):
    """The run's artifact tree (its files and the models it logged) with sizes, downloads and previews."""
    from kpis.ml.mlflow.artifacts import artifact_tree
    from kpis.ml.mlflow.logged_models import logged_models_for_run

    run = _run_for(request, run_id)
    model = run.version.model
    roots = [(f"Run {run.version.version}", f"{run.run_uuid}/artifacts")]
    roots += [(f"Logged model {lm.name} ({lm.mlflow_id})", f"models/{lm.mlflow_id}/artifacts")
              for lm in logged_models_for_run(run=run)]
    sections, previews = [], 0
    for title, root in roots:
        files = []
        for row in artifact_tree(model=model, root=root):
            rel = row.path[len(root) + 1:]
            ext = _ext(rel)
            preview = None
            if previews < MAX_PREVIEWS:
                try:
                    if ext in PREVIEW_IMAGE and row.size <= 10 * 1024 * 1024:
                        preview = {"kind": "image"}
                    elif ext in PREVIEW_TEXT:
                        preview = _preview(row, ext)
                except Http404:
                    preview = {"kind": "missing"}
                previews += preview is not None
            files.append({"row": row, "rel": rel, "depth": rel.count("/"), "preview": preview,
                          "url": reverse("mlflow:run-artifact-file", args=[run.run_uuid, row.path])})
        sections.append({"title": title, "root": root, "files": files})
    return render(request, "kpis/ml/mlflow_artifacts.html", {
        "run": run, "model": model, "product": model.product, "sections": sections,
        "model_url": reverse("models:detail", args=[model.product.slug, model.pk]) + f"#run-{run.run_uuid}",
    })


@login_required
def run_artifact_file(request, run_id: str, path: str):
    """Download one file (images inline for the previews; everything else as an attachment)."""
    from urllib.parse import quote

    from django.http import StreamingHttpResponse

    from kpis.ml.mlflow.artifacts import artifact_get, blob_chunks
    from kpis.ml.mlflow.logged_models import logged_models_for_run

    run = _run_for(request, run_id)
    allowed = [f"{run.run_uuid}/artifacts/"] + [f"models/{lm.mlflow_id}/artifacts/"
                                                for lm in logged_models_for_run(run=run)]
    if not path.startswith(tuple(allowed)):
        raise Http404("Not an artifact of this run.")
    row = artifact_get(model=run.version.model, path=path)
    if row is None:
        raise Http404("No such artifact.")
    name = path.rsplit("/", 1)[-1]
    image = PREVIEW_IMAGE.get(_ext(name))
    resp = StreamingHttpResponse(blob_chunks(row.blob), content_type=image or "application/octet-stream")
    resp["Content-Length"] = str(row.size)
    resp["Content-Disposition"] = f"{'inline' if image else 'attachment'}; filename*=UTF-8''{quote(name, safe='')}"
    resp["X-Checksum-Sha256"] = row.sha256
    resp["X-Content-Type-Options"] = "nosniff"
    return resp
