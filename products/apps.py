from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "products"

    def ready(self):
        from . import panels  # noqa: F401  (registers the product overview panel)
