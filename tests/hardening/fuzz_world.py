"""The data the API fuzz test works on: real objects a PM and a viewer can reach.

Every operation of the schema gets path parameters and body references drawn
from these ids and slugs most of the time (schemathesis dictionaries), so the
calls reach the handlers instead of stopping at 404. Each deletable kind has a
"doomed" object of its own, which the DELETE operations aim at, so a delete
early in the run does not empty the data the later operations need.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from feedback import services as feedback_services
from kpis.ml import services as model_services
from kpis.models import Alert
from kpis.services import alerts as alert_services, kpis as kpi_services
from kpis.sources import services as source_services
from kpis.timeseries.services import PointIn
from products.roadmap import services as roadmap_services
from products.sprints import services as sprint_services
from tests import factories


@dataclass
class World:
    pm: object = None
    viewer: object = None
    product: object = None  # pm, viewer and a data scientist are members
    doomed_product: object = None  # pm and viewer are members; DELETE /products/{slug}/ aims at it
    foreign_product: object = None  # neither may see it
    ids: dict = field(default_factory=dict)  # dictionary name -> values

    def add(self, name, *values):
        self.ids.setdefault(name, [])
        self.ids[name].extend(v for v in values if v not in self.ids[name])


def build_world(prefix: str) -> World:
    """One set of data; prefix keeps the slugs and usernames of two worlds apart."""
    w = World()
    w.product = factories.ProductFactory(name=f"Fuzz main {prefix}", slug=f"{prefix}-main")
    w.doomed_product = factories.ProductFactory(name=f"Fuzz doomed {prefix}", slug=f"{prefix}-doomed")
    w.foreign_product = factories.ProductFactory(name=f"Fuzz foreign {prefix}", slug=f"{prefix}-foreign")
    w.pm = factories.member(w.product, "pm", username=f"{prefix}-pm")
    w.viewer = factories.member(w.product, "viewer", username=f"{prefix}-viewer")
    ds = factories.member(w.product, "data_scientist", username=f"{prefix}-ds")
    factories.MembershipFactory(user=w.pm, product=w.doomed_product, role="pm")
    factories.MembershipFactory(user=w.viewer, product=w.doomed_product, role="viewer")
    # Only DELETE aims at this one: PUT and PATCH may rename the doomed product's slug before.
    condemned = factories.ProductFactory(name=f"Fuzz condemned {prefix}", slug=f"{prefix}-condemned")
    factories.MembershipFactory(user=w.pm, product=condemned, role="pm")
    factories.MembershipFactory(user=w.viewer, product=condemned, role="viewer")
    stranger = factories.member(w.foreign_product, "pm", username=f"{prefix}-stranger")
    factories.member(w.product, "viewer", username=f"{prefix}-leaver")
    factories.UserFactory(username=f"{prefix}-newcomer")
    pm, p = w.pm, w.product

    w.add("product_slugs", p.slug, w.doomed_product.slug, w.foreign_product.slug)
    w.add("doomed_product_slugs", w.doomed_product.slug, condemned.slug)
    w.add("usernames", f"{prefix}-newcomer", f"{prefix}-ds", stranger.username)
    memberships = {m.user.username: m.pk for m in p.memberships.select_related("user")}
    w.add("membership_ids", memberships[f"{prefix}-ds"], memberships[f"{prefix}-leaver"])
    w.add("doomed_membership_ids", memberships[f"{prefix}-leaver"])

    # Roadmap, sprints, work items.
    today = timezone.localdate()
    items = [roadmap_services.roadmap_item_create(actor=pm, product=p, title=t, reach=100, impact=1, confidence=80,
                                                  effort=2, start_date=today, target_date=today + timedelta(days=30))
             for t in ("Smarter replies", "Doomed idea")]
    foreign_item = roadmap_services.roadmap_item_create(actor=stranger, product=w.foreign_product, title="Theirs")
    w.add("roadmap_item_ids", items[0].pk, items[1].pk, foreign_item.pk)
    w.add("doomed_roadmap_item_ids", items[1].pk)
    active = sprint_services.sprint_create(actor=pm, product=p, name="Sprint 1", start_date=today - timedelta(days=3),
                                            end_date=today + timedelta(days=11), goal="Ship it")
    sprint_services.sprint_start(actor=pm, sprint=active)
    planned = sprint_services.sprint_create(actor=pm, product=p, name="Sprint 2", start_date=today + timedelta(days=12),
                                             end_date=today + timedelta(days=26))
    doomed_sprint = sprint_services.sprint_create(actor=pm, product=p, name="Sprint X", start_date=today + timedelta(days=27),
                                                   end_date=today + timedelta(days=40))
    w.add("sprint_ids", active.pk, planned.pk, doomed_sprint.pk)
    w.add("doomed_sprint_ids", doomed_sprint.pk)
    work = [sprint_services.work_item_create(actor=pm, product=p, title=t, sprint=s, points=3, roadmap_item=items[0])
            for t, s in (("Build it", active), ("Plan it", None), ("Doomed task", None))]
    w.add("work_item_ids", *(x.pk for x in work))
    w.add("doomed_work_item_ids", work[2].pk)

    # KPIs with points and an alert, an objective.
    objective = kpi_services.objective_create(actor=pm, product=p, title="Grow", start_date=date(2026, 1, 1),
                                              end_date=date(2026, 12, 31))
    w.add("objective_ids", objective.pk)
    kpi = kpi_services.kpi_create(actor=pm, product=p, name="Reply rate", key="reply-rate", unit="%", target=50,
                                  warning_threshold=40, critical_threshold=30, objective=objective)
    doomed_kpi = kpi_services.kpi_create(actor=pm, product=p, name="Doomed KPI", key="doomed-kpi")
    foreign_kpi = kpi_services.kpi_create(actor=stranger, product=w.foreign_product, name="Theirs", key="theirs")
    now = timezone.now()
    kpi_services.kpi_points_ingest(kpi=kpi, actor=pm, evaluate=False, points=[
        PointIn(ts=now - timedelta(hours=h), value=60.0 - h) for h in range(48)])
    alert_services.alert_open(kpi=kpi, kind="threshold", severity="warning", message="Reply rate is low", value=35.0)
    w.add("kpi_ids", kpi.pk, doomed_kpi.pk, foreign_kpi.pk)
    w.add("doomed_kpi_ids", doomed_kpi.pk)
    w.add("kpi_keys", kpi.key, doomed_kpi.key)
    w.add("alert_ids", *Alert.objects.filter(kpi=kpi).values_list("pk", flat=True))

    # Metric sources, paused, pointing at 127.0.0.1, which pulls refuse (PMHUB_PULL_ALLOWED_HOSTS is
    # empty for the fuzzed server): pull-now and test-connection aim only at the probe, which no
    # PUT or PATCH aims at, so whatever the fuzzer writes, no request ever leaves the machine.
    def source(name, on_kpi, actor):
        return source_services.source_create(
            actor=actor, kpi=on_kpi, name=name, kind="http_json", enabled=False,
            config={"url": "http://127.0.0.1:9/metrics", "json_path": "value"},
            secrets={"headers": {"Authorization": "Bearer fuzz-secret-token"}})

    sources = [source(n, kpi, pm) for n in ("Analytics", "Probe", "Doomed source")]
    foreign_source = source("Theirs", foreign_kpi, stranger)
    w.add("source_ids", sources[0].pk, foreign_source.pk)
    w.add("probe_source_ids", sources[1].pk)
    w.add("doomed_source_ids", sources[2].pk)

    # Models and versions with metrics.
    model = model_services.aimodel_create(actor=pm, product=p, name="reply-ranker", primary_metric="accuracy")
    doomed_model = model_services.aimodel_create(actor=pm, product=p, name="doomed-model")
    foreign_model = model_services.aimodel_create(actor=stranger, product=w.foreign_product, name="their-model")
    versions = [model_services.model_version_create(actor=ds, model=model, version=v, stage=s, params={"lr": 0.01})
                for v, s in (("1", "staging"), ("2", "development"))]
    model_services.model_version_promote(actor=pm, version=versions[0])
    for v in versions:
        model_services.model_metrics_log_simple(actor=ds, version=v, metrics={"accuracy": 0.9, "loss": 0.3}, step=1)
    w.add("model_ids", model.pk, doomed_model.pk, foreign_model.pk)
    w.add("doomed_model_ids", doomed_model.pk)
    w.add("model_version_ids", *(v.pk for v in versions))

    # Feedback linked to the roadmap.
    fb = [feedback_services.feedback_create(actor=pm, product=p, text=t, stakeholder_name="Sam", rating=4)
          for t in ("Replies are great", "Doomed remark")]
    feedback_services.feedback_link(actor=pm, feedback=fb[0], roadmap_item=items[0], importance=2)
    foreign_fb = feedback_services.feedback_create(actor=stranger, product=w.foreign_product, text="Theirs")
    w.add("feedback_ids", fb[0].pk, fb[1].pk, foreign_fb.pk)
    w.add("doomed_feedback_ids", fb[1].pk)

    # Feedback themes (made directly: two pieces are too few for a grouping run).
    from feedback.themes.models import Theme, ThemeAssignment, ThemeLink, ThemeState

    themes = [Theme.objects.create(product=p, label=label, keywords=[label.lower()], quote=fb[0])
              for label in ("Replies", "Remarks")]
    foreign_theme = Theme.objects.create(product=w.foreign_product, label="Theirs")
    ThemeState.objects.create(product=p, backend="tfidf", version=1, run_state="done")
    for piece, theme in zip(fb, themes):
        ThemeAssignment.objects.create(feedback=piece, product=p, theme=theme, similarity=0.8,
                                       vector=b"\0" * 16, state_version=1)
    ThemeLink.objects.create(theme=themes[0], roadmap_item=items[0], importance=1)
    w.add("theme_ids", *(t.pk for t in themes), foreign_theme.pk)
    return w
