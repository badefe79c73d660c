"""A worker of tests/test_engine/test_amp_fused.py, importable by the
processes that torch.multiprocessing spawns (test files are not)."""
import torch
import torch.nn as nn


def sharded_grads(seed: int = 0):
    """Three parameters with random gradients."""
    gen = torch.Generator().manual_seed(seed)
    params = [nn.Parameter(torch.zeros(n)) for n in (5, 3, 7)]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen) * 3
    return params


def clip_worker(rank: int, port: int, out) -> None:
    """Rank 0 holds the first two gradients, rank 1 the third; both clip."""
    import torch.distributed as dist

    from mmris.engine import clip_grad_norm_across_ranks_
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2)
    params = sharded_grads()
    mine = params[:2] if rank == 0 else params[2:]
    total = clip_grad_norm_across_ranks_(mine, 1.5)
    out[rank] = (float(total), [p.grad.clone() for p in mine])
    dist.destroy_process_group()
