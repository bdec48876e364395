"""Test modules are imported by their file name alone (the test folders are no packages), so
two test modules with one name break the whole run with an import-file-mismatch error at
collection, and only when both are collected in one session: a helper's targeted runs never
see it. Each module name, test or helper, is used once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_two_modules_under_tests_share_a_file_name() -> None:
    names = Counter(
        p.name for p in TESTS.rglob("*.py") if p.name != "conftest.py" and "golden" not in p.parts
    )
    assert [n for n, count in names.items() if count > 1] == []
