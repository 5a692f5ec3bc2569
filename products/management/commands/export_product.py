from django.core.management.base import BaseCommand, CommandError

from products.transfer import product_export


class Command(BaseCommand):
    help = "Write one product and everything that belongs to it to FILE (JSON Lines; '-' for stdout)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")

    def handle(self, *args, slug, file, **options):
        from products.models import Product

        product = Product.objects.filter(slug=slug).first()
        if product is None:
            raise CommandError(f"No product with slug '{slug}'.")
        if file == "-":
            counts = product_export(product=product, stream=self.stdout)
        else:
            with open(file, "w", encoding="utf-8") as stream:
                counts = product_export(product=product, stream=stream)
        summary = ", ".join(f"{label} {n}" for label, n in counts.items())
        self.stderr.write(f"Exported '{slug}': {summary}.")
