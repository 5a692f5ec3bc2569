from django.contrib import admin

from .models import ApiToken, WorkerHeartbeat


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_hash", "prefix", "created_at", "last_used_at"]
    list_filter = ["revoked_at"]


admin.site.register(WorkerHeartbeat)
