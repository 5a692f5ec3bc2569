"""Writes of feedback: the only place that changes it.

Who may do what: any member of a product may give feedback (the member form and
the API): an executive or a support lead telling the PM something is not
editing the product. Triage (status, tags, links, duplicates), imports and
notifications are the PM's (EDIT); the public link and deletions are MANAGE.
"""
import csv
import io
import secrets
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from pmhub.audit import audit_record
from pmhub.outbox import delay_on_commit
from pmhub.permissions import require, user_can
from pmhub.roles import Action

from .models import (
    Channel, Feedback, FeedbackLink, FeedbackPortal, ImportJob, Segment, ShipNotification, Tag,
)
from .validation import clean_feedback, clean_tags

BULK_MAX = 1000
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
IMPORT_PROGRESS_EVERY = 200
UPDATABLE = ("text", "channel", "stakeholder_name", "stakeholder_email", "organisation", "segment",
             "rating", "tags", "status", "received_at")


# --- creating -----------------------------------------------------------------------------

def _tags_for(product_id: int, names) -> dict[str, Tag]:
    """Tag objects by name for product, creating the missing ones."""
    names = set(names)
    if not names:
        return {}
    Tag.objects.bulk_create([Tag(product_id=product_id, name=n) for n in names], ignore_conflicts=True)
    return {t.name: t for t in Tag.objects.filter(product_id=product_id, name__in=names)}


def _store(*, product, rows: list[dict], actor=None, import_job=None) -> list[Feedback]:
    """Insert clean rows (from clean_feedback) with their tags, in bulk."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    objects = []
    for row in rows:
        fields = {k: v for k, v in row.items() if k != "tags"}
        objects.append(Feedback(product=product, created_by=user, import_job=import_job, **fields))
    created = Feedback.objects.bulk_create(objects, batch_size=500)
    tag_names = {name for row in rows for name in row.get("tags", [])}
    tags = _tags_for(product.pk, tag_names)
    through = Feedback.tags.through
    through.objects.bulk_create(
        [through(feedback_id=fb.pk, tag_id=tags[name].pk) for fb, row in zip(created, rows) for name in row.get("tags", [])],
        batch_size=1000,
    )
    # Each new piece joins the closest existing theme (feedback/themes), without regrouping.
    if created:
        delay_on_commit("feedback.themes.tasks.themes_assign", [fb.pk for fb in created])
    return created


def _defaults(clean: dict, **defaults) -> dict:
    for key, value in defaults.items():
        if clean.get(key) in (None, ""):
            clean[key] = value
    return clean


def feedback_create(*, actor, product, **data) -> Feedback:
    """One piece of feedback from a member who may write (form or API).

    Viewers read only, as everywhere in pmhub; an executive without write
    access gives feedback through the product's public link.
    """
    require(actor, product, Action.TRACK)
    clean, errors = clean_feedback(data)
    if clean.get("status", Feedback.Status.NEW) != Feedback.Status.NEW and not user_can(actor, product, Action.EDIT):
        errors["status"] = ["Only the product manager triages feedback; leave the status out."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        (feedback,) = _store(product=product, rows=[clean], actor=actor)
    return feedback


def feedback_bulk_create(*, actor, items: list) -> list[Feedback]:
    """Many pieces at once (API). Each item names its `product` (a Product the caller may see).

    Validated whole: one bad item stores nothing; errors are keyed `items[i].field`.
    """
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": ["Send a non-empty list of feedback."]})
    if len(items) > BULK_MAX:
        raise ValidationError({"items": [f"Send at most {BULK_MAX} pieces of feedback per request (got {len(items)})."]})
    errors: dict[str, list[str]] = {}
    by_product: dict = defaultdict(list)
    now = timezone.now()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"items[{index}]"] = ["Each item is an object with at least a text."]
            continue
        data = dict(item)
        product = data.pop("product", None)
        if product is None or not user_can(actor, product, Action.VIEW):
            errors[f"items[{index}].product"] = ["No product with this slug that you can see."]
        elif not user_can(actor, product, Action.TRACK):
            raise PermissionDenied(f"Your role on {product.name} is read-only: viewers cannot add feedback.")
        clean, item_errors = clean_feedback(data, now=now)
        if product is not None and clean.get("status", "new") != "new" and not user_can(actor, product, Action.EDIT):
            item_errors["status"] = ["Only the product manager triages feedback; leave the status out."]
        for field, messages in item_errors.items():
            errors[f"items[{index}].{field}"] = messages
        if product is not None:
            by_product[product].append(clean)
    if errors:
        raise ValidationError(errors)
    created = []
    with transaction.atomic():
        for product, rows in by_product.items():
            created.extend(_store(product=product, rows=rows, actor=actor))
    return created


def feedback_submit_public(*, token: str, data: dict) -> Feedback:
    """Feedback through a product's public link (no account). 404 unless the link is on."""
    portal = FeedbackPortal.objects.select_related("product").filter(token=token, enabled=True).first()
    if portal is None:
        raise Http404("This feedback link is not active.")
    allowed = {k: data.get(k) for k in ("text", "stakeholder_name", "stakeholder_email", "organisation", "rating", "segment")}
    clean, errors = clean_feedback(allowed)
    if clean.get("segment") not in (Segment.CUSTOMER, Segment.PROSPECT):
        clean["segment"] = Segment.CUSTOMER
    if errors:
        raise ValidationError(errors)
    clean["channel"] = Channel.FORM
    with transaction.atomic():
        (feedback,) = _store(product=portal.product, rows=[clean])
    return feedback


# --- triage ---------------------------------------------------------------------------------

def _set_tags(feedback: Feedback, names: list[str]) -> None:
    tags = _tags_for(feedback.product_id, names)
    feedback.tags.set([tags[n] for n in names])


def feedback_update(*, actor, feedback: Feedback, **data) -> Feedback:
    require(actor, feedback.product, Action.EDIT)
    unknown = set(data) - set(UPDATABLE)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed."] for f in unknown})
    clean, errors = clean_feedback(data, partial=True)
    if errors:
        raise ValidationError(errors)
    tags = clean.pop("tags", None)
    with transaction.atomic():
        for field, value in clean.items():
            setattr(feedback, field, value)
        feedback.save()
        if tags is not None:
            _set_tags(feedback, tags)
        if "text" in clean:
            delay_on_commit("feedback.themes.tasks.themes_assign", [feedback.pk])
    return feedback


def _product_feedback(product, ids) -> list[int]:
    try:
        ids = {int(i) for i in ids}
    except (TypeError, ValueError):
        raise ValidationError({"ids": ["Select feedback by its numbers."]}) from None
    if not ids:
        raise ValidationError({"ids": ["Select at least one piece of feedback."]})
    found = list(Feedback.objects.filter(product=product, pk__in=ids).values_list("pk", flat=True))
    if len(found) != len(ids):
        raise ValidationError({"ids": ["Some of the selected feedback is not in this product."]})
    return found


def feedback_bulk_update(*, actor, product, ids, status: str = "", add_tags="", remove_tags="") -> int:
    """Set the status and/or add and remove tags on many pieces of feedback; returns how many."""
    require(actor, product, Action.EDIT)
    ids = _product_feedback(product, ids)
    errors = {}
    if status and status not in Feedback.Status.values:
        errors["status"] = [f"Choose one of {', '.join(Feedback.Status.values)}."]
    add, problems = clean_tags(add_tags)
    if problems:
        errors["add_tags"] = problems
    remove, problems = clean_tags(remove_tags)
    if problems:
        errors["remove_tags"] = problems
    if not (status or add or remove):
        errors["status"] = ["Choose a status or tags to change."]
    if errors:
        raise ValidationError(errors)
    through = Feedback.tags.through
    with transaction.atomic():
        if status:
            Feedback.objects.filter(pk__in=ids).update(status=status, updated_at=timezone.now())
        if add:
            tags = _tags_for(product.pk, add)
            through.objects.bulk_create(
                [through(feedback_id=f, tag_id=t.pk) for f in ids for t in tags.values()], ignore_conflicts=True
            )
        if remove:
            through.objects.filter(feedback_id__in=ids, tag__product=product, tag__name__in=remove).delete()
    return len(ids)


def _importance(value) -> int:
    try:
        importance = int(value)
    except (TypeError, ValueError):
        importance = -1
    if not 0 <= importance <= 3:
        raise ValidationError({"importance": ["Give an importance from 0 (noted) to 3 (critical)."]})
    return importance


def _same_product(product, roadmap_item):
    if roadmap_item is None or roadmap_item.product_id != product.pk:
        raise ValidationError({"roadmap_item": ["Choose a roadmap item of this product."]})


def feedback_link(*, actor, feedback: Feedback, roadmap_item, importance=1) -> FeedbackLink:
    """Link feedback to a roadmap item, or change the importance of the link."""
    require(actor, feedback.product, Action.EDIT)
    _same_product(feedback.product, roadmap_item)
    importance = _importance(importance)
    with transaction.atomic():
        link, _ = FeedbackLink.objects.update_or_create(
            feedback=feedback, roadmap_item=roadmap_item,
            defaults={"importance": importance}, create_defaults={"importance": importance, "created_by": actor},
        )
    return link


def feedback_bulk_link(*, actor, product, ids, roadmap_item, importance=1) -> int:
    require(actor, product, Action.EDIT)
    _same_product(product, roadmap_item)
    importance = _importance(importance)
    ids = _product_feedback(product, ids)
    with transaction.atomic():
        existing = set(FeedbackLink.objects.filter(roadmap_item=roadmap_item, feedback_id__in=ids)
                       .values_list("feedback_id", flat=True))
        FeedbackLink.objects.filter(roadmap_item=roadmap_item, feedback_id__in=existing).update(importance=importance)
        FeedbackLink.objects.bulk_create([
            FeedbackLink(feedback_id=f, roadmap_item=roadmap_item, importance=importance, created_by=actor)
            for f in ids if f not in existing
        ])
    return len(ids)


def feedback_unlink(*, actor, link: FeedbackLink) -> None:
    require(actor, link.feedback.product, Action.EDIT)
    with transaction.atomic():
        link.delete()


def feedback_mark_duplicate(*, actor, feedback: Feedback, original: Feedback) -> Feedback:
    """Mark feedback as a duplicate of original. Its roadmap links move to the original
    (keeping the higher importance), so the same request never counts twice in demand."""
    require(actor, feedback.product, Action.EDIT)
    if original is None or original.product_id != feedback.product_id:
        raise ValidationError({"duplicate_of": ["Choose feedback of the same product."]})
    # Point at the root of the chain, never at itself.
    seen = {feedback.pk}
    while original.duplicate_of_id is not None and original.pk not in seen:
        seen.add(original.pk)
        original = original.duplicate_of
    if original.pk in seen:
        raise ValidationError({"duplicate_of": ["Feedback cannot be a duplicate of itself."]})
    with transaction.atomic():
        for link in FeedbackLink.objects.select_for_update().filter(feedback=feedback):
            target, created = FeedbackLink.objects.get_or_create(
                feedback=original, roadmap_item_id=link.roadmap_item_id,
                defaults={"importance": link.importance, "created_by": actor},
            )
            if not created and link.importance > target.importance:
                target.importance = link.importance
                target.save(update_fields=["importance"])
            link.delete()
        Feedback.objects.filter(duplicate_of=feedback).update(duplicate_of=original)
        feedback.duplicate_of = original
        feedback.save(update_fields=["duplicate_of", "updated_at"])
    return feedback


def feedback_unmark_duplicate(*, actor, feedback: Feedback) -> Feedback:
    require(actor, feedback.product, Action.EDIT)
    with transaction.atomic():
        feedback.duplicate_of = None
        feedback.save(update_fields=["duplicate_of", "updated_at"])
    return feedback


def feedback_delete(*, actor, feedback: Feedback) -> None:
    require(actor, feedback.product, Action.MANAGE)
    with transaction.atomic():
        audit_record(actor=actor, action="feedback.deleted", product=feedback.product, target=feedback,
                     data={"stakeholder": feedback.stakeholder, "channel": feedback.channel})
        feedback.delete()


# --- the public link --------------------------------------------------------------------------

def _new_token() -> str:
    return secrets.token_urlsafe(24)


def portal_set_enabled(*, actor, product, enabled: bool) -> FeedbackPortal:
    """Switch the product's public feedback link on or off (created on first use)."""
    require(actor, product, Action.MANAGE)
    with transaction.atomic():
        portal, created = FeedbackPortal.objects.select_for_update().get_or_create(
            product=product, defaults={"token": _new_token(), "enabled": enabled}
        )
        if created or portal.enabled != enabled:
            portal.enabled = enabled
            portal.save(update_fields=["enabled", "updated_at"])
            audit_record(actor=actor, action="feedback_link.enabled" if enabled else "feedback_link.disabled",
                         product=product, target=portal)
    return portal


def portal_rotate_token(*, actor, product) -> FeedbackPortal:
    """A new address for the public link; the old one stops working at once."""
    require(actor, product, Action.MANAGE)
    with transaction.atomic():
        portal, _ = FeedbackPortal.objects.select_for_update().get_or_create(
            product=product, defaults={"token": _new_token()}
        )
        portal.token = _new_token()
        portal.save(update_fields=["token", "updated_at"])
        audit_record(actor=actor, action="feedback_link.rotated", product=product, target=portal)
    return portal


# --- CSV import -------------------------------------------------------------------------------

COLUMN_ALIASES = {
    "text": "text", "feedback": "text", "comment": "text",
    "channel": "channel", "source": "channel",
    "stakeholder_name": "stakeholder_name", "name": "stakeholder_name",
    "stakeholder_email": "stakeholder_email", "email": "stakeholder_email", "e-mail": "stakeholder_email",
    "organisation": "organisation", "organization": "organisation", "company": "organisation",
    "segment": "segment", "rating": "rating", "tags": "tags", "status": "status",
    "received_at": "received_at", "date": "received_at", "received": "received_at",
}
REQUIRED_COLUMNS = ("text",)


def import_job_create(*, actor, product, filename: str, content: bytes, default_channel: str = Channel.SURVEY) -> ImportJob:
    """Keep the upload and queue its import; the page then shows the job's progress."""
    require(actor, product, Action.EDIT)
    if not content:
        raise ValidationError({"file": ["The file is empty."]})
    if len(content) > IMPORT_MAX_BYTES:
        raise ValidationError({"file": [f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it."]})
    if default_channel not in Channel.values:
        raise ValidationError({"default_channel": [f"Choose one of {', '.join(Channel.values)}."]})
    with transaction.atomic():
        job = ImportJob.objects.create(product=product, created_by=actor, filename=(filename or "")[:200],
                                       content=content, default_channel=default_channel)
        delay_on_commit("feedback.tasks.import_feedback_csv", job.pk)
    return job


def _fail(job: ImportJob, message: str, errors=None) -> ImportJob:
    job.state = ImportJob.State.FAILED
    job.message = message
    job.errors = errors or []
    job.finished_at = timezone.now()
    job.content = b""
    job.save(update_fields=["state", "message", "errors", "finished_at", "content"])
    return job


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Validate every row, then store them all in one transaction, or none.

    Progress (processed_rows of total_rows) is saved as rows are checked, so the
    page's progress bar moves; any bad row fails the whole file with each problem
    reported by line number.
    """
    if job.finished:
        return job
    default_channel = job.default_channel if job.default_channel in Channel.values else Channel.SURVEY
    text = _decode(bytes(job.content))
    if text is None:
        return _fail(job, "The file is not UTF-8 text. Save it as 'CSV UTF-8' (Excel: File → Save As → "
                          "CSV UTF-8) and upload it again. Nothing was imported.")
    # The header decides the delimiter (Excel writes ';' in many locales); quotes as in Excel.
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if any(d in first_line for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return _fail(job, "The file has no header row. The first line names the columns, at least: text.")
    columns = [COLUMN_ALIASES.get(h.strip().lower().replace(" ", "_")) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(h.strip() for h in header if h.strip()) or "none"
        return _fail(job, f"Missing column: {', '.join(missing)}. The first line must name the columns "
                          f"(found: {found[:200]}). Nothing was imported.")
    try:
        rows = []
        for record in reader:
            rows.append((reader.line_num, record))
            if len(rows) > IMPORT_MAX_ROWS:
                return _fail(job, f"The file has more than {IMPORT_MAX_ROWS:,} rows; split it. Nothing was imported.")
    except csv.Error as exc:
        return _fail(job, f"The file is not valid CSV near line {reader.line_num}: {exc}. Nothing was imported.")
    rows = [(line, r) for line, r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return _fail(job, "The file has a header but no rows. Nothing was imported.")

    job.state = ImportJob.State.RUNNING
    job.total_rows = len(rows)
    job.processed_rows = 0
    job.save(update_fields=["state", "total_rows", "processed_rows"])

    now = timezone.now()
    clean_rows, errors = [], []
    for n, (line, record) in enumerate(rows, start=1):
        if len(record) > len(columns):
            errors.append({"line": line, "field": "", "message": f"{len(record)} cells but {len(columns)} columns."})
        data = {col: value for col, value in zip(columns, record) if col is not None}
        clean, row_errors = clean_feedback(data, now=now)
        for field, messages in row_errors.items():
            errors.extend({"line": line, "field": field, "message": m} for m in messages)
        if not data.get("channel"):
            clean["channel"] = default_channel
        clean_rows.append(clean)
        if n % IMPORT_PROGRESS_EVERY == 0:
            ImportJob.objects.filter(pk=job.pk).update(processed_rows=n)
    if errors:
        bad_lines = len({e["line"] for e in errors})
        return _fail(job, f"{bad_lines} row{'s' if bad_lines != 1 else ''} could not be imported; fix them and upload "
                          f"the file again. Nothing was imported.", errors[:1000])
    with transaction.atomic():
        _store(product=job.product, rows=clean_rows, actor=job.created_by, import_job=job)
        job.state = ImportJob.State.DONE
        job.processed_rows = job.total_rows
        job.created_count = len(clean_rows)
        job.message = f"Imported {len(clean_rows):,} pieces of feedback."
        job.finished_at = timezone.now()
        job.content = b""
        job.save(update_fields=["state", "processed_rows", "created_count", "message", "finished_at", "content"])
    return job


# --- roadmap: reach and ship notifications --------------------------------------------------------

def roadmap_reach_apply(*, actor, item, reach) -> object:
    """Set the item's RICE reach to the value the PM confirmed, through the roadmap's own service."""
    try:
        reach = int(reach)
    except (TypeError, ValueError):
        raise ValidationError({"reach": ["Give a whole number."]}) from None
    if reach < 0:
        raise ValidationError({"reach": ["Reach cannot be negative."]})

    from products.roadmap.services import roadmap_item_update

    return roadmap_item_update(actor=actor, item=item, reach=reach)


def ship_notifications_queue(*, actor, item) -> int:
    """Queue one e-mail to each stakeholder (by e-mail) behind a shipped item who was not told yet."""
    from .selectors import ship_notification_recipients

    require(actor, item.product, Action.EDIT)
    if item.status != "shipped":
        raise ValidationError({"roadmap_item": ["Only a shipped roadmap item can be announced."]})
    recipients = ship_notification_recipients(item=item)
    with transaction.atomic():
        ShipNotification.objects.bulk_create(
            [ShipNotification(roadmap_item=item, email=r["email"], name=r["name"], requested_by=actor) for r in recipients],
            ignore_conflicts=True,
        )
        pending = ShipNotification.objects.filter(roadmap_item=item, sent_at__isnull=True).count()
        if pending:
            audit_record(actor=actor, action="feedback.ship_notified", product=item.product, target=item,
                         data={"recipients": pending})
            delay_on_commit("feedback.tasks.deliver_ship_notifications", item.pk)
    return pending


def ship_notification_message(*, item, name: str = "") -> tuple[str, str]:
    """(subject, body) of the e-mail; plain text, so nothing in it is markup."""
    subject = f"{item.product.name}: “{item.title}” has shipped"
    greeting = f"Hello {name}," if name else "Hello,"
    body = (
        f"{greeting}\n\n"
        f"You told us what you needed from {item.product.name}. The work you asked for has shipped:\n\n"
        f"  {item.title}\n\n"
        "Thank you for your feedback: it shaped what we built. Reply to this e-mail to tell us how it works for you.\n\n"
        f"The {item.product.name} team\n"
    )
    return subject, body


def ship_notifications_deliver(*, item) -> int:
    """Send the pending e-mails of item, each once; returns how many were sent now."""
    sent = 0
    while True:
        with transaction.atomic():
            note = (ShipNotification.objects.select_for_update(skip_locked=True)
                    .filter(roadmap_item=item, sent_at__isnull=True, error="").order_by("pk").first())
            if note is None:
                return sent
            subject, body = ship_notification_message(item=item, name=note.name)
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [note.email], fail_silently=False)
            except Exception as exc:  # noqa: BLE001 - any mail error is recorded on the row, not lost
                note.error = f"{type(exc).__name__}: {exc}"[:300]
                note.save(update_fields=["error"])
                continue
            note.sent_at = timezone.now()
            note.save(update_fields=["sent_at"])
            sent += 1


def ship_notifications_retry(*, actor, item) -> int:
    """Queue the e-mails that failed again."""
    require(actor, item.product, Action.EDIT)
    with transaction.atomic():
        count = ShipNotification.objects.filter(roadmap_item=item, sent_at__isnull=True).exclude(error="").update(error="")
        if count:
            delay_on_commit("feedback.tasks.deliver_ship_notifications", item.pk)
    return count

