import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
application = get_wsgi_application()

# Import every view now (not on the first request), then move everything loaded
# so far out of the garbage collector's sight: it never becomes garbage, and a
# full collection no longer walks it. A 10,000-point ingest request allocates
# enough to trigger one, which cost ~30 ms with the ~140,000 objects of a
# loaded process and costs ~1 ms after the freeze.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns
gc.freeze()
