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


def assert_matches_schema(api, response, method: str, path: str) -> None:
    """The response (status, content type, headers, body) is what /api/schema/ documents for the operation.

    path is the schema's template, such as "/api/v1/kpis/{id}/". The validation is schemathesis's,
    the same the API fuzz test (tests/hardening/test_api_fuzz.py) runs on every response.
    """
    import requests
    import schemathesis

    raw = api.get("/api/schema/?format=json").json()
    operation = schemathesis.openapi.from_dict(raw)[path][method.upper()]
    request = requests.Request(method.upper(), f"http://testserver{response.wsgi_request.get_full_path()}").prepare()
    wrapped = schemathesis.Response(status_code=response.status_code, content=response.content, request=request,
                                    headers={k: [v] for k, v in response.headers.items()}, elapsed=0.0, verify=True)
    operation.validate_response(wrapped)
