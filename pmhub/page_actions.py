"""The answer of a page's POST action: a service's refusal as error messages, and the way back.

    @login_required
    @require_POST
    def rename(request, slug, pk):
        product, theme = _theme_for_edit(request, slug, pk)       # role checked, 404 if not theirs
        with errors_as_messages(request):
            services.theme_rename(actor=request.user, theme=theme, label=request.POST.get("label", ""))
            messages.success(request, "Renamed.")
        return redirect(back(request, reverse("feedback:theme", args=[product.slug, theme.pk])))

- errors_as_messages: a ValidationError raised in the block (a service refusing bad input,
  field errors included) becomes one error message per message it carries, and the rest
  of the block (the success message) does not run; what follows the block (the redirect)
  runs either way. Any other exception passes through. A form page shows a refusal on
  its form instead (products.views.form_errors_from).
- back: the page the form came from (its `next` field), when that is a path on this
  site; else the fallback. "//evil.example" and "/\\evil.example" are other sites.
"""
from contextlib import contextmanager

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme


@contextmanager
def errors_as_messages(request):
    try:
        yield
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)


def same_site_path(request, nxt: str) -> bool:
    """A path on this site ("/\\evil.example" is another site to a browser, so Django's check too)."""
    return nxt.startswith("/") and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                                                     require_https=request.is_secure())


def back(request, fallback: str) -> str:
    """Where to go after a POST: the page it came from (same site only), else fallback."""
    nxt = request.POST.get("next", "")
    return nxt if same_site_path(request, nxt) else fallback
