from django.contrib import admin

from .models import Feedback, FeedbackLink, FeedbackPortal, ImportJob, ShipNotification, Tag


class LinkInline(admin.TabularInline):
    model = FeedbackLink
    extra = 0
    raw_id_fields = ["roadmap_item"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["__str__", "product", "channel", "segment", "sentiment_label", "status", "received_at"]
    list_filter = ["product", "status", "channel", "segment", "sentiment_label"]
    search_fields = ["text", "stakeholder_name", "stakeholder_email", "organisation"]
    raw_id_fields = ["duplicate_of", "import_job", "created_by"]
    inlines = [LinkInline]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "product", "state", "total_rows", "created_count", "created_at"]
    exclude = ["content"]


admin.site.register([Tag, FeedbackPortal, ShipNotification])
