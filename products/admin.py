from django.contrib import admin

from .models import Membership, Product, RoadmapItem, Sprint, WorkItem


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


admin.site.register([RoadmapItem, Sprint, WorkItem])
