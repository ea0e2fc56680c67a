from __future__ import annotations

from qlikcli_py.cli.main import main

raise SystemExit(main())
