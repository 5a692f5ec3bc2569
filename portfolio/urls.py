from django.urls import path

from portfolio import views

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("export.csv", views.portfolio_export, name="portfolio-export"),
    path("digest/", views.digest_preview, name="portfolio-digest"),
    path("digest/subscription/", views.digest_subscription, name="portfolio-digest-subscription"),
    path("digest/send/", views.digest_send_now, name="portfolio-digest-send"),
]
