"""Forms of the roadmap: shape only; products.roadmap.services own the rules."""
from django import forms
from django.contrib.auth import get_user_model

from pmhub import limits
from products.forms import product_members
from products.roadmap.models import RoadmapItem

IMPACT_CHOICES = [("0.25", "0.25 · minimal"), ("0.5", "0.5 · low"), ("1", "1 · medium"), ("2", "2 · high"),
                  ("3", "3 · massive")]


class RoadmapItemForm(forms.Form):
    """Shape only; products.roadmap.services.roadmap_item_create/update own the rules."""

    title = forms.CharField(max_length=limits.TITLE_MAX)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(choices=RoadmapItem.Kind.choices, initial=RoadmapItem.Kind.FEATURE)
    status = forms.ChoiceField(choices=RoadmapItem.Status.choices, initial=RoadmapItem.Status.IDEA)
    horizon = forms.ChoiceField(choices=RoadmapItem.Horizon.choices, initial=RoadmapItem.Horizon.LATER)
    theme = forms.CharField(max_length=80, required=False, help_text="Groups items on the timeline.")
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    start_date = limits.date_form_field(required=False)
    target_date = limits.date_form_field(required=False)
    reach = limits.int_form_field(0, limits.REACH_MAX, initial=0, help_text="People or events per quarter.")
    impact = forms.ChoiceField(choices=IMPACT_CHOICES, initial="1")
    confidence = limits.int_form_field(0, limits.CONFIDENCE_MAX, initial=50, help_text="Percent, 0 to 100.")
    effort = forms.DecimalField(initial=1, max_digits=7, decimal_places=2, min_value=0.01, max_value=limits.EFFORT_MAX,
                                help_text="Person-weeks.", error_messages={
                                    k: f"Effort is in person-weeks, from 0.01 to {limits.EFFORT_MAX:,}."
                                    for k in ("invalid", "min_value", "max_value", "max_digits", "max_whole_digits")})
    internal_notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text="For the team only: never shown on the share link.")

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        limits.say_length_limits(self)
        self.fields["owner"].queryset = product_members(product)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username

    @staticmethod
    def initial_for(item: RoadmapItem) -> dict:
        data = {f: getattr(item, f) for f in ("title", "description", "kind", "status", "horizon", "theme",
                                              "start_date", "target_date", "reach", "confidence", "effort",
                                              "internal_notes")}
        data["owner"] = item.owner_id
        data["impact"] = format(item.impact.normalize(), "f")
        return data
