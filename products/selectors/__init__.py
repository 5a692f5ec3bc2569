"""Every non-trivial read of the products app, with the user's visibility applied."""
from .products import *  # noqa: F401,F403
from .roadmap import *  # noqa: F401,F403
from .sprints import *  # noqa: F401,F403
