from django.urls import path

from . import views

app_name = "kpis"

urlpatterns = [
    path("", views.index, name="index"),
    path("alerts/", views.alerts_index, name="alerts-all"),
    path("<slug:slug>/", views.product_dashboard, name="product"),
    path("<slug:slug>/new/", views.kpi_create, name="create"),
    path("<slug:slug>/alerts/", views.alerts_product, name="alerts"),
    path("<slug:slug>/alerts/webhooks/", views.webhook_add, name="webhook-add"),
    path("<slug:slug>/alerts/webhooks/<int:pk>/remove/", views.webhook_delete, name="webhook-remove"),
    path("<slug:slug>/objectives/new/", views.objective_form, name="objective-create"),
    path("<slug:slug>/objectives/<int:pk>/edit/", views.objective_form, name="objective-edit"),
    path("<slug:slug>/k/<slug:key>/", views.kpi_detail, name="detail"),
    path("<slug:slug>/k/<slug:key>/edit/", views.kpi_edit, name="edit"),
    path("<slug:slug>/k/<slug:key>/delete/", views.kpi_delete, name="delete"),
    path("<slug:slug>/k/<slug:key>/import/", views.kpi_import, name="import"),
    path("<slug:slug>/k/<slug:key>/imports/<int:pk>/", views.import_status, name="import-status"),
    path("<slug:slug>/k/<slug:key>/export.csv", views.kpi_export, name="export"),
]
