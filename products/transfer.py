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
"""
from __future__ import annotations

import datetime
import json
from collections import defaultdict

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

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


@transaction.atomic
def product_import(*, stream, slug: str | None = None) -> "models.Model":
    """Read a file written by product_export; returns the new product. All or nothing."""
    from products.models import Product

    header = json.loads(stream.readline() or "{}")
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValidationError({"file": ["This is not a pmhub product export (version 1)."]})
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
                if not referenced:
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
