"""Issue 18.11: a failing call's output holds a secret in a form the old scrubber let pass; it
must reach neither the ledger nor `status` nor the report (the exception carries it redacted)."""
from __future__ import annotations

import secrets
import shlex

from qlikcli_py.errors import ExitCode


def test_a_failing_calls_secret_never_reaches_the_ledger_or_status(sim):
    secret = f"s3cr3t{secrets.token_hex(8)}"
    real = shlex.quote(str(sim.tmp / "bin" / "qlik"))
    error = (f'Error: 400 Bad Request: refused for {{"oauthClientSecret": "{secret}"}} '
             f"(client_secret={secret}, refresh_token={secret}&x=1)\nClient Secret: {secret}\ntoken: {secret}")
    wrap = sim.tmp / "wrap"
    wrap.mkdir()
    (wrap / "qlik").write_text(f"""#!/bin/sh
case " $* " in
  *" --help "*) exec {real} "$@" ;;
  *" app copy "*) printf '%s\\n' {shlex.quote(error)} >&2; exit 1 ;;
esac
exec {real} "$@"
""")
    (wrap / "qlik").chmod(0o755)
    report = sim.tmp / "report.json"
    res = sim.migrate("run", sim.app(), *sim.common(), "--qlik-bin", str(wrap / "qlik"), "--report", str(report))
    assert res.code == ExitCode.FAILED, res.err[-800:]
    assert "Bad Request" in res.out + res.err  # the failure is shown, only its secret is not
    status = sim.migrate("status", "--state-dir", str(sim.state_dir))
    shown = {"run output": res.out + res.err, "status": status.out + status.err, "report": report.read_text()}
    for path in sim.state_dir.glob("ledger.sqlite*"):
        shown[path.name] = path.read_bytes().decode("utf-8", "replace")
    leaked = [name for name, text in shown.items() if secret in text]
    assert leaked == [], leaked
