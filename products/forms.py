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
