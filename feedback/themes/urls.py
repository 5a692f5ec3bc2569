"""Pages of feedback themes, under /feedback/<slug>/themes/ (names in the feedback namespace)."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.theme_list, name="themes"),
    path("regroup/", views.regroup, name="themes-regroup"),
    path("merge/", views.merge, name="themes-merge"),
    path("<int:pk>/", views.theme_detail, name="theme"),
    path("<int:pk>/rename/", views.rename, name="theme-rename"),
    path("<int:pk>/split/", views.split, name="theme-split"),
    path("<int:pk>/dismiss/", views.dismiss, name="theme-dismiss"),
    path("<int:pk>/link/", views.link, name="theme-link"),
    path("<int:pk>/unlink/<int:item_pk>/", views.unlink, name="theme-unlink"),
    path("move/<int:feedback_pk>/", views.move, name="theme-move"),
]
