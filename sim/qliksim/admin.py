"""`qlik-sim`: seed worlds, set knobs, inspect the final state and the call log, install the binary.

    qlik-sim seed demo --state F
    qlik-sim seed generate --state F --apps 1000 --objects-per-app 100 --owners 500
    qlik-sim faults --state F --latency 0.1 --rate-write 20/6 --fail-5xx 0.05
    qlik-sim show --state F
    qlik-sim calls --state F
    qlik-sim install-bin DIR
    qlik-sim serve --state F [--port N]           (the world as Qlik's APIs, for a real qlik-cli)
    qlik-sim contexts --state F --server URL      (`qlik context create` lines for that server)
    qlik-sim onprem add|change|delete|wave --state F --app QRS_APP ...   (on-prem work after a migration)
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from qliksim import faults, forkclient, seed
from qliksim.store import World

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]  # the folder holding qliksim/

_BIN_TEMPLATE = """#!{python} -S
# qlik-cli simulator, installed by `qlik-sim install-bin`. -S skips site.py (a few ms per call);
# the paths it would have added are listed here instead.
import sys
sys.path[:0] = {paths!r}
# Every simulated call is a new process: cache compiled modules even where the environment sets
# PYTHONDONTWRITEBYTECODE (compiling the simulator on each call costs ~25 ms).
sys.dont_write_bytecode = False
# Through the fork server (qliksim/forkserver.py) when one answers, else in this process.
from qliksim.forkclient import client_main
raise SystemExit(client_main({name!r}))
"""


def install_bin(bin_dir: str | os.PathLike[str], *, compiled: bool = True) -> pathlib.Path:
    """Write an executable `qlik` into bin_dir that runs the simulator with this interpreter.

    Works without the package installed: the folder holding qliksim goes on sys.path first.
    `qlik` is the compiled client of the fork server (forkclient.c) where a C compiler is found
    (and `compiled`), else the Python client; `qlik-py` is always the Python one (the compiled
    client hands it any call it cannot send), `qlik-fork.addr` names the server.
    """
    target = pathlib.Path(bin_dir) / "qlik"
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = [str(PACKAGE_ROOT)]
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths()[key]
        if path not in paths:
            paths.append(path)
    name = forkclient.name_for(_build_key(paths))
    script = _BIN_TEMPLATE.format(python=sys.executable, paths=paths, name=name)
    (target.parent / "qlik-fork.addr").write_text(name + "\n")
    python_client = target.parent / "qlik-py"
    python_client.write_text(script)
    python_client.chmod(0o755)
    client = _compiled_client() if compiled else None
    tmp = target.with_name(f".qlik.{os.getpid()}")
    if client is not None:
        shutil.copyfile(client, tmp)
    else:
        tmp.write_text(script)
    tmp.chmod(0o755)
    os.replace(tmp, target)
    return target


def _compiled_client() -> pathlib.Path | None:
    """forkclient.c built once per source and compiler (in a private folder under the temp dir),
    or None where no C compiler is found or the build fails."""
    source = pathlib.Path(__file__).with_name("forkclient.c")
    cc = shutil.which(os.environ.get("CC") or "cc") or shutil.which("gcc")
    if cc is None or not source.is_file():
        return None
    digest = hashlib.sha256(source.read_bytes() + cc.encode()).hexdigest()[:16]
    cache = pathlib.Path(tempfile.gettempdir()) / f"qliksim-{os.getuid()}"
    binary = cache / f"forkclient-{digest}"
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        if cache.stat().st_uid != os.getuid():
            return None  # somebody else's folder: build nothing there, run nothing from it
        if binary.is_file():
            return binary
        tmp = cache / f".forkclient-{digest}.{os.getpid()}"
        done = subprocess.run([cc, "-O2", "-o", str(tmp), str(source)], capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            return None
        os.replace(tmp, binary)
    except (OSError, subprocess.SubprocessError):
        return None
    return binary


def _build_key(paths: list[str]) -> str:
    """Which simulator a fork server holds: the interpreter, the paths and every source file's size
    and time, so a changed simulator never answers from an old server."""
    digest = hashlib.sha256(f"{sys.executable}\0{paths}".encode())
    here = pathlib.Path(__file__).parent
    for source in sorted([*here.glob("*.py"), here / "forkclient.c"]):
        info = source.stat()
        digest.update(f"\0{source.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _rate(text: str) -> str:
    if text != "documented":
        faults.parse_rate(text)  # validate early, with argparse's error reporting
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qlik-sim", description="Stateful qlik-cli simulator: worlds, knobs, reports.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("seed", help="create a world").add_subparsers(dest="kind", required=True)
    d = s.add_parser("demo", help="the hand-made demo site")
    d.add_argument("--state", required=True)
    g = s.add_parser("generate", help="a generated site of any size")
    g.add_argument("--state", required=True)
    g.add_argument("--apps", type=int, required=True)
    g.add_argument("--objects-per-app", type=int, default=20)
    g.add_argument("--owners", type=int, default=10)
    g.add_argument("--cloud-users-extra", type=int, default=0)
    g.add_argument("--share-subject", type=float, default=0.8)
    g.add_argument("--share-email", type=float, default=0.1)
    g.add_argument("--private-share", type=float, default=0.4)
    g.add_argument("--community-share", type=float, default=0.2)
    g.add_argument("--base-share", type=float, default=0.4)
    g.add_argument("--seed", type=int, default=1)

    h = s.add_parser("helper", help="add a cloud identity and its context to a world (an admin.apps bot by default)")
    h.add_argument("--state", required=True)
    h.add_argument("--context", required=True, help="the new context's name")
    h.add_argument("--name", default="", help="the user's display name")
    h.add_argument("--no-admin-apps", action="store_true", help="a plain user instead of an admin.apps bot")

    f = sub.add_parser("faults", help="set fault and performance knobs (prints the effective knobs)")
    f.add_argument("--state", required=True)
    f.add_argument("--reset", action="store_true", help="every knob back to its default first")
    f.add_argument("--latency", type=float)
    f.add_argument("--rate-read", type=_rate, metavar="CALLS/SECONDS")
    f.add_argument("--rate-write", type=_rate, metavar="CALLS/SECONDS")
    f.add_argument("--fail-5xx", type=float)
    f.add_argument("--hang", type=float)
    f.add_argument("--hang-seconds", type=float)
    f.add_argument("--applied-but-failed", type=float)
    f.add_argument("--warnings", type=float)
    f.add_argument("--warnings-stream", choices=("stderr", "stdout"))
    f.add_argument("--export-enospc", type=float)
    f.add_argument("--export-writes", choices=("qvf", "html", "json"))
    f.add_argument("--version")
    f.add_argument("--fault-tiers", help="comma list of read,write,engine,qrs")
    f.add_argument("--hidden-answer", choices=("access_denied", "not_found"),
                   help="what the engine answers for another user's private object")
    f.add_argument("--engine-wording", choices=("coded", "corectl", "novel"), help="how engine errors are worded")
    f.add_argument("--unsaved-removals", choices=("kept", "dropped"),
                   help="whether `rm --no-save` outlives its qlik process")
    f.add_argument("--rate-tenant-write", metavar="CALLS/SECONDS", help="the tenant's write cap over all identities")
    f.add_argument("--throttle", metavar="CONTEXT:SECONDS", help="that context answers 429 to writes for SECONDS from its first write")
    f.add_argument("--hide-spaces-from", metavar="CONTEXT", help="that context's `space ls` lists only data spaces")
    f.add_argument("--seed", type=int)

    for name, text in (("show", "human-readable final state"), ("calls", "summary of the call log")):
        x = sub.add_parser(name, help=text)
        x.add_argument("--state", required=True)
    i = sub.add_parser("install-bin", help="write an executable `qlik` into DIR")
    i.add_argument("dir")
    v = sub.add_parser("serve", help="serve the world as Qlik's REST, QRS and engine APIs on 127.0.0.1 (prints the URL first)")
    v.add_argument("--state", required=True)
    v.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    c = sub.add_parser("contexts", help="print the `qlik context create` commands for every context, pointed at a server")
    c.add_argument("--state", required=True)
    c.add_argument("--server", required=True, help="the URL `qlik-sim serve` printed")
    c.add_argument("--qlik", default="qlik", help="the qlik binary the commands name")
    o = sub.add_parser("onprem", help="on-prem (QRS) changes after a migration: users keep working there").add_subparsers(dest="action", required=True)
    for action, text in (("add", "a new object of an owner"), ("change", "edit an object (title, a property, modifiedDate)"),
                         ("delete", "delete an object"), ("wave", "the demo's wave: new objects of several owners, one changed, one deleted")):
        a = o.add_parser(action, help=text)
        a.add_argument("--state", required=True)
        a.add_argument("--app", required=True, help="QRS app id")
        if action == "add":
            a.add_argument("--type", required=True, choices=("sheet", "story", "bookmark", "snapshot", "masterobject", "dimension", "measure"))
            a.add_argument("--owner", required=True, help="DIRECTORY\\userId (or userId if unique)")
            a.add_argument("--visibility", default="private", choices=("private", "community", "base"))
            a.add_argument("--title", default="")
            a.add_argument("--children", type=int, help="child objects of a sheet or story (default: sheet 2, story 1)")
            a.add_argument("--id", default="", help="the engine object id (default: a new one)")
        elif action in ("change", "delete"):
            a.add_argument("--object", required=True, help="engine object id")
            if action == "change":
                a.add_argument("--title", default="")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "seed":
        if args.kind == "helper":
            from qliksim.identities import add_identity

            uid = add_identity(args.state, args.context, name=args.name, admin_apps=not args.no_admin_apps)
            print(json.dumps({"context": args.context, "identity": uid, "admin_apps": not args.no_admin_apps}))
            return 0
        if args.kind == "demo":
            info = seed.demo(args.state)
        else:
            info = seed.generate(
                args.state,
                apps=args.apps,
                objects_per_app=args.objects_per_app,
                owners=args.owners,
                cloud_users_extra=args.cloud_users_extra,
                share_subject=args.share_subject,
                share_email=args.share_email,
                private_share=args.private_share,
                community_share=args.community_share,
                base_share=args.base_share,
                seed=args.seed,
            )
            info.pop("app_ids")
        print(json.dumps(info, indent=2, ensure_ascii=False))
    elif args.command == "faults":
        if args.reset:
            faults.reset(args.state)
        knobs = {k: v for k, v in vars(args).items() if k not in ("command", "state", "reset") and v is not None}
        print(json.dumps(faults.configure(args.state, **knobs), indent=2))
    elif args.command == "onprem":
        return _onprem(args)
    elif args.command == "show":
        sys.stdout.write(show(args.state))
    elif args.command == "calls":
        sys.stdout.write(calls_summary(args.state))
    elif args.command in ("serve", "contexts"):
        if not os.path.isfile(args.state):
            sys.stderr.write(f"qlik-sim: no world at {args.state} (create one with `qlik-sim seed demo --state FILE`)\n")
            return 2
        if args.command == "serve":
            from qliksim.server.lifecycle import serve

            return serve(args.state, args.port)
        from qliksim.server.contexts import create_commands

        print("\n".join(create_commands(args.state, args.server, args.qlik)))
    else:
        print(install_bin(args.dir))
    return 0


def _onprem(args: argparse.Namespace) -> int:
    from qliksim import onprem

    if not os.path.isfile(args.state):
        sys.stderr.write(f"qlik-sim: no world at {args.state} (create one with `qlik-sim seed demo --state FILE`)\n")
        return 2
    try:
        if args.action == "add":
            out = onprem.add(args.state, args.app, object_type=args.type, owner=args.owner, visibility=args.visibility,
                             title=args.title, children=args.children, engine_id=args.id)
        elif args.action == "change":
            out = onprem.change(args.state, args.app, args.object, title=args.title)
        elif args.action == "delete":
            out = onprem.delete(args.state, args.app, args.object)
        else:
            out = onprem.wave(args.state, args.app)
    except ValueError as exc:
        sys.stderr.write(f"qlik-sim onprem: {exc}\n")
        return 2
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def show(state: str) -> str:
    world = World(state)
    users = {u["id"]: u for u in world.cloud_users()}
    spaces = {s["id"]: s for s in world.spaces()}
    qrs_users = {u["id"]: u for u in world.qrs_users()}
    streams = {s["id"]: s["name"] for s in world.streams()}
    lines = ["QRS (client-managed)"]
    for app in world.qrs_apps():
        objs = world.qrs_objects(app["id"])
        states = collections.Counter(_state(o) for o in objs)
        owner = qrs_users.get(app["owner_id"], {})
        lines.append(
            f"  {app['name']}  [{app['id']}]  stream={streams.get(app['stream_id'], '-')}  "
            f"owner={owner.get('user_directory', '?')}\\{owner.get('user_id', '?')}  objects={len(objs)} "
            + " ".join(f"{k}={v}" for k, v in sorted(states.items()))
        )
    lines.append("Qlik Cloud")
    for app in world.cloud_apps():
        space = spaces.get(app["space_id"])
        where = f"{space['name']} ({space['type']})" if space else "personal"
        origin = f"  origin={app['origin_app_id']}" if app["origin_app_id"] else ""
        lines.append(f"  {app['name']}  [{app['id']}]  space={where}  owner={_who(users, app['owner_id'])}{origin}  from={app['source']}")
        for o in world.cloud_objects(app["id"]):
            pending = "  (removal pending: not saved)" if o["pending_rm"] else ""
            lines.append(f"    {o['object_id']:<38} {o['type']:<13} {_state(o):<9} owner={_who(users, o['owner_id'])}  {o['title']}{pending}")
    return "\n".join(lines) + "\n"


def _state(obj: dict[str, Any]) -> str:
    return "base" if obj["approved"] else "community" if obj["published"] else "private"


def _who(users: dict[str, dict[str, Any]], uid: str) -> str:
    user = users.get(uid)
    return f"{user['name']} <{user['subject']}>" if user else f"? {uid}"


def calls_summary(state: str) -> str:
    calls = [c for c in World(state).calls() if "exit" in c]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for c in calls:
        key = (str(c.get("tier")), str(c.get("command")))
        row = rows.setdefault(key, {"calls": 0, "failed": 0, "faults": collections.Counter(), "seconds": 0.0})
        row["calls"] += 1
        row["failed"] += c["exit"] != 0
        row["seconds"] += c["end"] - c["start"]
        if c.get("fault"):
            row["faults"][c["fault"]] += 1
    lines = [f"{len(calls)} calls", f"{'tier':<8}{'command':<34}{'calls':>7}{'failed':>8}{'mean s':>9}  faults"]
    for (tier, command), row in sorted(rows.items()):
        faults_text = ", ".join(f"{k}={v}" for k, v in sorted(row["faults"].items()))
        lines.append(f"{tier:<8}{command:<34}{row['calls']:>7}{row['failed']:>8}{row['seconds'] / row['calls']:>9.3f}  {faults_text}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
