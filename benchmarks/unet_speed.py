"""Size and speed of the models on this machine: parameters, and forward (and training-step)
time for a batch, as medians over repeated runs. Prints a table; not part of the test suite.

    python benchmarks/unet_speed.py [--batch 64] [--repeats 10]
"""
import argparse
import statistics
import time

import torch

import diffusion_helpers as dh


def median_seconds(function, repeats):
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print(f"{'model':<34}{'parameters':>12}{'forward ms':>12}{'train step ms':>15}")
    cases = [("UNet() 28x28 (default, 14->7)", dh.UNet(), (1, 28, 28)),
             ("UNet(num_classes=10)", dh.UNet(num_classes=10), (1, 28, 28)),
             ("UNet(patch_size=1, mults 1,2,2)", dh.UNet(patch_size=1, channel_mults=(1, 2, 2)), (1, 28, 28)),
             ("MLPDenoiser() 2D", dh.MLPDenoiser(), (2,))]
    for name, model, shape in cases:
        x = torch.randn(args.batch, *shape)
        t = torch.randint(0, 1000, (args.batch,))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def forward():
            with torch.no_grad():
                model(x, t)

        def train_step():
            loss = torch.nn.functional.mse_loss(model(x, t), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        model.eval()
        forward_ms = 1000 * median_seconds(forward, args.repeats)
        model.train()
        step_ms = 1000 * median_seconds(train_step, args.repeats)
        print(f"{name:<34}{dh.count_parameters(model):>12,}{forward_ms:>12.1f}{step_ms:>15.1f}")


if __name__ == "__main__":
    main()
