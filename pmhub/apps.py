from django.apps import AppConfig


class PmhubConfig(AppConfig):
    name = "pmhub"
    verbose_name = "pmhub core"

    def ready(self):
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension
