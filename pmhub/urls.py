from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from feedback import api as feedback_api
from feedback.themes import api as themes_api
from kpis import api as kpis_api
from kpis.ml import api as ml_api
from kpis.sources import api as sources_api
from products import api as products_api
from products.roadmap import api as roadmap_api
from products.sprints import api as sprints_api

from . import views
from .forms import LoginForm

router = DefaultRouter()
products_api.register(router)
roadmap_api.register(router)
sprints_api.register(router)
ml_api.register(router)
feedback_api.register(router)
themes_api.register(router)
kpis_api.register(router)
sources_api.register(router)

api_v1 = [
    *products_api.extra_urls(),
    *feedback_api.extra_urls(),
    *kpis_api.extra_urls(),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("healthz", views.healthz, name="healthz"),
    path("audit/", views.audit_log, name="audit-log"),
    path("products/", include("products.urls")),
    path("mlflow/", include("kpis.ml.mlflow.urls")),
    path("feedback/", include("feedback.urls")),
    path("give-feedback/", include("feedback.public_urls")),
    path("kpis/", include("kpis.urls")),
    path("models/", include("kpis.ml.urls")),
    path("portfolio/", include("portfolio.urls")),
    path("sources/", include("kpis.sources.urls")),
    path("roadmap/", include("products.roadmap.urls")),
    path("sprints/", include("products.sprints.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script from this URL (?script=): no inline script, so our CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler403 = "pmhub.views.error_403"
handler404 = "pmhub.views.error_404"
handler500 = "pmhub.views.server_error"
