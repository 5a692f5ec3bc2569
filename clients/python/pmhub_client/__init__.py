"""pmhub client: log model metrics and promote versions. See README.md."""
from .client import PMHub, PMHubError

__all__ = ["PMHub", "PMHubError"]
__version__ = "0.1.0"
