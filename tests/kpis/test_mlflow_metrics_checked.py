"""The one-pass check of MLflow metrics (log-batch's hot path) accepts only what the careful path accepts.

kpis.ml.mlflow.services.metrics_checked turns well-formed MLflow metric objects
into store entries in one pass and gives up (None) on anything else, which then
goes the careful way: the view's field checks, the millisecond conversion and
kpis.ml.services.metric_entries_validate. Whatever the fast path accepts, the
careful path must accept too, with the very same entries; and a plainly
well-formed batch must not fall back.
"""
from datetime import datetime, timezone

from django.core.exceptions import ValidationError
from hypothesis import given, settings, strategies as st

from kpis.ml.mlflow import services as svc
from kpis.ml.mlflow.errors import MlflowError
from kpis.ml.mlflow.views import _metric_from
from kpis.ml.services import metric_entries_validate

NOW_MS = int(datetime.now(timezone.utc).timestamp() * 1000)

keys = st.one_of(st.sampled_from(["loss", "acc", "val/loss", "", " ", "a\nb", "k" * 250, "k" * 251]),
                 st.text(max_size=8), st.integers(), st.none(), st.lists(st.integers(), max_size=1))
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**17), 10**17),
                   st.sampled_from([1e15, -1e15, 1e15 + 1, 10**15, 10**15 + 1, 10**400, True, False, None,
                                    "1.5", "NaN", "x", 0, -0.0]))
stamps = st.one_of(st.integers(-(10**14), 10**14), st.integers(NOW_MS - 10**6, NOW_MS + 2 * 86_400_000),
                   st.sampled_from([0, -1, NOW_MS, 253_402_300_799_999, 253_402_300_800_000, None, "", True,
                                    float(NOW_MS), str(NOW_MS), [1]]))
steps = st.one_of(st.integers(-(2**64), 2**64), st.sampled_from([None, 0, 2**63 - 1, 2**63, -(2**63), "", "3", 3.0,
                                                                 3.5, True, [0]]))


@st.composite
def metric(draw):
    item = {"key": draw(keys), "value": draw(values), "timestamp": draw(stamps), "step": draw(steps)}
    for field in ("key", "value", "timestamp", "step"):
        if draw(st.integers(0, 9)) == 0:
            del item[field]
    return item


def as_batch(entries):
    """The careful path's entries as the fast path groups them: {key: [(ts, value, step)]}, in order."""
    if entries is None:
        return None
    grouped = {}
    for m in entries:
        grouped.setdefault(m.key, []).append((m.ts, m.value, m.step))
    return grouped


def fast_as_batch(batch):
    return None if batch is None else {k: [tuple(p) for p in points] for k, points in batch.by_key.items()}


def careful(raw: list):
    """What log-batch does when metrics_checked gives up: the entries it stores, or None for a refusal."""
    try:
        logs = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                return None
            logs.append(_metric_from(item, f"metrics[{i}]"))
        entries = [{"key": m.key, "value": m.value, "step": m.step, "ts": svc.ms_to_datetime(m.timestamp)}
                   for m in logs]
        return metric_entries_validate(entries)
    except (MlflowError, ValidationError):
        return None


@settings(max_examples=400, deadline=None)
@given(raw=st.lists(st.one_of(metric(), st.sampled_from([None, 1, "x", []])), min_size=1, max_size=6))
def test_what_the_fast_path_accepts_the_careful_path_accepts_the_same(raw):
    fast = svc.metrics_checked(raw)
    if fast is not None:
        assert fast_as_batch(fast) == as_batch(careful(raw))
        assert len(fast) == len(raw)


@settings(max_examples=200, deadline=None)
@given(raw=st.lists(st.fixed_dictionaries({
    "key": st.sampled_from(["loss", "accuracy", "val/loss"]),
    "value": st.one_of(st.floats(-1e15, 1e15), st.integers(-(10**15), 10**15)),
    "timestamp": st.integers(0, NOW_MS),
    "step": st.one_of(st.integers(-(2**63), 2**63 - 1), st.none()),
}), min_size=1, max_size=20))
def test_well_formed_metrics_take_the_fast_path(raw):
    fast = svc.metrics_checked(raw)
    assert fast is not None
    assert fast_as_batch(fast) == as_batch(careful(raw))
    assert len(fast) == len(raw) and set(fast.by_key) == {m["key"] for m in raw}
