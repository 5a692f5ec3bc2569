"""Login lockout (django-axes) for logins that come over HTTP."""
from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username and address pair before the password is checked.

    A call to `authenticate()` without a request (management commands, the test
    client's `login()`) is not a login over the network and is not counted, so
    it passes straight to the next backend instead of failing as axes does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
