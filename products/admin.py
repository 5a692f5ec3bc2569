from django.contrib import admin

from products.models import Membership, Product
from products.roadmap.models import RoadmapItem
from products.sprints.models import Sprint, WorkItem


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


admin.site.register([RoadmapItem, Sprint, WorkItem])
