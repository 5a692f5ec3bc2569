import importlib

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from pmhub import demo

# Each app may offer `<app>/demo.py` with `seed(ctx)`; they run in this order
# (products first: the others add to the demo products it creates).
APP_SEEDERS = ["products", "kpis", "feedback", "portfolio"]


class Command(BaseCommand):
    help = "Create demo users (one per role) and demo products with their data. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, quiet=False, **options):
        ctx = demo.DemoContext()
        with transaction.atomic():
            demo.seed_users(ctx)
        for app in APP_SEEDERS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo" and not f"{app}.demo".startswith(exc.name + "."):
                    raise
                continue
            with transaction.atomic():
                module.seed(ctx)
        self.stdout.write(
            f"Demo data: {len(ctx.created)} things created"
            + (" (already seeded; nothing changed)." if not ctx.created else ".")
        )
        if not quiet:
            self.stdout.write("Demo logins (password for all: %s):" % settings.DEMO_PASSWORD)
            for username, first, last, _email, staff, role in demo.DEMO_USERS:
                what = "staff, sees and edits everything" if staff else f"{role.label} on every demo product"
                self.stdout.write(f"  {username:<6} {first} {last}: {what}")
