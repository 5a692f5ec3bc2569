"""Demo roadmap and sprints for the demo products (run by `manage.py seed_demo`).

Each product gets a dozen roadmap items across the horizons (some shipped, with dates) and three
sprints: two closed, one active, whose work items and completion dates give the burndown and
velocity charts real shapes. Idempotent: a product that has roadmap items (or sprints) is left alone.
"""
import datetime
from decimal import Decimal

from django.utils import timezone

from .models import RoadmapItem, RoadmapStatusChange, Sprint, SprintSnapshot, WorkItem
from .services import rice_score

# title, theme, kind, status, horizon, (start, target) in weeks from today or None, reach, impact, confidence, effort
ROADMAPS = {
    "smart-reply": [
        ("Suggested replies in the inbox", "Core model", "feature", "shipped", "now", (-20, -12), 9000, "2", 90, 6),
        ("Tone control (formal / friendly)", "Agent experience", "feature", "shipped", "now", (-14, -6), 5200, "1", 80, 3),
        ("Reply quality feedback buttons", "Quality", "feature", "shipped", "now", (-10, -4), 7000, "0.5", 90, 1),
        ("Multilingual replies (DE, FR, ES)", "Core model", "initiative", "in_progress", "now", (-4, 4), 3800, "2", 70, 8),
        ("Hallucination guard on order data", "Quality", "feature", "in_progress", "now", (-3, 2), 9000, "3", 60, 5),
        ("A/B test: 3 vs 5 suggestions", "Agent experience", "experiment", "planned", "now", (1, 4), 4000, "1", 50, 1),
        ("Knowledge-base grounding (RAG)", "Core model", "initiative", "planned", "next", (5, 14), 8000, "3", 60, 10),
        ("Macros from accepted replies", "Agent experience", "feature", "discovery", "next", (6, 11), 2500, "1", 50, 3),
        ("Latency under 400 ms p95", "Platform", "feature", "planned", "next", (3, 9), 9000, "1", 80, 4),
        ("Auto-send for password resets", "Automation", "experiment", "idea", "later", None, 1200, "2", 30, 4),
        ("Voice channel replies", "Automation", "initiative", "idea", "later", None, 900, "2", 20, 12),
        ("Per-team style fine-tuning", "Core model", "feature", "dropped", "later", None, 600, "0.5", 30, 6),
    ],
    "churn-radar": [
        ("Weekly churn-risk score per account", "Scoring", "feature", "shipped", "now", (-24, -16), 1400, "3", 90, 8),
        ("Risk drivers explained (SHAP)", "Explainability", "feature", "shipped", "now", (-15, -8), 1400, "2", 80, 4),
        ("CRM sync of risk scores", "Integrations", "feature", "shipped", "now", (-9, -5), 1100, "1", 90, 2),
        ("Playbooks for at-risk accounts", "Customer success", "initiative", "in_progress", "now", (-4, 3), 900, "2", 70, 6),
        ("Product-usage features v2", "Scoring", "feature", "in_progress", "now", (-2, 5), 1400, "1", 60, 5),
        ("Save-offer experiment", "Customer success", "experiment", "planned", "now", (2, 6), 300, "2", 50, 2),
        ("Expansion propensity score", "Scoring", "initiative", "discovery", "next", (6, 16), 1400, "2", 40, 9),
        ("Slack alerts for risk jumps", "Integrations", "feature", "planned", "next", (4, 7), 800, "1", 80, 1),
        ("Calibration dashboard", "Explainability", "feature", "planned", "next", (5, 9), 60, "0.5", 90, 2),
        ("Support-ticket sentiment signal", "Scoring", "experiment", "idea", "later", None, 1400, "1", 40, 4),
        ("Self-serve churn survey", "Customer success", "feature", "idea", "later", None, 500, "0.5", 50, 2),
        ("Real-time scoring", "Platform", "initiative", "dropped", "later", None, 1400, "0.5", 20, 12),
    ],
    "search-ranking": [
        ("Learning-to-rank model v1", "Ranking", "initiative", "shipped", "now", (-26, -14), 250000, "2", 90, 12),
        ("Query spelling correction", "Query understanding", "feature", "shipped", "now", (-12, -7), 80000, "1", 90, 3),
        ("Personalised boosts for returning users", "Personalisation", "experiment", "shipped", "now", (-8, -3), 120000, "1", 70, 4),
        ("Semantic search for long queries", "Query understanding", "initiative", "in_progress", "now", (-5, 5), 60000, "2", 60, 8),
        ("Out-of-stock demotion", "Ranking", "feature", "in_progress", "now", (-2, 2), 250000, "0.5", 90, 1),
        ("Interleaving test framework", "Experimentation", "feature", "planned", "now", (1, 5), 250000, "0.5", 80, 3),
        ("Zero-results recovery", "Query understanding", "feature", "planned", "next", (4, 9), 30000, "2", 70, 3),
        ("Ranking v2 with margin signal", "Ranking", "initiative", "discovery", "next", (8, 20), 250000, "2", 50, 10),
        ("Search analytics for merchandisers", "Experimentation", "feature", "planned", "next", (6, 12), 40, "1", 80, 4),
        ("Visual search from photos", "Personalisation", "initiative", "idea", "later", None, 20000, "3", 20, 16),
        ("Synonym suggestions for merchandisers", "Query understanding", "feature", "idea", "later", None, 10000, "0.5", 60, 2),
        ("Voice search", "Personalisation", "experiment", "dropped", "later", None, 5000, "0.5", 20, 8),
    ],
}

WORK = {
    "smart-reply": ["Language detection in the pipeline", "Translate eval set to German", "French eval set", "Spanish eval set",
                    "Guard: match order ids against the DB", "Guard: refuse unknown refund amounts", "Log suggestion acceptance",
                    "Fix double suggestions on reopen", "Tone selector UI", "Cache embeddings per thread", "Prompt template v4",
                    "Latency dashboard", "Batch inference on GPU pool", "Bug: emoji breaks tokenizer", "Retrain on Q3 tickets",
                    "Review red-team findings", "Load test 200 rps", "Agent onboarding tooltip", "Reply length control",
                    "Evaluate 8B vs 70B model", "Bug: HTML quotes in reply", "Feature flag per team", "Offline eval harness",
                    "Ship German to 10% of agents"],
    "churn-radar": ["Playbook templates in CRM", "Risk tier thresholds review", "Usage events pipeline v2", "Backfill 12 months of usage",
                    "Feature: seats used vs bought", "Feature: admin logins per week", "Retrain with new features", "SHAP summary per segment",
                    "Bug: duplicate accounts after merge", "CS weekly digest e-mail", "Save-offer eligibility rules", "Slack alert prototype",
                    "Calibration plot by decile", "Monitor feature drift", "Bug: timezone shift in weekly job", "Account timeline view",
                    "Export at-risk list to CSV", "Holdout group for playbooks", "Score freshness alert", "Model card update",
                    "Data contract with billing", "Bug: null MRR for trials", "Segment by plan tier", "Review with CS leads"],
    "search-ranking": ["Embed catalogue with new encoder", "ANN index on 2M products", "Hybrid BM25 + vector scoring", "Stock feed to ranker",
                       "Demotion weight tuning", "Interleaving logger", "Click model for long queries", "Offline NDCG harness",
                       "Bug: facets lost after correction", "Query length histogram", "Zero-results fallback query", "Latency budget 80 ms",
                       "Re-index nightly job", "Bug: duplicate SKUs in results", "Merchandiser boost rules", "Feature: margin per SKU",
                       "Synonyms import", "A/B guardrail metrics", "Cold-start products boost", "Eval on holiday traffic",
                       "Bug: accents in queries", "Ranking explain endpoint", "Canary the new index", "Review with merchandising"],
}
POINTS = [1, 2, 3, 3, 5, 5, 8, 2, 3, 5, 1, 8, 3, 2, 5, 3]
TYPES = ["story", "story", "bug", "story", "model_task", "experiment", "story", "model_task"]


def _d(weeks: int, today: datetime.date) -> datetime.date:
    return today + datetime.timedelta(weeks=weeks)


def _at(day: datetime.date, hour: int = 15) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def seed(ctx):
    today = timezone.localdate()
    pm, ds = ctx.users.get("pm"), ctx.users.get("ds")
    for product in ctx.products:
        spec = ROADMAPS.get(product.slug)
        if spec is None:
            continue
        if not RoadmapItem.objects.filter(product=product).exists():
            _seed_roadmap(ctx, product, spec, today, pm, ds)
        if not Sprint.objects.filter(product=product).exists():
            _seed_sprints(ctx, product, today, pm, ds)


def _seed_roadmap(ctx, product, spec, today, pm, ds):
    items, positions = [], {"now": 0, "next": 0, "later": 0}
    for title, theme, kind, status, horizon, weeks, reach, impact, confidence, effort in spec:
        start = target = shipped_at = None
        if weeks:
            start, target = _d(weeks[0], today), _d(weeks[1], today)
        if status == "shipped":
            shipped_at = _at(target - datetime.timedelta(days=2))
        items.append(RoadmapItem(
            product=product, title=title, theme=theme, kind=kind, status=status, horizon=horizon,
            start_date=start, target_date=target, shipped_at=shipped_at, owner=pm if kind != "experiment" else ds,
            description=f"{title}: part of the {theme.lower()} work for {product.name}.",
            internal_notes="Estimate from the planning offsite; revisit after discovery." if status != "shipped" else "",
            reach=reach, impact=Decimal(impact), confidence=confidence, effort=Decimal(effort),
            rice_score=rice_score(reach=reach, impact=impact, confidence=confidence, effort=effort),
            position=positions[horizon],
        ))
        positions[horizon] += 1
    RoadmapItem.objects.bulk_create(items)
    path = ["idea", "discovery", "planned", "in_progress", "shipped"]
    changes = []
    for item in RoadmapItem.objects.filter(product=product):
        created = _at((item.start_date or today) - datetime.timedelta(weeks=3), 10)
        changes.append(RoadmapStatusChange(item=item, from_status="", to_status="idea", actor=pm, changed_at=created))
        if item.status == "dropped":
            changes.append(RoadmapStatusChange(item=item, from_status="idea", to_status="dropped", actor=pm,
                                               changed_at=created + datetime.timedelta(days=20)))
            continue
        steps = path[: path.index(item.status) + 1] if item.status in path else ["idea"]
        for i in range(1, len(steps)):
            when = item.shipped_at if steps[i] == "shipped" else (
                _at(item.start_date, 9) if steps[i] == "in_progress" and item.start_date else created + datetime.timedelta(days=4 * i))
            changes.append(RoadmapStatusChange(item=item, from_status=steps[i - 1], to_status=steps[i], actor=pm,
                                               changed_at=min(when, timezone.now())))
    RoadmapStatusChange.objects.bulk_create(changes)
    ctx.note(f"roadmap of {product.slug} ({len(items)} items)")


def _simulate(sprint_items, start, days):
    """Snapshots per day from (points, added_day, done_day or None) triples."""
    snaps = []
    for day in range(days):
        in_scope = [(p, done) for p, added, done in sprint_items if added <= day]
        scope = sum(p for p, _ in in_scope)
        remaining = scope - sum(p for p, done in in_scope if done is not None and done <= day)
        snaps.append((start + datetime.timedelta(days=day), scope, remaining, len(in_scope)))
    return snaps


def _seed_sprints(ctx, product, today, pm, ds):
    titles = list(WORK[product.slug]) + [f"{t} (follow-up)" for t in WORK[product.slug]]
    current_titles, titles = titles[:14], titles[14:]  # the active sprint and backlog read best
    roadmap = list(RoadmapItem.objects.filter(product=product, horizon="now").order_by("position"))
    members = [pm, ds]
    length = 14
    s3_start = today - datetime.timedelta(days=6)
    s2_start = s3_start - datetime.timedelta(days=length)
    s1_start = s2_start - datetime.timedelta(days=length)
    n = Sprint.objects.filter(product=product).count()
    s1, s2, s3 = Sprint.objects.bulk_create([
        Sprint(product=product, name=f"Sprint {n + 1}", goal="Ship the first cut of the quarter's top bet.",
               start_date=s1_start, end_date=s1_start + datetime.timedelta(days=length - 1), state="closed"),
        Sprint(product=product, name=f"Sprint {n + 2}", goal="Harden quality and close the guard-rail gaps.",
               start_date=s2_start, end_date=s2_start + datetime.timedelta(days=length - 1), state="closed"),
        Sprint(product=product, name=f"Sprint {n + 3}", goal="Roll out to the first customers and measure.",
               start_date=s3_start, end_date=s3_start + datetime.timedelta(days=length - 1), state="active"),
    ])
    work, snapshots = [], []

    def card(title, points, sprint, status, done_day=None, order=0):
        completed = _at(sprint.start_date + datetime.timedelta(days=done_day), 11 + done_day % 6) \
            if status == "done" else None
        return WorkItem(product=product, sprint=sprint, title=title, points=points, status=status, order=order,
                        type=TYPES[len(work) % len(TYPES)], assignee=members[len(work) % 2],
                        roadmap_item=roadmap[len(work) % len(roadmap)] if roadmap else None, completed_at=completed)

    # Sprint 1: 9 items committed, one added mid-sprint, two left unfinished (carried into sprint 2).
    plan1 = [(POINTS[i], 0, d) for i, d in enumerate([2, 3, 5, 6, 8, 9, 11, 12, None])] + [(3, 5, 12), (5, 0, None)]
    carried = []
    for i, (points, added, done) in enumerate(plan1):
        if done is None:
            carried.append((titles.pop(0), points))
        else:
            work.append(card(titles.pop(0), points, s1, "done", done, order=i))
    snapshots += [(s1, *s) for s in _simulate(plan1, s1_start, length)]
    # Sprint 2: the carried items plus 8 new; scope grows on day 4; three unfinished go back to the backlog.
    plan2 = [(p, 0, d) for (_, p), d in zip(carried, [4, 7])]
    plan2 += [(POINTS[i + 3], 0 if i < 7 else 4, d) for i, d in enumerate([1, 3, 6, 8, 10, None, 13, None])]
    plan2 += [(2, 0, None)]
    for i, ((title, points), d) in enumerate(zip(carried, [4, 7])):
        work.append(card(title, points, s2, "done", d, order=i))
    backlog_titles = []
    for i, (points, added, done) in enumerate(plan2[2:]):
        title = titles.pop(0)
        if done is None:
            backlog_titles.append((title, points))
        else:
            work.append(card(title, points, s2, "done", done, order=i + 2))
    snapshots += [(s2, *s) for s in _simulate(plan2, s2_start, length)]
    for i, (title, points) in enumerate(backlog_titles):
        work.append(card(title, points, None, "todo", order=i))
    # Sprint 3 (active, day 7 of 14): done, review, in progress and to do.
    statuses = ["done", "done", "done", "done", "review", "in_progress", "in_progress", "todo", "todo", "todo"]
    done_days = [1, 2, 4, 5]
    plan3, orders = [], {}
    for i, status in enumerate(statuses):
        points = POINTS[(i + 5) % len(POINTS)]
        done = done_days[i] if status == "done" else None
        plan3.append((points, 0, done))
        orders[status] = orders.get(status, -1) + 1
        work.append(card(current_titles.pop(0), points, s3, status, done, order=orders[status]))
    snapshots += [(s3, *s) for s in _simulate(plan3, s3_start, (today - s3_start).days)]
    for i, title in enumerate(current_titles[:4]):
        work.append(card(title, POINTS[i + 2], None, "todo", order=len(backlog_titles) + i))
    WorkItem.objects.bulk_create(work)
    SprintSnapshot.objects.bulk_create([
        SprintSnapshot(sprint=s, date=d, scope_points=scope, remaining_points=rem, item_count=count)
        for s, d, scope, rem, count in snapshots
    ])
    for sprint, plan in ((s1, plan1), (s2, plan2)):
        committed = sum(p for p, added, _ in plan if added == 0)
        completed = sum(p for p, _, done in plan if done is not None)
        Sprint.objects.filter(pk=sprint.pk).update(
            committed_points=committed, completed_points=completed, started_at=_at(sprint.start_date, 9),
            closed_at=_at(sprint.end_date, 17))
    Sprint.objects.filter(pk=s3.pk).update(started_at=_at(s3_start, 9))
    from .services import sprint_snapshot

    sprint_snapshot(sprint=s3)
    ctx.note(f"3 sprints and {len(work)} work items of {product.slug}")
