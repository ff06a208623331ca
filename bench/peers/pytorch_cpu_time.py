"""CPU time per training step of one PyTorch peer workload, one thread (the figure that moves
least when other jobs share the core): 40 warm-up steps, then windows of 5 steps timed with
getrusage; prints the smallest window, the first quartile and the median.

    OPENBLAS_NUM_THREADS=1 taskset -c 1 /usr/bin/python3 bench/peers/pytorch_cpu_time.py transformer-enc [steps]

Compare with `node dist/bench/src/profile-workload.js --workload <name>` on the same core."""
import os
import resource
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_bench as pb  # noqa: E402


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "transformer-enc"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    if name not in pb.GLOBAL_BATCH or steps < 5:
        raise SystemExit(f"usage: pytorch_cpu_time.py <{'|'.join(pb.GLOBAL_BATCH)}> [steps >= 5]")
    torch.set_num_threads(1)
    run = pb.Run(name, pb.GLOBAL_BATCH[name], 0, False)
    for _ in range(40):
        run.step()
    windows = []
    for _ in range(steps // 5):
        started = cpu_seconds()
        for _ in range(5):
            run.step()
        windows.append((cpu_seconds() - started) / 5 * 1e3)
    windows.sort()
    at = lambda q: windows[int(q * (len(windows) - 1))]  # noqa: E731
    print(f"{name} on pytorch {torch.__version__}: CPU per step min {at(0):.1f} p25 {at(0.25):.1f} median {at(0.5):.1f} ms ({len(windows)} windows of 5 steps)")


if __name__ == "__main__":
    main()
