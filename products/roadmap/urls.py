from django.urls import path

from products.roadmap import views as v

app_name = "roadmap"

urlpatterns = [
    path("", v.roadmap_index, name="index"),
    path("shared/<str:token>/", v.roadmap_shared, name="shared"),
    path("<slug:slug>/", v.roadmap_board, name="product"),
    path("<slug:slug>/list/", v.roadmap_list, name="list"),
    path("<slug:slug>/timeline/", v.roadmap_timeline, name="timeline"),
    path("<slug:slug>/matrix/", v.roadmap_matrix, name="matrix"),
    path("<slug:slug>/new/", v.roadmap_item_create, name="create"),
    path("<slug:slug>/share/", v.roadmap_share, name="share"),
    path("<slug:slug>/items/<int:pk>/", v.roadmap_item_detail, name="item"),
    path("<slug:slug>/items/<int:pk>/edit/", v.roadmap_item_edit, name="edit"),
    path("<slug:slug>/items/<int:pk>/move/", v.roadmap_item_move, name="move"),
    path("<slug:slug>/items/<int:pk>/status/", v.roadmap_item_status, name="status"),
    path("<slug:slug>/items/<int:pk>/delete/", v.roadmap_item_delete, name="delete"),
]
