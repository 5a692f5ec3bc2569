import factory
from django.contrib.auth import get_user_model

from products.models import Membership, Product

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A product for tests."
    business_objective = "Move a number."


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    role = "viewer"


def member(product, role, username=None):
    """A user holding role on product (username defaults to the role)."""
    user = UserFactory(username=username or f"{role}-{product.slug}")
    MembershipFactory(user=user, product=product, role=role)
    return user
