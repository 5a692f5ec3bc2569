from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    username = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, such as 'training jobs'.")


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label="Action")
    product = forms.ModelChoiceField(queryset=None, required=False, label="Product", to_field_name="slug")
    actor = forms.CharField(required=False, max_length=150, label="User")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        from .models import AuditEvent

        Product = AuditEvent._meta.get_field("product").related_model
        groups = sorted({a.split(".")[0] for a in actions})
        self.fields["action"].choices = [("", "Any action")] + [
            (g, f"{g}.*") for g in groups
        ] + [(a, a) for a in actions]
        self.fields["product"].queryset = Product.objects.order_by("name")
        self.fields["product"].empty_label = "Any product"
