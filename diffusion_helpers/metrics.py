"""Distances between point clouds, to put a number on "do the samples look like the data?"."""
import torch

from ._checks import check_float_tensor, check_int


def sliced_wasserstein(a, b, num_projections=256, seed=0):
    """Sliced 2-Wasserstein distance between two clouds of the same size (Bonneel et al. 2015):

    SW_2(a, b) = ( E_theta [ W_2^2(theta . a, theta . b) ] )^(1/2),  theta uniform on the unit sphere,

    where in one dimension W_2^2 is the mean squared difference of the sorted projections.
    For N(0, I) against N(m, I) in D dimensions it is |m| / sqrt(D).

    Args:
        a, b: point clouds (N, D), the same N (subsample the larger one).
        num_projections: random directions theta.
        seed: fixes the directions so that numbers compare across calls.
    Returns a float.
    """
    check_float_tensor("a", a, min_dim=2)
    check_float_tensor("b", b, min_dim=2)
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"a and b must both have shape (N, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    num_projections = check_int("num_projections", num_projections, low=1)
    directions = torch.randn(a.shape[1], num_projections, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    projected_a = (a.detach().cpu().double() @ directions).sort(dim=0).values
    projected_b = (b.detach().cpu().double() @ directions).sort(dim=0).values
    return ((projected_a - projected_b) ** 2).mean().sqrt().item()
