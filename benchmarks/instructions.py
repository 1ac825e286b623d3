"""Instructions per metrics-only baseline replication-year, counted by valgrind's callgrind.

Wall-clock timings on a shared 2-core machine vary by 3-5% even when old and new code alternate
in one process, more than most single changes gain. Instruction counts do not depend on the
load: this script runs the workload of ``make bench``'s metrics-only figure (``Model.run(1,
rep, detail=False)`` of the baseline) under callgrind with ``--reps`` replications and with none,
and prints the difference per replication, with the same count for the 100,000-timeout SimPy
reference. Their ratio is an instruction ratio, not the bench's time ratio: the model executes
fewer instructions per second than the reference's tight loop (cache misses, allocation), so
the time ratio is lower. Needs ``valgrind`` on the PATH; takes a few minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = """
import sys
from sim.engine.compile import Model
from sim.scenario import load_scenario
model = Model(load_scenario({scenario!r}))
for rep in range(int(sys.argv[1])):
    model.run(1, rep, detail=False)
"""
REFERENCE = """
import sys
import simpy
env = simpy.Environment()
def proc(env):
    for _ in range(int(sys.argv[1])):
        yield env.timeout(1.0)
env.process(proc(env))
env.run()
"""


def instructions(code: str, arg: int) -> int:
    """Instructions (callgrind's ``Ir``) of ``python -c code arg``."""
    with tempfile.TemporaryDirectory() as tmp:
        callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out"]
        out = subprocess.run(
            [*callgrind, sys.executable, "-c", code, str(arg)],
            capture_output=True,
            text=True,
            check=True,
        )
    match = re.search(r"Collected : (\d+)", out.stderr)
    if match is None:
        raise RuntimeError(out.stderr[-2000:])
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=10, help="replications counted")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    model = MODEL.format(scenario=str(ROOT / "scenarios" / "eu27_baseline.toml"))
    runs = [(model, args.reps), (model, 0), (REFERENCE, 100_000), (REFERENCE, 0)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ir = list(pool.map(lambda run: instructions(*run), runs))
    per_year = (ir[0] - ir[1]) / args.reps
    reference = ir[2] - ir[3]
    print(f"baseline replication-year (metrics only): {per_year / 1e6:.1f} M instructions")
    print(f"SimPy reference (100,000 timeouts):        {reference / 1e6:.1f} M instructions")
    print(f"instruction ratio: {reference / per_year:.2f} replication-years per reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
