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

`--suite zoo` runs the model zoo's entries instead (every family x data set it fits, default
spec), built from bench/peers/zoo-manifest.json, which the TypeScript side writes from the zoo
itself (`node dist/bench/src/zoo.js --manifest`): the same layer shapes, batch, optimizer and
loss, on random data in the task's layout. Each line carries suite "zoo", the entry name,
params (PyTorch's count) and params_tfjs. `npm run bench:zoo-compare` runs both sides.

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


# ---------------------------------------------------------------------------------------------
# The model zoo (libs/ml/src/models), rebuilt layer for layer from the manifest's default spec.
# Differences in parameter count, all PyTorch-side extras that cost no matmul:
#   - nn.RNN / nn.LSTM / nn.GRU carry a second bias (b_hh): +units, +4 units, +3 units per layer;
#   - PyTorch's GRU applies the reset gate after the recurrent matmul (tfjs-layers: before), same
#     shapes and the same matmuls.
# Everything else (embeddings, convolutions, attention's four projections with biases, layer
# norms, heads) has the same count; the peer prints both and the compare script checks that the
# difference is exactly the recurrent b_hh.

ZOO_MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo-manifest.json")


def vocabulary_rows(vocab, info):
    """libs/ml/src/models/common.ts vocabularyRows: every special id must be a valid row."""
    ids = [info[k] for k in ("pad_id", "start_id", "end_id", "mask_id") if info[k] is not None]
    return max([vocab] + [i + 1 for i in ids])


def sinusoidal_table(length, d):
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-torch.log(torch.tensor(10000.0)) / d))
    table = torch.zeros(length, d)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: d // 2])
    return table


def masked_mean(x, keep):
    """MaskedMeanPooling: sum(x * keep) / max(sum(keep), 1) over time; keep [B, T] float or None."""
    if keep is None:
        return x.mean(dim=1)
    k = keep.unsqueeze(2)
    return (x * k).sum(1) / k.sum(1).clamp(min=1)


class ZooCnn(nn.Module):
    """models/cnn.ts: conv blocks (2-D on images, 1-D over embeddings or per-step features),
    flatten (images) or global max over time, relu dense layers with dropout, head."""

    def __init__(self, spec, info, out_units):
        super().__init__()
        shape = info["inputs"][0]["shape"]
        self.image = len(shape) == 3
        self.tokens = info["inputs"][0]["dtype"] == "int32"
        self.embedding = nn.Embedding(info["input_vocab_size"], spec["embeddingDim"]) if self.tokens else None
        channels = shape[2] if self.image else (spec["embeddingDim"] if self.tokens else shape[1])
        size = list(shape[:2]) if self.image else [shape[0]]
        layers = []
        for b in spec["blocks"]:
            if b["batchNorm"] or b["padding"] != "valid":
                raise SystemExit("peer: zoo cnn blocks with batchNorm or same padding are not built here")
            conv = (nn.Conv2d if self.image else nn.Conv1d)(channels, b["filters"], b["kernelSize"], stride=b["strides"])
            layers += [conv, {"relu": nn.ReLU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), "elu": nn.ELU(), "selu": nn.SELU(), "gelu": nn.GELU(), "swish": nn.SiLU(), "linear": nn.Identity()}[b["activation"]]]
            size = [(s - b["kernelSize"]) // b["strides"] + 1 for s in size]
            if b["pool"] != "none":
                pool = {("max", True): nn.MaxPool2d, ("avg", True): nn.AvgPool2d, ("max", False): nn.MaxPool1d, ("avg", False): nn.AvgPool1d}[(b["pool"], self.image)]
                layers.append(pool(b["poolSize"]))
                size = [s // b["poolSize"] for s in size]
            if b["dropout"] > 0:
                layers.append(nn.Dropout(b["dropout"]))
            channels = b["filters"]
        self.blocks = nn.Sequential(*layers)
        # Images flatten; sequences take the global max over time (a plain MLP, no blocks, flattens).
        self.flatten = self.image or not spec["blocks"]
        width = channels * (size[0] * size[1] if self.image else size[0]) if self.flatten else channels
        dense = []
        for units in spec["denseUnits"]:
            dense += [nn.Linear(width, units), nn.ReLU()] + ([nn.Dropout(spec["dropout"])] if spec["dropout"] > 0 else [])
            width = units
        self.dense = nn.Sequential(*dense)
        self.head = nn.Linear(width, out_units)

    def forward(self, x):
        if self.tokens:
            x = self.embedding(x)  # [B, T, E]
        if not self.image:
            x = x.transpose(1, 2)  # channels first for Conv1d
        x = self.blocks(x)
        x = torch.flatten(x, 1) if self.flatten else x.amax(dim=2)
        return self.head(self.dense(x))


RNN_CELLS = {"simple-rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class ZooRecurrent(nn.Module):
    """models/rnn.ts, unidirectional default spec: classifier/regressor (state after the last real
    token: the full sequence is run and the padded tail's outputs ignored, as tfjs' masked steps
    carry the state), language model (logits at every step), or seq2seq (encoder's final states
    start a teacher-forced decoder; with attention, one-head attention over the encoder outputs,
    concatenated with the decoder state, dense tanh, head)."""

    def __init__(self, family, spec, info, task, out_units):
        super().__init__()
        if spec["bidirectional"] or spec["dropout"] > 0:
            raise SystemExit("peer: zoo recurrent models are built unidirectional without dropout (the default spec)")
        self.task = task
        self.lstm = family == "lstm"
        self.pad = info["pad_id"] if info["pad_id"] is not None else 0
        cell = RNN_CELLS[family]
        emb, units, layers = spec["embeddingDim"], spec["units"], spec["layers"]
        first = info["inputs"][0]
        self.tokens = first["dtype"] == "int32"
        in_width = emb if self.tokens else first["shape"][1]
        if self.tokens:
            self.embedding = nn.Embedding(vocabulary_rows(info["input_vocab_size"], info), emb)
        self.rnn = cell(in_width, units, num_layers=layers, batch_first=True)
        self.attention = None
        if task == "seq2seq":
            self.decoder_embedding = nn.Embedding(vocabulary_rows(info["num_classes"], info), emb)
            self.decoder = cell(emb, units, num_layers=layers, batch_first=True)
            if spec["attention"]:
                self.attention = nn.MultiheadAttention(units, 1, batch_first=True)
                self.combine = nn.Linear(2 * units, units)
        self.head = nn.Linear(units, out_units)

    def forward(self, *inputs):
        x = inputs[0]
        h = self.embedding(x) if self.tokens else x
        out, state = self.rnn(h)
        if self.task == "language-modelling":
            return self.head(out)
        if self.task in ("sequence-classification", "sequence-regression"):
            if not self.tokens:
                return self.head(out[:, -1])
            last = (x != self.pad).sum(1).clamp(min=1) - 1
            return self.head(out[torch.arange(out.shape[0]), last])
        y, _ = self.decoder(self.decoder_embedding(inputs[1]), state)
        if self.attention is not None:
            context, _ = self.attention(y, out, out, key_padding_mask=(x == self.pad), need_weights=False)
            y = torch.tanh(self.combine(torch.cat([y, context], dim=2)))
        return self.head(y)


class ZooBlock(nn.Module):
    """BlockBuilder (models/transformer.ts): self-attention (padding-masked and/or causal),
    optional cross-attention, feed-forward (relu or gelu), each residual with dropout on the
    branch output and layer norm after the sum (post) or before the branch (pre). Attention
    dropout on the probabilities, as MultiHeadAttention; no dropout inside the feed-forward."""

    def __init__(self, d, heads, ff, dropout, activation, norm, cross):
        super().__init__()
        self.norm_first = norm == "pre"
        self.self_attention = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.cross_attention = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True) if cross else None
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.activation = F.gelu if activation == "gelu" else F.relu
        self.norms = nn.ModuleList([nn.LayerNorm(d, eps=1e-5) for _ in range(3 if cross else 2)])
        self.dropout = nn.Dropout(dropout)

    def residual(self, x, i, f):
        if self.norm_first:
            return x + self.dropout(f(self.norms[i](x)))
        return self.norms[i](x + self.dropout(f(x)))

    def forward(self, x, pad_mask, causal_mask, memory=None, memory_pad_mask=None):
        x = self.residual(x, 0, lambda h: self.self_attention(h, h, h, key_padding_mask=pad_mask, attn_mask=causal_mask, need_weights=False)[0])
        i = 1
        if self.cross_attention is not None:
            x = self.residual(x, 1, lambda h: self.cross_attention(h, memory, memory, key_padding_mask=memory_pad_mask, need_weights=False)[0])
            i = 2
        return self.residual(x, i, lambda h: self.ff2(self.activation(self.ff1(h))))


def causal(length):
    return torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)


class ZooTransformer(nn.Module):
    """models/transformer.ts (family transformer) and models/bert.ts (family bert)."""

    def __init__(self, family, spec, info, task, out_units):
        super().__init__()
        d = spec["dModel"]
        self.family, self.task, self.spec = family, task, spec
        self.pad = info["pad_id"] if info["pad_id"] is not None else 0
        first = info["inputs"][0]
        self.tokens = first["dtype"] == "int32"
        block = lambda cross: ZooBlock(d, spec["heads"], spec["ffDim"], spec["dropout"], "gelu" if family == "bert" else "relu", spec["norm"], cross)
        self.dropout = nn.Dropout(spec["dropout"])
        if family == "bert":
            self.embedding = nn.Embedding(vocabulary_rows(info["input_vocab_size"], info), d)
            self.positions = nn.Parameter(torch.randn(max(first["shape"][0], 512), d) * 0.02)
            self.embed_norm = nn.LayerNorm(d, eps=1e-5)
            self.encoder = nn.ModuleList([block(False) for _ in range(spec["layers"])])
            if task == "language-modelling":
                self.mlm_transform = nn.Linear(d, d)
                self.mlm_norm = nn.LayerNorm(d, eps=1e-5)
                self.head = nn.Linear(d, info["num_classes"])
            else:
                self.pooler = nn.Linear(d, d)
                self.head = nn.Linear(d, info["num_classes"])
        else:
            if spec["positional"] != "sinusoidal":
                raise SystemExit("peer: zoo transformer built with sinusoidal positions (the default)")
            self.embedding = nn.Embedding(vocabulary_rows(info["input_vocab_size"], info), d) if self.tokens else nn.Linear(first["shape"][1], d)
            self.register_buffer("table", sinusoidal_table(max(i["shape"][0] for i in info["inputs"]), d), persistent=False)
            if task == "seq2seq":
                self.encoder = nn.ModuleList([block(False) for _ in range(spec["encoderLayers"])])
                self.decoder_embedding = nn.Embedding(vocabulary_rows(info["num_classes"], info), d)
                self.decoder = nn.ModuleList([block(True) for _ in range(spec["decoderLayers"])])
            else:
                layers = spec["decoderLayers"] if task == "language-modelling" and spec["decoderLayers"] > 0 else spec["encoderLayers"] or spec["decoderLayers"]
                self.encoder = nn.ModuleList([block(False) for _ in range(layers)])
            self.final_norm = nn.LayerNorm(d, eps=1e-5) if spec["norm"] == "pre" else None
            self.head = nn.Linear(d, out_units)

    def finish(self, x):
        return self.final_norm(x) if self.final_norm is not None else x

    def forward(self, *inputs):
        x = inputs[0]
        if self.family == "bert":
            pad_mask = x == self.pad
            h = self.dropout(self.embed_norm(self.embedding(x) + self.positions[: x.shape[1]]))
            for b in self.encoder:
                h = b(h, pad_mask, None)
            if self.task == "language-modelling":
                return self.head(self.mlm_norm(F.gelu(self.mlm_transform(h))))
            pooled = masked_mean(h, (~pad_mask).float())
            return self.head(self.dropout(torch.tanh(self.pooler(pooled))))
        pad_mask = (x == self.pad) if self.tokens and self.task != "language-modelling" else None
        h = self.dropout(self.embedding(x) + self.table[: x.shape[1]])
        attn_mask = causal(x.shape[1]) if self.task == "language-modelling" else None
        for b in self.encoder:
            h = b(h, pad_mask, attn_mask)
        h = self.finish(h)
        if self.task == "language-modelling":
            return self.head(h)
        if self.task != "seq2seq":
            return self.head(masked_mean(h, None if pad_mask is None else (~pad_mask).float()))
        y_ids = inputs[1]
        y = self.dropout(self.decoder_embedding(y_ids) + self.table[: y_ids.shape[1]])
        self_mask = causal(y_ids.shape[1])
        for b in self.decoder:
            y = b(y, None, self_mask, memory=h, memory_pad_mask=pad_mask)
        return self.head(self.finish(y))


def zoo_model(entry):
    family, info, task, spec = entry["family"], entry["info"], entry["task"], entry["model"]
    out_units = 1 if task == "sequence-regression" else info["num_classes"]
    if family == "cnn":
        return ZooCnn(spec, info, out_units)
    if family in RNN_CELLS:
        return ZooRecurrent(family, spec, info, task, out_units)
    return ZooTransformer(family, spec, info, task, out_units)


def zoo_batch(entry, batch, g):
    """libs/testing randomBatch's layouts: padded tails on token inputs, a start token and end
    token in seq2seq, uniform values for floats."""
    info, task = entry["info"], entry["task"]
    pad = info["pad_id"] if info["pad_id"] is not None else 0

    def padded(length, low, vocab):
        ids = torch.randint(low, vocab, (batch, length), generator=g)
        real = torch.randint(1, length + 1, (batch, 1), generator=g)
        return torch.where(torch.arange(length).unsqueeze(0) < real, ids, torch.full_like(ids, pad))

    shape = info["inputs"][0]["shape"]
    if task == "image-classification":
        return [torch.rand(batch, shape[2], shape[0], shape[1], generator=g)], torch.randint(0, info["num_classes"], (batch,), generator=g)
    if task == "sequence-classification":
        return [padded(shape[0], 1, info["input_vocab_size"])], torch.randint(0, info["num_classes"], (batch,), generator=g)
    if task == "sequence-regression":
        return [torch.rand(batch, *shape, generator=g)], torch.rand(batch, generator=g)
    if task == "language-modelling":
        stream = torch.randint(1, info["num_classes"], (batch, shape[0] + 1), generator=g)
        return [stream[:, :-1].contiguous()], stream[:, 1:].contiguous()
    td = info["inputs"][1]["shape"][0]
    source = padded(shape[0], 3, info["input_vocab_size"])
    out = torch.randint(3, info["num_classes"], (batch, td), generator=g)
    length = torch.randint(1, td, (batch, 1), generator=g)
    t = torch.arange(td).unsqueeze(0)
    target = torch.where(t < length, out, torch.where(t == length, torch.full_like(out, info["end_id"]), torch.full_like(out, pad)))
    shifted = torch.cat([torch.full((batch, 1), info["start_id"]), out[:, :-1]], dim=1)
    decoder_input = torch.where(t <= length, shifted, torch.full_like(out, pad))
    return [source, decoder_input], target


def zoo_loss(entry):
    """perSampleLoss (training/objectives.ts), averaged over the batch as the trainer scales it."""
    info, task = entry["info"], entry["task"]
    pad = info["pad_id"]
    if task == "sequence-regression":
        return lambda out, y: ((out.reshape(-1) - y) ** 2).mean()
    if task in ("image-classification", "sequence-classification"):
        return F.cross_entropy

    def token_loss(logits, y):
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none").view(y.shape)
        mask = torch.ones_like(ce) if pad is None else (y != pad).float()
        return ((ce * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()

    return token_loss


def zoo_optimizer(entry, params):
    lr = entry["learning_rate"]
    return {
        "adam": lambda: torch.optim.Adam(params, lr=lr),
        "sgd": lambda: torch.optim.SGD(params, lr=lr),
        "momentum": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
    }[entry["optimizer"]]()


def load_manifest(path):
    with open(path) as f:
        return json.load(f)


def select_entries(manifest, patterns):
    import fnmatch

    if not patterns:
        return manifest
    for p in patterns:
        if not any(fnmatch.fnmatchcase(e["name"], p) for e in manifest):
            raise SystemExit(f"--entries: {p!r} matches no zoo entry")
    return [e for e in manifest if any(fnmatch.fnmatchcase(e["name"], p) for p in patterns)]


def parameter_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class Run:
    """One workload on one rank: model, optimizer, the fixed batch, and a step."""

    def __init__(self, name, local_batch, rank, ddp, entry=None):
        torch.manual_seed(1)  # same initial weights on every rank (DDP broadcasts rank 0's anyway)
        if entry is None:
            model, make_batch = build(name)
            self.loss = F.cross_entropy
        else:
            model = zoo_model(entry)
            self.loss = zoo_loss(entry)
        self.params = parameter_count(model)
        self.model = nn.parallel.DistributedDataParallel(model) if ddp else model
        self.model.train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3) if entry is None else zoo_optimizer(entry, self.model.parameters())
        g = torch.Generator().manual_seed(1000 + rank)
        if entry is None:
            inputs, self.labels = make_batch(local_batch, g)
            self.inputs = [inputs]
        else:
            self.inputs, self.labels = zoo_batch(entry, local_batch, g)

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(*self.inputs), self.labels)
        loss.backward()
        self.optimizer.step()


def measure(name, args, rank=0, world=1, entry=None):
    import torch.distributed as dist

    ddp = world > 1
    global_batch = GLOBAL_BATCH[name] if entry is None else entry["batch"]
    if global_batch % world != 0:
        raise SystemExit(f"{name}: global batch {global_batch} does not split evenly over {world} ranks")
    run = Run(name, global_batch // world, rank, ddp, entry)

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
    zoo = {} if entry is None else {"suite": "zoo", "entry": name, "params_tfjs": entry["params_tfjs"]}
    return {
        **zoo,
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
    p.add_argument("--suite", choices=["zoo"], help="zoo: the model zoo's entries from --manifest instead of --workload")
    p.add_argument("--entries", default="", help="zoo entries, a comma list of names or fnmatch patterns (default all)")
    p.add_argument("--manifest", default=ZOO_MANIFEST, help="the zoo manifest (default bench/peers/zoo-manifest.json)")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.threads < 1 or args.ddp < 0:
        p.error("--seconds must be positive, --warmup 0 or more, --threads 1 or more")
    if args.suite == "zoo":
        if args.ddp > 1:
            p.error("--suite zoo runs on one process")
        args.zoo = select_entries(load_manifest(args.manifest), [e for e in args.entries.split(",") if e])
        args.workloads = []
        return args
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
    if args.suite == "zoo":
        torch.set_num_threads(args.threads)
        for entry in args.zoo:
            if args.params:
                print(json.dumps({"entry": entry["name"], "params": parameter_count(zoo_model(entry)), "params_tfjs": entry["params_tfjs"]}), flush=True)
                continue
            try:
                print(json.dumps(measure(entry["name"], args, entry=entry)), flush=True)
            except Exception as error:  # one broken entry must not hide the others' figures
                print(json.dumps({"suite": "zoo", "entry": entry["name"], "workload": entry["name"], "engine": "pytorch", "error": str(error).split("\n")[0]}), flush=True)
        return
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
