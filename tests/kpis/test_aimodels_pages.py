"""Pages for AI models, and their demo data."""
import re

import pytest

from kpis.ml.models import AIModel, ModelVersion
from kpis.timeseries.models import Point
from pmhub import demo
from products.demo import seed_products
from tests import factories
from tests.kpis.aimodel_helpers import log, make_model, make_version
from tests.utils import page_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    from kpis.ml import demo as demo_models

    ctx = demo.DemoContext()
    demo.seed_users(ctx)
    seed_products(ctx)
    demo_models.seed(ctx)
    return ctx


def test_demo_models_seed_idempotently(seeded):
    assert AIModel.objects.count() == 6
    for model in AIModel.objects.all():
        versions = list(model.versions.all())
        assert 3 <= len(versions) <= 4
        assert [v.stage for v in versions].count("production") == 1
        assert model.versions.filter(stage="archived").exists()  # something was in production before
    assert Point.objects.filter(step=300).exists()
    before = Point.objects.count()
    from kpis.ml import demo as demo_models

    again = demo.DemoContext(users=seeded.users, products=seeded.products)
    demo_models.seed(again)
    assert again.created == [] and Point.objects.count() == before


def test_model_pages_compare_versions(client, seeded):
    client.force_login(seeded.users["exec"])
    r = page_get(client, "/models/")
    html = r.content.decode()
    assert "Smart Reply" in html and "reply-generator" in html and "better vs" in html

    r = page_get(client, "/models/churn-radar/")
    html = r.content.decode()
    assert "churn-gbm" in html and "seats-forecast" in html and "<code>mape</code>" in html

    model = AIModel.objects.get(name="seats-forecast")
    r = page_get(client, f"/models/churn-radar/{model.pk}/")
    html = r.content.decode()
    assert 'data-figure="fig-final-values"' in html and 'data-figure="fig-curve-0"' in html
    assert html.count("★ best</span>") >= 3
    assert "Stage history" in html and "Promote" not in html  # a viewer sees no promote button
    # mape is the first column (primary metric) and lower is better: the version with the smallest is marked.
    rows = re.findall(r'<tr>\s*<th scope="row"[^>]*>.*?</tr>', html, re.S)
    first_cells = {re.search(r"</span> (\S+)</th>", row).group(1): re.search(r'<td class="num( best)?">([0-9.]+)', row)
                   for row in rows}
    assert len(first_cells) == 4
    smallest = min(first_cells, key=lambda label: float(first_cells[label].group(2)))
    assert [label for label, m in first_cells.items() if m.group(1)] == [smallest]

    # The product page shows the production model's primary metric (product_overview panel).
    r = page_get(client, "/products/churn-radar/")
    assert "Models in production" in r.content.decode() and "seats-forecast" in r.content.decode()


def test_promote_from_the_page_and_refusals(client, product, data_scientist, viewer, outsider):
    model = make_model(product, data_scientist)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2")
    log(v1, data_scientist, {"accuracy": 0.8})
    log(v2, data_scientist, {"accuracy": 0.9})
    url = f"/models/{product.slug}/{model.pk}/"

    client.force_login(viewer)
    assert client.post(f"{url}versions/{v1.pk}/promote/", {"expected_production": ""}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(f"{url}versions/{v1.pk}/promote/").status_code == 404

    client.force_login(data_scientist)
    html = page_get(client, url).content.decode()
    assert html.count(">Promote</button>") == 2
    r = client.post(f"{url}versions/{v1.pk}/promote/", {"expected_production": ""}, follow=True)
    assert "Version 1 of ranker is now in production" in r.content.decode()
    # A page loaded before that promotion still says "no production version": refused, nothing changes.
    r = client.post(f"{url}versions/{v2.pk}/promote/", {"expected_production": ""}, follow=True)
    assert "someone else promoted" in r.content.decode()
    assert dict(ModelVersion.objects.values_list("version", "stage")) == {"1": "production", "2": "development"}
    r = client.post(f"{url}versions/{v2.pk}/promote/", {"expected_production": str(v1.pk)}, follow=True)
    assert dict(ModelVersion.objects.values_list("version", "stage")) == {"1": "archived", "2": "production"}


def test_empty_states(client, product, data_scientist):
    client.force_login(data_scientist)
    assert "No models yet" in page_get(client, f"/models/{product.slug}/").content.decode()
    model = make_model(product, data_scientist)
    assert "No versions yet" in page_get(client, f"/models/{product.slug}/{model.pk}/").content.decode()
    other = factories.ProductFactory()
    assert client.get(f"/models/{other.slug}/{model.pk}/").status_code == 404
