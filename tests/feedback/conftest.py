import pytest

from feedback import services
from products.roadmap.models import RoadmapItem


@pytest.fixture
def roadmap_item(product):
    return RoadmapItem.objects.create(product=product, title="Bulk export", theme="Data")


@pytest.fixture
def other_item(product):
    return RoadmapItem.objects.create(product=product, title="Tone control", theme="Quality")


@pytest.fixture
def give(pm, product):
    """give(text, **fields) -> Feedback created by the PM."""
    def make(text="Works fine", **fields):
        return services.feedback_create(actor=fields.pop("actor", pm), product=fields.pop("product", product),
                                        text=text, **fields)
    return make
