"""Builders for the two filter languages qlik-cli passes through, each quoted its own way.

QRS (client-managed): strings in single quotes, a quote doubled; GUIDs and booleans bare.
https://help.qlik.com/en-US/sense-developer/February2024/Subsystems/RepositoryServiceAPI/Content/Sense_RepositoryServiceAPI/RepositoryServiceAPI-Filtering.htm
SCIM (Qlik Cloud users, RFC 7644): strings in double quotes with backslash and quote escaped
(`subject eq "ACME\\jdoe"`): https://qlik.dev/toolkits/qlik-cli/qlik-cli-escaping/
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_QRS_PROP = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
_SCIM_ATTR = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")


def is_guid(value: str) -> bool:
    return bool(_GUID.fullmatch(value))


def qrs_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def qrs_eq(prop: str, value: str) -> str:
    _check(_QRS_PROP, prop)
    return f"{prop} eq {qrs_string(value)}"


def qrs_id_eq(prop: str, guid: str) -> str:
    _check(_QRS_PROP, prop)
    if not is_guid(guid):
        raise ValueError(f"not a GUID: {guid!r}")
    return f"{prop} eq {guid.lower()}"


def qrs_any_id(prop: str, guids: Iterable[str]) -> str:
    parts = [qrs_id_eq(prop, g) for g in guids]
    if not parts:
        raise ValueError("no ids")
    return " or ".join(parts)


def scim_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scim_eq(attr: str, value: str) -> str:
    _check(_SCIM_ATTR, attr)
    return f"{attr} eq {scim_string(value)}"


def _check(pattern: re.Pattern[str], name: str) -> None:
    if not pattern.fullmatch(name):
        raise ValueError(f"not a property name: {name!r}")
