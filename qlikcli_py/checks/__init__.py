"""Checks that `doctor`, `plan` and `run` share: will each app reload (reload.py), and the other
traps a migration meets (traps.py)."""
