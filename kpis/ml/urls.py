from django.urls import path

from kpis.ml import views

app_name = "models"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.product_models, name="product"),
    path("<slug:slug>/<int:pk>/", views.model_detail, name="detail"),
    path("<slug:slug>/<int:pk>/versions/<int:version_pk>/promote/", views.version_promote, name="promote"),
]
