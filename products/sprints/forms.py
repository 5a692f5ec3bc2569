"""Forms of sprints and work items: shape only; products.sprints.services own the rules."""
from django import forms
from django.contrib.auth import get_user_model

from pmhub import limits
from pmhub.dates import date_text
from products.forms import product_members
from products.roadmap.models import RoadmapItem
from products.sprints.models import Sprint, WorkItem


class SprintForm(forms.Form):
    name = forms.CharField(max_length=120)
    goal = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    start_date = limits.date_form_field()
    end_date = limits.date_form_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limits.say_length_limits(self)


class WorkItemForm(forms.Form):
    title = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=WorkItem.Type.choices, initial=WorkItem.Type.STORY)
    points = limits.int_form_field(0, limits.POINTS_MAX, initial=1)
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    roadmap_item = forms.ModelChoiceField(queryset=RoadmapItem.objects.none(), required=False)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        limits.say_length_limits(self)
        self.fields["assignee"].queryset = product_members(product)
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["roadmap_item"].queryset = RoadmapItem.objects.filter(product=product).exclude(
            status=RoadmapItem.Status.DROPPED).order_by("title")


class SprintCloseForm(forms.Form):
    unfinished_to = forms.ChoiceField(label="Move unfinished items to")

    def __init__(self, *args, sprint: Sprint, **kwargs):
        super().__init__(*args, **kwargs)
        planned = Sprint.objects.filter(product_id=sprint.product_id, state=Sprint.State.PLANNED).order_by("start_date")
        self.fields["unfinished_to"].choices = [("backlog", "The backlog")] + [
            (str(s.pk), f"Sprint {s.name} (starts {date_text(s.start_date)})") for s in planned]
