"""Worlds to run against: a hand-made demo site, and generated sites of any size.

Both create the same three contexts:
  qseow      windows  https://qseow.example.local/jwt   identity: QRS user ACME\\svc_migrate
  cloud      cloud    https://acme.eu.qlikcloud.com      identity: cloud user ACME\\svc_migrate (no admin.apps)
  cloud-bot  cloud    https://acme.eu.qlikcloud.com      identity: OAuth client qlikbot\\<id> with admin.apps
and the same spaces: "Finance Dev" (shared), "Finance" (managed), "Sandbox" (shared),
"Finance Data" (data; `space ls --name Finance` matches three spaces, the fuzzy-name trap).
"""

from __future__ import annotations

import os
import random
import sqlite3

from qliksim import ids, store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

QRS_SERVER = "https://qseow.example.local/jwt"
CLOUD_SERVER = "https://acme.eu.qlikcloud.com"
OBJECT_TYPES = ("sheet", "story", "bookmark", "snapshot", "masterobject", "dimension", "measure", "app_appscript")
STATES = ("private", "community", "base")
UNPUBLISHED = "1753-01-01T00:00:00.000Z"  # QRS's "never published" sentinel
T0 = "2023-03-14T09:12:44.120Z"
T1 = "2024-01-19T16:40:02.077Z"
BOT_CLIENT_ID = "fbf6b1c2d3e4f5a6b7c8d9e0f1a2b3c4"
_SHORT_ID_TYPES = ("masterobject", "dimension", "measure")


def _state_flags(state: str) -> tuple[int, int]:
    """-> (published, approved): private = neither, community = published, base = approved (+published)."""
    return {"private": (0, 0), "community": (1, 0), "base": (1, 1)}[state]


class _Builder:
    """Collects rows, then writes them with executemany in one transaction."""

    def __init__(self, path: str, seed: int) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.seed = seed
        self.rng = random.Random(seed)
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ("qrs_users", "streams", "qrs_apps", "qrs_objects", "cloud_users", "spaces", "contexts")}

    def guid(self) -> str:
        return ids.format_guid(self.rng.getrandbits(128))

    def hex24(self) -> str:
        return f"{self.rng.getrandbits(96):024x}"

    def short_id(self) -> str:
        alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "".join(self.rng.choice(alphabet) for _ in range(5))

    def qrs_user(self, user_id: str, directory: str, name: str, email: str | None) -> str:
        uid = self.guid()
        self.rows["qrs_users"].append((uid, user_id, directory, name, email, self.guid() if email else None, T0, T1))
        return uid

    def cloud_user(self, name: str, email: str, subject: str, *, status: str = "active", scopes: str = "", role: str = "Professional") -> str:
        uid = self.hex24()
        self.rows["cloud_users"].append((uid, name, email, subject, status, T0, T1, scopes, role))
        return uid

    def stream(self, name: str, owner: str) -> str:
        sid = self.guid()
        self.rows["streams"].append((sid, name, owner, T0, T0))
        return sid

    def space(self, name: str, stype: str, owner: str, description: str = "") -> str:
        sid = self.hex24()
        self.rows["spaces"].append((sid, name, stype, description, owner, T0, T1))
        return sid

    def qrs_app(self, name: str, owner: str, owner_label: str, stream: str | None, description: str = "") -> str:
        aid = self.guid()
        published = stream is not None
        self.rows["qrs_apps"].append(
            (aid, name, description, owner, stream, int(published), T0 if published else UNPUBLISHED, "2021-06-02T08:15:30.512Z", T1, owner_label,
             18734522, "2024-01-19T06:00:12.000Z", f"{self.rng.getrandbits(160):040x}")
        )
        return aid

    def qrs_object(self, app_id: str, otype: str, title: str, owner: str, owner_label: str, state: str, engine_id: str, description: str = "") -> str:
        oid = self.guid()
        published, approved = _state_flags(state)
        self.rows["qrs_objects"].append(
            (oid, app_id, engine_id, otype, title, description, owner, published, approved, T0 if published else UNPUBLISHED,
             "2022-11-08T10:01:22.301Z", "2023-02-27T13:45:10.004Z", owner_label, f"{self.rng.getrandbits(96):024x}", 4213)
        )
        return oid

    def engine_id(self, otype: str, taken: set[str]) -> str:
        while True:
            eid = self.short_id() if otype in _SHORT_ID_TYPES else self.guid()
            if eid not in taken:
                taken.add(eid)
                return eid

    def contexts(self, qrs_identity: str, cloud_identity: str, bot_identity: str) -> None:
        self.rows["contexts"] += [
            ("qseow", QRS_SERVER, "windows", "QSEoW central node via JWT virtual proxy", "Bearer eyJhbGciOiJSUzI1NiJ9.sim-qrs.sig", qrs_identity, 0),
            ("cloud", CLOUD_SERVER, "cloud", "migration target (API key of the migration user)", "Bearer eyJhbGciOiJFUzM4NCJ9.sim-cloud.sig", cloud_identity, 0),
            ("cloud-bot", CLOUD_SERVER, "cloud", "private content bot (OAuth M2M, admin.apps)", "Bearer eyJhbGciOiJFUzM4NCJ9.sim-bot.sig", bot_identity, 1),
        ]

    def write(self) -> None:
        conn: sqlite3.Connection = store.create(self.path, seed=self.seed)
        try:
            conn.execute("BEGIN IMMEDIATE")
            inserts = {
                "qrs_users": "INSERT INTO qrs_users (id, user_id, user_directory, name, email, email_attr_id, created, modified) VALUES (?,?,?,?,?,?,?,?)",
                "streams": "INSERT INTO streams (id, name, owner_id, created, modified) VALUES (?,?,?,?,?)",
                "qrs_apps": "INSERT INTO qrs_apps (id, name, description, owner_id, stream_id, published, publish_time, created, modified, modified_by,"
                " file_size, last_reload, migration_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                "qrs_objects": "INSERT INTO qrs_objects (id, app_id, engine_object_id, object_type, name, description, owner_id, published, approved,"
                " publish_time, created, modified, modified_by, content_hash, size) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                "cloud_users": "INSERT INTO cloud_users (id, name, email, subject, status, created, updated, assigned_scopes, role) VALUES (?,?,?,?,?,?,?,?,?)",
                "spaces": "INSERT INTO spaces (id, name, type, description, owner_id, created, updated) VALUES (?,?,?,?,?,?,?)",
                "contexts": "INSERT INTO contexts (name, server, server_type, comment, token, identity, admin_apps) VALUES (?,?,?,?,?,?,?)",
            }
            for table, sql in inserts.items():
                conn.executemany(sql, self.rows[table])
            conn.execute("COMMIT")
        finally:
            conn.close()


def _common(b: _Builder) -> dict[str, Any]:
    """The migration identities, contexts and spaces every world has."""
    svc_qrs = b.qrs_user("svc_migrate", "ACME", "Migration Service", "svc.migrate@acme.com")
    svc_cloud = b.cloud_user("Migration Service", "svc.migrate@acme.com", "ACME\\svc_migrate", role="TenantAdmin")
    bot = b.cloud_user("Migration Bot", "", f"qlikbot\\{BOT_CLIENT_ID}", scopes="admin.apps,admin_classic,user_default")
    b.contexts(svc_qrs, svc_cloud, bot)
    spaces = {
        "Finance Dev": b.space("Finance Dev", "shared", svc_cloud, "Development copies of finance apps"),
        "Finance": b.space("Finance", "managed", svc_cloud, "Published finance apps"),
        "Sandbox": b.space("Sandbox", "shared", svc_cloud, "Scratch space"),
        "Finance Data": b.space("Finance Data", "data", svc_cloud, "Finance data files"),
    }
    return {
        "qrs_context": "qseow",
        "cloud_context": "cloud",
        "bot_context": "cloud-bot",
        "qrs_identity": svc_qrs,
        "cloud_identity": svc_cloud,
        "bot_identity": bot,
        "spaces": spaces,
    }


# --- the demo site -------------------------------------------------------------------------

_TITLES = {
    "sheet": 'Sheet "{state}" – Übersicht',
    "story": "Story {state}: Q4 review",
    "bookmark": "Bookmark {state} (Région = 'Île-de-France')",
    "snapshot": "Snapshot {state} – Ventes",
    "masterobject": 'Master chart "{state}"',
    "dimension": "Dimension {state} Größe",
    "measure": "Measure {state} Σ Revenue",
    "app_appscript": "Script {state}",
}


def demo(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A small, hand-made site with every edge a migration meets. Returns useful ids and names."""
    b = _Builder(os.fspath(path), seed=1)
    info = _common(b)
    # (key, userId, userDirectory, name, QRS email, cloud account: "subject" | "email" | None)
    people = [
        ("jdoe", "jdoe", "ACME", "Jane Doe", "jane.doe@acme.com", "subject"),
        ("asmith", "asmith", "ACME", "Alex Smith", "alex.smith@acme.com", "subject"),
        ("jmuller", "jmuller", "ACME", "Jürgen Müller", "juergen.mueller@acme.com", "subject"),
        ("kwong", "kwong", "ACME", "Kim Wong", "Kim.Wong@ACME.com", "email"),  # cloud subject differs; e-mail case differs
        ("tleft", "tleft", "ACME", "Tom Left", "tom.left@acme.com", None),  # left the company: no cloud account
        ("obrien", "o'brien", "EMEA\\SALES", "Siobhán O'Brien", "siobhan.obrien@acme.com", "subject"),
    ]
    qrs_users: dict[str, str] = {}
    cloud_users: dict[str, str] = {}
    labels: dict[str, str] = {}
    for key, user_id, directory, name, email, match in people:
        qrs_users[key] = b.qrs_user(user_id, directory, name, email)
        labels[key] = f"{directory}\\{user_id}"
        if match == "subject":
            cloud_users[key] = b.cloud_user(name, email, f"{directory}\\{user_id}")
        elif match == "email":
            cloud_users[key] = b.cloud_user(name, email.lower(), "auth0|6b3e1f0c9d8a7b6c5d4e3f2a")
    for n in range(1, 9):  # unrelated tenant users: more than one default page of `user ls`
        b.cloud_user(f"Extra User {n}", f"extra{n}@acme.com", f"ACME\\extra{n}", status="disabled" if n == 8 else "active")
    b.cloud_user("Jane Doe (old account)", "jane.doe.old@acme.com", "ACME\\jdoe.old", status="disabled")
    streams = {"Finance": b.stream("Finance", qrs_users["jdoe"]), "Sales & Marketing": b.stream("Sales & Marketing", qrs_users["obrien"])}
    app_specs = [
        ("sales", "Sales Overview", "jdoe", "Finance", "Monthly sales KPIs"),
        ("ventes", "Ventes 'Été' / Q4 \"final\"", "obrien", "Sales & Marketing", "Résumé des ventes"),
        ("hr", "HR Headcount", "asmith", "Finance", "Headcount by department"),
        ("scratch", "Kim's scratchpad", "kwong", None, "Never published"),
    ]
    rotation = ["jdoe", "asmith", "jmuller", "kwong", "tleft", "obrien"]
    apps: dict[str, str] = {}
    objects: dict[str, list[dict[str, Any]]] = {}
    for key, name, owner, stream, desc in app_specs:
        app_id = b.qrs_app(name, qrs_users[owner], labels[owner], streams[stream] if stream else None, desc)
        apps[key] = app_id
        objects[key] = []
        taken: set[str] = set()
        turn = rotation.index(owner)
        for otype in OBJECT_TYPES:
            # The load script is part of the app, never a user's private or community content.
            for state in STATES if otype != "app_appscript" else ("base",):
                if state == "base":
                    who = owner
                else:
                    turn += 1
                    who = rotation[turn % len(rotation)]
                eid = b.engine_id(otype, taken)
                title = _TITLES[otype].format(state=state)
                b.qrs_object(app_id, otype, title, qrs_users[who], labels[who], state, eid)
                objects[key].append({"engineObjectId": eid, "type": otype, "state": state, "owner": who, "title": title})
    b.write()
    from qliksim import seed_reload

    seed_reload.demo(b.path, {"apps": apps, "spaces": info["spaces"]})
    info.update(
        {
            "path": b.path,
            "apps": apps,
            "app_names": {key: spec[1] for key, spec in zip(apps, app_specs)},
            "streams": streams,
            "qrs_users": qrs_users,
            "cloud_users": cloud_users,
            "objects": objects,
            "unmatched_owner": "tleft",
            "email_only_owner": "kwong",
        }
    )
    return info


# --- generated sites ------------------------------------------------------------------------

_TYPE_WEIGHTS = (("sheet", 40), ("story", 5), ("bookmark", 20), ("snapshot", 3), ("masterobject", 15), ("dimension", 7), ("measure", 8), ("app_appscript", 2))


def generate(
    path: str | os.PathLike[str],
    *,
    apps: int,
    objects_per_app: int,
    owners: int,
    cloud_users_extra: int = 0,
    share_subject: float = 0.8,
    share_email: float = 0.1,
    seed: int = 1,
    private_share: float = 0.4,
    community_share: float = 0.2,
    base_share: float = 0.4,
    streams: int | None = None,
) -> dict[str, Any]:
    """A site of any size. Owners: `share_subject` of them have a cloud account with subject
    DIR\\userId, `share_email` one found only by e-mail, the rest none. Object states are drawn
    with the three shares (normalised); base objects belong to the app owner."""
    if apps < 0 or objects_per_app < 0 or owners < 1:
        raise ValueError("apps and objects_per_app must be >= 0 and owners >= 1")
    b = _Builder(os.fspath(path), seed=seed)
    info = _common(b)
    rng = b.rng
    owner_ids: list[str] = []
    labels: list[str] = []
    matched = {"subject": 0, "email": 0, "none": 0}
    for i in range(owners):
        user_id = f"user{i:05d}"
        email = f"{user_id}@acme.com"
        owner_ids.append(b.qrs_user(user_id, "ACME", f"User {i:05d}", email))
        labels.append(f"ACME\\{user_id}")
        draw = rng.random()
        if draw < share_subject:
            b.cloud_user(f"User {i:05d}", email, f"ACME\\{user_id}")
            matched["subject"] += 1
        elif draw < share_subject + share_email:
            b.cloud_user(f"User {i:05d}", email, f"auth0|{b.hex24()}")
            matched["email"] += 1
        else:
            matched["none"] += 1
    for i in range(cloud_users_extra):
        b.cloud_user(f"Tenant User {i:06d}", f"tenant{i:06d}@example.com", f"ACME\\tenant{i:06d}")
    n_streams = streams if streams is not None else max(1, apps // 50)
    stream_ids = [b.stream(f"Stream {i:03d}", owner_ids[0]) for i in range(n_streams)]
    types, weights = zip(*_TYPE_WEIGHTS)
    total = private_share + community_share + base_share
    cut_private, cut_community = private_share / total, (private_share + community_share) / total
    app_ids: list[str] = []
    for a in range(apps):
        owner = rng.randrange(owners)
        app_id = b.qrs_app(f"App {a:05d}", owner_ids[owner], labels[owner], stream_ids[a % n_streams])
        app_ids.append(app_id)
        taken: set[str] = set()
        for otype in rng.choices(types, weights, k=objects_per_app):
            draw = rng.random()
            state = "private" if draw < cut_private else "community" if draw < cut_community else "base"
            if otype == "app_appscript":
                state = "base"
            who = owner if state == "base" else rng.randrange(owners)
            b.qrs_object(app_id, otype, f"{otype} {len(taken)}", owner_ids[who], labels[who], state, b.engine_id(otype, taken))
    b.write()
    info.update(
        {
            "path": b.path,
            "app_ids": app_ids,
            "streams": stream_ids,
            "qrs_users": len(b.rows["qrs_users"]),
            "cloud_users": len(b.rows["cloud_users"]),
            "objects": len(b.rows["qrs_objects"]),
            "owners": matched,
        }
    )
    return info
