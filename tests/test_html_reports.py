"""The HTML report rendered by a real browser: Debian's chromium, headless, on file:// pages only.

The noncompliant example (with a waiver) and an audit dump of synthetic objects are
written as HTML by the real CLI, loaded by chromium (``--dump-dom``: the DOM after the
inline script ran), and checked: every bullet's row and status, the counts, the waiver
row, the filter box (``#q=`` prefills it); a screenshot of each is saved under tmp_path.
The 20,000-object dump is measured in benchmarks (docs/reports.md), not here: this one
is sized to keep the test a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, gc_bin

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench import synthetic_objects

OBJECTS = 1500
WAIVER = """\
waivers:
  - rules: [GC402]
    objects: ["Deployment/shop/*"]
    reason: the platform chart replaces these manifests
    owner: platform-team
    ticket: OPS-4711
    expires: 2099-06-30
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (scripts/install-test-tools.sh installs Debian's chromium package)")
    return found


def browse(page: Path, tmp: Path, *args: str, fragment: str = "") -> subprocess.CompletedProcess:
    cmd = [chromium(), "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={tmp / 'chromium-profile'}", *args, page.as_uri() + fragment]  # fmt: skip
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # chromium refuses to run its sandbox as root
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp)


def dom(page: Path, tmp: Path, fragment: str = "") -> str:
    r = browse(page, tmp, "--dump-dom", fragment=fragment)
    assert r.returncode == 0 and "</html>" in r.stdout, r.stderr[-2000:]
    return r.stdout


def screenshot(page: Path, tmp: Path, name: str) -> Path:
    png = tmp / name
    r = browse(page, tmp, f"--screenshot={png}", "--window-size=1280,1600")
    assert r.returncode == 0, r.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    return png


def self_contained(html: str) -> None:
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "default-src 'none'" in html  # and the page says so to the browser


def test_noncompliant_example_renders_in_chromium(tmp_path):
    (tmp_path / "waivers.yaml").write_text(WAIVER)
    page = tmp_path / "report.html"
    r = subprocess.run(
        [*gc_bin(), "scan", "examples/noncompliant-service", "--config", str(tmp_path / "waivers.yaml"), "-q",
         "-f", "html", "-o", str(page), "-f", "json", "-o", str(tmp_path / "report.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    html = page.read_text()
    self_contained(html)
    got = dom(page, tmp_path)
    rows = re.findall(r'<tr id="row-([2-9]\.[a-z])" data-status="([a-z_]+)"', got)
    assert [b for b, _ in rows] == [b["bullet"] for b in report["bullets"]] and len(rows) == 27
    assert dict(rows) == {b["bullet"]: b["status"] for b in report["bullets"]}
    assert dict(rows)["4.c"] == "fail" and dict(rows)["6.c"] in ("manual", "partly")
    s = report["summary"]
    assert f"{s['findings']} finding(s): {s['error']} error(s), {s['warning']} warning(s)" in got
    waiver = re.search(r'<tr class="waiver">(.*?)</tr>', got, re.S)
    assert waiver, "no waiver row"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", waiver.group(1), re.S)
    assert cells[:6] == ["GC402", "Deployment/shop/*", "platform-team", "OPS-4711", "2099-06-30", "1"], cells
    assert 'id="unchecked"' in got and 'id="manual"' in got and "sanitise outputs" in got
    # the filter box, prefilled from the address: only the rows of that container stay
    filtered = dom(page, tmp_path, fragment="#q=orders-migrate")
    shown = re.findall(r'<table class="f[^"]*">.*?</table>', filtered, re.S)
    visible = [row for t in shown for row in re.findall(r"<tr>(.*?)</tr>", t, re.S)]
    assert visible and all("hidden" not in v for v in visible)
    assert re.search(r'id="qn"[^>]*>\d+ matching row', filtered)
    screenshot(page, tmp_path, "noncompliant.png")


def test_large_audit_dump_stays_small_and_renders(tmp_path):
    dump = tmp_path / "cluster.json"
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": synthetic_objects(OBJECTS)}, indent=1))
    page, md = tmp_path / "audit.html", tmp_path / "audit.md"
    r = subprocess.run(
        [*gc_bin(), "audit", "--from-dump", str(dump), "--isolated", "-q", "-f", "html", "-o", str(page),
         "-f", "markdown", "-o", str(md), "-f", "json", "-o", str(tmp_path / "audit.json")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    findings = json.loads((tmp_path / "audit.json").read_text())["summary"]["findings"]
    assert findings > OBJECTS
    size = page.stat().st_size
    # grouped by rule and message, a finding is one short row: where it is (the dump's path, line, object);
    # 20,000 objects (25,000 findings) make about 1.7 MB (docs/reports.md)
    assert size < 60000 + findings * (len(str(dump)) + 45), (size, findings)
    self_contained(page.read_text())
    got = dom(page, tmp_path)
    assert len(re.findall(r'<tr id="row-', got)) == 27
    assert f"{findings} finding(s)" in got
    # thousands of findings of a rule start collapsed; a bullet with one finding starts open
    assert '<details class="rule"><summary>GC405 ' in got
    assert re.search(r'<details class="bullet" id="b-5\.b" open=""', got)
    # markdown fits a pull-request comment, summary first, the rest cut with a count
    text = md.read_text()
    assert len(text) <= 65536 and text.index("| bullet |") < text.index("<details><summary>4.a")
    assert re.search(r"\.\.\. and [\d]+ more finding\(s\)", text)
    screenshot(page, tmp_path, "audit.png")
