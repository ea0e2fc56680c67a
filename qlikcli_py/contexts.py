"""`qlik context get NAME`: what a named context says about itself (server, server type)."""
from __future__ import annotations

import re

from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.qlik import Qlik
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import Tier


async def context_info(qlik: Qlik, name: str) -> dict[str, str]:
    """`qlik context get NAME`: `Key: value` lines. Keys are compared without regard to case,
    spaces, dashes or underscores (1.4.0 prints `Server:`; the server type's spelling in 2.x/3.x is
    unknown: `Server Type`, `server-type`, `serverType` all give `servertype`). 1.4.0 prints the API
    key under `Headers:`; secret-bearing keys are dropped here. `No context with name` comes with
    exit 0 (REAL, 1.4.0): an unknown context, not an empty one."""
    result = await qlik.run("context", "get", name, context=name, tier=Tier.LOCAL, json=False)
    text = result.stdout.decode("utf-8", "replace")
    if _NO_CONTEXT.search(text):
        raise QlikCommandFailed(result.argv, 0, result.stdout, result.stderr, kind=FailureKind.CONTEXT, status=None,
                                detail=text.strip().splitlines()[0][:300])
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            compact = context_key(key)
            if compact and compact not in _SECRET_KEYS:
                info.setdefault(compact, value.strip())
    return info


def context_key(key: str) -> str:
    return re.sub(r"[\s_-]+", "", key).lower()


_NO_CONTEXT = re.compile(r"(?i)no context with name|^\s*no current context")
_SECRET_KEYS = frozenset({"authorization", "apikey", "cookie", "oauthclientsecret", "headers"})
