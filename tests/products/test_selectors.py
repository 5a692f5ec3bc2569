"""Reads of products: visibility and counts."""
from products.selectors import product_list_for_user
from tests import factories


def test_member_count_counts_every_member_not_only_the_viewer(product, pm, data_scientist, viewer, client):
    """Issue 18.3: a PM saw 1 member per product when there were 3."""
    other = factories.ProductFactory(name="Other")
    factories.member(other, "pm", username="solo")
    rows = list(product_list_for_user(user=pm))
    assert [(p.name, p.member_count) for p in rows] == [(product.name, 3)]
    staff = factories.UserFactory(username="boss", is_staff=True)
    counts = {p.name: p.member_count for p in product_list_for_user(user=staff)}
    assert counts == {product.name: 3, "Other": 1}

    client.force_login(pm)
    page = client.get("/products/").content.decode()
    assert "<td>3</td>" in page


def test_product_list_is_one_query(product, pm, django_assert_num_queries):
    for i in range(5):
        other = factories.ProductFactory(name=f"P{i}")
        factories.MembershipFactory(user=pm, product=other, role="viewer")
        factories.member(other, "data_scientist", username=f"ds{i}")
    with django_assert_num_queries(1):
        rows = list(product_list_for_user(user=pm))
    assert [p.member_count for p in rows] == [2, 2, 2, 2, 2, 1]
