from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def roadmap_item_url(slug, pk):
    """URL of a roadmap item's page (the roadmap app's "roadmap:item"), or "" while it has none."""
    try:
        return reverse("roadmap:item", kwargs={"slug": slug, "pk": pk})
    except NoReverseMatch:
        return ""
