from django.urls import path

from . import views

app_name = "products"

urlpatterns = [
    path("", views.product_list, name="list"),
    path("new/", views.product_create, name="create"),
    path("<slug:slug>/", views.product_detail, name="detail"),
    path("<slug:slug>/edit/", views.product_edit, name="edit"),
    path("<slug:slug>/members/", views.membership_add, name="member-add"),
    path("<slug:slug>/members/<int:pk>/remove/", views.membership_delete, name="member-remove"),
]
