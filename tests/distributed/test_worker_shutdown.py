"""A local Dask cluster stopped by SIGTERM while a worker runs a job that has written a
progress line (numerics.progress) ends with rnnkl's own exit and nothing after it: tqdm's
default lock used to create a multiprocessing semaphore in the worker, which the killed worker
left to the resource tracker ("There appear to be 1 leaked semaphore objects")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed

SCRIPT = textwrap.dedent('''
    import io, os, signal, sys, time
    from pathlib import Path
    from proofs_check.termination import Terminated, sigterm_raises
    from proofs_check.cluster import executor_scope

    def job(flag):
        from numerics.progress import write_line
        write_line("a progress line", stream=io.StringIO())
        Path(flag).write_text("started")
        start = time.monotonic()
        while time.monotonic() - start < 60:  # busy, holding the GIL, as a numerical job does
            sum(range(1000))
        return 0

    if __name__ == "__main__":
        flag = Path(sys.argv[1])
        try:
            with sigterm_raises(), executor_scope(workers=1) as executor:
                handle = executor.submit("job", job, str(flag))
                while not flag.exists():
                    time.sleep(0.1)
                os.kill(os.getpid(), signal.SIGTERM)
                executor.result(handle)
        except Terminated:
            print("terminated", file=sys.stderr)
            sys.exit(143)
''')


def test_sigterm_mid_job_leaks_no_semaphore(distributed_lib, tmp_path: Path) -> None:
    script = tmp_path / "stop_mid_job.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "started")],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 143, done.stderr
    assert (tmp_path / "started").exists()
    assert "leaked" not in done.stderr, done.stderr
    assert done.stderr.rstrip().endswith("terminated"), done.stderr
