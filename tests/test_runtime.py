"""Environment switches: on/off words in any case; anything else is an error, not a silent "off"."""
import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.runtime import env_flag


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("YES", True), (" On ", True), ("True", True),
    ("0", False), ("false", False), ("No", False), ("OFF", False), ("", False), ("  ", False),
])
def test_switch_words(monkeypatch, value, expected):
    monkeypatch.setenv("DIFFUSION_QUICK", value)
    assert env_flag("DIFFUSION_QUICK") is expected
    assert dh.quick_mode() is expected


def test_an_unset_switch_is_off(monkeypatch):
    monkeypatch.delenv("DIFFUSION_OFFLINE", raising=False)
    assert env_flag("DIFFUSION_OFFLINE") is False


@pytest.mark.parametrize("value", ["2", "ture", "y e s", "offline", "1.0"])
def test_anything_else_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("DIFFUSION_OFFLINE", value)
    with pytest.raises(ValueError) as info:
        dh.load_mnist()
    assert "DIFFUSION_OFFLINE" in str(info.value) and repr(value) in str(info.value)


def test_pick_device_refuses_what_this_machine_lacks():
    assert dh.pick_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda', 'mps'"):
        dh.pick_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available on this machine"):
            dh.pick_device("cuda")
