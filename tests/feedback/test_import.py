"""CSV import: a Celery task (eager here) over the service; all rows or none."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback import services
from feedback.models import Feedback, ImportJob

pytestmark = pytest.mark.django_db

GOOD = (
    "text,email,company,segment,rating,tags,date,channel\n"
    "\"Love the suggestions, very helpful\",kim@acme.example,Acme,customer,5,\"tone; speed\",2026-03-02,survey\n"
    "\"Export is broken, awful\",lee@globex.example,Globex,prospect,1,export,2026-03-03,\n"
    "\"Multi-line\nfeedback works\",,,,,,,\n"
)


def run_import(actor, product, content: bytes, capture, **kw):
    with capture(execute=True):
        job = services.import_job_create(actor=actor, product=product, filename="f.csv", content=content, **kw)
    job.refresh_from_db()
    return job


def test_good_file_imports_every_row(pm, product, django_capture_on_commit_callbacks):
    job = run_import(pm, product, GOOD.encode(), django_capture_on_commit_callbacks, default_channel="email")
    assert job.state == "done" and job.created_count == 3 and job.percent == 100, job.message
    rows = {f.organisation: f for f in Feedback.objects.all()}
    assert rows["Acme"].sentiment_label == "positive" and rows["Acme"].rating == 5
    assert sorted(rows["Acme"].tags.values_list("name", flat=True)) == ["speed", "tone"]
    assert rows["Globex"].channel == "email"  # empty channel cell: the default chosen on upload
    assert rows[""].text == "Multi-line\nfeedback works"
    assert job.content == b"" or bytes(job.content) == b""


def test_utf8_bom_and_semicolons(pm, product, django_capture_on_commit_callbacks):
    content = "\ufefftext;organisation\nTrès bien, merci;Société Générale\n".encode()
    job = run_import(pm, product, content, django_capture_on_commit_callbacks)
    assert job.state == "done", job.message
    assert Feedback.objects.get().organisation == "Société Générale"


def test_every_bad_row_reported_by_line_and_nothing_stored(pm, product, django_capture_on_commit_callbacks):
    content = (
        "text,email,rating\n"
        "fine,,\n"
        ",kim@acme.example,\n"               # line 3: empty text
        "ok,not-an-email,9\n"                # line 4: e-mail and rating
        "\"quoted\nover two lines\",,\n"     # lines 5-6: fine
        "<script>alert(1)</script>,x@,\n"    # line 7: e-mail
    ).encode()
    job = run_import(pm, product, content, django_capture_on_commit_callbacks)
    assert job.state == "failed"
    assert Feedback.objects.count() == 0
    found = {(e["line"], e["field"]) for e in job.errors}
    assert found == {(3, "text"), (4, "stakeholder_email"), (4, "rating"), (7, "stakeholder_email")}
    assert "3 rows could not be imported" in job.message and "Nothing was imported" in job.message


def test_bad_encoding_is_a_clear_message(pm, product, django_capture_on_commit_callbacks):
    content = "text,organisation\nTrès bien,Société\n".encode("latin-1")
    job = run_import(pm, product, content, django_capture_on_commit_callbacks)
    assert job.state == "failed" and "not UTF-8" in job.message
    assert Feedback.objects.count() == 0


def test_missing_column_is_a_clear_message(pm, product, django_capture_on_commit_callbacks):
    job = run_import(pm, product, b"comment_text,email\nhello,a@b.example\n", django_capture_on_commit_callbacks)
    assert job.state == "failed" and "Missing column: text" in job.message and "comment_text" in job.message
    assert Feedback.objects.count() == 0


def test_header_only_and_empty_and_binary(pm, product, django_capture_on_commit_callbacks):
    assert run_import(pm, product, b"text\n", django_capture_on_commit_callbacks).state == "failed"
    assert run_import(pm, product, b"\x89PNG\r\n\x1a\n\x00\x00", django_capture_on_commit_callbacks).state == "failed"
    with pytest.raises(ValidationError):
        services.import_job_create(actor=pm, product=product, filename="e.csv", content=b"")
    assert Feedback.objects.count() == 0


def test_rerun_of_a_finished_job_adds_nothing(pm, product, django_capture_on_commit_callbacks):
    from feedback.tasks import import_feedback_csv

    job = run_import(pm, product, GOOD.encode(), django_capture_on_commit_callbacks)
    import_feedback_csv.apply(args=[job.pk])
    import_feedback_csv.apply(args=[999999])  # gone: returns quietly
    assert Feedback.objects.count() == 3


def test_only_pm_imports(viewer, product):
    with pytest.raises(PermissionDenied):
        services.import_job_create(actor=viewer, product=product, filename="f.csv", content=GOOD.encode())
    assert ImportJob.objects.count() == 0
