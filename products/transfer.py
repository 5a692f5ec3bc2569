"""Export one product, with everything that belongs to it, to a file; import it back.

What belongs to a product is discovered from the models, so apps added later
are included without changes here:
- every row whose foreign key to something already collected deletes with it
  (CASCADE or PROTECT), starting from the product: memberships, roadmap, KPIs,
  their alerts, models, feedback...;
- every row a collected row owns through a one-to-one field (a KPI's Series),
  and in turn what belongs to that (the Series' points and rollups).
Rows that only point at the product and survive its deletion (SET_NULL, such
as the audit trail) are not the product's. Users are referenced by username;
import creates the missing ones inactive, without a usable password.

The file is JSON Lines: a header line, the users, then Django's serialisation
of the objects (timestamps to the microsecond), parents before children. Import gives every row
a new primary key and rewrites the references, so a product can be imported
into a database that already holds others (or next to itself, as a copy).

Some ids are unique across the whole database, not within a product: an MLflow
run id, a logged model's id, a public link's token (a field with unique=True or
a one-field UniqueConstraint that is not a foreign key). Import keeps them, so a
product moved to another pmhub keeps its run ids, unless one is taken already
(a copy next to the original, or a second copy): then that row gets a fresh id of
the same form, and every text and JSON field of the imported rows that names the
old id names the new one (artifact paths `<run id>/artifacts/...`, `runs:/` and
`models:/` URIs, tags). A model may also say where text names its rows by primary
key (`transfer_pk_in_text`, regular expressions with a group `pk`): such text
follows the row's new primary key (`mlflow-artifacts:/<experiment id>/...`).
"""
from __future__ import annotations

import datetime
import json
import re
import secrets
import tempfile
import uuid
from collections import Counter, defaultdict

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction

FORMAT = "pmhub-product"
VERSION = 1
OWNED_ON_DELETE = (models.CASCADE, models.PROTECT)
BATCH = 2000


def _is_shared(model) -> bool:
    """Models that are referenced but never owned by a product."""
    return model is get_user_model() or model._meta.app_label in ("contenttypes", "auth", "sessions", "admin")


def _reverse_owned_fields():
    """(model, field) for every FK or one-to-one whose rows go with their target."""
    out = []
    for model in apps.get_models():
        if _is_shared(model):
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.many_to_one or getattr(field, "one_to_one", False):
                if field.remote_field.on_delete in OWNED_ON_DELETE:
                    out.append((model, field))
    return out


def collect(product) -> dict:
    """{model: set of pks} of everything that belongs to product."""
    collected: dict = defaultdict(set)
    collected[type(product)].add(product.pk)
    reverse = _reverse_owned_fields()
    changed = True
    while changed:
        changed = False
        # Rows that go with a collected row.
        for model, field in reverse:
            target = field.remote_field.model
            if target not in collected:
                continue
            pks = set(model._base_manager.filter(**{f"{field.attname}__in": collected[target]})
                      .values_list("pk", flat=True))
            if not pks <= collected[model]:
                collected[model] |= pks
                changed = True
        # Rows a collected row owns through a one-to-one field (a KPI's Series).
        for model in list(collected):
            for field in model._meta.concrete_fields:
                if not getattr(field, "one_to_one", False) or _is_shared(field.remote_field.model):
                    continue
                if field.remote_field.model is model or field.primary_key:
                    continue
                pks = set(model._base_manager.filter(pk__in=collected[model]).exclude(**{field.attname: None})
                          .values_list(field.attname, flat=True))
                target = field.remote_field.model
                if not pks <= collected[target]:
                    collected[target] |= pks
                    changed = True
    return collected


def _ordered(models_: list) -> list:
    """Parents before children among the collected models (self-references aside)."""
    remaining = list(models_)
    ordered = []
    while remaining:
        for model in remaining:
            deps = {
                f.remote_field.model for f in model._meta.concrete_fields
                if f.is_relation and f.remote_field.model in remaining and f.remote_field.model is not model
            }
            if not deps:
                ordered.append(model)
                remaining.remove(model)
                break
        else:  # a cycle: keep the rest in label order, nullable references are fixed afterwards
            ordered.extend(sorted(remaining, key=lambda m: m._meta.label))
            break
    return ordered


def product_export(*, product, stream) -> dict:
    """Write product and all that belongs to it to a text stream; returns {model label: count}."""
    collected = collect(product)
    order = _ordered(sorted(collected, key=lambda m: m._meta.label))
    User = get_user_model()
    user_ids = set()
    for model in order:
        for field in model._meta.concrete_fields:
            if field.is_relation and field.remote_field.model is User:
                user_ids |= set(model._base_manager.filter(pk__in=collected[model]).exclude(**{field.attname: None})
                                .values_list(field.attname, flat=True))
        for field in model._meta.many_to_many:
            if field.remote_field.model is User:
                user_ids |= set(model._base_manager.filter(pk__in=collected[model])
                                .values_list(f"{field.name}__pk", flat=True)) - {None}
    counts = {m._meta.label: len(collected[m]) for m in order}
    stream.write(json.dumps({"format": FORMAT, "version": VERSION, "product": product.slug, "counts": counts}) + "\n")
    for user in User.objects.filter(pk__in=user_ids).order_by("pk"):
        stream.write(json.dumps({"user": {"username": user.get_username(), "email": user.email,
                                          "first_name": user.first_name, "last_name": user.last_name}}) + "\n")
    for model in order:
        qs = model._base_manager.filter(pk__in=collected[model]).order_by("pk")
        for start in range(0, len(collected[model]), BATCH):
            chunk = qs[start:start + BATCH]
            # Users (and content types) by natural key: a username means the same in any database.
            for record in serializers.serialize("python", chunk, use_natural_foreign_keys=True):
                stream.write(json.dumps(record, cls=_LosslessEncoder) + "\n")
    return counts


class _LosslessEncoder(DjangoJSONEncoder):
    """Django's encoder cuts datetimes to milliseconds; a point's timestamp must survive whole."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


def _fk_fields(model):
    return [f for f in model._meta.concrete_fields if f.is_relation and (f.many_to_one or f.one_to_one)]


# --- ids unique across the whole database -------------------------------------------------------

HEX_ID = re.compile(r"(?P<prefix>[A-Za-z]{0,8}-?)(?P<core>[0-9a-f]{32})")  # run ids, m-<hex> model ids
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOKEN = re.compile(r"(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])[A-Za-z0-9_-]{16,}")  # secrets.token_urlsafe; not a slug
HEX_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[0-9a-f]{32}(?![A-Za-z0-9])")
TOKEN_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])")
RECORD_MODEL = re.compile(r'^\{"model": "([A-Za-z0-9_]+\.[A-Za-z0-9_]+)"')
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def _global_unique_fields(model) -> list:
    """Fields unique across the whole table (not within a product): a copy next to the original
    would clash on them. Foreign keys are left out: import gives their targets new ids anyway."""
    fields = [f for f in model._meta.concrete_fields if f.unique and not f.primary_key and not f.is_relation]
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and len(constraint.fields) == 1:
            field = model._meta.get_field(constraint.fields[0])
            if not field.is_relation and field not in fields:
                fields.append(field)
    return fields


def _text_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.is_relation and isinstance(f, TEXT_FIELDS)]


class _Ids:
    """The new values of the ids that are taken in this database, and text rewritten to match."""

    def __init__(self):
        self.values: dict = defaultdict(dict)  # (model, field name) -> {old: new}
        self.hex: dict = {}  # old 32-hex core -> new, for run ids and m-<hex> anywhere in text
        self.tokens: dict = {}  # old token -> new
        self.pk_patterns: list = []  # (compiled pattern with a group "pk", model whose pk it is)
        self._plans: dict = {}  # model -> ([(attname, {old: new})], text fields)

    def fresh(self, model, field, taken: set, existing: set) -> None:
        """Give every value of field in `taken` (held by other rows already) a new one that is free."""
        if not isinstance(field, (models.CharField, models.TextField)):
            raise ValidationError({"file": [
                f"{model._meta.label}.{field.name} {sorted(taken)[:3]} is taken in this pmhub and pmhub cannot "
                "make a fresh value of that kind."]})
        new: dict = {}
        pending = set(taken)
        for attempt in range(20):
            for old in pending:
                new[old] = self._like(old, field, attempt)
            counts = Counter(new.values())
            in_db = set(model._base_manager.filter(**{f"{field.attname}__in": [new[o] for o in pending]})
                        .values_list(field.attname, flat=True))
            pending = {o for o in pending if new[o] in in_db or new[o] in existing or counts[new[o]] > 1}
            if not pending:
                break
        else:
            raise ValidationError({"file": [f"Could not find free values for {model._meta.label}.{field.name}."]})
        for old, value in new.items():
            self.values[(model, field.name)][old] = value
            match = HEX_ID.fullmatch(old)
            if match:
                self.hex[match["core"]] = HEX_ID.fullmatch(value)["core"]
            elif UUID_TEXT.fullmatch(old) or TOKEN.fullmatch(old):
                self.tokens[old] = value

    @staticmethod
    def _like(old: str, field, attempt: int) -> str:
        """A new value of the same form: a new run id for a run id, a new token for a token, and
        `<value>-copy` for anything else (a name or a slug, left as it is where text mentions it)."""
        match = HEX_ID.fullmatch(old)
        if match:
            return match["prefix"] + uuid.uuid4().hex
        if UUID_TEXT.fullmatch(old):
            return str(uuid.uuid4())
        if TOKEN.fullmatch(old):
            return secrets.token_urlsafe(len(old))[:len(old)]
        suffix = "-copy" if attempt == 0 else f"-copy-{attempt + 1}"
        limit = getattr(field, "max_length", None) or len(old) + len(suffix)
        return old[:limit - len(suffix)] + suffix

    def rewrite(self, obj, model, pk_map) -> None:
        """Set obj's unique ids to their new values, and rewrite every text or JSON field naming an old one."""
        plan = self._plans.get(model)
        if plan is None:
            plan = self._plans[model] = (
                [(model._meta.get_field(name).attname, mapping)
                 for (target, name), mapping in self.values.items() if target is model],
                _text_fields(model))
        own, text_fields = plan
        for attname, mapping in own:
            old = getattr(obj, attname)
            if old in mapping:
                setattr(obj, attname, mapping[old])
        if not text_fields:
            return
        patterns = [(p, target) for p, target in self.pk_patterns if pk_map.get(target)]
        if not (self.hex or self.tokens or patterns):
            return

        def text(value: str) -> str:
            if self.hex:
                value = HEX_IN_TEXT.sub(lambda m: self.hex.get(m[0], m[0]), value)
            if self.tokens:
                value = TOKEN_IN_TEXT.sub(lambda m: self.tokens.get(m[0], m[0]), value)
            for pattern, target in patterns:
                value = pattern.sub(lambda m, t=target: _new_pk_in(m, pk_map[t], t), value)
            return value

        def walk(value):
            if isinstance(value, str):
                return text(value)
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, dict):
                return {walk(k): walk(v) for k, v in value.items()}
            return value

        for field in text_fields:
            value = getattr(obj, field.attname)
            if value is not None:
                setattr(obj, field.attname, walk(value))


def _new_pk_in(match, mapping: dict, model) -> str:
    try:
        old = model._meta.pk.to_python(match["pk"])
    except ValidationError:
        return match[0]
    if old not in mapping:
        return match[0]  # names a row outside the export: left as it is
    start, end = match.start("pk") - match.start(0), match.end("pk") - match.start(0)
    return match[0][:start] + str(mapping[old]) + match[0][end:]


def _pk_in_text_patterns() -> list:
    out = []
    for model in apps.get_models():
        for pattern in getattr(model, "transfer_pk_in_text", ()):
            out.append((re.compile(pattern), model))
    return out


def _replayable(stream):
    """(stream, position): the rest of stream, to be read twice. A file is rewound; anything that
    cannot seek is spooled to a temporary file first."""
    try:
        seekable = stream.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if not seekable:
        spool = tempfile.TemporaryFile("w+", encoding="utf-8")
        for line in stream:
            spool.write(line.decode("utf-8") if isinstance(line, bytes) else line)
        spool.seek(0)
        return spool, 0
    return stream, stream.tell()


def _unique_values_in(lines, wanted: dict) -> dict:
    """{(model, field name): set of values} of the wanted fields ({label: (model, fields)}) in the file."""
    found: dict = defaultdict(set)
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        match = RECORD_MODEL.match(line)
        if match and match[1].lower() not in wanted:
            continue
        if not line.strip():
            continue
        record = json.loads(line)
        label = str(record.get("model", "")).lower()
        if label not in wanted:
            continue
        model, fields = wanted[label]
        for field in fields:
            value = (record.get("fields") or {}).get(field.name)
            if value is not None:
                found[(model, field.name)].add(value)
    return found


def _ids_for(found: dict) -> _Ids:
    """New values for the ids of the file that other rows of this database hold already."""
    ids = _Ids()
    ids.pk_patterns = _pk_in_text_patterns()
    for (model, name), values in found.items():
        field = model._meta.get_field(name)
        values = list(values)
        taken = set()
        for start in range(0, len(values), BATCH):
            taken |= set(model._base_manager.filter(**{f"{field.attname}__in": values[start:start + BATCH]})
                         .values_list(field.attname, flat=True))
        if taken:
            ids.fresh(model, field, taken, existing=set(values))
    return ids


def product_import(*, stream, slug: str | None = None) -> "models.Model":
    """Read a file written by product_export; returns the new product. All or nothing.

    Ids unique across the database (MLflow run ids...) are kept unless taken, as the
    module's docstring says. A rule of the database that the file still breaks is a
    clear error, and nothing is written.
    """
    try:
        with transaction.atomic():
            return _import(stream=stream, slug=slug)
    except IntegrityError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError({"file": [f"The import breaks a rule of this database and was undone: {detail}"]}) \
            from exc


def _import(*, stream, slug: str | None) -> "models.Model":
    from products.models import Product

    header = json.loads(stream.readline() or "{}")
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValidationError({"file": ["This is not a pmhub product export (version 1)."]})
    stream, start = _replayable(stream)
    wanted = {}
    for model in apps.get_models():
        fields = [] if model is Product or _is_shared(model) else _global_unique_fields(model)
        if fields:
            wanted[model._meta.label_lower] = (model, fields)
    fresh = _ids_for(_unique_values_in(stream, wanted))
    stream.seek(start)
    pk_in_text = {model for _pattern, model in fresh.pk_patterns}
    User = get_user_model()
    lines = iter(stream)
    first_object = None
    for line in lines:
        record = json.loads(line)
        if "user" not in record:
            first_object = line
            break
        data = record["user"]
        user, created = User.objects.get_or_create(
            username=data["username"],
            defaults={"email": data.get("email", ""), "first_name": data.get("first_name", ""),
                      "last_name": data.get("last_name", ""), "is_active": False},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])

    def objects():
        if first_object is not None:
            yield first_object
        yield from lines

    pk_map: dict = defaultdict(dict)
    deferred = []  # (model, old pk, field attname, old target pk): self references, set at the end
    m2m = []  # (model, old pk, field name, old target pks): set once every row exists
    bulk: dict = defaultdict(list)
    product = None

    def flush(model):
        if bulk[model]:
            fields = [f for f in model._meta.concrete_fields if not f.primary_key]
            model._base_manager._insert(bulk[model], fields=fields, raw=True)
            bulk[model] = []

    leaf_models = set()
    seen_models = []
    for line in objects():
        if not line.strip():
            continue
        for deserialized in serializers.deserialize("python", [json.loads(line)], ignorenonexistent=True,
                                                    handle_forward_references=True):
            obj = deserialized.object
            model = type(obj)
            if model not in seen_models:
                for previous in seen_models:
                    flush(previous)
                seen_models.append(model)
                referenced = any(
                    f.remote_field.model is model
                    for m in apps.get_models() for f in _fk_fields(m)
                ) or any(f.remote_field.model is model for m in apps.get_models() for f in m._meta.many_to_many)
                if not referenced and model not in pk_in_text:  # text is rewritten with their new pks
                    leaf_models.add(model)
            old_pk = obj.pk
            for field in _fk_fields(model):
                old = getattr(obj, field.attname)
                if old is None:
                    continue
                target = field.remote_field.model
                if _is_shared(target):
                    continue  # resolved by natural key while reading
                if target in pk_map and old in pk_map[target]:
                    setattr(obj, field.attname, pk_map[target][old])
                elif target is model:
                    setattr(obj, field.attname, None)
                    deferred.append((model, old_pk, field.attname, old))
            fresh.rewrite(obj, model, pk_map)
            if model is Product:
                if slug:
                    obj.slug = slug
                if Product.objects.filter(slug=obj.slug).exists():
                    raise ValidationError({"slug": [f"A product with slug '{obj.slug}' exists; import it under another slug."]})
            obj.pk = None
            if model in leaf_models:
                bulk[model].append(obj)
                if len(bulk[model]) >= BATCH:
                    flush(model)
                continue
            models.Model.save_base(obj, raw=True)
            pk_map[model][old_pk] = obj.pk
            if model is Product:
                product = obj
            for name, old_ids in (deserialized.m2m_data or {}).items():
                if old_ids:
                    m2m.append((model, old_pk, name, old_ids))
    for model in seen_models:
        flush(model)
    for model, old_pk, attname, old_target in deferred:
        model._base_manager.filter(pk=pk_map[model][old_pk]).update(**{attname: pk_map[model].get(old_target)})
    for model, old_pk, name, old_ids in m2m:
        target = model._meta.get_field(name).remote_field.model
        ids = old_ids if _is_shared(target) else [pk_map[target].get(i) for i in old_ids]
        getattr(model._base_manager.get(pk=pk_map[model][old_pk]), name).set([i for i in ids if i is not None])
    if product is None:
        raise ValidationError({"file": ["The file holds no product."]})
    return product
