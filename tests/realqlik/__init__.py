"""The vendored real qlik-cli 1.4.0 (see README.md here): checked and extracted for tests."""
from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARBALL = HERE / "qlik-cli-v1.4.0-Linux-x86_64.tar.gz"
SHA256 = "5e481e05f2f94ced0c9cae1bdc35c78d5f3afed611059321fc8ebbdb4a21c6b2"
VERSION = "1.4.0"


def extract(dest: Path) -> Path:
    """Verify the tarball's sha256 and extract `qlik` into `dest`; return its path."""
    digest = hashlib.sha256(TARBALL.read_bytes()).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{TARBALL.name}: sha256 {digest}, expected {SHA256}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(TARBALL) as tar:
        member = tar.getmember("qlik")
        tar.extract(member, dest, filter="data")
    binary = dest / "qlik"
    binary.chmod(0o755)
    return binary
