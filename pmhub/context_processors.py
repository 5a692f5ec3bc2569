from django.urls import NoReverseMatch, reverse

# (label, url name); entries whose page is not installed yet are left out.
NAVIGATION = [
    ("Portfolio", "portfolio"),
    ("Products", "products:list"),
    ("Roadmap", "roadmap:index"),
    ("Sprints", "sprints:index"),
    ("KPIs", "kpis:index"),
    ("Models", "models:index"),
    ("Feedback", "feedback:index"),
    ("API docs", "api-docs"),
]
STAFF_NAVIGATION = [("Audit log", "audit-log")]


def navigation(request):
    items = []
    entries = NAVIGATION + (STAFF_NAVIGATION if getattr(getattr(request, "user", None), "is_staff", False) else [])
    for label, name in entries:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = request.path.startswith(url) if url != "/" else request.path == "/"
        items.append({"label": label, "url": url, "active": active})
    return {"nav_items": items}
