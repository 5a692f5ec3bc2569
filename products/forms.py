from django import forms
from django.contrib.auth import get_user_model

from pmhub.roles import Role

from products.models import Product


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


# --- shared by the roadmap's and the sprints' forms ---------------------------------------------

class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if hasattr(value, "isoformat") else value


def product_members(product):
    """Active users with a role on product, for assignee and owner choices."""
    return get_user_model().objects.filter(memberships__product=product, is_active=True).order_by("username")
