"""Writes of feedback themes: grouping runs, assignment on arrival, and the PM's decisions.

What the PM decides survives the next grouping:
- a renamed theme keeps its name (label_pinned);
- a piece moved to a theme stays there (ThemeAssignment.pinned);
- merged and split themes keep their members (Theme.locked); new pieces still join them;
- a dismissed theme stays dismissed and keeps drawing what resembles it, out of sight;
- themes linked to roadmap items keep their links; every member counts in the item's
  demand through a FeedbackLink(via_theme=...), which follows the theme's membership.
Every other theme is re-found from the text: the previous run's themes seed the new one,
and a new cluster takes the identity of the old theme it shares most pieces with.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pmhub.audit import audit_record
from pmhub.outbox import delay_on_commit
from pmhub.permissions import require
from pmhub.roles import Action

from ..models import Feedback, FeedbackLink
from . import grouping
from .models import Theme, ThemeAssignment, ThemeLink, ThemeState
from .selectors import forget_space, state_space
from .representation import new_representation, pack

LABEL_MAX = 120

def _vec(raw) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype=np.float32)


def _state_for(product, lock=False) -> ThemeState:
    """The product's state row; its fitted representation (megabytes) is not read."""
    ThemeState.objects.get_or_create(product=product)
    qs = ThemeState.objects.defer("representation")
    return (qs.select_for_update() if lock else qs).get(product=product)


# --- grouping runs ------------------------------------------------------------------------------

def themes_regroup_request(*, actor, product) -> ThemeState:
    """Queue a grouping run of the product's feedback (the PM's "Regroup now")."""
    require(actor, product, Action.EDIT)
    with transaction.atomic():
        state = _state_for(product, lock=True)
        if state.run_state not in (ThemeState.RunState.QUEUED, ThemeState.RunState.RUNNING) or (
                max(filter(None, [state.run_requested_at, state.run_started_at]), default=timezone.now())
                < timezone.now() - dt.timedelta(minutes=15)):
            state.run_state = ThemeState.RunState.QUEUED
            state.run_requested_at = timezone.now()
            state.run_message = ""
            state.save(update_fields=["run_state", "run_requested_at", "run_message"])
            delay_on_commit("feedback.themes.tasks.themes_regroup", product.pk)
    return state


def themes_regroup_due(*, max_age_seconds: int) -> list[int]:
    """Products whose themes are due a scheduled run: never grouped (with enough feedback),
    or grouped longer ago than max_age_seconds with feedback received since. Queues each."""
    from django.db.models import Count, Max

    due = []
    cutoff = timezone.now() - dt.timedelta(seconds=max_age_seconds)
    rows = (Feedback.objects.values("product_id").annotate(n=Count("id"), last=Max("created_at")).order_by())
    states = {s.product_id: s for s in ThemeState.objects.only("product_id", "run_state", "run_finished_at")}
    for row in rows:
        state = states.get(row["product_id"])
        if row["n"] < grouping.MIN_PIECES:
            continue
        if state is None or state.run_finished_at is None:
            if state is None or state.run_state not in (ThemeState.RunState.QUEUED, ThemeState.RunState.RUNNING):
                due.append(row["product_id"])
        elif state.run_finished_at < cutoff and row["last"] > state.run_finished_at:
            due.append(row["product_id"])
    for product_id in due:
        delay_on_commit("feedback.themes.tasks.themes_regroup", product_id)
    return due


def themes_regroup(*, product) -> ThemeState:
    """Group all the product's feedback into themes, keeping what the PM decided (see module doc)."""
    started = time.monotonic()
    state = _state_for(product)
    ThemeState.objects.filter(pk=state.pk).update(run_state=ThemeState.RunState.RUNNING, run_started_at=timezone.now())
    try:
        result = _regroup(product, started)
    except Exception as exc:
        ThemeState.objects.filter(pk=state.pk).update(
            run_state=ThemeState.RunState.FAILED, run_finished_at=timezone.now(),
            run_message=f"{type(exc).__name__}: {exc}"[:500])
        raise
    return result


def _regroup(product, started: float) -> ThemeState:
    rows = list(Feedback.objects.filter(product=product).order_by("pk").values_list("pk", "text"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    texts = [r[1] for r in rows]
    rep = new_representation()
    X = rep.fit_transform(texts) if texts else np.zeros((0, 1), np.float32)
    index = {int(f): i for i, f in enumerate(ids)}

    old = {a.feedback_id: a for a in ThemeAssignment.objects.filter(product=product).only(
        "feedback_id", "theme_id", "pinned")}
    themes = {t.pk: t for t in Theme.objects.filter(product=product)}
    kept_for = {}   # feedback index -> theme id the PM's choices keep it in
    for fid, a in old.items():
        i = index.get(fid)
        if i is None or a.theme_id is None:
            continue
        if a.pinned or themes[a.theme_id].locked:
            kept_for[i] = a.theme_id
    free = np.array([i for i in range(len(ids)) if i not in kept_for], dtype=np.int64)

    # Seeds: the centres, in the new space, of the themes the free pieces were in.
    members_before = defaultdict(list)
    for i in free:
        a = old.get(int(ids[i]))
        if a is not None and a.theme_id is not None and not themes[a.theme_id].locked:
            members_before[a.theme_id].append(int(i))
    seed_ids = sorted(members_before, key=lambda t: -len(members_before[t]))
    seeds = np.array([X[members_before[t]].mean(axis=0) for t in seed_ids], np.float32) if seed_ids else None
    labels = np.full(len(ids), -1)
    if len(free):
        free_labels, _ = grouping.group(X[free], seeds=seeds, assign_threshold=rep.assign_threshold,
                                        merge_similarity=rep.merge_similarity)
        labels[free] = free_labels

    # Which old theme each new cluster continues: the one it shares most pieces with.
    from scipy.optimize import linear_sum_assignment

    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    cluster_theme: dict[int, int] = {}
    if k and seed_ids:
        overlap = np.zeros((k, len(seed_ids)))
        col = {t: j for j, t in enumerate(seed_ids)}
        for t, members in members_before.items():
            for i in members:
                if labels[i] >= 0:
                    overlap[labels[i], col[t]] += 1
        r, c = linear_sum_assignment(-overlap)
        cluster_theme = {int(a): seed_ids[b] for a, b in zip(r, c) if overlap[a, b] > 0}

    # Free pieces closer to a locked theme (merged, split, dismissed) than to their own go there.
    locked_members = defaultdict(list)
    for i, t in kept_for.items():
        if themes[t].locked:
            locked_members[t].append(i)
    locked_ids = list(locked_members)
    final_theme = {}   # feedback index -> theme id (or a new-cluster marker)
    for i, t in kept_for.items():
        final_theme[i] = t
    if locked_ids and len(free):
        L = grouping.unit(np.array([X[locked_members[t]].mean(axis=0) for t in locked_ids], np.float32))
        S = X[free] @ L.T
        best = S.argmax(axis=1)
        own_k = grouping.centres(X, labels, k) if k else None
        for row, i in enumerate(free):
            own = float(X[i] @ own_k[labels[i]]) if labels[i] >= 0 else rep.assign_threshold
            if S[row, best[row]] >= rep.assign_threshold and S[row, best[row]] > own:
                final_theme[int(i)] = locked_ids[best[row]]
                labels[i] = -2  # taken by a locked theme

    with transaction.atomic():
        state = _state_for(product, lock=True)
        # New themes for clusters that continue none.
        for c in range(k):
            if c not in cluster_theme:
                t = Theme.objects.create(product=product, label="Untitled theme")
                themes[t.pk] = t
                cluster_theme[c] = t.pk
        for i in range(len(ids)):
            if labels[i] >= 0:
                final_theme[i] = cluster_theme[int(labels[i])]
        # Themes left without pieces go, unless the PM made something of them.
        used = set(final_theme.values())
        linked = set(ThemeLink.objects.filter(theme__product=product).values_list("theme_id", flat=True))
        for t in list(themes.values()):
            if t.pk not in used and not (t.label_pinned or t.locked or t.pk in linked
                                         or t.status == Theme.Status.DISMISSED):
                del themes[t.pk]
                t.delete()

        version = state.version + 1
        members = defaultdict(list)
        for i, t in final_theme.items():
            members[t].append(i)
        centre_of = {t: grouping.unit(X[m].mean(axis=0, keepdims=True))[0] for t, m in members.items()}
        sims = np.zeros(len(ids), np.float32)
        for i, t in final_theme.items():
            sims[i] = float(X[i] @ centre_of[t])
        dups = {}
        for t, m in members.items():
            m = np.array(m)
            dups.update(grouping.likely_duplicates(X[m], ids[m], rep.duplicate_threshold))
        unassigned = np.array([i for i in range(len(ids)) if i not in final_theme], dtype=np.int64)
        if len(unassigned):
            dups.update(grouping.likely_duplicates(X[unassigned], ids[unassigned], rep.duplicate_threshold))

        ThemeAssignment.objects.filter(product=product, feedback_id__in=ids.tolist()).delete()
        ThemeAssignment.objects.bulk_create([
            ThemeAssignment(
                feedback_id=int(ids[i]), product=product, theme_id=final_theme.get(i), similarity=float(sims[i]),
                pinned=bool(old.get(int(ids[i])) and old[int(ids[i])].pinned and i in kept_for),
                vector=X[i].astype(np.float32).tobytes(), state_version=version,
                likely_duplicate_of_id=dups.get(int(ids[i]), (None, None))[0],
                duplicate_similarity=dups.get(int(ids[i]), (None, None))[1],
            ) for i in range(len(ids))
        ], batch_size=1000)

        # Labels, keywords and quotes from the themes' own words.
        order = list(members)
        lab = np.full(len(ids), -1)
        for j, t in enumerate(order):
            lab[members[t]] = j
        words = grouping.keywords(texts, lab, len(order))
        for j, t in enumerate(order):
            theme = themes[t]
            m = members[t]
            q = grouping.representative(X[m], centre_of[t], [texts[i] for i in m])
            theme.keywords = words[j] if j < len(words) else []
            theme.quote_id = int(ids[m[q]])
            if not theme.label_pinned:
                theme.label = grouping.label_from(theme.keywords)
            theme.save(update_fields=["keywords", "quote", "label", "updated_at"])

        state.backend = rep.name
        state.representation = pack(rep.state())
        _store_centres(state, {t: centre_of[t] for t in order}, save=False)
        state.version = version
        state.run_state = ThemeState.RunState.DONE
        state.run_finished_at = timezone.now()
        state.run_seconds = time.monotonic() - started
        state.grouped_count = len(ids)
        n_themes = sum(1 for t in order if themes[t].status == Theme.Status.ACTIVE)
        state.run_message = (f"{len(ids):,} pieces of feedback, {n_themes} theme{'s' if n_themes != 1 else ''}, "
                             f"{len(unassigned):,} close to no theme.")
        state.save()
        _sync_links(list(themes))
        # A run that overlapped this one may have left themes nobody is in: they go too.
        Theme.objects.filter(product=product, status=Theme.Status.ACTIVE, label_pinned=False, locked=False,
                             assignments__isnull=True, roadmap_links__isnull=True).delete()
        # Pieces that arrived while this run worked are assigned like any new piece.
        late = list(Feedback.objects.filter(product=product, theme_assignment__isnull=True)
                    .values_list("pk", flat=True)[:5000])
        if late:
            delay_on_commit("feedback.themes.tasks.themes_assign", late)
    return state


def _store_centres(state: ThemeState, centre_of: dict[int, np.ndarray], save=True) -> None:
    ids = list(centre_of)
    state.centroid_theme_ids = ids
    state.centroids = (np.array([centre_of[t] for t in ids], np.float32).tobytes() if ids else b"")
    if save:
        state.save(update_fields=["centroid_theme_ids", "centroids"])


def _refresh_centres(product) -> None:
    """Recompute every theme's centre from its members' stored vectors (after a PM action)."""
    state = _state_for(product, lock=True)
    members = defaultdict(list)
    for theme_id, raw in ThemeAssignment.objects.filter(product=product, theme__isnull=False,
                                                        state_version=state.version).values_list("theme_id", "vector"):
        members[theme_id].append(_vec(raw))
    _store_centres(state, {t: grouping.unit(np.mean(v, axis=0, keepdims=True))[0] for t, v in members.items()})
    forget_space(product.pk)


# --- new feedback on arrival ----------------------------------------------------------------------

def themes_assign(*, feedback_ids: list[int]) -> int:
    """Put each new piece in the closest theme of its product, or in none when nothing is
    close enough; flag a likely duplicate. No regrouping. Returns how many were assigned."""
    by_product = defaultdict(list)
    for fb in Feedback.objects.filter(pk__in=feedback_ids).select_related("product").only("pk", "text", "product"):
        by_product[fb.product].append(fb)
    assigned = 0
    for product, pieces in by_product.items():
        # The fitted representation (megabytes) is read only when this process has not cached it.
        state = ThemeState.objects.defer("representation").filter(product=product).first()
        if state is None or state.version == 0:
            continue  # never grouped: the first grouping run takes them
        rep, C, theme_ids = state_space(state)
        if rep is None:
            continue
        if theme_ids and Theme.objects.filter(product=product, pk__in=theme_ids).count() != len(theme_ids):
            # Centres naming themes that are not this product's (an imported copy of a product, a
            # theme deleted since): recompute them from this product's own pieces first.
            with transaction.atomic():
                _refresh_centres(product)
            state = ThemeState.objects.defer("representation").get(pk=state.pk)
            rep, C, theme_ids = state_space(state)
        V = rep.transform([fb.text for fb in pieces])
        linked = set(ThemeLink.objects.filter(theme__product=product).values_list("theme_id", flat=True))
        with transaction.atomic():
            before = {fid: (tid, pinned) for fid, tid, pinned in ThemeAssignment.objects.filter(
                feedback__in=pieces).values_list("feedback_id", "theme_id", "pinned")}
            for fb, v in zip(pieces, V):
                old_theme, pinned = before.get(fb.pk, (None, False))
                if pinned:
                    continue
                j, sim = grouping.assign(v, C, rep.assign_threshold)
                theme_id = theme_ids[j] if j >= 0 else None
                dup = _duplicate_of(product, theme_id, fb.pk, v, rep.duplicate_threshold, state.version)
                fields = {"product": product, "theme_id": theme_id, "similarity": sim, "pinned": False,
                          "vector": v.astype(np.float32).tobytes(), "state_version": state.version,
                          "likely_duplicate_of_id": dup[0], "duplicate_similarity": dup[1]}
                if fb.pk in before:
                    ThemeAssignment.objects.filter(feedback=fb).update(**fields, assigned_at=timezone.now())
                else:
                    ThemeAssignment.objects.create(feedback=fb, **fields)
                if theme_id != old_theme or theme_id in linked:
                    _sync_piece(fb.pk, theme_id)
                assigned += 1
    return assigned


def _sync_piece(feedback_id: int, theme_id: int | None) -> None:
    """One piece's theme-made FeedbackLinks after it joined theme_id (or none)."""
    stale = FeedbackLink.objects.filter(feedback_id=feedback_id, via_theme__isnull=False)
    if theme_id is not None:
        stale = stale.exclude(via_theme_id=theme_id)
    stale.delete()
    if theme_id is not None:
        FeedbackLink.objects.bulk_create([
            FeedbackLink(feedback_id=feedback_id, roadmap_item_id=link.roadmap_item_id, importance=link.importance,
                         via_theme_id=theme_id, created_by_id=link.created_by_id)
            for link in ThemeLink.objects.filter(theme_id=theme_id)
        ], ignore_conflicts=True)


def _duplicate_of(product, theme_id, feedback_id, v, threshold, version) -> tuple[int | None, float | None]:
    """The earliest piece of the same theme (or of the unassigned, when none) this one repeats."""
    qs = ThemeAssignment.objects.filter(product=product, theme_id=theme_id, state_version=version,
                                        feedback_id__lt=feedback_id).order_by("feedback_id")
    rows = list(qs.values_list("feedback_id", "vector")[:5000])
    if not rows:
        return None, None
    M = np.frombuffer(b"".join(bytes(r[1]) for r in rows), np.float32).reshape(len(rows), -1)
    if M.shape[1] != v.shape[0]:
        return None, None
    sims = M @ v
    hits = np.nonzero(sims >= threshold)[0]
    if not len(hits):
        return None, None
    return rows[hits[0]][0], float(sims[hits[0]])


# --- the PM's decisions -----------------------------------------------------------------------------

def _check(actor, theme: Theme) -> None:
    require(actor, theme.product, Action.EDIT)


def theme_rename(*, actor, theme: Theme, label: str) -> Theme:
    _check(actor, theme)
    label = " ".join(str(label or "").split())
    if not label:
        raise ValidationError({"label": ["Give the theme a name."]})
    if len(label) > LABEL_MAX:
        raise ValidationError({"label": [f"Keep the name within {LABEL_MAX} characters (got {len(label)})."]})
    with transaction.atomic():
        old = theme.label
        theme.label = label
        theme.label_pinned = True
        theme.save(update_fields=["label", "label_pinned", "updated_at"])
        audit_record(actor=actor, action="feedback_theme.renamed", product=theme.product, target=theme,
                     data={"from": old, "to": label})
    return theme


def theme_merge(*, actor, source: Theme, target: Theme) -> Theme:
    """Merge source into target: its pieces and roadmap links join target; source goes."""
    _check(actor, target)
    if source is None or source.product_id != target.product_id:
        raise ValidationError({"into": ["Choose a theme of the same product."]})
    if source.pk == target.pk:
        raise ValidationError({"into": ["A theme cannot be merged into itself."]})
    with transaction.atomic():
        for link in ThemeLink.objects.filter(theme=source):
            other, created = ThemeLink.objects.get_or_create(
                theme=target, roadmap_item=link.roadmap_item,
                defaults={"importance": link.importance, "created_by": actor})
            if not created and link.importance > other.importance:
                other.importance = link.importance
                other.save(update_fields=["importance"])
        FeedbackLink.objects.filter(via_theme=source).update(via_theme=target)
        ThemeAssignment.objects.filter(theme=source).update(theme=target)
        audit_record(actor=actor, action="feedback_theme.merged", product=target.product, target=target,
                     data={"merged": source.label, "into": target.label})
        source.delete()
        target.locked = True
        target.save(update_fields=["locked", "updated_at"])
        _sync_links([target.pk])
        _refresh_centres(target.product)
    return target


def theme_split(*, actor, theme: Theme) -> Theme:
    """Split a theme in two by its text (2-means over its pieces); both halves are then kept
    as the PM left them. Returns the new theme."""
    from sklearn.cluster import KMeans

    _check(actor, theme)
    rows = list(ThemeAssignment.objects.filter(theme=theme).order_by("feedback_id")
                .values_list("feedback_id", "vector", "feedback__text"))
    dims = {len(bytes(r[1])) for r in rows}
    if len(rows) < 2 * grouping.MIN_THEME_SIZE or len(dims) != 1:
        raise ValidationError({"theme": [f"A theme needs at least {2 * grouping.MIN_THEME_SIZE} pieces of "
                                         "feedback to be split."]})
    X = np.frombuffer(b"".join(bytes(r[1]) for r in rows), np.float32).reshape(len(rows), -1)
    labels = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(X)
    if min(np.bincount(labels, minlength=2)) == 0:
        raise ValidationError({"theme": ["All its pieces say the same thing: nothing to split."]})
    # The half with the theme's quote keeps the theme; the other becomes the new one.
    keep = labels[[r[0] for r in rows].index(theme.quote_id)] if theme.quote_id in [r[0] for r in rows] else 0
    moved = [i for i in range(len(rows)) if labels[i] != keep]
    texts = [r[2] for r in rows]
    lab = np.where(labels == keep, 0, 1)
    words = grouping.keywords(texts, lab, 2)
    with transaction.atomic():
        new = Theme.objects.create(product=theme.product, label=grouping.label_from(words[1]), keywords=words[1],
                                   locked=True)
        m = np.array(moved)
        C = grouping.unit(X[m].mean(axis=0, keepdims=True))[0]
        q = grouping.representative(X[m], C, [texts[i] for i in moved])
        new.quote_id = rows[moved[q]][0]
        new.save(update_fields=["quote"])
        ThemeAssignment.objects.filter(feedback_id__in=[rows[i][0] for i in moved]).update(theme=new)
        theme.locked = True
        if not theme.label_pinned:
            theme.keywords = words[0]
            theme.label = grouping.label_from(words[0])
        theme.save(update_fields=["locked", "keywords", "label", "updated_at"])
        audit_record(actor=actor, action="feedback_theme.split", product=theme.product, target=theme,
                     data={"theme": theme.label, "new": new.label, "moved": len(moved)})
        _sync_links([theme.pk, new.pk])
        _refresh_centres(theme.product)
    return new


def theme_set_dismissed(*, actor, theme: Theme, dismissed: bool) -> Theme:
    """Dismiss a theme (noise, or nothing to act on): it leaves the list and the inbox's hints,
    keeps its pieces, and keeps drawing what resembles it at the next grouping. Or restore it."""
    _check(actor, theme)
    with transaction.atomic():
        theme.status = Theme.Status.DISMISSED if dismissed else Theme.Status.ACTIVE
        theme.locked = True
        theme.save(update_fields=["status", "locked", "updated_at"])
        audit_record(actor=actor, action="feedback_theme.dismissed" if dismissed else "feedback_theme.restored",
                     product=theme.product, target=theme, data={"theme": theme.label})
    return theme


def feedback_move(*, actor, feedback: Feedback, theme: Theme | None) -> ThemeAssignment:
    """Put one piece of feedback in another theme (or in none); it stays there."""
    require(actor, feedback.product, Action.EDIT)
    if theme is not None and theme.product_id != feedback.product_id:
        raise ValidationError({"theme": ["Choose a theme of the same product."]})
    with transaction.atomic():
        a = ThemeAssignment.objects.select_for_update().filter(feedback=feedback).first()
        if a is None:
            raise ValidationError({"feedback": ["This feedback has not been grouped yet; regroup first."]})
        before = a.theme_id
        a.theme = theme
        a.pinned = True
        a.save(update_fields=["theme", "pinned", "assigned_at"])
        audit_record(actor=actor, action="feedback_theme.moved", product=feedback.product, target=feedback,
                     data={"from": before, "to": theme.pk if theme else None})
        _sync_links([t for t in (before, theme.pk if theme else None) if t])
        _refresh_centres(feedback.product)
    return a


def _importance(value) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"importance": ["Importance is a whole number from 0 to 3."]}) from None
    if not 0 <= value <= 3:
        raise ValidationError({"importance": ["Importance is a whole number from 0 to 3."]})
    return value


def theme_link(*, actor, theme: Theme, roadmap_item, importance=1) -> ThemeLink:
    """Link a theme to a roadmap item in one action: each of its pieces, now and to come,
    counts toward the item's demand (a piece already linked by hand keeps its own link)."""
    _check(actor, theme)
    if roadmap_item is None or roadmap_item.product_id != theme.product_id:
        raise ValidationError({"roadmap_item": ["Choose a roadmap item of the same product."]})
    importance = _importance(importance)
    with transaction.atomic():
        link, _ = ThemeLink.objects.update_or_create(
            theme=theme, roadmap_item=roadmap_item, defaults={"importance": importance},
            create_defaults={"importance": importance, "created_by": actor})
        audit_record(actor=actor, action="feedback_theme.linked", product=theme.product, target=theme,
                     data={"roadmap_item": roadmap_item.title, "importance": importance})
        _sync_links([theme.pk])
    return link


def theme_unlink(*, actor, theme: Theme, roadmap_item) -> None:
    _check(actor, theme)
    with transaction.atomic():
        deleted, _ = ThemeLink.objects.filter(theme=theme, roadmap_item=roadmap_item).delete()
        if not deleted:
            raise ValidationError({"roadmap_item": ["This theme is not linked to that roadmap item."]})
        FeedbackLink.objects.filter(via_theme=theme, roadmap_item=roadmap_item).delete()
        audit_record(actor=actor, action="feedback_theme.unlinked", product=theme.product, target=theme,
                     data={"roadmap_item": roadmap_item.title})


def _sync_links(theme_ids) -> None:
    """Make each theme's FeedbackLinks (via_theme) match its members and its roadmap links."""
    theme_ids = [t for t in set(theme_ids) if t]
    if not theme_ids:
        return
    links = defaultdict(list)
    for link in ThemeLink.objects.filter(theme_id__in=theme_ids):
        links[link.theme_id].append(link)
    members = defaultdict(set)
    for fid, tid in ThemeAssignment.objects.filter(theme_id__in=theme_ids).values_list("feedback_id", "theme_id"):
        members[tid].add(fid)
    for tid in theme_ids:
        item_ids = [link.roadmap_item_id for link in links[tid]]
        stale = FeedbackLink.objects.filter(via_theme_id=tid)
        stale.exclude(feedback_id__in=members[tid]).delete()
        stale.exclude(roadmap_item_id__in=item_ids).delete()
        for link in links[tid]:
            FeedbackLink.objects.filter(via_theme_id=tid, roadmap_item_id=link.roadmap_item_id).exclude(
                importance=link.importance).update(importance=link.importance)
            FeedbackLink.objects.bulk_create([
                FeedbackLink(feedback_id=f, roadmap_item_id=link.roadmap_item_id, importance=link.importance,
                             via_theme_id=tid, created_by_id=link.created_by_id)
                for f in members[tid]
            ], ignore_conflicts=True, batch_size=1000)
