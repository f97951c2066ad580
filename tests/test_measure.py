"""The memory bound of the hostile-input tests measures guidecheck, not pytest.

Linux keeps a process's peak RSS across ``execve``: a command forked straight from
a pytest that holds 300 MB reports 300 MB however small it is.  CI failed on that
once (every hostile test read 211 MB).  ``run_gc`` measures through a small process
in between; this test holds 300 MB in pytest and checks both sides of that claim.
"""

import os
import subprocess
import sys

from hostile_support import run_gc


def test_peak_memory_is_guidecheck_own_not_the_test_runners(tmp_path):
    ballast = bytearray(300 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):  # touch every page: resident, not just reserved
        ballast[i] = 1

    direct = subprocess.Popen([sys.executable, "-c", "pass"])
    _, _, usage = os.wait4(direct.pid, 0)
    assert usage.ru_maxrss / 1024 > 300, "the kernel no longer folds the parent's RSS in: the helper may go"

    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", encoding="utf-8")
    r = run_gc("scan", "--format", "json", str(tmp_path / "pod.yaml"))
    assert r.returncode in (0, 1), r.stderr
    assert 10 < r.maxrss_mb < 150, r.maxrss_mb
    del ballast
