"""Issue 18.11: viewers do not see the KPI import section they cannot use."""
from tests.factories import PASSWORD
from tests.kpis.factories import make_kpi


def test_import_section_only_for_who_may_write_points(client, product, viewer, pm):
    kpi = make_kpi(product, "activation")
    url = f"/kpis/{product.slug}/k/{kpi.key}/"
    assert client.login(username=viewer.username, password=PASSWORD)
    page = client.get(url).content.decode()
    assert "Import history from CSV" not in page and "POST /api/v1/kpis/" not in page
    client.logout()
    assert client.login(username=pm.username, password=PASSWORD)
    page = client.get(url).content.decode()
    assert "Import history from CSV" in page and "POST /api/v1/kpis/" in page
