"""Which Qlik Cloud user each client-managed owner (`DIRECTORY\\userId`) becomes.

Match sources, tried in a configurable order (default `mapping,rules,subject,email`):

- `mapping`: an explicit CSV file (`source,target`); source is `DIR\\userId` or an email, target a
  cloud user id, subject or email. A row is the operator's decision: when it decides, later
  sources are not consulted, and when its target has no cloud user the owner stays unmatched
  (falling through to a guess would overrule the file).
- `rules`: rewrite rules `PATTERN=TEMPLATE`, e.g. `ACME\\{userId}={userId}@acme.com`. The pattern
  is matched case-insensitively against the owner key; the template's value is compared with cloud
  subject or email. The first rule that finds a user wins.
- `subject`: cloud subject equals `DIR\\userId`.
- `email`: cloud email equals the owner's email attribute in QRS.

All comparisons ignore case. Users whose status is `disabled` or `deleted` are not eligible.
The first source in the order that finds exactly one eligible user decides and later sources are
not consulted, as Qlik's own migration tools do (subject first, e-mail only when the subject finds
no one): two on-prem accounts sharing an e-mail each keep their own cloud user by subject. A guess
is never a coin toss: when the first source that finds anyone finds two or more eligible users,
the owner is ambiguous. It is then unmatched (handled by --on-unmatched like any unmatched owner)
and reported with every candidate; the other owners, and the rest of the batch, are not affected.

Lookups: for a handful of owners, one `user ls --filter` per attribute value (cached, so owners
sharing a value share the call); for many owners, one listing of every user, indexed by
lowercased id, subject and email.
"""
from __future__ import annotations

from qlikcli_py.mapping.mapping_file import read_mapping_file
from qlikcli_py.mapping.options import DEFAULT_LOOKUP
from qlikcli_py.mapping.options import DEFAULT_ON_UNMATCHED
from qlikcli_py.mapping.options import LOOKUPS
from qlikcli_py.mapping.options import SOURCES
from qlikcli_py.mapping.options import MappingOptions
from qlikcli_py.mapping.options import OnUnmatched
from qlikcli_py.mapping.options import load_options
from qlikcli_py.mapping.options import parse_on_unmatched
from qlikcli_py.mapping.outcomes import Resolution
from qlikcli_py.mapping.outcomes import UnmatchedOwners
from qlikcli_py.mapping.resolver import OwnerMapper
from qlikcli_py.mapping.rules import parse_rule
from qlikcli_py.mapping.users import UserIndex

__all__ = [
    "DEFAULT_LOOKUP", "DEFAULT_ON_UNMATCHED", "LOOKUPS", "SOURCES", "MappingOptions", "OnUnmatched", "OwnerMapper",
    "Resolution", "UnmatchedOwners", "UserIndex", "load_options", "parse_on_unmatched", "parse_rule",
    "read_mapping_file",
]
