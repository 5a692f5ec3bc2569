from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from products.transfer import product_import


class Command(BaseCommand):
    help = "Read a product written by export_product (all or nothing). --slug imports it under another slug."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--slug", default=None, help="Import under this slug (e.g. a copy next to the original).")

    def handle(self, *args, file, slug, **options):
        try:
            with open(file, encoding="utf-8") as stream:
                product = product_import(stream=stream, slug=slug)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(m for msgs in exc.message_dict.values() for m in msgs)) from exc
        self.stdout.write(f"Imported product '{product.slug}' (id {product.pk}).")
