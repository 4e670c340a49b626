"""Try the mistakes a new student makes with the package and print what each one answers.

    python benchmarks/student_mistakes.py            # every mistake, a line or two each

Each row is one plausible mistake (the wrong range, dtype, shape, device, NaN, an empty batch, a
misused return value, an exercise answer that cheats ...). The answer should be a clear error or
warning naming the argument (or, for an exercise check, "Not yet" with the reason); a row that
prints "NO ERROR" without a warning above it, or "HANG", is a silent wrong result. A row that
checks that the right use stays silent answers in words ("answer: no warning, ...").
The section "Issue 30" holds the mistakes that issue found passing without a word; "Odd types and
zero sizes" runs the table of tests/test_odd_inputs.py (one table, tested there, printed here).
It runs on the CPU in a few minutes (it loads the shipped weights once and trains a few small models).
"""
import os
import signal
import sys
import tempfile
import warnings

import torch
import torch.nn.functional as F

import diffusion_helpers as dh
from diffusion_helpers import exercises

HANG_SECONDS = 30


def attempt(label, thunk, seconds=HANG_SECONDS):
    """Run thunk(); print the label and the error, warnings or result it gave (HANG after ``seconds``)."""
    def on_alarm(signum, frame):
        raise TimeoutError("HANG")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = thunk()
            if isinstance(result, str):  # an exercise check's verdict, or a finding in words
                answer = f"answer: {result}"
            else:
                answer = "NO ERROR" + ("" if result is None else f": {summary(result)}")
        except TimeoutError as error:
            answer = "HANG" if str(error) == "HANG" else f"TimeoutError: {error}"
        except BaseException as error:  # noqa: B036 - SystemExit too: we want to see everything
            answer = f"{type(error).__name__}: {error}"
        finally:
            signal.alarm(0)
    notes = [f"warning: {w.message}" for w in caught]
    print(f"- {label}\n    " + "\n    ".join(notes + [answer]), flush=True)


def summary(result):
    if isinstance(result, torch.Tensor):
        finite = bool(torch.isfinite(result).all()) if result.numel() else True
        span = f", values {result.min().item():.3g}..{result.max().item():.3g}" if result.numel() and finite else ""
        return f"tensor {tuple(result.shape)}{span}{'' if finite else ', NaN/inf'}"
    if isinstance(result, dict):
        return ", ".join(f"{k} {v:.3g}" for k, v in result.items() if isinstance(v, float))
    return repr(result)[:120]


def right_use(thunk):
    """For a row that uses the package rightly: its answer in words, so that only a warning or an
    error above it would be news."""
    return lambda: f"right use, no error: {summary(thunk())}"


def run_quietly(function):
    """Call an exercise check, hiding its printout; return (True/False, what it printed)."""
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ok = function()
    return f"check returned {ok}, printed: {out.getvalue().strip()}"


def main():
    torch.manual_seed(0)
    model, s = dh.load_pretrained("mnist")
    cond, s_cond = dh.load_pretrained("mnist-cond")
    classifier, _ = dh.load_pretrained("digit-classifier")
    digits, labels = dh.load_mnist(offline=True)
    test_digits, _ = dh.load_mnist(train=False, offline=True)
    x_T = torch.randn(8, 1, 28, 28)
    quiet = dict(progress=False)

    print("## Samplers and the shipped weights")
    attempt("ddim_sample, the docstring's example (clip_x0 default)",
            right_use(lambda: dh.ddim_sample(model, s, x_T, num_steps=10, **quiet)))
    attempt("ddim_sample with clip_x0=False on images", lambda: dh.ddim_sample(model, s, x_T, 10, clip_x0=False, **quiet))
    attempt("x_T with a NaN", lambda: dh.ddim_sample(model, s, x_T.clone().index_fill_(0, torch.tensor([0]), float("nan")), 10, **quiet))
    attempt("x_T float64", lambda: dh.ddim_sample(model, s, x_T.double(), 10, **quiet))
    attempt("x_T empty batch", lambda: dh.ddim_sample(model, s, x_T[:0], 10, **quiet))
    attempt("model returns (B, 2, H, W)", lambda: dh.ddim_sample(lambda x, t: torch.cat([x, x], 1), s, x_T, 10, **quiet))
    attempt("model returns (B, 1, 1, 1)", lambda: dh.ddim_sample(lambda x, t: x[:, :, :1, :1], s, x_T, 10, **quiet))
    attempt("model returns a batch of one", lambda: dh.ddim_sample(lambda x, t: x[:1], s, x_T, 10, **quiet))
    attempt("model returns NaN", lambda: dh.ddim_sample(lambda x, t: x * float("nan"), s, x_T, 10, **quiet))
    attempt("forgot to unpack load_pretrained's tuple", lambda: dh.ddim_sample(dh.load_pretrained("mnist"), s, x_T, 10, **quiet))
    attempt("label equal to num_classes (10)", lambda: dh.ddim_sample(cond, s_cond, x_T, 10, y=10, **quiet))
    attempt("labels shaped (B, 1)", lambda: dh.ddim_sample(cond, s_cond, x_T, 10, y=torch.arange(8)[:, None], **quiet))
    attempt("guidance_scale 3 without labels", lambda: dh.ddim_sample(cond, s_cond, x_T, 10, guidance_scale=3.0, **quiet))
    attempt("eta = 2", lambda: dh.ddim_sample(model, s, x_T, 10, eta=2.0, **quiet))
    attempt("num_steps = 0", lambda: dh.ddim_sample(model, s, x_T, 0, **quiet))
    attempt("num_steps = 5000 (T = 1000)", lambda: dh.ddim_sample(model, s, x_T, 5000, **quiet))
    attempt("model on another device than x_T (meta)", lambda: dh.ddim_sample(model, s, x_T.to("meta"), 10, **quiet))

    print("\n## Notebooks 5 and 6: inversion, slerp, guidance")
    attempt("ddim_invert digits in [0, 255]", lambda: dh.ddim_invert(model, s, (digits[:4] + 1) * 127.5, 10, **quiet))
    attempt("slerp between noises of two shapes", lambda: dh.slerp(x_T[:2], x_T[:2, :, :14], 0.5))
    attempt("slerp with alpha = 2", lambda: dh.slerp(x_T[:2], x_T[2:4], 2.0))
    attempt("guidance_interval as fractions (0.2, 0.8)",
            lambda: dh.ddim_sample(cond, s_cond, x_T, 10, y=3, guidance_scale=3.0, guidance_interval=(0.2, 0.8), **quiet))
    attempt("guidance_interval reversed (800, 200)",
            lambda: dh.ddim_sample(cond, s_cond, x_T, 10, y=3, guidance_scale=3.0, guidance_interval=(800, 200), **quiet))
    attempt("guidance_scale as Ho & Salimans' w tensor of ints",
            lambda: dh.ddim_sample(cond, s_cond, x_T, 10, y=3, guidance_scale=torch.full((8,), 2), **quiet))
    attempt("y given to the unconditional model", lambda: dh.ddim_sample(model, s, x_T, 10, y=3, **quiet))
    attempt("check_guidance_choice with a scale not in the table", lambda: run_quietly(
        lambda: exercises.check_guidance_choice(4.0, {1.0: {"accuracy": 0.8, "diversity": 30.0}})))

    print("\n## Schedules and the forward process")
    attempt("NoiseSchedule beta_start=0", lambda: dh.NoiseSchedule("linear", 1000, beta_start=0.0))
    attempt("NoiseSchedule beta_end=1", lambda: dh.NoiseSchedule("linear", 1000, beta_end=1.0))
    attempt("NoiseSchedule beta_end < beta_start", lambda: dh.NoiseSchedule("linear", 1000, 0.02, 1e-4))
    attempt("NoiseSchedule T=20000", lambda: dh.NoiseSchedule("linear", 20000))
    attempt("NoiseSchedule cosine T=10^9", lambda: dh.NoiseSchedule("cosine", 10**9))
    attempt("NoiseSchedule unknown name", lambda: dh.NoiseSchedule("cosin", 1000))
    attempt("q_sample with images in [0, 255]", lambda: s.q_sample((digits[:4] + 1) * 127.5, 500)[0])
    attempt("q_sample with images in [0, 1]", lambda: s.q_sample((digits[:4] + 1) / 2, 500)[0])
    attempt("q_sample with NaN images", lambda: s.q_sample(digits[:4] * float("nan"), 500)[0])
    attempt("q_sample t = 1000 (T = 1000)", lambda: s.q_sample(digits[:4], 1000)[0])
    attempt("q_sample t float", lambda: s.q_sample(digits[:4], torch.full((4,), 0.5))[0])
    attempt("q_sample float64 images (fine: no weights to meet)", right_use(lambda: s.q_sample(digits[:4].double(), 500)[0]))

    print("\n## Metrics")
    attempt("digit_report on N(0, 1) noise", lambda: dh.digit_report(torch.randn(64, 1, 28, 28), classifier))
    attempt("digit_report on all-black images", lambda: dh.digit_report(-torch.ones(64, 1, 28, 28), classifier))
    attempt("digit_report on images in [0, 255]", lambda: dh.digit_report((digits[:64] + 1) * 127.5, classifier))
    attempt("digit_report on images in [0, 1]", lambda: dh.digit_report((digits[:64] + 1) / 2, classifier))
    attempt("digit_report with labels shaped (B, 1)", lambda: dh.digit_report(digits[:64], classifier, asked_labels=labels[:64, None]))
    attempt("digit_report confidence=90", lambda: dh.digit_report(digits[:64], classifier, confidence=90))
    attempt("digit_report empty batch", lambda: dh.digit_report(digits[:0], classifier))
    attempt("digit_report, a batch of one against real images", lambda: dh.digit_report(digits[:1], classifier, real_images=digits[:64]))
    attempt("digit_report float64 images (fine: converted to the classifier's dtype)",
            right_use(lambda: dh.digit_report(digits[:64].double(), classifier)))
    attempt("digit_report forgot to unpack the classifier", lambda: dh.digit_report(digits[:64], dh.load_pretrained("digit-classifier")))
    attempt("frechet_distance with one sample", lambda: dh.frechet_distance(torch.randn(1, 8), torch.randn(10, 8)))
    attempt("frechet_distance with 5 samples of 8 features",
            lambda: dh.frechet_distance(torch.randn(5, 8), torch.randn(5, 8)))

    print("\n## Data")
    attempt("offline: train and test splits overlap?", lambda: "overlap" if any(
        bool((test_digits[i] == digits).flatten(1).all(1).any()) for i in range(50)) else
        f"disjoint: {len(digits)} train, {len(test_digits)} test")
    os.environ["DIFFUSION_OFFLINE"] = "maybe"
    attempt("DIFFUSION_OFFLINE=maybe", lambda: dh.load_mnist())
    os.environ["DIFFUSION_OFFLINE"] = "1"

    print("\n## Training")
    unet = dh.UNet(base_channels=16)
    small = dict(steps=3, batch_size=8, progress=False)
    attempt("train on images in [0, 1]", lambda: dh.train(unet, s, (digits[:64] + 1) / 2, **small).final_loss)
    attempt("train on images in [0, 255]", lambda: dh.train(unet, s, (digits[:64] + 1) * 127.5, **small).final_loss)
    attempt("train on data with NaN", lambda: dh.train(unet, s, digits[:64] * float("nan"), **small).final_loss)
    attempt("train on float64 images", lambda: dh.train(dh.UNet(base_channels=16), s, digits[:64].double(), **small).final_loss)
    attempt("train with an empty batch of data", lambda: dh.train(unet, s, digits[:0], **small))
    attempt("train lr = 0", lambda: dh.train(unet, s, digits[:64], lr=0.0, **small).final_loss)
    attempt("train lr = 1.0 without clipping (explodes)", lambda: dh.train(
        dh.MLPDenoiser(), dh.NoiseSchedule(), dh.make_toy_2d(), steps=120, lr=1.0, grad_clip=None, progress=False).final_loss,
        seconds=120)
    attempt("train grad_clip = 0", lambda: dh.train(unet, s, digits[:64], grad_clip=0, **small))
    attempt("train ema_decay = 0, then sample with result.ema_model (fine: the model itself)",
            right_use(lambda: dh.ddim_sample(dh.train(unet, s, digits[:64], ema_decay=0.0, **small).ema_model, s, x_T, 2,
                                             **quiet)))
    attempt("train with a config dict", lambda: dh.train(unet, s, digits[:64], config={"steps": 3}))
    attempt("train with labels == num_classes", lambda: dh.train(dh.UNet(base_channels=16, num_classes=10), s, digits[:8],
                                                                 labels=torch.full((8,), 10), **small))
    attempt("train the tuple from load_pretrained", lambda: dh.train(dh.load_pretrained("mnist"), s, digits[:64], **small))

    print("\n## Models and checkpoints")
    attempt("UNet(base_channels=9)", lambda: dh.UNet(base_channels=9))
    attempt("UNet(attention='False')", lambda: dh.UNet(attention="False"))
    attempt("UNet on float64 input", lambda: model(digits[:2].double(), torch.tensor([5, 5])))
    attempt("UNet on channels-last images", lambda: model(digits[:2].permute(0, 2, 3, 1), torch.tensor([5, 5])))
    attempt("pick_device('cuda') without CUDA", lambda: dh.pick_device("cuda") if not torch.cuda.is_available() else "has CUDA")
    with tempfile.TemporaryDirectory() as folder:
        def forged(edit):
            path = os.path.join(folder, "forged.pt")
            dh.save_checkpoint(path, dh.UNet(base_channels=16), s, data="test")
            payload = torch.load(path, weights_only=True)
            edit(payload)
            payload["sha256"] = dh.pretrained._digest(payload["metadata"], payload["state_dict"])  # a consistent forgery
            torch.save(payload, path)
            return dh.load_checkpoint(path)
        attempt("checkpoint with a missing key", lambda: forged(lambda p: p["state_dict"].pop("conv_in.weight")))
        attempt("checkpoint with a wrong shape", lambda: forged(lambda p: p["state_dict"].__setitem__(
            "conv_in.bias", torch.zeros(3))))
        attempt("checkpoint with an impossible config", lambda: forged(lambda p: p["metadata"]["model_config"].__setitem__(
            "base_channels", 9)))
        attempt("checkpoint whose schedule has T = 10^9", lambda: forged(lambda p: p["metadata"]["schedule"].__setitem__(
            "num_timesteps", 10**9)))

    print("\n## Plots")
    attempt("show_images empty batch", lambda: dh.plots.show_images(digits[:0]))
    attempt("show_images channels last", lambda: dh.plots.show_images(digits[:4].permute(0, 2, 3, 1)))
    attempt("show_images in [0, 255]", lambda: dh.plots.show_images((digits[:4] + 1) * 127.5))
    attempt("show_images with NaN", lambda: dh.plots.show_images(digits[:4] * float("nan")))

    print("\n## Exercise checks")
    attempt("check_q_sample, an answer that mutates x0 in place", lambda: run_quietly(lambda: exercises.check_q_sample(
        lambda x0, t, noise, abar: x0.mul_(abar[t].sqrt().reshape(-1, 1, 1, 1)).add_((1 - abar[t]).sqrt().reshape(-1, 1, 1, 1) * noise))))
    attempt("check_q_sample, an answer that calls the package", lambda: run_quietly(lambda: exercises.check_q_sample(
        lambda x0, t, noise, abar: dh.NoiseSchedule.from_betas(1 - abar / torch.cat([abar.new_ones(1), abar[:-1]])).q_sample(x0, t, noise)[0])))
    attempt("check_exponential_schedule given the reference itself", lambda: run_quietly(
        lambda: exercises.check_exponential_schedule(exercises.exponential_betas_reference)))
    attempt("check_ddim_step, an answer that calls dh.ddim_step", lambda: run_quietly(lambda: exercises.check_ddim_step(
        lambda x_t, eps_hat, a, a_prev, eta, noise: x_t * 0 + eps_hat * 0 + dh.ddim_step(s, x_t, 500, 300, eps_hat, eta=eta, noise=noise)[0])))
    attempt("check_q_sample, an answer with NaN", lambda: run_quietly(lambda: exercises.check_q_sample(
        lambda x0, t, noise, abar: x0 * float("nan"))))
    attempt("check_q_sample, an answer on the meta device", lambda: run_quietly(lambda: exercises.check_q_sample(
        lambda x0, t, noise, abar: (abar[t].sqrt().reshape(-1, 1, 1, 1) * x0 + (1 - abar[t]).sqrt().reshape(-1, 1, 1, 1) * noise).to("meta"))))
    attempt("check_q_sample, an answer in integers", lambda: run_quietly(lambda: exercises.check_q_sample(
        lambda x0, t, noise, abar: (abar[t].sqrt().reshape(-1, 1, 1, 1) * x0).long())))

    def forever(*args):
        while True:
            pass
    attempt("check_q_sample, an answer that loops forever", lambda: run_quietly(lambda: exercises.check_q_sample(forever)))
    attempt("check_q_sample, an answer that calls exit()", lambda: run_quietly(lambda: exercises.check_q_sample(
        lambda *args: sys.exit(1))))
    attempt("check_q_sample given the answer's result, not the function", lambda: run_quietly(
        lambda: exercises.check_q_sample(torch.zeros(4, 1, 8, 8))))

    issue_30(model, s, cond, s_cond, classifier, digits, labels, x_T)
    odd_types_and_zero_sizes()


def forever_on_one_line(*args):
    while True: pass  # noqa: E701 - one line on purpose: such a loop makes no "line" trace events


def ddim_answer(x_t, eps_hat, abar_t, abar_prev, eta, noise):
    """A student's DDIM step, right but for the noise it is given."""
    sigma = eta * ((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)) ** 0.5
    x0_hat = (x_t - (1 - abar_t) ** 0.5 * eps_hat) / abar_t ** 0.5
    return abar_prev ** 0.5 * x0_hat + max(1 - abar_prev - sigma**2, 0) ** 0.5 * eps_hat + sigma * noise


def issue_30(model, s, cond, s_cond, classifier, digits, labels, x_T):
    """The mistakes issue 30 found passing without a word, one row each."""
    print("\n## Issue 30: mistakes that passed without a word")
    quiet = dict(progress=False)
    for lr in (1.0, 0.3):  # 1.0 may climb past 100 times the first loss (then that warning speaks), 0.3 stays below
        attempt(f"notebook 4's quick training (8 steps) at lr = {lr:g}", lambda: dh.train(
            dh.UNet(base_channels=16), s, digits[:512], steps=8, batch_size=64, lr=lr, progress=False).final_loss,
            seconds=240)
    attempt("notebook 3's training at lr = 1e-7 (a loss that barely moves from 1.2)",
            lambda: dh.train(dh.MLPDenoiser(), dh.NoiseSchedule(), dh.make_toy_2d(n=1000), steps=120, batch_size=256,
                             lr=1e-7, progress=False).final_loss, seconds=120)
    attempt("notebook 3's training as it is (lr = 2e-3, 300 steps): must stay silent",
            right_use(lambda: dh.train(dh.MLPDenoiser(), dh.NoiseSchedule(), dh.make_toy_2d(n=1000), steps=300,
                                       batch_size=256, lr=2e-3, progress=False).final_loss), seconds=240)
    attempt("check_q_sample, an answer `while True: pass` (one line: no line events)",
            lambda: run_quietly(lambda: exercises.check_q_sample(forever_on_one_line)))
    attempt("check_ddim_step, an answer `while True: pass`", lambda: run_quietly(
        lambda: exercises.check_ddim_step(forever_on_one_line)))
    attempt("guidance_scale = 1e6 in guided_noise", lambda: dh.guided_noise(
        cond, x_T, 500, y=torch.arange(8), guidance_scale=1e6))
    attempt("guidance_scale = 1e6 in ddim_sample", lambda: dh.ddim_sample(
        cond, s_cond, x_T, 5, y=torch.arange(8), guidance_scale=1e6, **quiet))
    attempt("guidance_scale = 7.5 (Stable Diffusion's default): must stay silent", lambda: "no warning, values {:.3g} to {:.3g}"
            .format(*dh.ddim_sample(cond, s_cond, x_T, 5, y=torch.arange(8), guidance_scale=7.5, **quiet).aminmax()))
    attempt("the shipped cosine model sampled with a linear schedule", lambda: dh.ddim_sample(
        model, dh.NoiseSchedule("linear", 1000), x_T, 5, **quiet))
    attempt("the shipped model sampled with a cosine schedule of T = 500", lambda: dh.ddim_sample(
        model, dh.NoiseSchedule("cosine", 500), x_T, 5, **quiet))
    attempt("the shipped model with its own schedule: must stay silent", lambda: "no warning, values {:.3g} to {:.3g}"
            .format(*dh.ddim_sample(model, s, x_T, 5, **quiet).aminmax()))
    attempt("predict_x0 with noise (B, 1, 1, 1) for x_t (B, 1, 8, 8)", lambda: dh.NoiseSchedule().predict_x0(
        torch.randn(4, 1, 8, 8), 500, torch.randn(4, 1, 1, 1)))
    attempt("ddim_step with noise (B, 1, 1, 1)", lambda: dh.ddim_step(
        s, x_T, 500, 400, x_T, eta=1.0, noise=torch.randn(8, 1, 1, 1))[0])
    attempt("train a conditional model without labels", lambda: dh.train(
        dh.MLPDenoiser(num_classes=3), dh.NoiseSchedule(), dh.make_toy_classes()[0], steps=3, progress=False))
    points = torch.randn(50, 2)
    attempt("sliced_wasserstein of two empty clouds", lambda: dh.sliced_wasserstein(points[:0], points[:0]))
    attempt("sliced_wasserstein of one point each", lambda: dh.sliced_wasserstein(points[:1], points[1:2]))
    attempt("gaussian_baseline_loss of one point", lambda: dh.gaussian_baseline_loss(dh.NoiseSchedule(), points[:1]))
    attempt("frechet_distance of an empty cloud", lambda: dh.frechet_distance(points[:0], points))
    attempt("frechet_interval of one point", lambda: dh.frechet_interval(points[:1], points))
    attempt("mean_estimate of one value", lambda: dh.mean_estimate([0.5]))
    attempt("class_diversity, every class once", lambda: dh.class_diversity(points[:3], torch.arange(3)))
    attempt("digit_report of one image, asked labels given", lambda: dh.digit_report(
        digits[:1], classifier, asked_labels=labels[:1]))
    attempt("ddim_sample, x_T (B, 1, 27, 27)", lambda: dh.ddim_sample(model, s, torch.randn(2, 1, 27, 27), 5, **quiet))
    attempt("ddim_sample, x_T (B, 28, 28, 1), channels last", lambda: dh.ddim_sample(
        model, s, torch.randn(2, 28, 28, 1), 5, **quiet))
    attempt("ddim_invert, x0 (B, 3, 28, 28)", lambda: dh.ddim_invert(model, s, digits[:6].reshape(2, 3, 28, 28), 5, **quiet))
    attempt("ddim_sample of the shipped weights, clip_x0=False (blows up: warned)",
            lambda: dh.ddim_sample(model, s, x_T, 10, clip_x0=False, **quiet))
    codes = dh.ddim_invert(model, s, digits[-8:], 10, spacing="logsnr", **quiet)
    attempt("notebook 5 section 6: inverted codes decoded with clip_x0=False (overshoots a little: silent)",
            lambda: "no warning, values {:.3g} to {:.3g}".format(
                *dh.ddim_sample(model, s, codes, 10, spacing="logsnr", clip_x0=False, **quiet).aminmax()))
    generator = torch.Generator().manual_seed(0)
    attempt("check_ddim_step, an answer that draws its own noise (torch.randn_like)", lambda: run_quietly(
        lambda: exercises.check_ddim_step(lambda *a: ddim_answer(*a[:5], torch.randn_like(a[5])))))
    attempt("check_ddim_step, an answer whose own noise has a fixed seed", lambda: run_quietly(
        lambda: exercises.check_ddim_step(lambda *a: ddim_answer(*a[:5], torch.randn(
            a[5].shape, dtype=a[5].dtype, generator=torch.Generator().manual_seed(0))))))
    attempt("check_ddpm_step, an answer that draws its own noise", lambda: run_quietly(
        lambda: exercises.check_ddpm_step(lambda x_t, t, eps, noise, betas, abar: ddpm_answer(
            x_t, t, eps, torch.randn(noise.shape, dtype=noise.dtype, generator=generator), betas, abar))))
    attempt("check_training_loss, an answer that draws its own timesteps", lambda: run_quietly(
        lambda: exercises.check_training_loss(lambda model, x0, t, noise, abar: loss_answer(
            model, x0, torch.randint(1000, t.shape), noise, abar))))


def ddpm_answer(x_t, t, eps, noise, betas, abar):
    """A student's DDPM step (Algorithm 2), right but for the noise it is given."""
    abar_prev = abar[t - 1] if t > 0 else torch.tensor(1.0, dtype=abar.dtype)
    mean = (x_t - betas[t] / (1 - abar[t]).sqrt() * eps) / (1 - betas[t]).sqrt()
    return mean + ((1 - abar_prev) / (1 - abar[t]) * betas[t]).sqrt() * noise


def loss_answer(model, x0, t, noise, abar):
    """A student's training loss (eq. 14), right but for the timesteps it is given."""
    a = abar[t].reshape(-1, 1, 1, 1)
    return (noise - model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)).square().mean()


def odd_types_and_zero_sizes():
    """The odd inputs of tests/test_odd_inputs.py (tuples, empty lists, lists of names, nrow=0,
    NumPy arrays, float seeds, folders as checkpoint paths, impossible U-Nets ...), each printed."""
    print("\n## Odd types and zero sizes (the table of tests/test_odd_inputs.py)")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from test_odd_inputs import CASES
    with tempfile.TemporaryDirectory() as folder:
        here = os.getcwd()
        os.chdir(folder)  # "." is a folder there, and nothing is written elsewhere
        try:
            for label, call, _, _ in CASES:
                attempt(label, call)
        finally:
            os.chdir(here)


if __name__ == "__main__":
    os.environ.setdefault("DIFFUSION_OFFLINE", "1")
    torch.set_num_threads(2)
    main()
