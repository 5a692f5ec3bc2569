"""The public feedback link, outside /feedback/ so no product slug can shadow it."""
from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.public_form, name="feedback-public"),
]
