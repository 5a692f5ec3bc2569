"""Checking one piece of feedback as it comes in (form, public link, API, CSV row).

Pure functions: a dict of raw values in, a dict of clean values and a dict of
field errors out. Services, the API and the CSV import share them, so every way
in refuses the same things with the same messages.
"""
import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from . import sentiment
from .models import Channel, Feedback, Segment

TEXT_MAX = 10_000
NAME_MAX = 120
TAG_MAX = 40
TAGS_PER_FEEDBACK = 12
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
# Control characters other than tab and newlines are noise from copy-paste and break CSV/e-mail.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")

FIELDS = ("text", "channel", "stakeholder_name", "stakeholder_email", "organisation", "segment",
          "rating", "tags", "status", "received_at")


def _line(value, field, errors, max_len=NAME_MAX) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = ["Give text."]
        return ""
    value = _SPACES.sub(" ", _CONTROL.sub("", value)).strip()
    if len(value) > max_len:
        errors[field] = [f"Keep this under {max_len} characters (it has {len(value)})."]
    return value


def clean_tags(value) -> tuple[list[str], list[str]]:
    """Tags from a list or a string separated by commas or semicolons: (tags, problems)."""
    if value in (None, ""):
        return [], []
    if isinstance(value, str):
        raw = re.split(r"[,;]", value)
    elif isinstance(value, (list, tuple)):
        raw = value
    else:
        return [], ["Give tags as a list of words or a comma-separated string."]
    tags, problems = [], []
    for item in raw:
        if not isinstance(item, str):
            problems.append("Each tag is a piece of text.")
            continue
        tag = _SPACES.sub(" ", _CONTROL.sub("", item)).strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            problems.append(f"Keep each tag under {TAG_MAX} characters ('{tag[:20]}…' has {len(tag)}).")
            continue
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_PER_FEEDBACK:
        problems.append(f"At most {TAGS_PER_FEEDBACK} tags per piece of feedback.")
    return tags, problems


def _choice(value, field, choices, default, errors):
    if value in (None, ""):
        return default
    value = str(value).strip().lower().replace("-", "").replace(" ", "") if field == "channel" else str(value).strip().lower()
    if field == "channel" and value == "email":
        return Channel.EMAIL
    if value not in choices.values:
        errors[field] = [f"Choose one of {', '.join(choices.values)}."]
        return default
    return value


def _received(value, errors, now):
    if value in (None, ""):
        return now
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time(12, 0))
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = parse_datetime(text)
            if parsed is None and (day := parse_date(text)) is not None:
                parsed = dt.datetime.combine(day, dt.time(12, 0))
        except ValueError:
            parsed = None
        if parsed is None:
            errors["received_at"] = ["Give a date like 2026-03-31 or 2026-03-31T14:00:00Z."]
            return now
    else:
        errors["received_at"] = ["Give a date like 2026-03-31."]
        return now
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.timezone.utc)
    if parsed > now + dt.timedelta(days=1):
        errors["received_at"] = ["The date lies in the future."]
    elif parsed < EARLIEST:
        errors["received_at"] = ["The date lies before the year 2000."]
    return parsed


def _rating(value, errors):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors["rating"] = ["Give a whole number from 1 to 5."]
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors["rating"] = ["Give a whole number from 1 to 5."]
        return None
    if number != int(number) or not 1 <= number <= 5:
        errors["rating"] = ["Give a whole number from 1 to 5."]
        return None
    return int(number)


def clean_feedback(data: dict, *, partial: bool = False, now=None) -> tuple[dict, dict]:
    """(clean values, {field: [messages]}) for one piece of feedback.

    With partial, only the fields present in data are checked and returned.
    HTML is stored as typed: it is text, and every page and chart escapes it.
    """
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    present = (lambda f: f in data) if partial else (lambda f: True)

    if present("text"):
        text = data.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            errors["text"] = ["Write the feedback: the text is empty."]
        elif not isinstance(text, str):
            errors["text"] = ["Give the feedback as text."]
        else:
            text = _CONTROL.sub("", text).strip()
            if len(text) > TEXT_MAX:
                errors["text"] = [f"Keep feedback under {TEXT_MAX:,} characters (this has {len(text):,})."]
            else:
                clean["text"] = text
                clean["sentiment"], clean["sentiment_label"] = sentiment.score(text)
    if present("stakeholder_name"):
        clean["stakeholder_name"] = _line(data.get("stakeholder_name"), "stakeholder_name", errors)
    if present("organisation"):
        clean["organisation"] = _line(data.get("organisation"), "organisation", errors)
    if present("stakeholder_email"):
        email = _line(data.get("stakeholder_email"), "stakeholder_email", errors, max_len=254)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors["stakeholder_email"] = ["Enter a valid e-mail address, like name@example.com."]
        clean["stakeholder_email"] = email.lower() if "@" in email else email
    if present("channel"):
        clean["channel"] = _choice(data.get("channel"), "channel", Channel, Channel.FORM, errors)
    if present("segment"):
        clean["segment"] = _choice(data.get("segment"), "segment", Segment, Segment.CUSTOMER, errors)
    if present("status"):
        clean["status"] = _choice(data.get("status"), "status", Feedback.Status, Feedback.Status.NEW, errors)
    if present("rating"):
        clean["rating"] = _rating(data.get("rating"), errors)
    if present("received_at"):
        clean["received_at"] = _received(data.get("received_at"), errors, now)
    if present("tags"):
        clean["tags"], problems = clean_tags(data.get("tags"))
        if problems:
            errors["tags"] = problems
    unknown = set(data) - set(FIELDS) - {"product"}
    for field in sorted(unknown):
        errors[field] = ["Unknown field."]
    return clean, errors
