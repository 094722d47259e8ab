"""docs/security.md's role table is the code's: every row, role and default-open route."""

from __future__ import annotations

import re
from pathlib import Path

from ferryman.config import DEFAULT_OPEN_ROUTES
from ferryman.http.access import ROLE_TABLE

PAGE = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROW = re.compile(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \| (\w+) \| (yes|no) \|$", re.M)


def test_the_role_table_of_docs_security_is_the_code_s() -> None:
    documented = [m.groups() for m in ROW.finditer(PAGE.read_text(encoding="utf-8"))]
    in_code = [
        (r.method, r.path, str(r.role), "yes" if r.path in DEFAULT_OPEN_ROUTES else "no")
        for r in ROLE_TABLE
    ]
    assert documented == in_code
