from django.urls import include, path

from . import views

app_name = "feedback"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.inbox, name="product"),
    path("<slug:slug>/new/", views.create, name="new"),
    path("<slug:slug>/bulk/", views.bulk, name="bulk"),
    path("<slug:slug>/public-link/", views.portal, name="portal"),
    path("<slug:slug>/import/", views.import_start, name="import"),
    path("<slug:slug>/import/<int:pk>/", views.import_job, name="import-job"),
    path("<slug:slug>/themes/", include("feedback.themes.urls")),
    path("<slug:slug>/dashboard/", views.dashboard, name="dashboard"),
    path("<slug:slug>/most-requested/", views.most_requested, name="most-requested"),
    path("<slug:slug>/roadmap/<int:item_pk>/reach/", views.reach, name="reach"),
    path("<slug:slug>/roadmap/<int:item_pk>/notify/", views.notify, name="notify"),
    path("<slug:slug>/<int:pk>/", views.detail, name="detail"),
    path("<slug:slug>/<int:pk>/triage/", views.triage, name="triage"),
    path("<slug:slug>/<int:pk>/links/", views.link, name="link"),
    path("<slug:slug>/<int:pk>/links/<int:link_pk>/remove/", views.unlink, name="unlink"),
    path("<slug:slug>/<int:pk>/duplicate/", views.duplicate, name="duplicate"),
    path("<slug:slug>/<int:pk>/delete/", views.delete, name="delete"),
]
