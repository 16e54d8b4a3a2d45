"""Robustness results: one JSON and markdown page fed by several runs; the dependency audit.

Run from the project root::

    .venv/bin/python benchmarks/robustness.py audit            # pip-audit, explained
    .venv/bin/python benchmarks/robustness.py decode STATS.json  # the library fuzz's counts

``benchmarks/fuzz_http.py`` and ``benchmarks/soak.py`` add their own sections
through :func:`update`. Each section keeps the machine it was measured on;
``robustness.md`` is rebuilt from the JSON every time, so a partial re-run
keeps the other sections.

The audit runs ``pip-audit -l`` over the project's virtual environment (every
installed distribution, run-time and development), marks which findings are
in the run-time closure of ``facegender[embedding]`` (what ``make run``
serves), and joins each one with the explanation in :data:`EXPLAINED`; a
finding without one is reported as *unexplained* and the command exits 1, as it
does when no advisory source answered (every package skipped).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from common import RESULTS, ROOT, machine, machine_line

NAME = "robustness"
EXPLAINED: dict[str, str] = {}
"""Vulnerability id -> why it does not affect facegender, or what was done."""


def _load() -> dict[str, Any]:
    path = RESULTS / f"{NAME}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def update(section: str, data: dict[str, Any]) -> None:
    """Store one section (with the machine) and rebuild ``robustness.md``."""
    allv = _load()
    allv[section] = {"machine": machine(), **data}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{NAME}.json").write_text(json.dumps(allv, indent=1, default=str) + "\n")
    (RESULTS / f"{NAME}.md").write_text(to_markdown(allv))


# --- the audit -------------------------------------------------------------------------------

def runtime_closure(root: str = "facegender", extras: tuple[str, ...] = ("embedding",)) -> set[str]:
    """Normalised names of every distribution ``root[extras]`` needs at run time."""
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    while todo:
        name, want = todo.pop()
        key = _norm(name)
        if key in seen and not want:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?", req)
            if not m:
                continue
            marker = req.split(";", 1)[1] if ";" in req else ""
            if "extra" in marker and not any(f'"{e}"' in marker or f"'{e}'" in marker
                                             for e in want):
                continue
            if marker and "extra" not in marker and not _marker_ok(marker):
                continue
            sub = tuple(x.strip() for x in (m.group(2) or "[]")[1:-1].split(",") if x.strip())
            if _norm(m.group(1)) not in seen or sub:
                todo.append((m.group(1), sub))
    return seen


def _marker_ok(marker: str) -> bool:
    from packaging.markers import Marker

    try:
        return bool(Marker(marker).evaluate())
    except Exception:  # noqa: BLE001 - an odd marker: count the package in
        return True


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def audit() -> dict[str, Any]:
    """``pip-audit -l`` on this venv; findings split into run-time and development-only."""
    exe = ROOT / ".venv" / "bin" / "pip-audit"
    done = subprocess.run([str(exe), "-l", "--format", "json", "--progress-spinner", "off"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    report = json.loads(done.stdout or "{}")
    runtime = runtime_closure()
    deps = report.get("dependencies", [])
    findings = []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            why = next((EXPLAINED[i] for i in ids if i in EXPLAINED), None)
            findings.append({"package": dep["name"], "version": dep["version"],
                             "id": vuln["id"], "aliases": vuln.get("aliases", []),
                             "fix_versions": vuln.get("fix_versions", []),
                             "runtime": _norm(dep["name"]) in runtime,
                             "description": (vuln.get("description") or "")[:300],
                             "explanation": why})
    skipped = [d for d in deps if d.get("skip_reason")]
    return {"tool": "pip-audit -l (PyPI advisory data)", "exit_code": done.returncode,
            "packages_audited": len(deps) - len(skipped),
            "packages_skipped": [f"{d['name']}: {d['skip_reason']}" for d in skipped],
            "runtime_packages": len(runtime), "findings": findings,
            "unexplained": sum(f["explanation"] is None for f in findings),
            "stderr_tail": done.stderr[-500:]}


# --- markdown --------------------------------------------------------------------------------

def to_markdown(d: dict[str, Any]) -> str:
    """The page: each section present, with its figures and the machine it ran on."""
    out = ["# Robustness: fuzzing, soak, faults, security", "",
           "Written by `make fuzz` (`tests/test_fuzz_decode.py` with 10,000 examples, "
           "`benchmarks/fuzz_http.py`, `benchmarks/soak.py`, `benchmarks/robustness.py "
           "audit`). The fast versions of the same checks run in `make test`: "
           "`tests/test_fuzz_decode.py` (400 examples), `tests/web/test_hardening.py` "
           "(300 schemathesis cases + hand-made abuse, CSRF, API keys, 429, headers, files, "
           "fds) and `tests/web/test_faults.py` (bad model files, SIGKILLed workers).", ""]
    for key, render in (("library_fuzz", _md_decode), ("http_fuzz", _md_http),
                        ("soak", _md_soak), ("pip_audit", _md_audit)):
        if key in d:
            out += render(d[key]) + ["", machine_line(d[key]["machine"]), ""]
    return "\n".join(out).rstrip() + "\n"


def _md_decode(s: dict[str, Any]) -> list[str]:
    o = s["outcomes"]
    return ["## Library: decode -> detect -> classify (hypothesis)", "",
            f"{s['examples']:,} generated inputs (`FACEGENDER_FUZZ_EXAMPLES={s['max_examples']}`): "
            f"{o.get('decoded', 0):,} decoded and analysed ({s['faces']:,} faces), "
            f"{o.get('UnsupportedMedia', 0):,} refused as 415, "
            f"{o.get('UnprocessableImage', 0):,} as 422, {o.get('PayloadTooLarge', 0):,} "
            f"as 413; any other exception fails the run: **0 crashes**. Slowest input "
            f"{s['max_seconds']:.2f} s (budget {s['budget_s']:.0f} s: **0 hangs**); largest "
            f"{s['max_input_bytes']:,} bytes. Inputs: every accepted format and awkward mode "
            "(CMYK/progressive JPEG, 16-bit/palette+tRNS/1-bit PNG, animated GIF/WebP, float/"
            "CMYK TIFF, HEIC), then truncated, bytes flipped, chunks inserted/deleted, files "
            "spliced, polyglots, zero bytes, text/zip/PDF/SVG/HTML/ICO with an image name, and "
            "PNG/JPEG/GIF/BMP/WebP/HEIC headers patched to claim 0x0, 1x1, 30000x30000, "
            "65535x65535, 2^31-1 x 1 (no large image is ever allocated to make them)."]


def _md_http(s: dict[str, Any]) -> list[str]:
    st = ", ".join(f"{k}: {v:,}" for k, v in s["statuses"].items())
    lines = ["## HTTP API: schemathesis on the OpenAPI document, live gunicorn", "",
             f"{s['requests']:,} requests to gunicorn ({s['workers']} workers, 127.0.0.1, "
             f"rate limiter off) in {s['seconds']:.0f} s: {s['generated']:,} generated by "
             f"schemathesis from `/api/v1/openapi.json` (positive and negative cases of every "
             f"operation, image bodies and file fields from the hostile corpus) and "
             f"{s['raw']:,} hand-made (wrong content types, missing fields, broken multipart, "
             f"bad options, 2,000 form parts, 11-101 MB bodies). Statuses: {st}.", "",
             f"**{s['server_errors']} x 5xx** (503 `busy` is the documented answer when every "
             f"video job slot is taken), **{s['failures']} answers off the contract** "
             "(undocumented status, no error envelope, 2xx body against its schema), "
             f"**{s['no_answer']} without an answer**; slowest {s['max_seconds']:.2f} s "
             f"(budget {s['budget_s']:.0f} s). Server still healthy after: "
             f"{s['healthy_after']}; workers restarted during the run: {s['worker_restarts']}.",
             "", "| operation | answers by status |", "|---|---|"]
    for op, counts in s["by_operation"].items():
        if op.startswith(("GET ", "POST ", "DELETE ")):
            lines.append(f"| `{op}` | {', '.join(f'{k}: {v}' for k, v in counts.items())} |")
    for f in s.get("failure_examples", [])[:5]:
        lines.append(f"- off contract: `{f['operation']}` {f['status']} {f['problem']}")
    return lines


def _md_soak(s: dict[str, Any]) -> list[str]:
    rows = ["## Soak: gunicorn, 2 workers, bounded", "",
            f"{s['requests']:,} requests (after {s['warmup']} warm-up) in {s['seconds']:.0f} s "
            f"({s['requests_per_s']:.1f}/s, {s['clients']} client threads on the same 2 cores):"
            f" a mix of real photos (analyze, batch, crops), bad uploads and reads. Statuses: "
            + ", ".join(f"{k}: {v:,}" for k, v in s["statuses"].items()) + ".", "",
            "| worker | RSS after warm-up | RSS at the end | growth | open fds before → after |",
            "|---|---|---|---|---|"]
    for w in s["workers_detail"]:
        rows.append(f"| {w['pid']} | {w['rss_before_mb']:.1f} MB | {w['rss_after_mb']:.1f} MB | "
                    f"{w['growth_pct']:+.1f}% | {w['fds_before']} → {w['fds_after']} |")
    rows += ["", f"Largest RSS growth after warm-up: **{s['max_growth_pct']:+.1f}%** (limit "
             f"10%). Open file descriptors (from `/proc/<pid>/fd`): **{s['fd_change']:+d}** "
             f"in total. Files created by uploads: **{len(s['new_files'])}** (the server's "
             f"private TMPDIR and its working directory listed before and after"
             f"{': ' + ', '.join(s['new_files'][:5]) if s['new_files'] else ''}). Same "
             f"worker pids at the start and the end: {s['same_workers']}."]
    return rows


def _md_audit(s: dict[str, Any]) -> list[str]:
    lines = ["## Dependencies: pip-audit", "",
             f"`{s['tool']}` over the project's virtual environment: "
             f"{s['packages_audited'] + len(s['packages_skipped'])} distributions installed "
             f"({s['runtime_packages']} in the run-time closure of `facegender[embedding]`, the "
             f"rest test, benchmark and fuzz tools), {s['packages_audited']} audited. "
             f"Findings: **{len(s['findings'])}**, unexplained: **{s['unexplained']}**."]
    if s["packages_audited"] == 0:
        lines += ["", f"**Nothing could be audited here**: pip-audit asks the PyPI JSON API "
                  f"(or OSV) for each distribution's advisories, and neither is reachable "
                  f"from this machine (only a package mirror is), so all "
                  f"{len(s['packages_skipped'])} distributions came back *not found on PyPI*"
                  " and pip-audit's own summary, \"No known vulnerabilities found\", means "
                  "nothing. The figures above are therefore no evidence either way; run "
                  "`.venv/bin/python benchmarks/robustness.py audit` where pypi.org is "
                  "reachable, and explain each finding in `EXPLAINED` there."]
    elif s["packages_skipped"]:
        lines.append("Not audited (not on PyPI): " + "; ".join(s["packages_skipped"]) + ".")
    if s["findings"]:
        lines += ["", "| package | version | advisory | fixed in | run time? | explanation |",
                  "|---|---|---|---|---|---|"]
        for f in s["findings"]:
            lines.append(f"| {f['package']} | {f['version']} | {f['id']} | "
                         f"{', '.join(f['fix_versions']) or '-'} | "
                         f"{'yes' if f['runtime'] else 'no (dev tool)'} | "
                         f"{f['explanation'] or '**unexplained**'} |")
    return lines


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "audit":
        result = audit()
        update("pip_audit", result)
        print(json.dumps({k: result[k] for k in ("packages_audited", "unexplained")}))
        for f in result["findings"]:
            print(f["package"], f["version"], f["id"], f["fix_versions"], f["runtime"],
                  f["description"][:120])
        if result["packages_audited"] == 0:
            print("pip-audit reached no advisory data: nothing was audited", file=sys.stderr)
            return 1
        return 1 if result["unexplained"] else 0
    if len(sys.argv) == 3 and sys.argv[1] == "decode":
        update("library_fuzz", json.loads(Path(sys.argv[2]).read_text()))
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
