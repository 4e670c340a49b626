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


def gaussian_baseline_loss(schedule, data):
    """The noise-prediction loss (DDPM eq. 14, averaged over t and dimensions) of the best
    predictor that is linear in x_t at each t, i.e. one that uses only the data's mean and
    covariance Sigma (it is exact for Gaussian data N(mu, Sigma)). Its error at step t is

        tr(I - (1 - abar_t) (abar_t Sigma + (1 - abar_t) I)^-1) / D.

    A model whose loss falls below this has learned more than the data's spread: its shape.
    data: (N, D) points. Returns a float.
    """
    check_float_tensor("data", data, min_dim=2)
    if data.dim() != 2:
        raise ValueError(f"data must have shape (N, D), got {tuple(data.shape)}")
    sigma = torch.atleast_2d(torch.cov(data.detach().cpu().double().T))
    eye = torch.eye(sigma.shape[0], dtype=torch.float64)
    abar = schedule.alphas_cumprod.detach().cpu().double()[:, None, None]
    errors = eye - (1 - abar) * torch.linalg.inv(abar * sigma + (1 - abar) * eye)
    return (errors.diagonal(dim1=1, dim2=2).sum(-1) / sigma.shape[0]).mean().item()
