from django.urls import path

from products.sprints import views as v

app_name = "sprints"

urlpatterns = [
    path("", v.sprint_index, name="index"),
    path("<slug:slug>/", v.sprint_product, name="product"),
    path("<slug:slug>/new/", v.sprint_create, name="create"),
    path("<slug:slug>/backlog/", v.backlog, name="backlog"),
    path("<slug:slug>/<int:pk>/", v.sprint_detail, name="detail"),
    path("<slug:slug>/<int:pk>/edit/", v.sprint_edit, name="edit"),
    path("<slug:slug>/<int:pk>/start/", v.sprint_start, name="start"),
    path("<slug:slug>/<int:pk>/close/", v.sprint_close, name="close"),
    path("<slug:slug>/items/<int:pk>/move/", v.work_item_move, name="move"),
    path("<slug:slug>/items/<int:pk>/edit/", v.work_item_edit, name="item-edit"),
]
