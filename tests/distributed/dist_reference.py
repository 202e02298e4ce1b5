"""One-process reference training for the data-parallel tests (no MPI, no threads)."""
from __future__ import annotations

import importlib.util
import os
from types import SimpleNamespace

import numpy as np

import chainrule.distributed as dist
import chainrule.functions as F
from chainrule import optim

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_worker.py")


def load_worker():
    """mpi_worker.py as a module (it imports chainrule.distributed, never mpi4py, at import)."""
    spec = importlib.util.spec_from_file_location("chainrule_test_mpi_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_one_process(w, ranks: int) -> dict:
    """The worker's ``train`` run as one process reading the same permutation, ``ranks`` times
    the per-rank batch: the result data-parallel training must reproduce."""
    x, t = w.make_data()
    model = w.make_model()
    opt = optim.Adam(lr=0.01)
    sampler = dist.ShardSampler(w.N, SimpleNamespace(rank=0, size=1), shuffle=True, seed=w.SEED)
    b = w.B * ranks
    for epoch in range(w.EPOCHS):
        sampler.set_epoch(epoch)
        index = np.fromiter(sampler, dtype=np.int64)
        for k in range(0, len(index), b):
            i = index[k:k + b]
            loss = F.softmax_cross_entropy(model(x[i]), t[i])
            model.cleargrads()
            loss.backward()
            opt.update(model)
    return {n: p.data.copy() for n, p in model.named_params()}
