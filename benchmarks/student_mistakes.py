"""Try the mistakes a new student makes with the package and print what each one answers.

    python benchmarks/student_mistakes.py            # every mistake, a line or two each

Each row is one plausible mistake (the wrong range, dtype, shape, device, NaN, an empty batch, a
misused return value, an exercise answer that cheats ...). The answer should be a clear error or
warning naming the argument (or, for an exercise check, "Not yet" with the reason); a row that
prints "NO ERROR" without a warning above it, or "HANG", is a silent wrong result.
It runs on the CPU in about a minute (it loads the shipped weights once).
"""
import os
import signal
import sys
import tempfile
import warnings

import torch

import diffusion_helpers as dh
from diffusion_helpers import exercises

HANG_SECONDS = 30


def attempt(label, thunk):
    """Run thunk(); print the label and the error, warnings or result it gave."""
    def on_alarm(signum, frame):
        raise TimeoutError("HANG")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HANG_SECONDS)
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
            lambda: dh.ddim_sample(model, s, x_T, num_steps=10, **quiet))
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
    attempt("q_sample float64 images", lambda: s.q_sample(digits[:4].double(), 500)[0])

    print("\n## Metrics")
    attempt("digit_report on N(0, 1) noise", lambda: dh.digit_report(torch.randn(64, 1, 28, 28), classifier))
    attempt("digit_report on all-black images", lambda: dh.digit_report(-torch.ones(64, 1, 28, 28), classifier))
    attempt("digit_report on images in [0, 255]", lambda: dh.digit_report((digits[:64] + 1) * 127.5, classifier))
    attempt("digit_report on images in [0, 1]", lambda: dh.digit_report((digits[:64] + 1) / 2, classifier))
    attempt("digit_report with labels shaped (B, 1)", lambda: dh.digit_report(digits[:64], classifier, asked_labels=labels[:64, None]))
    attempt("digit_report confidence=90", lambda: dh.digit_report(digits[:64], classifier, confidence=90))
    attempt("digit_report empty batch", lambda: dh.digit_report(digits[:0], classifier))
    attempt("digit_report, a batch of one against real images", lambda: dh.digit_report(digits[:1], classifier, real_images=digits[:64]))
    attempt("digit_report float64 images", lambda: dh.digit_report(digits[:64].double(), classifier))
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
    attempt("train lr = 1.0 (explodes)", lambda: dh.train(dh.MLPDenoiser(), dh.NoiseSchedule(), dh.make_toy_2d(),
                                                          steps=300, lr=1.0, grad_clip=None, progress=False).final_loss)
    attempt("train grad_clip = 0", lambda: dh.train(unet, s, digits[:64], grad_clip=0, **small))
    attempt("train ema_decay = 0, then sample with result.ema_model",
            lambda: dh.ddim_sample(dh.train(unet, s, digits[:64], ema_decay=0.0, **small).ema_model, s, x_T, 2, **quiet))
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


if __name__ == "__main__":
    os.environ.setdefault("DIFFUSION_OFFLINE", "1")
    torch.set_num_threads(2)
    main()
