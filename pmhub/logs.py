"""gunicorn's access log without the lines for static files and the health check.

Those are most of the requests of an idle page and tell nothing; a failed one still shows.
"""
from gunicorn.glogging import Logger as GunicornLogger

QUIET_PATH_PREFIXES = ("/static/", "/healthz", "/favicon.ico")


class AccessLogger(GunicornLogger):
    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO", "").startswith(QUIET_PATH_PREFIXES) and resp.status_code < 400:
            return
        super().access(resp, req, environ, request_time)
