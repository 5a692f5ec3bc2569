"""The metric source form: common fields, then one fieldset per kind (static/js/sources.js
shows only the chosen kind's). Secrets are write-only: left empty on edit, they are kept."""
from django import forms
from django.core.exceptions import ValidationError

from kpis.sources.models import MetricSource


class SourceForm(forms.Form):
    kpi = forms.ModelChoiceField(queryset=None, label="KPI", empty_label=None)
    name = forms.CharField(max_length=120, help_text="For you, e.g. 'Analytics API'.")
    kind = forms.ChoiceField(choices=MetricSource.Kind.choices, label="Kind")
    interval_seconds = forms.IntegerField(label="Interval (seconds)", initial=300, min_value=1)
    timeout_seconds = forms.IntegerField(label="Timeout (seconds)", initial=10, min_value=1, max_value=120)
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled (pulled on schedule)")
    # HTTP JSON and Prometheus
    url = forms.CharField(required=False, max_length=2000, label="URL",
                          help_text="HTTP JSON: the endpoint. Prometheus: the server's base URL.")
    headers = forms.CharField(required=False, label="Headers (secret)",
                              widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off",
                                                           "placeholder": "Authorization: Bearer …"}),
                              help_text="One 'Name: value' a line; stored encrypted, never shown again.")
    # HTTP JSON
    method = forms.ChoiceField(required=False, choices=[("GET", "GET"), ("POST", "POST")], initial="GET")
    json_path = forms.CharField(required=False, max_length=300, label="JSON path",
                                help_text="To a number (stored at the pull's time) or a list of {ts, value}: "
                                          "data.visits, $.series[0].points. Empty: the whole document.")
    body = forms.CharField(required=False, label="Request body (JSON, POST only)",
                           widget=forms.Textarea(attrs={"rows": 2}))
    # Prometheus
    promql = forms.CharField(required=False, label="PromQL query", widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Must return one series: sum(rate(http_requests_total[5m])).")
    mode = forms.ChoiceField(required=False, choices=[("instant", "Instant (one point per pull)"),
                                                      ("range", "Range (the last minutes, every step)")],
                             initial="instant")
    range_minutes = forms.IntegerField(required=False, min_value=1, initial=60, label="Range (minutes)")
    step_seconds = forms.IntegerField(required=False, min_value=1, initial=60, label="Step (seconds)")
    # SQL
    dsn = forms.CharField(required=False, label="Database URL (secret)", max_length=1000,
                          widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
                          help_text="postgres://user:password@host:5432/db; stored encrypted. Use a role that may only SELECT.")
    sql = forms.CharField(required=False, label="SQL query", widget=forms.Textarea(attrs={"rows": 3}),
                          help_text="One SELECT returning `value` (one row) or `ts, value` rows. Runs read-only.")
    clear_secrets = forms.BooleanField(required=False, label="Remove the stored headers / database URL")

    FIELDSETS = {
        "http": ["url", "headers"],
        "http_json": ["method", "json_path", "body"],
        "prometheus": ["promql", "mode", "range_minutes", "step_seconds"],
        "sql": ["dsn", "sql"],
    }

    def __init__(self, *args, kpis, source=None, stored_secrets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi"].queryset = kpis
        self.fields["kpi"].label_from_instance = lambda kpi: kpi.name
        self.source = source
        self.stored_secrets = stored_secrets or {}
        if source is not None:
            self.fields["kind"].disabled = True
            self.fields["kpi"].disabled = True
            if self.stored_secrets.get("headers"):
                self.fields["headers"].help_text = (
                    f"Stored: {', '.join(self.stored_secrets['headers'])} (values hidden). "
                    "Leave empty to keep them; enter all headers to replace them.")
            if self.stored_secrets.get("dsn"):
                self.fields["dsn"].help_text = "A database URL is stored (hidden). Leave empty to keep it."
        else:
            del self.fields["clear_secrets"]

    def fieldset(self, name):
        return [self[f] for f in self.FIELDSETS[name]]

    def clean_headers(self):
        headers = {}
        for i, line in enumerate((self.cleaned_data.get("headers") or "").splitlines(), start=1):
            if not line.strip():
                continue
            if ":" not in line:
                raise ValidationError(f"Line {i} is not 'Name: value'.")
            name, value = line.split(":", 1)
            headers[name.strip()] = value.strip()
        return headers

    def service_kwargs(self) -> dict:
        """What the services take: config, secrets (None keeps the stored ones) and the rest."""
        d = self.cleaned_data
        kind = self.source.kind if self.source is not None else d["kind"]
        if kind == MetricSource.Kind.SQL:
            config = {"query": d.get("sql", "")}
            secrets = {"dsn": d["dsn"]} if d.get("dsn") else None
        else:
            secrets = {"headers": d["headers"]} if d.get("headers") else None
            if kind == MetricSource.Kind.PROMETHEUS:
                config = {"url": d.get("url", ""), "query": d.get("promql", ""), "mode": d.get("mode") or "instant",
                          "range_minutes": d.get("range_minutes") or 60, "step_seconds": d.get("step_seconds") or 60}
            else:
                config = {"url": d.get("url", ""), "method": d.get("method") or "GET",
                          "json_path": d.get("json_path", ""), "body": d.get("body", "")}
        if d.get("clear_secrets"):
            secrets = {}
        elif secrets is None and self.source is None:
            secrets = {}
        return {"name": d["name"], "config": config, "secrets": secrets, "interval_seconds": d["interval_seconds"],
                "timeout_seconds": d["timeout_seconds"], "enabled": d["enabled"]}

    @staticmethod
    def initial_for(source: MetricSource) -> dict:
        c = source.config
        initial = {"kpi": source.kpi_id, "name": source.name, "kind": source.kind,
                   "interval_seconds": source.interval_seconds, "timeout_seconds": source.timeout_seconds,
                   "enabled": source.enabled, "url": c.get("url", "")}
        if source.kind == MetricSource.Kind.SQL:
            initial["sql"] = c.get("query", "")
        elif source.kind == MetricSource.Kind.PROMETHEUS:
            initial.update(promql=c.get("query", ""), mode=c.get("mode", "instant"),
                           range_minutes=c.get("range_minutes", 60), step_seconds=c.get("step_seconds", 60))
        else:
            initial.update(method=c.get("method", "GET"), json_path=c.get("json_path", ""), body=c.get("body", ""))
        return initial
