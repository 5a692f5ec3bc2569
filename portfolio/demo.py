"""Demo data of the portfolio: the demo executive gets the weekly digest."""
from pmhub.models import DigestSubscription


def seed(ctx):
    user = ctx.users.get("exec")
    if user is None:
        return
    _, created = DigestSubscription.objects.get_or_create(user=user, defaults={"enabled": True})
    if created:
        ctx.note("digest subscription exec")
