"""Row 7 of benchmarks/run.py (issue 15): scaling out on this 2-core machine.

 7a. examples/s of 2 asynchronous workers (`--local-cluster workers=2,ps=1`),
     each limited to 1 intra-op and 1 inter-op thread, against 1 worker
     limited the same way (`workers=1,ps=1`): the honest per-core scaling test
     on 2 cores; target >= 1.7x
 7b. the same with --sync-replicas (reported, no target)
 7c. 2 clones on 2 logical CPU devices against 1 clone (batch 64 per clone,
     examples/s after warm-up, one process each)

Each cluster run is a whole `slimlang train examples/digits.slim` command;
a worker's rate is the one it prints at its end (its own steps over its own
training time, warm-up included), and a cluster's rate the sum over its
workers.  Runs of the two sides are interleaved.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIGITS = str(ROOT / "examples" / "digits.slim")
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def cluster_rate(workers: int, steps: int, sync: bool = False) -> float:
    """examples/s of a `--local-cluster workers=N,ps=1` run: the sum of its workers' rates."""
    tmp = tempfile.mkdtemp(prefix="slimbench-cluster-")
    cmd = [sys.executable, "-c", "import sys; from slimlang.cli import main; sys.exit(main(sys.argv[1:]))",
           "train", DIGITS, "--logdir", tmp, "--steps", str(steps), "--local-cluster", f"workers={workers},ps=1"]
    if sync:
        cmd.append("--sync-replicas")
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **ONE_THREAD), timeout=1800)
    if p.returncode != 0:
        out = p.stdout + p.stderr
        errors = [x for x in out.splitlines() if "error[" in x]
        Path(tmp, "cluster.log").write_text(out)
        raise RuntimeError(f"cluster run failed ({'sync' if sync else 'async'}, {workers} workers): "
                           f"{errors[:2] or out.strip().splitlines()[-1:]} (log: {tmp}/cluster.log)")
    rates = [float(x) for x in re.findall(r"steps/s, (\d+) examples/s\)", p.stdout + p.stderr)]
    if len(rates) != workers:
        raise RuntimeError(f"expected {workers} worker summaries, found {len(rates)}")
    return sum(rates)


CLONES_WORKER = """
import json, sys, tempfile
import tensorflow as tf
n = int(sys.argv[1])
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import slimlang
from slimlang.training import distributed, train
from slimlang.trainspec import with_overrides
m = slimlang.load(sys.argv[2])
spec = with_overrides(m.train_specs[0], steps=int(sys.argv[3]), model="digits_net")
d = distributed.deploy_for(spec, clones=n, env={})
r = train(spec, m.models["digits_net"], logdir=tempfile.mkdtemp(), progress=False, deploy=d)
print("@@" + json.dumps({"examples_per_sec": r.steady_steps_per_sec * spec.batch_size * n, "devices": d.devices}))
"""


def clones_rate(n: int, steps: int) -> float:
    p = subprocess.run([sys.executable, "-c", CLONES_WORKER, str(n), DIGITS, str(steps)], capture_output=True,
                       text=True, timeout=1800)
    m = re.search(r"^@@(.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"clones run failed: {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(m.group(1))["examples_per_sec"]


def row7(quick: bool) -> list:
    repeats, steps = (1, 600) if quick else (3, 1500)
    one, two, sync = [], [], []
    for _ in range(repeats):
        one.append(cluster_rate(1, steps))
        two.append(cluster_rate(2, steps))
        sync.append(cluster_rate(2, steps // 2, sync=True))
    c1, c2 = [], []
    for _ in range(repeats):
        c1.append(clones_rate(1, steps))
        c2.append(clones_rate(2, steps // 2))
    med = statistics.median
    rows = []
    r = med(two) / med(one)
    rows.append(dict(row="7a", what="2 async workers vs 1, 1+1 threads each, digits batch 64",
                     slim=f"{med(two):,.0f} ex/s", base=f"{med(one):,.0f} ex/s", ratio=r, target=">= 1.70x",
                     status="ok" if r >= 1.7 else "miss", note=f"{repeats} runs of {steps} steps each"))
    r = med(sync) / med(one)
    rows.append(dict(row="7b", what="2 sync workers (--sync-replicas) vs 1 worker, same threads",
                     slim=f"{med(sync):,.0f} ex/s", base=f"{med(one):,.0f} ex/s", ratio=r, target="(reported)",
                     status="info", note=f"{steps // 2} updates of 2 x 64 examples"))
    r = med(c2) / med(c1)
    rows.append(dict(row="7c", what="2 clones on 2 logical CPU devices vs 1 clone, batch 64 per clone",
                     slim=f"{med(c2):,.0f} ex/s", base=f"{med(c1):,.0f} ex/s", ratio=r, target="(reported)",
                     status="info", note="after warm-up, one process each"))
    return rows


if __name__ == "__main__":
    for row in row7("--quick" in sys.argv):
        print(row)
