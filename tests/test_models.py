"""Model output shapes, the time embedding's formula, class conditioning and bad inputs."""
import math

import pytest
import torch

import diffusion_helpers as dh


def test_sinusoidal_embedding_follows_its_formula():
    embedding = dh.SinusoidalTimeEmbedding(8)
    t = torch.tensor([0, 1, 500])
    out = embedding(t)
    assert out.shape == (3, 8)
    for row, step in enumerate(t.tolist()):
        for i in range(4):
            w = 10000 ** (-i / 4)
            assert out[row, i].item() == pytest.approx(math.sin(step * w), abs=1e-5)
            assert out[row, 4 + i].item() == pytest.approx(math.cos(step * w), abs=1e-5)


def test_mlp_shapes_and_conditioning():
    model = dh.MLPDenoiser(data_dim=2, num_classes=3)
    x, t = torch.randn(5, 2), torch.randint(0, 1000, (5,))
    assert model(x, t).shape == (5, 2)
    y = torch.tensor([0, 1, 2, 0, 1])
    assert model(x, t, y).shape == (5, 2)
    # y=None is the null label for every sample; NULL_LABEL marks it row by row
    torch.testing.assert_close(model(x, t, None), model(x, t, torch.full((5,), dh.NULL_LABEL)))
    mixed = model(x, t, torch.tensor([0, dh.NULL_LABEL, 2, dh.NULL_LABEL, 1]))
    torch.testing.assert_close(mixed[[1, 3]], model(x, t, None)[[1, 3]])
    torch.testing.assert_close(mixed[[0, 2, 4]], model(x, t, torch.tensor([0, 0, 2, 0, 1]))[[0, 2, 4]])
    assert not torch.allclose(model(x, t, y), model(x, t, None))


@pytest.mark.parametrize("kwargs, shape", [
    (dict(), (3, 1, 28, 28)),
    (dict(in_channels=3, channel_mults=(1, 2)), (3, 3, 32, 32)),
    (dict(num_classes=10, num_res_blocks=2, attention=False), (3, 1, 28, 28)),
    (dict(channel_mults=(1, 2, 2), patch_size=1), (3, 1, 28, 28)),
    (dict(num_mid_blocks=4), (3, 1, 28, 28)),
    (dict(num_mid_blocks=3, attention=False), (3, 1, 28, 28)),
])
def test_unet_keeps_the_image_shape(kwargs, shape):
    model = dh.UNet(base_channels=16, **kwargs)
    x, t = torch.randn(shape), torch.tensor([0, 10, 999])
    y = torch.tensor([1, 2, dh.NULL_LABEL]) if kwargs.get("num_classes") else None
    assert model(x, t, y).shape == shape


def test_unet_is_conditioned_on_time_and_label():
    torch.manual_seed(0)
    model = dh.UNet(base_channels=16, num_classes=10)
    torch.nn.init.normal_(model.conv_out[-1].weight, std=0.1)  # undo the zero init for this check
    x = torch.randn(2, 1, 28, 28)
    a = model(x, torch.tensor([5, 5]), torch.tensor([3, 3]))
    assert not torch.allclose(a, model(x, torch.tensor([900, 900]), torch.tensor([3, 3])))
    assert not torch.allclose(a, model(x, torch.tensor([5, 5]), torch.tensor([7, 7])))


def test_a_fresh_unet_predicts_zero_noise():
    """The last convolution starts at zero, so the first loss is E[eps^2] = 1."""
    assert dh.UNet(base_channels=16)(torch.randn(2, 1, 28, 28), torch.tensor([1, 2])).abs().max() == 0


def test_build_model_rebuilds_from_config():
    model = dh.UNet(base_channels=16, num_classes=10)
    again = dh.build_model("UNet", model.config)
    assert dh.count_parameters(again) == dh.count_parameters(model)
    with pytest.raises(ValueError, match="MLPDenoiser"):
        dh.build_model("Transformer", {})


@pytest.mark.parametrize("call, error, words", [
    (lambda: dh.UNet(base_channels=16)(torch.randn(2, 3, 28, 28), torch.tensor([1, 2])), ValueError, "(B, 1, H, W)"),
    (lambda: dh.UNet(base_channels=16)(torch.randn(2, 1, 30, 30), torch.tensor([1, 2])), ValueError, "divisible by 4"),
    (lambda: dh.UNet(base_channels=16, channel_mults=(1, 2, 2))(torch.randn(2, 1, 28, 28), torch.tensor([1, 2])), ValueError, "divisible by 8"),
    (lambda: dh.UNet(base_channels=16)(torch.randn(2, 1, 28, 28), torch.tensor([1.0, 2.0])), TypeError, "t"),
    (lambda: dh.UNet(base_channels=16)(torch.randn(2, 1, 28, 28), torch.tensor([1, 2, 3])), ValueError, "(2,)"),
    (lambda: dh.UNet(base_channels=16)(torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), torch.tensor([1, 2])), ValueError, "num_classes"),
    (lambda: dh.UNet(base_channels=16, num_classes=10)(torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), torch.tensor([1, 11])), ValueError, "[0, 9]"),
    # the label num_classes is not a hidden null label: only NULL_LABEL is
    (lambda: dh.UNet(base_channels=16, num_classes=10)(torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), torch.tensor([1, 10])), ValueError, "NULL_LABEL"),
    (lambda: dh.UNet(base_channels=16, num_classes=10)(torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), torch.tensor([1, -2])), ValueError, "[0, 9]"),
    (lambda: dh.MLPDenoiser()(torch.randn(4, 3), torch.tensor([1, 2, 3, 4])), ValueError, "(B, 2)"),
    (lambda: dh.MLPDenoiser()(torch.randn(4, 2).long(), torch.tensor([1, 2, 3, 4])), TypeError, "x"),
    (lambda: dh.MLPDenoiser()(torch.randn(4, 2), torch.tensor([1, 2, 3, -4])), ValueError, "t"),
    (lambda: dh.MLPDenoiser(num_classes=0), ValueError, "num_classes"),
    (lambda: dh.SinusoidalTimeEmbedding(7), ValueError, "even"),
    (lambda: dh.UNet(num_mid_blocks=1), ValueError, "num_mid_blocks"),
    (lambda: dh.UNet(base_channels=9), ValueError, "base_channels must be even"),
    (lambda: dh.UNet(attention="False"), TypeError, "attention must be True or False"),
    (lambda: dh.UNet(dropout=1.5), ValueError, "dropout must be in [0.0, 0.9]"),
    (lambda: dh.UNet(base_channels=16)(torch.randn(2, 1, 28, 28).double(), torch.tensor([1, 2])), TypeError,
     "x is torch.float64 but the model's weights are torch.float32: convert it, e.g. x.float()"),
    (lambda: dh.MLPDenoiser()(torch.randn(4, 2).double(), torch.tensor([1, 2, 3, 4])), TypeError, "x is torch.float64"),
    (lambda: dh.DigitClassifier()(torch.zeros(2, 1, 28, 28).double()), TypeError, "x is torch.float64"),
    (lambda: dh.MLPDenoiser()(torch.randn(4, 2, device="meta"), torch.tensor([1, 2, 3, 4])), ValueError,
     "x is on meta but the model is on cpu"),
])
def test_bad_model_input_is_refused(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
