from django import forms

from pmhub import limits
from products.roadmap.models import RoadmapItem

from kpis.models import KPI, Objective


class KPIForm(forms.ModelForm):
    class Meta:
        model = KPI
        fields = ["name", "key", "description", "unit", "category", "direction", "target", "warning_threshold",
                  "critical_threshold", "pending_minutes", "objective", "headline", "roadmap_items"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "key": "Letters, digits and dashes; left empty, it is made from the name. Scripts use it in the API.",
            "target": "The KPI is on track only when it meets this (at or above it when higher is better, "
                      "at or below it when lower is).",
            "warning_threshold": "Past this the KPI is at risk (below it when higher is better, above it when lower is).",
            "critical_threshold": "Past this the KPI is off track and a critical alert opens.",
        }

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        limits.say_length_limits(self)
        limits.bounded_form_fields(self, values=("target", "warning_threshold", "critical_threshold"))
        self.fields["key"].required = False
        self.fields["objective"].queryset = Objective.objects.filter(product=product)
        self.fields["roadmap_items"].queryset = RoadmapItem.objects.filter(product=product).order_by("title")
        self.fields["roadmap_items"].required = False
        self.fields["roadmap_items"].help_text = "Items expected to move this KPI; their ship dates mark its chart."

    def validate_unique(self):
        """Uniqueness of the key is the service's rule; it reports it on the key field."""


class ObjectiveForm(forms.ModelForm):
    class Meta:
        model = Objective
        fields = ["title", "description", "start_date", "end_date"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limits.say_length_limits(self)
        limits.bounded_form_fields(self, dates=("start_date", "end_date"))


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text='Header "ts,value"; ts in ISO 8601 with a timezone, or Unix seconds.')


class WebhookForm(forms.Form):
    url = forms.URLField(label="Webhook URL", max_length=500, assume_scheme="https")
