"""qlikcli_py.redact: what is scrubbed from argv and text before it is shown, logged or stored."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qlikcli_py.redact import MASK
from qlikcli_py.redact import redact_argv
from qlikcli_py.redact import redact_text

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqZG9lIn0.c2lnbmF0dXJlLW5vdC1yZWFs"


@pytest.mark.parametrize(("argv", "shown"), [
    (["--api-key", "k3y"], ("--api-key", MASK)),
    (["--api-key=k3y"], (f"--api-key={MASK}",)),
    (["--oauth-client-secret", "s3c"], ("--oauth-client-secret", MASK)),
    (["--client-secret=s3c"], (f"--client-secret={MASK}",)),
    (["--password", "pw"], ("--password", MASK)),
    (["--token", "t"], ("--token", MASK)),
    (["--headers", "Authorization=Bearer xyz"], ("--headers", f"Authorization={MASK}")),
    (["--headers=Authorization=Bearer xyz"], (f"--headers=Authorization={MASK}",)),
    (["--headers", "X-Qlik-Session=s1,Authorization=Bearer xyz"],
     ("--headers", f"X-Qlik-Session=s1,Authorization={MASK}")),
    (["--headers", "Authorization=Bearer xyz,X-Qlik-Session=s1"],
     ("--headers", f"Authorization={MASK},X-Qlik-Session=s1")),
    (["--headers", "Cookie=X-Qlik-Session-jwt=abc"], ("--headers", f"Cookie={MASK}")),
    (["--headers", "X-Api-Key=abc"], ("--headers", f"X-Api-Key={MASK}")),
    (["app", "get", JWT], ("app", "get", MASK)),
    (["raw", "post", "v1/x", "--body", '{"apiKey":"zzz"}'],
     ("raw", "post", "v1/x", "--body", f'{{"apiKey":"{MASK}"}}')),
])
def test_redact_argv_hides_secret_values(argv, shown):
    assert redact_argv(argv) == shown


def test_context_create_with_an_api_key():
    argv = ["context", "create", "acme-cloud", "--server", "https://tenant.example.qlikcloud.com", "--api-key", JWT]
    assert redact_argv(argv) == (*argv[:-1], MASK)


@pytest.mark.parametrize("argv", [
    ["qrs", "app", "get", "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c", "--json", "--context", "qseow-src"],
    ["user", "ls", "--filter", 'subject eq "ACME\\\\o\'brien"', "--limit", "10"],
    ["qrs", "app", "full", "--filter", "stream.name eq 'Finance'"],
    ["app", "object", "layout", "pZkRt", "--app", "3c9f6e2a-7b1d-4e8f-a0c5-6d2b9e4f1a37",
     "--headers", "X-Qlik-Session=s1"],
    ["app", "import", "--file", "/var/tmp/a.qvf", "--name", "Sales Overview", "--resumable"],
])
def test_redact_argv_leaves_ordinary_arguments_alone(argv):
    assert redact_argv(argv) == tuple(argv)


def test_secret_flag_as_the_last_token_is_kept_as_is():
    assert redact_argv(["context", "update", "x", "--api-key"]) == ("context", "update", "x", "--api-key")


def test_the_value_after_a_secret_flag_is_masked_even_if_it_looks_like_a_flag():
    assert redact_argv(["--api-key", "--json"]) == ("--api-key", MASK)


@pytest.mark.parametrize(("text", "shown"), [
    ("Authorization: Bearer abcdefghijk", f"Authorization={MASK}"),
    ("> Authorization: Bearer **omitted**", f"> Authorization={MASK}"),
    ("token Bearer abcdefghijk expired", f"token Bearer {MASK} expired"),
    ("Basic dXNlcjpwYXNzd29yZA==", f"Basic {MASK}"),
    (f"jwt {JWT} rejected", f"jwt {MASK} rejected"),
    ("x-api-key: 123", f"x-api-key={MASK}"),
    ('{"client_secret": "s3", "name": "n"}', f'{{"client_secret": "{MASK}", "name": "n"}}'),
    ('"access_token":"tok"', f'"access_token":"{MASK}"'),
    ("password: hunter2 next", f"password: {MASK} next"),
    ("api_key=abc,other=1", f"api_key={MASK},other=1"),
])
def test_redact_text(text, shown):
    assert redact_text(text) == shown


@pytest.mark.parametrize("text", [
    "Error: 404 Not Found",
    'Error: required flag(s) "appId" not set',
    "You need to wait 3 seconds until limit is lifted.",
    "subject eq \"ACME\\\\jdoe\"",
    "https://tenant.example.qlikcloud.com/api/v1/users/64a1f0c2e3b4d5f6a7b8c9d1",
])
def test_redact_text_leaves_qlik_messages_alone(text):
    assert redact_text(text) == text


_TOKEN = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=","),
                 min_size=1, max_size=40)


def _absent(secret: str, shown: str, container: str) -> bool:
    return secret not in shown or secret in container  # a 1-char "secret" may be part of the mask text


@given(token=_TOKEN, scheme=st.sampled_from(["Bearer", "bearer", "Basic"]), inline=st.booleans())
@settings(max_examples=200, deadline=None)
def test_any_authorization_header_value_is_hidden(token, scheme, inline):
    argv = [f"--headers=Authorization={scheme} {token}"] if inline else ["--headers", f"Authorization={scheme} {token}"]
    shown = " ".join(redact_argv(argv))
    assert _absent(token, shown, f"--headers Authorization={MASK}")


@given(token=_TOKEN, flag=st.sampled_from(["--api-key", "--oauth-client-secret", "--client-secret", "--password"]),
       inline=st.booleans())
@settings(max_examples=200, deadline=None)
def test_any_secret_flag_value_is_hidden(token, flag, inline):
    argv = ["context", "create", "x", f"{flag}={token}"] if inline else ["context", "create", "x", flag, token]
    shown = " ".join(redact_argv(argv))
    assert _absent(token, shown, f"context create x {flag}={MASK}")


@given(st.lists(st.text(max_size=30), max_size=8))
@settings(max_examples=150, deadline=None)
def test_redact_argv_keeps_the_token_count_and_is_idempotent(argv):
    once = redact_argv(argv)
    assert len(once) == len(argv)
    assert redact_argv(once) == once


@given(st.text(max_size=80))
@settings(max_examples=150, deadline=None)
def test_redact_text_is_idempotent(text):
    once = redact_text(text)
    assert redact_text(once) == once


@pytest.mark.parametrize(("text", "shown"), [
    ('{"oauthClientSecret": "s3cr3t", "name": "bot"}', f'{{"oauthClientSecret": "{MASK}", "name": "bot"}}'),
    ('{"client_secret":"s3cr3t"}', f'{{"client_secret":"{MASK}"}}'),
    ("client_secret=s3cr3t", f"client_secret={MASK}"),
    ("grant_type=refresh_token&refresh_token=s3cr3t&x=1", f"grant_type=refresh_token&refresh_token={MASK}&x=1"),
    ("token: s3cr3t", f"token: {MASK}"),
    ("Client Secret: s3cr3t", f"Client Secret: {MASK}"),
    ("  Refresh-Token = s3cr3t", f"  Refresh-Token = {MASK}"),
    ('{"accessToken": "with \\"quote\\" s3cr3t"}', f'{{"accessToken": "{MASK}"}}'),
    ("id_token=s3cr3t;path=/", f"id_token={MASK};path=/"),
    ("private_key: s3cr3t", f"private_key: {MASK}"),
])
def test_secret_keys_in_every_form_are_masked(text, shown):
    """Issue 18.11: JSON keys (camelCase too), key=value, header-like lines, a two-word key."""
    assert redact_text(text) == shown
    assert redact_text(shown) == shown  # masking twice changes nothing


@pytest.mark.parametrize("text", ["tokens: 5", "Secretary: Jane", "grant_type=refresh_token", "Client: acme"])
def test_words_that_only_look_like_secret_keys_are_kept(text):
    assert redact_text(text) == text


def test_qlik_output_is_redacted_where_it_enters_an_exception():
    from qlikcli_py.errors import QlikBadOutput
    from qlikcli_py.errors import QlikCommandFailed
    from qlikcli_py.vocabulary import FailureKind

    failed = QlikCommandFailed(("app", "get"), 1, b'{"oauthClientSecret": "s3cr3t"}', b"Client Secret: s3cr3t\n",
                               kind=FailureKind.OTHER, status=None, detail="Client Secret: s3cr3t")
    bad = QlikBadOutput(("app", "get"), b"token: s3cr3t\n[]", "output that is not JSON")
    for shown in (str(failed), repr(failed), failed.detail, failed.stdout, failed.stderr, str(bad), bad.head):
        assert "s3cr3t" not in (shown if isinstance(shown, str) else shown.decode())
