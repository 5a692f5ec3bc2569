"""REST API for products and memberships."""
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pmhub.permissions import ProductRolePermission, require
from pmhub.roles import Action, Role

from . import selectors, services
from products.models import Membership, Product


def visible_product(request, slug):
    """The product with this slug if the caller may see it; a field error on "product" otherwise.

    For the create endpoints of the product's features (roadmap items, sprints, work items).
    """
    product = selectors.product_list_for_user(user=request.user).filter(slug=slug).first()
    if product is None:
        raise ValidationError({"product": [f"No product '{slug}' that you can see."]})
    return product


class ProductSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role on the product (null for staff who are not members).")

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "description", "business_objective", "status", "role", "created_at", "updated_at"]
        read_only_fields = ["id", "role", "created_at", "updated_at"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}

    def get_role(self, obj) -> str | None:
        roles = self.context.get("roles")
        if roles is None:
            return None
        if obj.pk not in roles:  # created in this request
            roles.update(selectors.memberships_for_user(user=self.context["request"].user))
        return roles.get(obj.pk)


class ProductFilter(filters.FilterSet):
    class Meta:
        model = Product
        fields = {"status": ["exact"], "slug": ["exact"], "name": ["icontains"]}


class ProductViewSet(viewsets.ModelViewSet):
    """Products you are a member of (staff: all). Look them up by slug."""

    serializer_class = ProductSerializer
    permission_classes = [ProductRolePermission]
    lookup_field = "slug"
    filterset_class = ProductFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.product_list_for_user(user=self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return context
        context["roles"] = selectors.memberships_for_user(user=self.request.user)
        return context

    def perform_create(self, serializer):
        serializer.instance = services.product_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.product_update(
            actor=self.request.user, product=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.product_delete(actor=self.request.user, product=instance)

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.EDIT


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Members of one product and their roles. Product managers manage them."""

    serializer_class = MembershipSerializer
    permission_classes = [ProductRolePermission]
    write_action = Action.MANAGE
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_product(self) -> Product:
        if not hasattr(self, "_product"):
            self._product = get_object_or_404(
                selectors.product_list_for_user(user=self.request.user), slug=self.kwargs["product_slug"]
            )
        return self._product

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.membership_list(product=self.get_product())

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return MembershipUpdateSerializer
        return MembershipSerializer

    def create(self, request, *args, **kwargs):
        product = self.get_product()  # first: a product the caller may not see is a 404, whatever the body
        require(request.user, product, Action.MANAGE)
        serializer = MembershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set_by_username(
            actor=request.user, product=product,
            username=serializer.validated_data["user"]["username"], role=serializer.validated_data["role"],
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipUpdateSerializer, responses=MembershipSerializer)
    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = MembershipUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(
            actor=request.user, product=membership.product, user=membership.user, role=serializer.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data)

    def perform_destroy(self, instance):
        services.membership_remove(actor=self.request.user, membership=instance)


def register(router):
    router.register("products", ProductViewSet, basename="product")


def extra_urls():
    from django.urls import path

    members = MembershipViewSet.as_view({"get": "list", "post": "create"})
    member = MembershipViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"})
    return [
        path("products/<slug:product_slug>/members/", members, name="product-members"),
        path("products/<slug:product_slug>/members/<int:pk>/", member, name="product-member"),
    ]
