"""Run a command and write its own resource usage (JSON) to the file named first.

Usage: python rusage_exec.py OUT CMD [ARG...]

Why a process in between: on Linux a process's peak RSS (``ru_maxrss``) survives
``execve``, and a child forked from pytest starts with pytest's whole resident set
as its high-water mark (the kernel folds the old address space's peak into the
process's at exec).  After a few hundred tests pytest holds 200 MB, so measuring
guidecheck as pytest's direct child measured pytest.  This small interpreter is
forked from pytest, but guidecheck is forked from *it*, whose resident set is
a few MB: what ``wait4`` returns for guidecheck is then guidecheck's own.
"""

import json
import os
import signal
import subprocess
import sys


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    signal.signal(signal.SIGTERM, lambda *_: proc.kill())
    _, status, usage = os.wait4(proc.pid, 0)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "returncode": os.waitstatus_to_exitcode(status),
                "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_kb": usage.ru_maxrss,
            },
            fh,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
