"""Demo data: users, one per role. Apps add their own in `<app>/demo.py` (products first).

Every seeder is idempotent: it looks up what it would create and leaves
existing rows alone, so running `seed_demo` twice changes nothing.
"""
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from pmhub.roles import Role

DEMO_USERS = [
    # username, first, last, e-mail, staff, role on the demo products (None: staff)
    ("admin", "Ada", "Admin", "admin@pmhub.example", True, None),
    ("pm", "Priya", "Manager", "pm@pmhub.example", False, Role.PM),
    ("ds", "Dan", "Scientist", "ds@pmhub.example", False, Role.DATA_SCIENTIST),
    ("exec", "Eve", "Executive", "exec@pmhub.example", False, Role.VIEWER),
]

@dataclass
class DemoContext:
    users: dict = field(default_factory=dict)
    products: list = field(default_factory=list)
    created: list = field(default_factory=list)

    def note(self, what: str):
        self.created.append(what)


def seed_users(ctx: DemoContext):
    User = get_user_model()
    add_product = Permission.objects.get(content_type__app_label="products", codename="add_product")
    for username, first, last, email, staff, _role in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last, email=email,
                        is_staff=staff, is_superuser=staff)
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
            if username == "pm":
                user.user_permissions.add(add_product)
            ctx.note(f"user {username}")
        ctx.users[username] = user
