#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench`: the four reference workloads, built to the same
definitions as bench/src/workloads.ts, trained the same way, timed the same way.

Every workload: float32, Adam (lr 1e-3, default betas and epsilon), softmax cross-entropy on
logits, random inputs and labels generated once and reused every step (data loading is not
measured). A warm-up of --warmup seconds (at least 3 steps) is not timed; then steps are timed
for about --seconds. Under --ddp N the global batch is split evenly over N processes of
DistributedDataParallel (gloo, one thread each); rank 0 sizes the timed span from the warm-up's
last steps and broadcasts the step count, so all ranks run the same number of steps.

One JSON line per workload on stdout: workload, ranks, global_batch, params, steps, step_ms,
samples_per_s, threads, torch version.

A one-thread comparison runs both sides on one core:

    OPENBLAS_NUM_THREADS=1 taskset -c 0 python3 bench/peers/pytorch_bench.py --workload all --threads 1
    taskset -c 0 npm run bench -- --workload all --json
    OPENBLAS_NUM_THREADS=1 python3 bench/peers/pytorch_bench.py --workload all --ddp 2

(Debian: `apt-get install -y python3-torch libopenblas0-pthread`.)
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WORKLOADS = ("cnn-mnist", "lstm-lm", "gru-lm", "transformer-enc")
# Beyond the reference four, run by name (`all` stays the four): lstm-lm's shape with nn.RNN
# (tanh), the peer of the bench's simple-rnn-lm.
EXTRA_WORKLOADS = ("simple-rnn-lm",)
GLOBAL_BATCH = {"cnn-mnist": 64, "lstm-lm": 64, "gru-lm": 64, "transformer-enc": 32, "simple-rnn-lm": 64}
MIN_WARMUP_STEPS = 3


class CnnMnist(nn.Module):
    """conv 16 3x3 valid + ReLU, max-pool 2, conv 32 3x3 valid + ReLU, max-pool 2, flatten, dense 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.head = nn.Linear(5 * 5 * 32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(torch.flatten(x, 1))


class RecurrentLm(nn.Module):
    """embedding 64 -> 32, LSTM, GRU or tanh RNN of 128 units (last step only), dense 64."""

    def __init__(self, kind):
        super().__init__()
        self.embedding = nn.Embedding(64, 32)
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "simple-rnn": nn.RNN}[kind]
        self.rnn = cell(32, 128, batch_first=True)
        self.head = nn.Linear(128, 64)

    def forward(self, tokens):
        out, _ = self.rnn(self.embedding(tokens))
        return self.head(out[:, -1])


class TransformerEncoder(nn.Module):
    """token embedding 64 -> 128 plus a learned embedding of 64 positions, 2 post-norm encoder
    layers (4 heads, d_model 128, feed-forward 256 ReLU, no dropout), mean over positions,
    dense 64."""

    def __init__(self, positions=64, d_model=128):
        super().__init__()
        self.tokens = nn.Embedding(64, d_model)
        self.positions = nn.Parameter(torch.empty(positions, d_model))
        nn.init.xavier_uniform_(self.positions)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead=4, dim_feedforward=256, dropout=0.0, activation="relu", batch_first=True, norm_first=False
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(d_model, 64)

    def forward(self, tokens):
        x = self.tokens(tokens) + self.positions[: tokens.shape[1]]
        return self.head(self.encoder(x).mean(dim=1))


def build(name):
    """The model and a function making `batch` random (inputs, labels), generated once."""
    if name == "cnn-mnist":
        return CnnMnist(), lambda batch, g: (torch.randn(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g))
    if name in ("lstm-lm", "gru-lm", "simple-rnn-lm"):
        return RecurrentLm(name[: -len("-lm")]), lambda batch, g: (
            torch.randint(0, 64, (batch, 32), generator=g),
            torch.randint(0, 64, (batch,), generator=g),
        )
    if name == "transformer-enc":
        return TransformerEncoder(), lambda batch, g: (
            torch.randint(0, 64, (batch, 64), generator=g),
            torch.randint(0, 64, (batch,), generator=g),
        )
    raise ValueError(f"unknown workload {name!r}")


def parameter_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class Run:
    """One workload on one rank: model, optimizer, the fixed batch, and a step."""

    def __init__(self, name, local_batch, rank, ddp):
        torch.manual_seed(1)  # same initial weights on every rank (DDP broadcasts rank 0's anyway)
        model, make_batch = build(name)
        self.params = parameter_count(model)
        self.model = nn.parallel.DistributedDataParallel(model) if ddp else model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(1000 + rank)
        self.inputs, self.labels = make_batch(local_batch, g)

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(self.inputs), self.labels)
        loss.backward()
        self.optimizer.step()


def measure(name, args, rank=0, world=1):
    import torch.distributed as dist

    ddp = world > 1
    global_batch = GLOBAL_BATCH[name]
    if global_batch % world != 0:
        raise SystemExit(f"{name}: global batch {global_batch} does not split evenly over {world} ranks")
    run = Run(name, global_batch // world, rank, ddp)

    def agree(value):
        """Rank 0's value, on every rank."""
        if not ddp:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.broadcast(t, 0)
        return t.item()

    # Warm-up: at least MIN_WARMUP_STEPS steps and --warmup seconds of rank 0's clock.
    started = time.perf_counter()
    recent = []
    steps = 0
    while True:
        t0 = time.perf_counter()
        run.step()
        recent = (recent + [time.perf_counter() - t0])[-5:]
        steps += 1
        more = steps < MIN_WARMUP_STEPS or time.perf_counter() - started < args.warmup
        if not agree(1.0 if more else 0.0):
            break
    # Timed span: rank 0 sizes it from the last warm-up steps, every rank runs that many.
    per_step = sorted(recent)[len(recent) // 2]
    timed_steps = int(agree(float(max(1, round(args.seconds / max(per_step, 1e-6))))))
    if ddp:
        dist.barrier()
    t0 = time.perf_counter()
    for _ in range(timed_steps):
        run.step()
    if ddp:
        dist.barrier()
    elapsed = time.perf_counter() - t0
    if ddp:
        slowest = torch.tensor([elapsed], dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        elapsed = slowest.item()
    return {
        "workload": name,
        "engine": "pytorch",
        "ranks": world,
        "global_batch": global_batch,
        "params": run.params,
        "steps": timed_steps,
        "step_ms": round(1000 * elapsed / timed_steps, 2),
        "samples_per_s": round(global_batch * timed_steps / elapsed, 1),
        "threads": torch.get_num_threads(),
        "warmup_s": args.warmup,
        "torch_version": torch.__version__,
    }


def ddp_rank(rank, world, args, port):
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for name in args.workloads:
            line = measure(name, args, rank, world)
            if rank == 0:
                print(json.dumps(line), flush=True)
    finally:
        dist.destroy_process_group()


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", default="all", help=f"one of {', '.join(WORKLOADS + EXTRA_WORKLOADS)}, a comma list, or all (the reference four)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads of a single-process run (default 1)")
    p.add_argument("--ddp", type=int, default=0, help="N > 1: DistributedDataParallel over gloo, N processes of one thread")
    p.add_argument("--seconds", type=float, default=4.0, help="timed span, about (default 4)")
    p.add_argument("--warmup", type=float, default=20.0, help="seconds trained before timing, after at least 3 steps (default 20)")
    p.add_argument("--params", action="store_true", help="print each workload's parameter count and exit")
    args = p.parse_args(argv)
    names = list(WORKLOADS) if args.workload == "all" else args.workload.split(",")
    for n in names:
        if n not in WORKLOADS + EXTRA_WORKLOADS:
            p.error(f"unknown workload {n!r}")
    if args.seconds <= 0 or args.warmup < 0 or args.threads < 1 or args.ddp < 0:
        p.error("--seconds must be positive, --warmup 0 or more, --threads 1 or more")
    args.workloads = names
    return args


def main(argv):
    args = parse_args(argv)
    if args.params:
        for name in args.workloads:
            print(json.dumps({"workload": name, "params": parameter_count(build(name)[0])}))
        return
    if args.ddp > 1:
        import torch.multiprocessing as mp

        mp.spawn(ddp_rank, args=(args.ddp, args, free_port()), nprocs=args.ddp, join=True)
        return
    torch.set_num_threads(args.threads)
    for name in args.workloads:
        print(json.dumps(measure(name, args)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
