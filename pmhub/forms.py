from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    username = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, such as 'training jobs'.")
