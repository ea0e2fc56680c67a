"""One set of control characters, escaped the same in mapping messages and the CLI's one line."""
from __future__ import annotations

import pytest

from qlikcli_py.cli.output import one_line
from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls
from qlikcli_py.mapping import parse_on_unmatched


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\nb", "a\\x0ab"), ("a\x7fb", "a\\x7fb"), ("a\x85b", "a\\x85b"),
    ("a\u2028b", "a\\u2028b"), ("a\u2029b", "a\\u2029b"), ("é\tü", "é\\x09ü"),
])
def test_every_line_break_is_escaped(raw, shown):
    assert escape_controls(raw) == shown
    assert one_line(raw) == shown


def test_a_mapping_message_escapes_what_the_cli_escapes():
    with pytest.raises(UsageProblem) as info:
        parse_on_unmatched("keep\u2028it")
    assert "keep\\u2028it" in str(info.value)
    assert one_line(str(info.value)) == str(info.value)
