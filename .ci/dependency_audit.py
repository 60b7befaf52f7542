"""The dependency audit: pip-audit over the installed packages, never passing silently.

Exit 1 when a package has a known vulnerability. When the vulnerability database cannot be
reached (no route, a proxy refusing, or PyPI's JSON API answering 404 for packages that are on
PyPI, as behind a mirror that serves only the simple index), it prints that the audit was
SKIPPED and why, and exits 0: an offline machine cannot tell, and says so.

A one-package probe (pip-audit's own pin) asks the database first, so an unreachable one costs
one request, not one per installed package.

    python .ci/dependency_audit.py                      # the running environment
    python .ci/dependency_audit.py -r requirements.txt  # pinned requirements instead
    python .ci/dependency_audit.py --osv-url URL        # OSV (or a mirror of it) at URL
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

# What requests/urllib3 say when the database is out of reach.
UNREACHABLE_SIGNS = (
    "ConnectionError", "Could not connect", "Max retries exceeded", "Failed to establish",
    "NameResolutionError", "Name or service not known", "Temporary failure in name resolution",
    "timed out", "ProxyError", "Connection refused", "SSLError", "ServiceError",
)
# pip-audit's PyPI service: a 404 from the JSON API becomes this skip, not an error.
NOT_FOUND = "not found on PyPI"


def verdict(returncode: int, report: dict | None, stderr: str) -> tuple[int, str]:
    """The exit code and the message for one pip-audit run (its JSON report, if it wrote one)."""
    if report is None:
        if returncode != 0 and any(sign in stderr for sign in UNREACHABLE_SIGNS):
            reason = next((line.strip() for line in reversed(stderr.splitlines())
                           if any(sign in line for sign in UNREACHABLE_SIGNS)), "")
            return 0, ("dependency audit SKIPPED: the vulnerability database cannot be reached "
                       f"({reason[:300]}); no package was checked.")
        return returncode or 1, "dependency audit FAILED: pip-audit wrote no report:\n" + stderr
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d.get('version', '?')}: "
            + ", ".join(v["id"] + (f" (fixed in {', '.join(v['fix_versions'])})"
                                   if v.get("fix_versions") else "") for v in d["vulns"])
            for d in vulnerable
        ]
        return 1, "dependency audit FAILED: known vulnerabilities:\n" + "\n".join(lines)
    skipped = [d for d in dependencies if "skip_reason" in d]
    checked = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not checked:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        why = ("the vulnerability database cannot be reached: it does not know "
               "packages that are on PyPI" if all(NOT_FOUND in d["skip_reason"] for d in skipped)
               else "no package could be checked")
        return 0, (f"dependency audit SKIPPED: {why} ({len(skipped)} of {len(dependencies)} "
                   f"skipped: {'; '.join(reasons)}).")
    if returncode != 0:
        return returncode, "dependency audit FAILED: pip-audit exited with " + str(returncode)
    message = f"dependency audit passed: {len(checked)} packages checked, no known vulnerability."
    if skipped:
        message += " Not checked: " + ", ".join(
            f"{d['name']} ({d['skip_reason']})" for d in skipped)
    return 0, message


def run_pip_audit(arguments: list[str], workdir: Path) -> tuple[int, dict | None, str]:
    output = workdir / f"report-{len(list(workdir.iterdir()))}.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--format", "json", "--output", str(output),
         "--progress-spinner", "off", "--cache-dir", str(workdir / "cache"), *arguments],
        capture_output=True, text=True, timeout=900,
    )
    report = None
    if output.exists() and output.stat().st_size:
        report = json.loads(output.read_text(encoding="utf-8"))
    return done.returncode, report, done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--requirement", help="audit this pinned requirements file")
    parser.add_argument("--osv-url", help="ask this OSV API instead of PyPI's")
    parser.add_argument("--timeout", default="15", help="seconds per request (default 15)")
    options = parser.parse_args(argv)

    service = ["--timeout", options.timeout]
    if options.osv_url:
        service += ["--vulnerability-service", "osv", "--osv-url", options.osv_url]
    pinned = ["--no-deps", "--disable-pip"]
    with tempfile.TemporaryDirectory(prefix="dependency-audit-") as folder:
        workdir = Path(folder)
        probe = workdir / "probe.txt"
        probe.write_text(f"pip-audit=={version('pip-audit')}\n", encoding="utf-8")
        code, message = verdict(*run_pip_audit([*service, *pinned, "-r", str(probe)], workdir))
        if code != 0 or "SKIPPED" in message:
            print(message)
            return code
        target = (["-r", options.requirement, *pinned] if options.requirement
                  else ["--skip-editable"])
        code, message = verdict(*run_pip_audit([*service, *target], workdir))
    print(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
