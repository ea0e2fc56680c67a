"""Scrub secrets from anything we store or print: argv, qlik's stderr, log events, reports."""
from __future__ import annotations

import re
from collections.abc import Iterable

# Flags whose value is a secret: the next argv token (or the part after "=") is replaced.
_SECRET_FLAGS = ("--api-key", "--oauth-client-secret", "--client-secret", "--password", "--token")
_HEADER_FLAGS = ("--headers",)
# A header's value is one token, after an optional scheme (`Bearer`, `Basic`, ...): masking "to the
# next comma" also swallowed the rest of a line (or of a whole message) that held no secret. A
# cookie header is every `name=value` pair up to the end of its line (or a comma in `--headers`).
# A value already masked stays as it is (text is often redacted twice: when stored, when shown).
_SECRET_HEADERS = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-qlik-xrfkey|x-api-key)\"?[ \t]*[=:][ \t]*\"?"
    r"(?:\*\*\*|(?:[A-Za-z][\w-]*[ \t]+)?[^\s,]+)")
_COOKIE_HEADERS = re.compile(r"(?i)\b(set-cookie|cookie)\"?[ \t]*[=:][ \t]*(?:\*\*\*|[^,\r\n]*)")
# A Basic credential is base64 ("user:pass" is at least 12 characters encoded); a shorter word after
# "Basic" is prose ("Basic reporting"), not a secret.
_BEARER = re.compile(r"(?i)\b(?:(bearer)\s+[A-Za-z0-9._~+/=-]{6,}|(basic)\s+[A-Za-z0-9+/=]{12,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# A secret named by its key, in every form qlik, its config or an API body may print it: a JSON key
# (`"oauthClientSecret": "x"`), key=value (`client_secret=x`, `refresh_token=x&...`), a header-like
# line (`token: x`, `Client Secret: x`). The key is found inside longer names too (`myApiKey`); a
# quoted value is masked whole, an unquoted one up to the next space, quote, comma, `&` or `;`.
_SECRET_KEY = (r"(?:api[-_ ]?key|(?:oauth[-_ ]?)?client[-_ ]?secret|secret|password|passwd"
               r"|(?:access|refresh|id|auth|session)?[-_ ]?token|private[-_ ]?key)")
_KV_SECRET = re.compile(
    rf"(?i)({_SECRET_KEY})(\"?[ \t]*[:=][ \t]*)(?:\*\*\*|\"\*\*\*\"|\"(?:[^\"\\\r\n]|\\.)*\"|[^\s\",&;]+)"
)
MASK = "***"


def redact_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1) or m.group(2)} {MASK}", text)
    text = _JWT.sub(MASK, text)
    text = _SECRET_HEADERS.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _COOKIE_HEADERS.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _KV_SECRET.sub(_mask_value, text)


def _mask_value(m: re.Match[str]) -> str:
    quoted = m.group(0)[m.end(2) - m.start(0):].startswith('"')
    return f"{m.group(1)}{m.group(2)}" + (f'"{MASK}"' if quoted else MASK)


def redact_bytes(data: bytes) -> bytes:
    """redact_text for what a process printed (undecodable bytes become U+FFFD)."""
    if not data:
        return data
    return redact_text(data.decode("utf-8", "replace")).encode("utf-8")


def redact_argv(argv: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    hide_next = False
    header_next = False
    for tok in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if header_next:
            out.append(redact_text(tok))
            header_next = False
            continue
        flag, eq, value = tok.partition("=")
        if flag in _SECRET_FLAGS:
            if eq:
                out.append(f"{flag}={MASK}")
            else:
                out.append(tok)
                hide_next = True
            continue
        if flag in _HEADER_FLAGS:
            if eq:
                out.append(f"{flag}={redact_text(value)}")
            else:
                out.append(tok)
                header_next = True
            continue
        out.append(redact_text(tok))
    return tuple(out)
