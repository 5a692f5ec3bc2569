from django.urls import path

from kpis.sources import views

app_name = "sources"

urlpatterns = [
    path("<slug:slug>/", views.source_list, name="list"),
    path("<slug:slug>/new/", views.source_create, name="create"),
    path("<slug:slug>/<int:pk>/", views.source_detail, name="detail"),
    path("<slug:slug>/<int:pk>/edit/", views.source_edit, name="edit"),
    path("<slug:slug>/<int:pk>/delete/", views.source_delete, name="delete"),
    path("<slug:slug>/<int:pk>/pull/", views.source_pull_now, name="pull"),
    path("<slug:slug>/<int:pk>/test/", views.source_test, name="test"),
    path("<slug:slug>/<int:pk>/health/", views.source_health, name="health"),
]
