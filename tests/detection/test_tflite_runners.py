"""LiteRT's console notice: held back; anything else written meanwhile still shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from facegender.detection.tflite_runners import XNNPACK_NOTICE, _without_line


def test_only_the_notice_is_held_back(capfd) -> None:
    with _without_line(XNNPACK_NOTICE):
        os.write(2, f"{XNNPACK_NOTICE}\nWARNING: something to see\n".encode())
        print("to stdout meanwhile", flush=True)
    out, err = capfd.readouterr()
    assert err == "WARNING: something to see\n" and out == "to stdout meanwhile\n"


def test_analyze_prints_faces_numbered_from_one_and_no_runtime_notice(shared_data: Path) -> None:
    """A fresh process (the notice comes once a process, from C++, past Python's stderr)."""
    photo = shared_data / "detection" / "scenes" / "couple.jpg"
    res = subprocess.run([sys.executable, "-c", "from facegender.cli import main; main()",
                          "analyze", str(photo)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "XNNPACK" not in res.stderr and res.stderr.strip() == ""
    assert "\n  #1 box=(" in res.stdout and "\n  #2 box=(" in res.stdout and "#0" not in res.stdout
