"""MLflow's model registry, mapped onto pmhub's AI models and versions (README, "MLflow").

- A registered model is an AI model, named `<product-slug>.<model-name>` (dots, as Unity
  Catalog names: a slash would break `models:/` URIs).
- A model version is a pmhub version registered from its run (or from a logged model
  of that run): it gets MLflow's number 1, 2, 3... within the model. A version is
  registered once; registering the same run again answers the same number.
- The legacy stage is the pmhub stage: None=development, Staging, Production, Archived.
  A transition to Production is a pmhub promotion (audited, in the stage history,
  the previous production version archived); a promotion in pmhub shows in MLflow.
- Aliases and tags are kept beside; setting or removing an alias is audited.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404

from kpis.ml import services as ml_services
from kpis.ml.mlflow import mapping as m, search
from kpis.ml.mlflow import selectors as sel
from kpis.ml.mlflow.errors import MlflowError, RESOURCE_ALREADY_EXISTS, invalid, not_found, unsupported
from kpis.ml.mlflow.logged_models import artifact_uri as logged_artifact_uri, logged_model_get_for_user
from kpis.ml.mlflow.models import LoggedModel, MlflowRun, RegisteredModelTag, RegisteredVersion, RegistryAlias
from kpis.ml.mlflow.services import AlreadyExists, datetime_to_ms
from kpis.ml.mlflow.views import pattern_route, route
from kpis.ml.models import AIModel, ModelVersion
from pmhub.audit import audit_record
from pmhub.permissions import require
from pmhub.roles import Action

STAGE_TO_MLFLOW = {"development": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
MLFLOW_TO_STAGE = {v.lower(): k for k, v in STAGE_TO_MLFLOW.items()}
MAX_RESULTS = 1000


def registered_name(model: AIModel) -> str:
    return f"{model.product.slug}.{model.name}"


def split_name(name: str) -> tuple[str, str]:
    slug, sep, model_name = (name or "").partition(".")
    if not sep or not slug or not model_name.strip():
        raise ValidationError({"name": [f"Registered model names in pmhub are '<product-slug>.<model-name>', "
                                        f"e.g. 'search.ranker'; got '{name}'."]})
    return slug, model_name.strip()


# --- reads ----------------------------------------------------------------------------------


def model_get_for_user(*, user, name: str) -> AIModel | None:
    slug, sep, model_name = (name or "").partition(".")
    if not sep:
        return None
    return sel.experiment_list_for_user(user=user).filter(product__slug=slug, name=model_name).first()


def aliases_for_model(*, model: AIModel) -> list[RegistryAlias]:
    return list(RegistryAlias.objects.filter(model=model).select_related("version__version").order_by("alias"))


def _versions(model: AIModel):
    return (RegisteredVersion.objects.filter(model=model)
            .select_related("version", "model__product", "logged_model", "version__mlflow_run")
            .order_by("number"))


# --- services -------------------------------------------------------------------------------


def registered_model_create(*, actor, name: str, description: str = "", tags: dict | None = None) -> AIModel:
    from products.selectors import product_list_for_user

    slug, model_name = split_name(name)
    product = product_list_for_user(user=actor).filter(slug=slug).first()
    if product is None:
        raise Http404(f"No product '{slug}' that you are a member of.")
    if AIModel.objects.filter(product=product, name=model_name).exists():
        raise AlreadyExists({"name": [f"Registered Model (name={name}) already exists."]})
    with transaction.atomic():
        model = ml_services.aimodel_create(actor=actor, product=product, name=model_name, description=description)
        for key, value in (tags or {}).items():
            RegisteredModelTag.objects.create(model=model, key=key, value=value)
    return model


def registered_model_tag_set(*, actor, model: AIModel, key: str, value: str | None) -> None:
    require(actor, model.product_id, Action.TRACK)
    if value is None:
        if not RegisteredModelTag.objects.filter(model=model, key=key).delete()[0]:
            raise Http404(f"No tag '{key}' on {registered_name(model)}.")
        return
    if not key or len(key) > 250 or len(value) > 8000:
        raise ValidationError({"key": ["Keys 1 to 250 characters, values at most 8000."]})
    RegisteredModelTag.objects.update_or_create(model=model, key=key, defaults={"value": value})


def model_version_register(*, actor, model: AIModel, run: MlflowRun, source: str = "",
                           logged: LoggedModel | None = None, description: str = "",
                           tags: dict | None = None) -> RegisteredVersion:
    """Give the run's version an MLflow number in its registered model (once)."""
    require(actor, model.product_id, Action.TRACK)
    if run.version.model_id != model.pk:
        raise ValidationError({"run_id": [
            f"The run belongs to experiment '{run.version.model.product.slug}/{run.version.model.name}', not to "
            f"'{registered_name(model)}': in pmhub a version stays in its model."]})
    with transaction.atomic():
        AIModel.objects.select_for_update().get(pk=model.pk)
        existing = RegisteredVersion.objects.filter(version=run.version).first()
        if existing is not None:
            return existing
        number = (RegisteredVersion.objects.filter(model=model).aggregate(n=Max("number"))["n"] or 0) + 1
        rv = RegisteredVersion.objects.create(version=run.version, model=model, number=number, source=source[:1024],
                                              logged_model=logged, description=description, tags=tags or {})
        audit_record(actor=actor, action="model_version.registered", product=model.product_id, target=run.version,
                     data={"model": model.name, "version": run.version.version, "mlflow_version": number})
    return rv


def registered_version_update(*, actor, rv: RegisteredVersion, description: str | None = None,
                              tag: tuple[str, str | None] | None = None) -> RegisteredVersion:
    require(actor, rv.model.product_id, Action.TRACK)
    with transaction.atomic():
        locked = RegisteredVersion.objects.select_for_update().get(pk=rv.pk)
        if description is not None:
            locked.description = description
        if tag is not None:
            key, value = tag
            if value is None:
                if key not in locked.tags:
                    raise Http404(f"No tag '{key}' on version {locked.number}.")
                locked.tags = {k: v for k, v in locked.tags.items() if k != key}
            else:
                if not key or len(key) > 250 or len(value) > 8000:
                    raise ValidationError({"key": ["Keys 1 to 250 characters, values at most 8000."]})
                locked.tags = {**locked.tags, key: value}
        locked.save()
    rv.refresh_from_db()
    return rv


def registry_alias_set(*, actor, model: AIModel, alias: str, rv: RegisteredVersion | None) -> None:
    """Point alias at rv (None removes it). TRACK; audited."""
    require(actor, model.product_id, Action.TRACK)
    if not alias or len(alias) > 255 or not alias.replace("_", "").replace("-", "").isalnum():
        raise ValidationError({"alias": ["Letters, digits, '-' and '_', at most 255 characters."]})
    if alias.lower() == "latest" or (alias[0].lower() == "v" and alias[1:].isdigit()):
        raise ValidationError({"alias": [f"'{alias}' is reserved by MLflow ('latest', 'v<number>')."]})
    with transaction.atomic():
        if rv is None:
            if not RegistryAlias.objects.filter(model=model, alias=alias).delete()[0]:
                raise Http404(f"No alias '{alias}' on {registered_name(model)}.")
        else:
            RegistryAlias.objects.update_or_create(model=model, alias=alias, defaults={"version": rv})
        audit_record(actor=actor, action="model_alias.set" if rv else "model_alias.deleted",
                     product=model.product_id, target=model,
                     data={"model": model.name, "alias": alias,
                           "version": rv.version.version if rv else None})


def registered_version_stage_set(*, actor, rv: RegisteredVersion, stage: str) -> RegisteredVersion:
    """MLflow's stage transition: Production is a pmhub promotion, the rest a stage change."""
    target = MLFLOW_TO_STAGE.get((stage or "").lower())
    if target is None:
        raise ValidationError({"stage": [f"Choose one of {', '.join(STAGE_TO_MLFLOW.values())}; got '{stage}'."]})
    note = f"MLflow stage transition to {STAGE_TO_MLFLOW[target]}"
    try:
        if target == ModelVersion.Stage.PRODUCTION:
            ml_services.model_version_promote(actor=actor, version=rv.version, note=note)
        else:
            ml_services.model_version_stage_set(actor=actor, version=rv.version, stage=target, note=note)
    except ml_services.PromotionConflict as exc:
        raise ValidationError({"stage": [str(exc)]}) from None
    rv.version.refresh_from_db()
    return rv


# --- JSON ---------------------------------------------------------------------------------


def version_json(rv: RegisteredVersion, aliases: list[str] | None = None) -> dict:
    version = rv.version
    run = getattr(version, "mlflow_run", None)
    out = {
        "name": registered_name(rv.model),
        "version": str(rv.number),
        "creation_timestamp": datetime_to_ms(rv.created_at),
        "last_updated_timestamp": datetime_to_ms(max(rv.updated_at, version.stage_changed_at)),
        "current_stage": STAGE_TO_MLFLOW[version.stage],
        "description": rv.description,
        "source": rv.source,
        "status": "READY",
        "tags": [{"key": k, "value": v} for k, v in sorted(rv.tags.items())],
        "aliases": aliases if aliases is not None else list(
            RegistryAlias.objects.filter(version=rv).values_list("alias", flat=True)),
    }
    if run is not None:
        out["run_id"] = run.run_uuid
    if rv.logged_model_id:
        out["model_id"] = rv.logged_model.mlflow_id
    return out


def model_json(model: AIModel, *, with_latest: bool = True) -> dict:
    aliases = aliases_for_model(model=model)
    by_version = {}
    for a in aliases:
        by_version.setdefault(a.version_id, []).append(a.alias)
    out = {
        "name": registered_name(model),
        "creation_timestamp": datetime_to_ms(model.created_at),
        "last_updated_timestamp": datetime_to_ms(model.updated_at),
        "description": model.description,
        "tags": [{"key": t.key, "value": t.value} for t in RegisteredModelTag.objects.filter(model=model)
                 .order_by("key")],
        "aliases": [{"alias": a.alias, "version": str(a.version.number)} for a in aliases],
    }
    if with_latest:
        latest = {}
        for rv in _versions(model):
            latest[rv.version.stage] = rv
        out["latest_versions"] = [version_json(rv, by_version.get(rv.pk, [])) for rv in latest.values()]
    return out


# --- endpoints --------------------------------------------------------------------------------


def _filter(data) -> list:
    """The search filter; MLflow 3's client adds `tags.mlflow.prompt.is_prompt != 'true'` to keep
    prompts out: pmhub keeps no prompts, so that clause holds for every model."""
    clauses = search.parse_filter(m.get_str(data, "filter"), default_entity="attributes")
    return [c for c in clauses if not (c.entity == "tags" and c.key == "mlflow.prompt.is_prompt" and c.op == "!=")]


def _model(user, data, field="name") -> AIModel:
    name = m.get_str(data, field, required=True)
    model = model_get_for_user(user=user, name=name)
    if model is None:
        raise not_found(f"Registered Model with name={name} not found")
    return model


def _rv(user, data) -> RegisteredVersion:
    model = _model(user, data)
    number = m.get_int(data, "version", required=True)
    rv = _versions(model).filter(number=number).first()
    if rv is None:
        raise not_found(f"Model Version (name={registered_name(model)}, version={number}) not found")
    return rv


@route("registered-models/create", "POST")
def create_registered_model(user, data):
    tags = dict(m.key_values(m.get_list(data, "tags"), "tags"))
    name = m.get_str(data, "name", required=True)
    try:
        model = registered_model_create(actor=user, name=name, description=data.get("description") or "", tags=tags)
    except AlreadyExists as exc:
        raise MlflowError(f"Registered Model (name={name}) already exists.", RESOURCE_ALREADY_EXISTS) from exc
    return {"registered_model": model_json(model)}


@route("registered-models/get", "GET")
def get_registered_model(user, data):
    return {"registered_model": model_json(_model(user, data))}


@route("registered-models/rename", "POST")
def rename_registered_model(user, data):
    model = _model(user, data)
    slug, new_name = split_name(m.get_str(data, "new_name", required=True))
    if slug != model.product.slug:
        raise invalid(f"A registered model stays on its product: the new name must start with '{model.product.slug}.'.")
    model = ml_services.aimodel_update(actor=user, model=model, name=new_name)
    return {"registered_model": model_json(model)}


@route("registered-models/update", "PATCH", "POST")
def update_registered_model(user, data):
    model = ml_services.aimodel_update(actor=user, model=_model(user, data), description=data.get("description") or "")
    return {"registered_model": model_json(model)}


@route("registered-models/delete", "DELETE")
def delete_registered_model(user, data):
    ml_services.aimodel_delete(actor=user, model=_model(user, data))
    return {}


@route("registered-models/search", "GET", "POST")
def search_registered_models(user, data):
    max_results = m.get_int(data, "max_results", default=100)
    if not 1 <= max_results <= MAX_RESULTS:
        raise invalid(f"max_results must be between 1 and {MAX_RESULTS}.")
    clauses = _filter(data)
    offset = m.page_offset(m.get_str(data, "page_token"))
    rows = []
    for model in sel.experiment_list_for_user(user=user):
        tags = dict(RegisteredModelTag.objects.filter(model=model).values_list("key", "value"))
        rows.append({"attributes": {"name": registered_name(model)}, "tags": tags, "params": {}, "metrics": {},
                     "model": model})
    rows = [r for r in rows if search.matches(r, clauses)]
    rows.sort(key=lambda r: r["attributes"]["name"])
    page = rows[offset:offset + max_results]
    out = {"registered_models": [model_json(r["model"]) for r in page]}
    if offset + max_results < len(rows):
        out["next_page_token"] = m.page_token(offset + max_results)
    return out


@route("registered-models/get-latest-versions", "GET", "POST")
def get_latest_versions(user, data):
    model = _model(user, data)
    stages = data.get("stages") or []
    stages = [stages] if isinstance(stages, str) else stages
    wanted = {MLFLOW_TO_STAGE.get(str(s).lower()) for s in stages} if stages else None
    latest = {}
    for rv in _versions(model):
        latest[rv.version.stage] = rv
    return {"model_versions": [version_json(rv) for stage, rv in latest.items() if wanted is None or stage in wanted]}


@route("registered-models/set-tag", "POST")
def set_registered_model_tag(user, data):
    registered_model_tag_set(actor=user, model=_model(user, data), key=m.get_str(data, "key", required=True),
                             value=str(data.get("value") or ""))
    return {}


@route("registered-models/delete-tag", "DELETE")
def delete_registered_model_tag(user, data):
    registered_model_tag_set(actor=user, model=_model(user, data), key=m.get_str(data, "key", required=True),
                             value=None)
    return {}


@pattern_route("registered-models/alias", "POST", "DELETE", "GET")
def alias(user, data, method):
    model = _model(user, data)
    name = m.get_str(data, "alias", required=True)
    if method == "POST":
        rv = _rv(user, data)
        registry_alias_set(actor=user, model=model, alias=name, rv=rv)
        return {}
    found = RegistryAlias.objects.filter(model=model, alias=name).select_related("version").first()
    if found is None:
        raise not_found(f"Registered model alias {name} not found.")
    if method == "DELETE":
        registry_alias_set(actor=user, model=model, alias=name, rv=None)
        return {}
    return {"model_version": version_json(_versions(model).get(pk=found.version_id))}


@route("model-versions/create", "POST")
def create_model_version(user, data):
    model = _model(user, data)
    source = m.get_str(data, "source") or ""
    run_id = m.get_str(data, "run_id")
    logged = None
    model_id = m.get_str(data, "model_id")
    if not model_id and source.startswith("models:/m-"):
        model_id = source[len("models:/"):].split("/")[0]
    if model_id:
        logged = logged_model_get_for_user(user=user, mlflow_id=model_id)
        if logged is None:
            raise not_found(f"Logged model '{model_id}' not found.")
    run = None
    if run_id:
        run = sel.run_get_for_user(user=user, run_id=run_id)
        if run is None:
            raise not_found(f"Run '{run_id}' not found.")
    elif logged is not None and logged.source_run_id:
        run = MlflowRun.objects.select_related("version__model__product").get(pk=logged.source_run_id)
    if run is None:
        raise invalid("pmhub registers versions from runs: give run_id, or a source logged model "
                      "(models:/<model id>) that a run produced.")
    rv = model_version_register(actor=user, model=model, run=run, source=source, logged=logged,
                                description=data.get("description") or "",
                                tags=dict(m.key_values(m.get_list(data, "tags"), "tags")))
    return {"model_version": version_json(_versions(model).get(pk=rv.pk))}


@route("model-versions/get", "GET")
def get_model_version(user, data):
    return {"model_version": version_json(_rv(user, data))}


@route("model-versions/update", "PATCH", "POST")
def update_model_version(user, data):
    rv = registered_version_update(actor=user, rv=_rv(user, data), description=data.get("description") or "")
    return {"model_version": version_json(rv)}


@route("model-versions/delete", "DELETE")
def delete_model_version(user, data):
    raise unsupported("pmhub keeps every version (stage history and audit name it); archive it instead "
                      "(transition_model_version_stage(..., 'Archived')).")


@route("model-versions/search", "GET", "POST")
def search_model_versions(user, data):
    max_results = m.get_int(data, "max_results", default=10_000)
    if not 1 <= max_results <= 200_000:
        raise invalid("max_results must be between 1 and 200000.")
    clauses = _filter(data)
    offset = m.page_offset(m.get_str(data, "page_token"))
    models = list(sel.experiment_list_for_user(user=user))
    names = [c.value for c in clauses if c.entity == "attributes" and c.key == "name" and c.op == "="]
    if names:
        models = [x for x in models if registered_name(x) in names]
    rows = []
    for model in models:
        for rv in _versions(model):
            run = getattr(rv.version, "mlflow_run", None)
            rows.append({"attributes": {"name": registered_name(model), "version": rv.number,
                                        "version_number": rv.number, "run_id": run.run_uuid if run else "",
                                        "source_path": rv.source, "current_stage": STAGE_TO_MLFLOW[rv.version.stage]},
                         "tags": rv.tags, "params": {}, "metrics": {}, "rv": rv})
    rows = [r for r in rows if search.matches(r, clauses)]
    rows.sort(key=lambda r: (r["attributes"]["name"], -r["attributes"]["version"]))
    page = rows[offset:offset + max_results]
    out = {"model_versions": [version_json(r["rv"]) for r in page]}
    if offset + max_results < len(rows):
        out["next_page_token"] = m.page_token(offset + max_results)
    return out


@route("model-versions/get-download-uri", "GET")
def get_download_uri(user, data):
    rv = _rv(user, data)
    if rv.logged_model_id:
        return {"artifact_uri": logged_artifact_uri(rv.logged_model)}
    run = rv.version.mlflow_run
    source = rv.source
    base = f"mlflow-artifacts:/{rv.model_id}/{run.run_uuid}/artifacts"
    if source.startswith(f"runs:/{run.run_uuid}/"):
        return {"artifact_uri": f"{base}/{source.split('/', 2)[2]}"}
    return {"artifact_uri": base}


@route("model-versions/transition-stage", "POST")
def transition_stage(user, data):
    rv = registered_version_stage_set(actor=user, rv=_rv(user, data), stage=m.get_str(data, "stage", required=True))
    return {"model_version": version_json(rv)}


@route("model-versions/set-tag", "POST")
def set_model_version_tag(user, data):
    registered_version_update(actor=user, rv=_rv(user, data),
                              tag=(m.get_str(data, "key", required=True), str(data.get("value") or "")))
    return {}


@route("model-versions/delete-tag", "DELETE")
def delete_model_version_tag(user, data):
    registered_version_update(actor=user, rv=_rv(user, data), tag=(m.get_str(data, "key", required=True), None))
    return {}
