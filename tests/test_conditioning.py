"""How the label enters a model (a table of classes + 1 rows, added to the time embedding) and label
dropout (dh.drop_labels): binomial shares, independent draws, a repeatable generator, clear errors."""
import math

import pytest
import torch

import diffusion_helpers as dh


def binomial_tolerance(p, n):
    """4 standard errors of a share of n independent draws with chance p (a right answer lands
    outside it about once in 16,000)."""
    return 4 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("model", [dh.UNet(base_channels=16, num_classes=10), dh.MLPDenoiser(num_classes=3)],
                         ids=["unet", "mlp"])
def test_the_label_adds_its_own_row_of_a_table_of_classes_plus_one_to_the_time_embedding(model):
    conditioning, classes = model.conditioning, model.num_classes
    table = conditioning.class_embedding.weight
    assert table.shape == (classes + 1, conditioning.time_embedding[-1].out_features)
    x = torch.randn(3, 1, 28, 28) if isinstance(model, dh.UNet) else torch.randn(3, 2)
    t, y = torch.tensor([0, 500, 999]), torch.tensor([classes - 1, dh.NULL_LABEL, 0])
    with torch.no_grad():
        time = conditioning.time_embedding(t)
        torch.testing.assert_close(conditioning(x, t, y), time + table[torch.tensor([classes - 1, classes, 0])])
        torch.testing.assert_close(conditioning(x, t, None), time + table[classes])  # None: the null row for all


def test_label_dropout_replaces_a_binomial_share_by_the_null_label_and_leaves_the_rest():
    labels = torch.arange(10).repeat(20_000)  # 200,000 labels
    for p in (0.1, 0.15, 0.5):
        before = labels.clone()
        out = dh.drop_labels(labels, p, torch.Generator().manual_seed(0))
        assert torch.equal(labels, before), "the labels given are left as they were"
        assert out.dtype == torch.long and out.shape == labels.shape
        dropped = out == dh.NULL_LABEL
        assert torch.equal(out[~dropped], labels[~dropped])
        assert abs(dropped.double().mean().item() - p) < binomial_tolerance(p, len(labels)), p
    assert torch.equal(dh.drop_labels(labels, 0.0), labels)
    assert (dh.drop_labels(labels, 1) == dh.NULL_LABEL).all()


def test_each_label_is_dropped_on_its_own_draw_and_a_generator_repeats_the_draws():
    labels, p = torch.arange(10).repeat(10_000), 0.3
    generator = torch.Generator().manual_seed(1)
    first, second = (dh.drop_labels(labels, p, generator) == dh.NULL_LABEL for _ in range(2))  # two batches
    assert abs((first & second).double().mean().item() - p**2) < binomial_tolerance(p**2, len(labels))
    # the count a batch is binomial(100, p): its variance n p (1 - p) = 21, and the sample variance of
    # 2,000 counts has a standard error of about 21 sqrt(2 / 1999)
    counts = torch.stack([(dh.drop_labels(labels[:100], p, generator) == dh.NULL_LABEL).sum() for _ in range(2000)])
    variance = 100 * p * (1 - p)
    assert abs(counts.double().var().item() - variance) < 4 * variance * math.sqrt(2 / 1999)
    again = [dh.drop_labels(labels, p, torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(*again)
    assert not torch.equal(again[0], dh.drop_labels(labels, p, torch.Generator().manual_seed(6)))


def test_training_drops_labels_at_its_label_dropout():
    """dh.train replaces a share label_dropout of every batch's labels by the null label."""
    class Recording(dh.MLPDenoiser):
        seen = []

        def forward(self, x, t, y=None):
            self.seen.append(y.clone())
            return super().forward(x, t, y)

    points, labels = dh.make_toy_classes(600)
    model = Recording(hidden_dim=16, num_blocks=1, num_classes=3)
    dh.train(model, dh.NoiseSchedule("linear", 100), points, labels=labels, steps=20, batch_size=250,
             label_dropout=0.2, progress=False, device="cpu", ema_decay=0.0)
    seen = torch.cat(model.seen)
    assert len(seen) == 20 * 250
    assert abs((seen == dh.NULL_LABEL).double().mean().item() - 0.2) < binomial_tolerance(0.2, len(seen))
    assert set(seen.unique().tolist()) == {dh.NULL_LABEL, 0, 1, 2}


@pytest.mark.parametrize("arguments, error, words", [
    ((torch.tensor([0.0, 1.0]), 0.1), TypeError, "labels must hold integer class labels"),
    ((torch.zeros(2, 3, dtype=torch.long), 0.1), TypeError, "labels must be an integer tensor of shape (B,)"),
    (([0, 1, 2], 0.1), TypeError, "labels must be an integer tensor of shape (B,), got list"),
    ((torch.tensor([0, -3]), 0.1), ValueError, "labels must hold labels >= 0, or dh.NULL_LABEL"),
    ((torch.tensor([0, 1]), 1.5), ValueError, "probability must be in [0.0, 1.0]"),
    ((torch.tensor([0, 1]), "0.1"), TypeError, "probability must be a real number"),
    ((torch.tensor([0, 1]), 0.1, 0), TypeError, "generator must be a torch.Generator or None, got int"),
])
def test_drop_labels_refuses_bad_input_naming_it(arguments, error, words):
    with pytest.raises(error) as caught:
        dh.drop_labels(*arguments)
    assert words in str(caught.value), str(caught.value)
