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


def navigation(request):
    items = []
    for label, name in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = request.path.startswith(url) if url != "/" else request.path == "/"
        items.append({"label": label, "url": url, "active": active})
    return {"nav_items": items}
