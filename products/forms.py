from django import forms

from pmhub.roles import Role

from .models import Product


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "slug", "description", "business_objective", "status"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "business_objective": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {"slug": "Letters, digits and dashes; left empty, it is made from the name."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def validate_unique(self):
        """Uniqueness is the service's rule; it reports it on the slug field."""


class MembershipForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


# --- roadmap and sprints -------------------------------------------------------------------------

from django.contrib.auth import get_user_model  # noqa: E402

from .models import RoadmapItem, Sprint, WorkItem  # noqa: E402

IMPACT_CHOICES = [("0.25", "0.25 · minimal"), ("0.5", "0.5 · low"), ("1", "1 · medium"), ("2", "2 · high"),
                  ("3", "3 · massive")]


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if hasattr(value, "isoformat") else value


def _members(product):
    return get_user_model().objects.filter(memberships__product=product, is_active=True).order_by("username")


class RoadmapItemForm(forms.Form):
    """Shape only; products.services.roadmap_item_create/update own the rules."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(choices=RoadmapItem.Kind.choices, initial=RoadmapItem.Kind.FEATURE)
    status = forms.ChoiceField(choices=RoadmapItem.Status.choices, initial=RoadmapItem.Status.IDEA)
    horizon = forms.ChoiceField(choices=RoadmapItem.Horizon.choices, initial=RoadmapItem.Horizon.LATER)
    theme = forms.CharField(max_length=80, required=False, help_text="Groups items on the timeline.")
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    start_date = forms.DateField(required=False, widget=DateInput)
    target_date = forms.DateField(required=False, widget=DateInput)
    reach = forms.IntegerField(initial=0, help_text="People or events per quarter.")
    impact = forms.ChoiceField(choices=IMPACT_CHOICES, initial="1")
    confidence = forms.IntegerField(initial=50, help_text="Percent, 0 to 100.")
    effort = forms.DecimalField(initial=1, max_digits=7, decimal_places=2, help_text="Person-weeks.")
    internal_notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text="For the team only: never shown on the share link.")

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _members(product)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username

    @staticmethod
    def initial_for(item: RoadmapItem) -> dict:
        data = {f: getattr(item, f) for f in ("title", "description", "kind", "status", "horizon", "theme",
                                              "start_date", "target_date", "reach", "confidence", "effort",
                                              "internal_notes")}
        data["owner"] = item.owner_id
        data["impact"] = format(item.impact.normalize(), "f")
        return data


class SprintForm(forms.Form):
    name = forms.CharField(max_length=120)
    goal = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    start_date = forms.DateField(widget=DateInput)
    end_date = forms.DateField(widget=DateInput)


class WorkItemForm(forms.Form):
    title = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=WorkItem.Type.choices, initial=WorkItem.Type.STORY)
    points = forms.IntegerField(initial=1)
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    roadmap_item = forms.ModelChoiceField(queryset=RoadmapItem.objects.none(), required=False)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _members(product)
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["roadmap_item"].queryset = RoadmapItem.objects.filter(product=product).exclude(
            status=RoadmapItem.Status.DROPPED).order_by("title")


class SprintCloseForm(forms.Form):
    unfinished_to = forms.ChoiceField(label="Move unfinished items to")

    def __init__(self, *args, sprint: Sprint, **kwargs):
        super().__init__(*args, **kwargs)
        planned = Sprint.objects.filter(product_id=sprint.product_id, state=Sprint.State.PLANNED).order_by("start_date")
        self.fields["unfinished_to"].choices = [("backlog", "The backlog")] + [
            (str(s.pk), f"Sprint {s.name} (starts {s.start_date:%b %d})") for s in planned]
