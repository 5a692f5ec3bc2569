"""Every write of the products app: products and members, roadmap, sprints and work items.

Pages, API and other apps call these functions; there is one way to do each thing.
"""
from .products import *  # noqa: F401,F403
from .products import _keep_a_pm  # noqa: F401
from .roadmap import *  # noqa: F401,F403
from .sprints import *  # noqa: F401,F403
