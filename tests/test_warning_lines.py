"""The package's warnings name the line that called it (a student's cell), never a file of the
package, torch or dataclasses: a page built from a run (tools/site.py) would print that machine's path,
and a student would be sent to read the package's source instead of their own line."""
import warnings

import torch

import diffusion_helpers as dh


def test_the_package_warnings_point_at_the_callers_line():
    """Called directly, through a sampler under torch.no_grad, through a dataclass's __init__ and
    dataclasses.replace: each warning names this file."""
    classifier = dh.load_pretrained("digit-classifier")[0]
    calls = [lambda: dh.frechet_distance(torch.randn(5, 8), torch.randn(5, 8)),  # too few samples
             lambda: dh.TrainConfig(lr=0),
             lambda: dh.train(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 10), torch.randn(64, 2), steps=1, lr=0,
                              progress=False),
             lambda: dh.plots.show_images(torch.rand(2, 1, 28, 28)),  # images in [0, 1]
             lambda: dh.digit_report(torch.zeros(4, 1, 28, 28), classifier)]  # blank images
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught, "the call should warn"
        assert {warning.filename for warning in caught} == {__file__}, [str(w.message)[:60] for w in caught]
