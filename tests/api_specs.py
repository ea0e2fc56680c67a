"""The vendored API spec parts (tests/specs/, see its README) the shape tests compare against.

Read from the repository, never from outside it: the shape tests run, and can fail, on a clean clone.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SPECS_DIR = Path(__file__).resolve().parent / "specs"
QRS_SPEC = SPECS_DIR / "qrs-repository-38.22.0.trimmed.json"
CLOUD_TYPES = SPECS_DIR / "qlik-cloud-types.json"
CLOUD_APPS_OPENAPI = SPECS_DIR / "qlik-cloud-openapi-apps.json"


@functools.cache
def qrs_definitions() -> dict[str, Any]:
    """QRS Swagger definitions by name (App, AppObject, User, ...)."""
    return json.loads(QRS_SPEC.read_text())["definitions"]  # type: ignore[no-any-return]


def qrs_fields(name: str) -> set[str]:
    return set(qrs_definitions()[name]["properties"])


@functools.cache
def cloud_types() -> dict[str, list[str]]:
    """Field names of the Qlik Cloud types (`apps.NxApp`, `users.User`, ...) from @qlik/api."""
    return json.loads(CLOUD_TYPES.read_text())["types"]  # type: ignore[no-any-return]


def cloud_fields(name: str) -> set[str]:
    return set(cloud_types()[name])


@functools.cache
def cloud_apps_schemas() -> dict[str, Any]:
    """Schemas of Qlik's published apps OpenAPI spec (`NxApp`, `NxAppObject`, ...)."""
    return json.loads(CLOUD_APPS_OPENAPI.read_text())["components"]["schemas"]  # type: ignore[no-any-return]


def cloud_apps_fields(name: str) -> set[str]:
    return set(cloud_apps_schemas()[name]["properties"])
