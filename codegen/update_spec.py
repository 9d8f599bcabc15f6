"""``python -m codegen.update_spec --rest 23.0.2 --webhooks 12.1.0``: re-pin the descriptions.

Fetches each npm package with ``npm pack``, checks the registry's integrity hash, copies its
``generated/api.github.com.json`` into ``spec/`` and rewrites ``spec/spec.lock``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .spec import LOCK_FILE, ROOT, load_lock


def fetch(package: str, version: str, source: str, target: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="githubapp-spec-") as tmp:
        out = subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", tmp],
            check=True, capture_output=True, text=True,
        )
        info = json.loads(out.stdout)[0]
        tarball = Path(tmp) / info["filename"]
        algo, _, expected = info["integrity"].partition("-")
        actual = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
        if actual != expected:
            raise SystemExit(f"{package}@{version}: integrity mismatch ({actual} != {expected})")
        with tarfile.open(tarball) as tar:
            member = tar.getmember(f"package/{source}")
            extracted = tar.extractfile(member)
            if extracted is None:
                raise SystemExit(f"{package}@{version}: {source} is not a file")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fh:
                shutil.copyfileobj(extracted, fh)
    json.loads(target.read_bytes())  # must be valid JSON
    return hashlib.sha256(target.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen.update_spec", description=__doc__)
    parser.add_argument("--rest", help="@octokit/openapi version (default: keep the pinned one)")
    parser.add_argument("--webhooks", help="@octokit/openapi-webhooks version (default: keep)")
    args = parser.parse_args(argv)
    lock = load_lock()
    for kind, version in (("rest", args.rest), ("webhooks", args.webhooks)):
        entry = lock[kind]
        version = version or entry["version"]
        digest = fetch(entry["package"], version, entry["source"], ROOT / entry["file"])
        print(f"{entry['package']}@{version}: {entry['file']} sha256 {digest}", file=sys.stderr)
        entry.update(version=version, sha256=digest)
    LOCK_FILE.write_text(json.dumps(lock, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
