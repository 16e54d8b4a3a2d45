"""The public surface: what ``__all__`` promises exists, and importing does no work."""

from __future__ import annotations

import subprocess
import sys

import facegender


def test_all_names_exist() -> None:
    for name in facegender.__all__:
        assert hasattr(facegender, name), name


def test_import_loads_no_model_and_no_web_stack() -> None:
    code = ("import sys, facegender; "
            "print(any(m.startswith(('flask', 'skops', 'matplotlib')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
