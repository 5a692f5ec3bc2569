"""Forms check shape only; the services own the rules and the messages."""
from django import forms

from .models import Channel, Feedback, Segment

RATING_CHOICES = [("", "No rating")] + [(str(i), f"{i} – {label}") for i, label in
                                        enumerate(["poor", "fair", "good", "very good", "excellent"], start=1)]
IMPORTANCE_CHOICES = [("0", "0 – noted"), ("1", "1 – nice to have"), ("2", "2 – important"), ("3", "3 – critical")]


class FeedbackForm(forms.Form):
    """The member form: everything a PM, an executive or a support lead may record."""

    # Not required here: the service checks the text with every other field, so all
    # problems show at once, with the same messages as the API.
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}), label="Feedback",
                           help_text="What the stakeholder said, in their words where you can.")
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.INTERVIEW)
    stakeholder_name = forms.CharField(required=False, label="Stakeholder name")
    stakeholder_email = forms.CharField(required=False, label="Stakeholder e-mail",
                                        help_text="Used only to tell them when what they asked for ships.",
                                        widget=forms.EmailInput)
    organisation = forms.CharField(required=False)
    segment = forms.ChoiceField(choices=Segment.choices, initial=Segment.CUSTOMER)
    rating = forms.ChoiceField(choices=RATING_CHOICES, required=False)
    tags = forms.CharField(required=False, help_text="Separated by commas, e.g. export, onboarding.")
    received_at = forms.DateField(required=False, label="Date received", widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="Left empty: today.")


class PublicFeedbackForm(forms.Form):
    """The public link: the few fields a person without an account fills in, and a trap for bots."""

    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), label="Your feedback")
    rating = forms.ChoiceField(choices=RATING_CHOICES, required=False, label="How would you rate it overall?")
    stakeholder_name = forms.CharField(required=False, label="Your name (optional)")
    stakeholder_email = forms.CharField(required=False, label="Your e-mail (optional)", widget=forms.EmailInput,
                                        help_text="Only to tell you when what you asked for ships.")
    organisation = forms.CharField(required=False, label="Your company (optional)")
    segment = forms.ChoiceField(choices=[(Segment.CUSTOMER, "I use it"), (Segment.PROSPECT, "I am considering it")],
                                initial=Segment.CUSTOMER, label="You are")
    # The honeypot: hidden from people by CSS, filled in by bots that fill in every field.
    website = forms.CharField(required=False, label="Leave this field empty",
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))


class TriageForm(forms.Form):
    status = forms.ChoiceField(choices=Feedback.Status.choices)
    tags = forms.CharField(required=False, help_text="Separated by commas.")


class LinkForm(forms.Form):
    roadmap_item = forms.TypedChoiceField(coerce=int, label="Roadmap item")
    importance = forms.ChoiceField(choices=IMPORTANCE_CHOICES, initial="2")

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roadmap_item"].choices = [("", "Choose a roadmap item")] + [
            (i.pk, f"{i.title} ({i.get_status_display().lower()})") for i in items]


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, first line naming the columns; at least “text”.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
    default_channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.SURVEY,
                                        label="Channel of rows that name none")
