"""Roles and what each may do. The one table every page and API view consults."""
from django.db import models


class Role(models.TextChoices):
    PM = "pm", "Product manager"
    DATA_SCIENTIST = "data_scientist", "Data scientist"
    VIEWER = "viewer", "Viewer"


class Action(models.TextChoices):
    VIEW = "view", "Read everything of the product"
    TRACK = "track", "Log models and metrics, move work items"
    EDIT = "edit", "Edit the product, its roadmap, sprints, KPIs and feedback"
    MANAGE = "manage", "Manage members and share links"


ROLE_ACTIONS = {
    Role.PM: {Action.VIEW, Action.TRACK, Action.EDIT, Action.MANAGE},
    Role.DATA_SCIENTIST: {Action.VIEW, Action.TRACK},
    Role.VIEWER: {Action.VIEW},
}


def role_allows(role, action) -> bool:
    return role is not None and action in ROLE_ACTIONS.get(role, set())
