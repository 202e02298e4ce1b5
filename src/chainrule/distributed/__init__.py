"""Data-parallel training over processes and machines, on MPI (mpi4py) or NCCL (CuPy).

    import chainrule.distributed as dist

    comm = dist.init()                                   # rank, size, local_rank
    model = models.MLP([256, 10], activation=F.relu, rng=0)   # the same seed everywhere
    dist.broadcast_params(model)                         # lazy models: after their first call
    opt = dist.DistributedOptimizer(optim.Adam(lr=1e-3), comm)
    loader = data.DataLoader(train, batch_size=64, sampler=dist.ShardSampler(len(train), comm))
    for x, t in loader:
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads(); loss.backward(); opt.update(model)   # gradients averaged over ranks
    dist.save(model, "model.safetensors")                # rank 0 writes, then a barrier

Launch with ``mpiexec -n 4 python train.py`` (see docs/distributed.md). Importing this module
does not import mpi4py; ``init`` does, and says what to install when it is missing.
"""
from .checkpoint import save
from .comm import INSTALL, Communicator, LocalCommunicator, MpiCommunicator, NcclCommunicator
from .grads import DistributedOptimizer, GradientAverager, allreduce_grads
from .params import broadcast_optimizer_state, broadcast_params
from .sampler import ShardSampler
from .world import init, is_initialized, world

__all__ = ["init", "world", "is_initialized", "broadcast_params", "broadcast_optimizer_state",
           "DistributedOptimizer", "allreduce_grads", "ShardSampler", "save", "Communicator",
           "MpiCommunicator", "NcclCommunicator", "LocalCommunicator", "GradientAverager", "INSTALL"]
