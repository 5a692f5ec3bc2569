import re

EXTERNAL = re.compile(r"""(?:src|href|action|data-src)\s*=\s*["']\s*(?:https?:)?//(?!127\.0\.0\.1|localhost|testserver)""", re.I)


def assert_local_only(html: str) -> None:
    """No asset, link or form on the page points at another host."""
    hits = EXTERNAL.findall(html)
    assert not hits, f"page refers to external URLs: {hits[:5]}"


def page_get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    if status == 200 and "text/html" in response.get("Content-Type", ""):
        assert_local_only(response.content.decode())
    return response
