"""Options shared by the commands, each readable from a flag, a QLIK_MIGRATE_* variable or the
TOML file given with --config (in that order of precedence)."""
from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qlikcli_py.connection_maps import DEFAULT_POLICY
from qlikcli_py.connection_maps import ConnectionPolicy
from qlikcli_py.connection_maps import load_map
from qlikcli_py.errors import UsageProblem
from qlikcli_py.filters import is_guid
from qlikcli_py.identity_options import helper_contexts
from qlikcli_py.ledger import default_state_dir
from qlikcli_py.mapping import DEFAULT_LOOKUP
from qlikcli_py.mapping import DEFAULT_ON_UNMATCHED
from qlikcli_py.mapping import LOOKUPS
from qlikcli_py.mapping import SOURCES
from qlikcli_py.mapping import load_options
from qlikcli_py.pacing import DEFAULT_READ_PER_MIN
from qlikcli_py.pacing import DEFAULT_WINDOW
from qlikcli_py.pacing import DEFAULT_WRITE_PER_MIN
from qlikcli_py.planning import AppSpec
from qlikcli_py.qlik import DEFAULT_BINARY
from qlikcli_py.qlik import DEFAULT_CALL_TIMEOUT
from qlikcli_py.qlik import DEFAULT_ENGINE_WORKERS
from qlikcli_py.qlik import DEFAULT_WORKERS
from qlikcli_py.session import Connection
from qlikcli_py.settings import RunOptions
from qlikcli_py.settings import Settings

F = Callable[..., Any]


def _env(name: str) -> str:
    return "QLIK_MIGRATE_" + name.upper().replace("-", "_")


def opt(*decls: str, **kw: Any) -> Callable[[F], F]:
    name = decls[0].lstrip("-")
    kw.setdefault("envvar", _env(name))
    kw.setdefault("show_envvar", True)
    return click.option(*decls, **kw)


def _load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return value
    path = Path(value)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise click.BadParameter(f"cannot read {path}: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise click.BadParameter(f"{path} is not valid UTF-8 TOML: {e}") from e
    if not isinstance(doc, dict):
        raise click.BadParameter(f"{path} must hold `key = value` settings")
    known = _setting_names(ctx.command)
    # One file serves every command (run, plan, verify, doctor): a key another command takes is
    # skipped here, a key no command takes is a typo and stops the command.
    group = ctx.parent.command if ctx.parent is not None else None
    elsewhere: dict[str, str] = {}
    top: dict[str, str] = {}
    if isinstance(group, click.Group):
        top = _setting_names(group)
        for other in group.commands.values():
            elsewhere.update(_setting_names(other))
    values = {}
    for key, val in doc.items():
        name = str(key).replace("-", "_")
        if name == "config":
            raise click.BadParameter(f"{path}: a config file cannot name another config file")
        if name in known:
            # one name where a list is taken (helper-context = "bot1") is a list of one
            values[known[name]] = [val] if isinstance(val, str) and known[name] in _multiple(ctx.command) else val
        elif name in top:
            raise click.BadParameter(f"{path}: {key!r} is an option of qlik-migrate itself: pass "
                                     f"--{name.replace('_', '-')} before the command or set {_env(name)}")
        elif name not in elsewhere:
            raise click.BadParameter(f"{path}: unknown setting {key!r}: remove it, or use a long option "
                                     f"name as the key (e.g. target-context)")
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return value


def _multiple(command: click.Command) -> set[str]:
    return {p.name for p in command.params if isinstance(p, click.Option) and p.multiple and p.name}


def _setting_names(command: click.Command) -> dict[str, str]:
    """Config keys a command takes (long flag names, `-` or `_`) -> parameter names."""
    names: dict[str, str] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or not param.name:
            continue
        names[param.name] = param.name
        for decl in param.opts:
            if decl.startswith("--"):
                names[decl[2:].replace("-", "_")] = param.name
    return names


config_option = opt("--config", type=click.Path(dir_okay=False), is_eager=True, expose_value=False,
                    callback=_load_config, help="TOML file with option values (keys as the long flag names).")


def connection_options(f: F) -> F:
    for deco in reversed([
        config_option,
        opt("--source-context", default="", help="qlik-cli context of the client-managed site (server-type windows)."),
        opt("--target-context", default="", help="qlik-cli context of the Qlik Cloud tenant."),
        opt("--qlik-bin", default=DEFAULT_BINARY, show_default=True, help="Path or name of the qlik-cli binary."),
        opt("--insecure", is_flag=True, help="Accept the client-managed site's self-signed certificate."),
        opt("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
            help="Ledger, lock and scratch files [default: $XDG_STATE_HOME/qlik-migrate]."),
        opt("--workers", type=click.IntRange(1, 64), default=DEFAULT_WORKERS, show_default=True,
            help="qlik processes in flight at once."),
        opt("--engine-workers", type=click.IntRange(1, 64), default=DEFAULT_ENGINE_WORKERS, show_default=True,
            help="Engine sessions (app object/bookmark/... calls) in flight at once, within --workers: "
                 "Qlik Cloud refuses new engine sessions after rapid bursts."),
        opt("--write-rate", type=click.FloatRange(0), default=DEFAULT_WRITE_PER_MIN, show_default=True,
            help="Tier 2 (write) calls per minute per identity; 0 turns pacing off."),
        opt("--read-rate", type=click.FloatRange(0), default=DEFAULT_READ_PER_MIN, show_default=True,
            help="Tier 1 (read) calls per minute per identity; 0 turns pacing off."),
        opt("--rate-window", type=click.FloatRange(1), default=DEFAULT_WINDOW, show_default=True,
            help="Seconds over which Qlik evaluates the rates: up to rate x window calls go at once."),
        opt("--call-timeout", type=click.FloatRange(1), default=DEFAULT_CALL_TIMEOUT, show_default=True,
            help="Seconds before one qlik call is abandoned (export and import get an hour)."),
        opt("--helper-context", "helper_context", multiple=True,
            help="Context of an admin.apps bot (another user) sharing the hand-overs and engine reads; repeatable."),
        opt("--tenant-write-rate", type=click.FloatRange(0), default=0.0, show_default=True,
            help="Tier 2 calls per minute for the whole tenant, over all identities; 0: no cap beyond each one's."),
    ]):
        f = deco(f)
    return f


def selection_options(f: F) -> F:
    decorators: list[Callable[[F], F]] = [
        click.argument("app_ids", nargs=-1),
        opt("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="TOML or CSV file listing apps, streams or QRS filters with their spaces."),
        opt("--shared-space", default="", help="Shared space (name or id) for the import and the development copy."),
        opt("--managed-space", default="", help="Managed space (name or id) the migrated app moves to."),
        opt("--skip-data", is_flag=True, help="Export without data (reload in Qlik Cloud afterwards)."),
    ]
    for deco in reversed(decorators):
        f = deco(f)
    return f


def mapping_options(f: F) -> F:
    for deco in reversed([
        opt("--match-order", default=None,
            help=f"Owner matching sources in order [default: {','.join(SOURCES)}]."),
        opt("--mapping-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="CSV with columns source,target: DIR\\user or email -> cloud user id, subject or email."),
        opt("--rewrite", "rewrite", multiple=True,
            help="Rewrite rule, e.g. 'ACME\\{userId}={userId}@acme.com' (repeatable)."),
        opt("--lookup", type=click.Choice([str(lookup) for lookup in LOOKUPS]), default=str(DEFAULT_LOOKUP),
            show_default=True,
            help="How cloud users are looked up: per owner, one listing, or whichever is cheaper."),
        opt("--on-unmatched", default=str(DEFAULT_ON_UNMATCHED), show_default=True,
            help="skip (object stays with the migration identity), fail (stop before any change) or assign:USER."),
    ]):
        f = deco(f)
    return f


def report_options(f: F) -> F:
    f = opt("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="Write one CSV row per object.")(f)
    return opt("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
               help="Write the versioned JSON report here.")(f)


def run_options(f: F) -> F:
    """What only `run` acts on. `plan` takes them too, so that changing the verb of a run's command
    line gives its dry run."""
    for deco in reversed([
        opt("--export-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
            help="Where QVF exports are written [default: STATE_DIR/exports]."),
        opt("--keep-exports", is_flag=True,
            help="Keep each app's QVF export after the app is moved (by default it is deleted then)."),
        opt("--force", is_flag=True,
            help="Migrate again apps already migrated (the earlier import is kept and reported)."),
        opt("--max-imports", type=click.IntRange(1), default=None,
            help="Stop cleanly after this many imports in 24 hours (the tenant's daily import quota)."),
        opt("--retry-failed", is_flag=True,
            help="Try again the objects that failed for good in earlier runs (not in the app, refused)."),
        opt("--connection-map", "connection_map", multiple=True,
            help="Rename a data connection in each app's load script, OLD=NEW (repeatable); "
                 "rewritten before the copy and the move, never reloaded."),
        opt("--connection-map-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="CSV with columns old,new: more --connection-map pairs."),
        opt("--connections", type=click.Choice([str(p) for p in ConnectionPolicy]), default=str(DEFAULT_POLICY),
            show_default=True,
            help="A script naming a data connection the target lacks: warn (report, migrate) or require "
                 "(stop before the first export)."),
        opt("--quiet", is_flag=True,
            help="For cron: print nothing when everything succeeded, else one summary of what did not."),
    ]):
        f = deco(f)
    return f


def migration_options(f: F) -> F:
    """Every option of the commands that take a run's command line: `run`, its dry run `plan`, and
    `sync` (the same apps, contexts, owners, reports and run settings)."""
    return selection_options(connection_options(mapping_options(report_options(run_options(f)))))


def build_settings(p: dict[str, Any], *, export_dir: Path | None = None, force: bool = False,
                   max_imports: int | None = None, keep_exports: bool = False,
                   retry_failed: bool = False) -> Settings:
    state_dir = p.get("state_dir") or default_state_dir()
    conn = Connection(
        source_context=p.get("source_context", ""), target_context=p.get("target_context", ""),
        qlik_bin=p.get("qlik_bin", DEFAULT_BINARY), insecure=p.get("insecure", False),
        workers=p.get("workers", DEFAULT_WORKERS), engine_workers=p.get("engine_workers", DEFAULT_ENGINE_WORKERS),
        read_rate=p.get("read_rate", DEFAULT_READ_PER_MIN), write_rate=p.get("write_rate", DEFAULT_WRITE_PER_MIN),
        rate_window=p.get("rate_window", DEFAULT_WINDOW),
        timeout=p.get("call_timeout", DEFAULT_CALL_TIMEOUT),
        # Filled here, once for every command: the scratch dir, and the call log of earlier runs
        # (<state-dir>/calls.sqlite) that keeps back-to-back runs inside one rate window.
        scratch=Path(state_dir) / "tmp", state_dir=Path(state_dir),
        helper_contexts=helper_contexts(p), tenant_write_rate=p.get("tenant_write_rate", 0.0),
    )
    for app_id in p.get("app_ids", ()):  # checked before anything runs, not after the preflight
        if not is_guid(app_id.strip()):
            raise UsageProblem(f"{app_id!r} is not a QRS app id (a GUID like 5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c): "
                               f"check the APP_ID arguments")
    specs = [AppSpec(a.strip(), p.get("shared_space", ""), p.get("managed_space", ""), p.get("skip_data", False))
             for a in p.get("app_ids", ())]
    if p.get("manifest") is not None and not specs:
        specs = [AppSpec("", p.get("shared_space", ""), p.get("managed_space", ""), p.get("skip_data", False))]
    mapping = load_options(p.get("match_order"), p.get("mapping_file"), tuple(p.get("rewrite", ())),
                           p.get("lookup", DEFAULT_LOOKUP), p.get("on_unmatched", DEFAULT_ON_UNMATCHED))
    run = RunOptions(export_dir=export_dir or state_dir / "exports", force=force, max_imports=max_imports,
                     keep_exports=keep_exports, retry_failed=retry_failed,
                     connection_map=load_map(p.get("connection_map", ()), p.get("connection_map_file")),
                     connections=p.get("connections", str(DEFAULT_POLICY)))
    return Settings(conn=conn, state_dir=Path(state_dir), specs=specs, mapping=mapping, run=run,
                    manifest=p.get("manifest"), report=p.get("report"), csv=p.get("csv_path"))


def require_apps(p: dict[str, Any]) -> None:
    if not p.get("app_ids") and not p.get("manifest"):
        raise UsageProblem("no apps given: pass APP_ID arguments or --manifest FILE")
