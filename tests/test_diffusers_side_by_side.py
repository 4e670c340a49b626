"""The notebooks' side-by-side with diffusers (notebooks 4 and 5), on a small random U-Net: diffusers'
DDPMScheduler and DDIMScheduler, configured from the package's schedule as the notebooks configure
them, give the package's samples from the same x_T and the same per-step noise. Skipped where
diffusers (optional: `make lab` installs it) is missing."""
import pytest
import torch

import diffusion_helpers as dh

diffusers = pytest.importorskip("diffusers")


def small_unet():
    """A U-Net whose output is not zero (dh.UNet's last layer starts at zero) and varies with t."""
    torch.manual_seed(0)
    model = dh.UNet(base_channels=8).eval()
    torch.nn.init.normal_(model.conv_out[-1].weight, std=0.05)
    return model


def ddpm_scheduler(schedule, variance_type):
    return diffusers.DDPMScheduler(num_train_timesteps=schedule.num_timesteps, trained_betas=schedule.betas.numpy(),
                                   prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0,
                                   variance_type=variance_type, timestep_spacing="trailing")


def ddim_scheduler(schedule, spacing="trailing"):
    return diffusers.DDIMScheduler(num_train_timesteps=schedule.num_timesteps, trained_betas=schedule.betas.numpy(),
                                   prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0,
                                   set_alpha_to_one=True, steps_offset=0, timestep_spacing=spacing)


@torch.no_grad()
def diffusers_loop(model, scheduler, x_T, generator=None, **step_options):
    x = x_T
    for t in scheduler.timesteps:
        x = scheduler.step(model(x, t.repeat(len(x))), t, x, generator=generator, **step_options).prev_sample
    return x


@pytest.mark.parametrize("variance, variance_type, num_timesteps, num_steps", [
    ("beta_tilde", "fixed_small", 50, 50), ("beta", "fixed_large", 50, 50), ("beta_tilde", "fixed_small", 1000, 10)])
def test_ddpm_sample_equals_diffusers_ddpm_scheduler(variance, variance_type, num_timesteps, num_steps):
    """Every step (T = 50) and over gaps (10 of 1,000, trailing): the same grid, and the same
    noise z from one generator, drawn once a step by both (diffusers also draws one, times ~1e-10,
    at a gapped last step, after which nothing is drawn). Not "fixed_large" over gaps: diffusers
    adds noise whenever t > 0, so its gapped last step (t = 99 -> clean data) adds sqrt(1 - abar_99) z,
    where Algorithm 2 and the package add none."""
    schedule, model = dh.NoiseSchedule("cosine", num_timesteps), small_unet()
    scheduler = ddpm_scheduler(schedule, variance_type)
    scheduler.set_timesteps(num_steps)
    assert scheduler.timesteps.tolist() == dh.make_timesteps(num_timesteps, num_steps).tolist()
    x_T = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    ours = dh.ddpm_sample(model, schedule, x_T, num_steps, variance=variance, generator=torch.Generator().manual_seed(2),
                          progress=False)
    theirs = diffusers_loop(model, scheduler, x_T, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)
    other = dh.ddpm_sample(model, schedule, x_T, num_steps, variance="beta" if variance == "beta_tilde" else "beta_tilde",
                           generator=torch.Generator().manual_seed(2), progress=False)
    assert (other - theirs).abs().max() > 1e-2, "the other variance must give other samples"


@pytest.mark.parametrize("num_steps", [1, 10, 25])
def test_ddim_sample_equals_diffusers_ddim_scheduler(num_steps):
    schedule, model = dh.NoiseSchedule("cosine", 1000), small_unet()
    scheduler = ddim_scheduler(schedule)
    scheduler.set_timesteps(num_steps)
    assert scheduler.timesteps.tolist() == dh.make_timesteps(1000, num_steps).tolist()
    x_T = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    ours = dh.ddim_sample(model, schedule, x_T, num_steps, eta=0.0, progress=False)
    # use_clipped_model_output: eps_hat recomputed from the clipped x0_hat, as the package's clip_x0 does
    theirs = diffusers_loop(model, scheduler, x_T, eta=0.0, use_clipped_model_output=True)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)
    if num_steps > 1:  # diffusers' default keeps the unclipped eps_hat: other samples once x0_hat is clipped
        assert (diffusers_loop(model, scheduler, x_T, eta=0.0) - ours).abs().max() > 1e-2


def test_diffusers_default_leading_grid_is_not_the_packages():
    """Why the notebooks set timestep_spacing="trailing": diffusers' default grid starts at 900 for
    10 steps, the package's at 999; with spacing="leading" the package visits diffusers' grid."""
    schedule, model = dh.NoiseSchedule("cosine", 1000), small_unet()
    default = diffusers.DDIMScheduler(num_train_timesteps=1000)
    default.set_timesteps(10)
    assert default.timesteps.tolist()[0] == 900 and dh.make_timesteps(1000, 10).tolist()[0] == 999
    assert default.timesteps.tolist() == dh.make_timesteps(1000, 10, "leading").tolist()
    scheduler = ddim_scheduler(schedule, spacing="leading")
    scheduler.set_timesteps(10)
    x_T = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    ours = dh.ddim_sample(model, schedule, x_T, 10, spacing="leading", progress=False)
    theirs = diffusers_loop(model, scheduler, x_T, eta=0.0, use_clipped_model_output=True)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)


def test_a_bad_variance_is_refused_naming_the_two_choices():
    schedule, model = dh.NoiseSchedule("cosine", 100), small_unet()
    for call in (lambda: dh.ddpm_sample(model, schedule, torch.randn(1, 1, 28, 28), variance="large", progress=False),
                 lambda: dh.ddpm_step(schedule, torch.randn(2, 2), 5, 4, torch.randn(2, 2), variance="fixed_small")):
        with pytest.raises(ValueError, match=r"variance must be one of \['beta', 'beta_tilde'\]"):
            call()
