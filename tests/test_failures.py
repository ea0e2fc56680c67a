"""qlikcli_py.failures.classify on every recorded failure, and on arbitrary bytes."""
from __future__ import annotations

import orjson
import pytest
from fakeqlik import fixture_names
from fakeqlik import load_fixture
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qlikcli_py.failures import Failure
from qlikcli_py.failures import classify
from qlikcli_py.vocabulary import TRANSIENT_KINDS

# fixture -> (kind, status, retry_after); the detail is the fixture's `Error:` line
EXPECTED = {
    "context_missing": ("context", None, None),
    "qrs_app_get_404": ("not_found", 404, None),
    "app_get_404": ("not_found", 404, None),
    "change_owner_403": ("forbidden", 403, None),
    "user_ls_bad_filter_400": ("bad_request", 400, None),
    "unauthorized_401": ("unauthorized", 401, None),
    "rate_limited_429": ("rate_limited", 429, 1.0),
    "server_503": ("server", 503, None),
    "qrs_server_500": ("server", 500, None),
    "engine_access_denied": ("forbidden", None, None),
    "engine_persistence_not_found": ("not_found", None, None),
    "engine_no_object": ("not_found", None, None),
    "engine_connect_failed": ("engine_connect", None, None),
    "unknown_flag": ("usage", None, None),
    "required_flag_missing": ("usage", None, None),
}
FAILURES = [n for n in fixture_names() if load_fixture(n)["exit_code"] != 0]


def classify_fixture(name: str) -> Failure:
    fx = load_fixture(name)
    return classify(fx["stdout"].encode(), fx["stderr"].encode())


def test_every_failure_fixture_has_an_expected_classification():
    assert sorted(FAILURES) == sorted(EXPECTED)


def error_line(name: str) -> str:
    return next(line[len("Error:"):].strip() for line in load_fixture(name)["stderr"].splitlines()
                if line.startswith("Error:"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_classify_failure_fixture(name):
    kind, status, retry_after = EXPECTED[name]
    assert classify_fixture(name) == Failure(kind, status, error_line(name), retry_after)


def test_error_lines_of_some_fixtures():
    assert error_line("rate_limited_429") == "429 Too Many Requests"
    assert error_line("engine_access_denied") == "5 GENERIC ACCESS DENIED"
    assert error_line("required_flag_missing") == 'required flag(s) "appId" not set'


@pytest.mark.parametrize(("name", "transient"), [
    ("rate_limited_429", True), ("server_503", True), ("qrs_server_500", True), ("engine_connect_failed", True),
    ("change_owner_403", False), ("app_get_404", False), ("engine_access_denied", False), ("unknown_flag", False),
])
def test_transient_kinds(name, transient):
    assert (classify_fixture(name).kind in TRANSIENT_KINDS) is transient


def test_json_error_on_stdout_gives_the_status_when_stderr_has_none():
    failure = classify(b'{"status": 404, "title": "Not found"}\n', b"")
    assert (failure.kind, failure.status, failure.detail) == ("not_found", 404, "Not found")


def test_json_error_status_as_a_digit_string():
    assert classify(b'{"status": "409", "title": "Conflict"}', b"").kind == "conflict"


def test_the_error_line_status_decides_the_kind_it_shows():
    """Issue 18: a "404 Not Found" detail classified `forbidden` (from a 403 in a stdout body) sent
    the caller down the wrong branch: the kind and status agree with the detail shown."""
    failure = classify(b'{"status": 403, "detail": "not yours"}', b"Error: 404 Not Found\n")
    assert (failure.kind, failure.status, failure.detail) == ("not_found", 404, "404 Not Found")


def test_warnings_before_the_error_line_are_skipped():
    stderr = b"Warning: This command is being replaced by 'qlik x'.\nError: 404 Not Found\n"
    assert classify(b"", stderr).detail == "404 Not Found"


def test_only_warnings_give_other_with_no_warning_as_detail():
    failure = classify(b"", b"Warning: something odd\n")
    assert failure.kind == "other"
    assert failure.detail == "qlik failed without a message"


def test_status_in_a_longer_error_line():
    assert classify(b"", b"Error: request failed with status 502\n").status == 502


def test_unknown_4xx_is_client_and_unknown_5xx_is_server():
    assert classify(b"", b"Error: 418 I'm a teapot\n").kind == "client"
    assert classify(b"", b"Error: 599 Odd\n").kind == "server"


def test_url_in_the_error_line_is_not_a_status():
    failure = classify(b"", b'Error: Get "https://qseow.example.local:4242/qrs/app": '
                       b"dial tcp: lookup qseow.example.local: no such host\n")
    assert (failure.kind, failure.status) == ("network", None)


def test_certificate_error():
    failure = classify(b"", b'Error: Get "https://qseow.example.local/jwt/qrs/app": '
                       b"x509: certificate signed by unknown authority\n")
    assert failure.kind == "certificate"


def test_engine_code_1015_is_an_engine_limit_and_unknown_codes_are_other():
    assert classify(b"", b"Error: 1015 APP SIZE EXCEEDED\n").kind == "engine_limit"
    assert classify(b"", b"Error: 7 GENERIC ABORTED\n").kind == "other"


def test_retry_after_only_for_rate_limits():
    text = b"Error: 503 Service Unavailable\nRetry-After: 30\n"
    assert classify(b"", text).retry_after is None
    assert classify(b"", b"Error: 429 Too Many Requests\nretry-after: 7\n").retry_after == 7.0


def test_retry_after_from_the_json_error_on_stdout():
    body = orjson.dumps({"status": 429, "title": "API rate limit reached.",
                         "detail": "You need to wait 12 seconds until limit is lifted."})
    failure = classify(body, b"")
    assert (failure.kind, failure.retry_after, failure.detail) == (
        "rate_limited", 12.0, "You need to wait 12 seconds until limit is lifted.")


def test_detail_is_redacted():
    failure = classify(b"", b"Error: 401 Unauthorized: token Bearer abcdefghijklmnop was rejected\n")
    assert failure.detail == "401 Unauthorized: token Bearer *** was rejected"


def test_detail_is_capped_at_300_characters():
    assert len(classify(b"", b"Error: 500 " + b"x" * 500 + b"\n").detail) == 300


def test_non_utf8_stderr_is_decoded_with_replacement():
    failure = classify(b"", b"Error: 404 Not Found \xff\xfe\n")
    assert failure.status == 404 and "\ufffd" in failure.detail


@given(stdout=st.binary(max_size=300), stderr=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
@example(stdout=b"{", stderr=b"")
@example(stdout=b'{"status": null}', stderr=b"Error:")
@example(stdout=b'{"status": "abc"}', stderr=b"Error: 99999999999 X")
@example(stdout=b"[1, 2]", stderr=b"\xff\xfe\x00")
def test_classify_never_raises_on_arbitrary_bytes(stdout, stderr):
    failure = classify(stdout, stderr)
    assert isinstance(failure.kind, str) and failure.kind
    assert failure.status is None or failure.status >= 0
    assert isinstance(failure.detail, str) and len(failure.detail) <= 300


_TEXTS = st.sampled_from(["Error: ", "Warning: ", "404 ", "429 ", "wait 3 seconds", "retry-after: 2", "status ",
                          "5 GENERIC ACCESS DENIED", "9003 PERSISTENCE NOT FOUND", "context x does not exist",
                          "unknown flag: --x", "\n", "{", '"status": 5', "x509", "EOF"])


@given(parts=st.lists(_TEXTS | st.text(max_size=10), max_size=12),
       status=st.integers(min_value=0, max_value=10**6) | st.text(alphabet="0123456789", max_size=6) | st.none())
@settings(max_examples=200, deadline=None)
def test_classify_never_raises_on_qlik_like_text(parts, status):
    stdout = orjson.dumps({"status": status, "title": "".join(parts)})
    classify(stdout, "".join(parts).encode())
    classify(b"", "".join(parts).encode())


@pytest.mark.parametrize("status", ["\u00b2", "1" * 5000, True, 10**15, -1])
def test_classify_never_raises_on_an_odd_status(status):
    """Regression: `raw.isdigit()` accepted '²' and 5000-digit strings, and int(raw) then raised."""
    failure = classify(orjson.dumps({"status": status}), b"")
    assert failure.status is None and failure.kind == "other"
