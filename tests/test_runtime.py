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


def test_optional_import_returns_an_installed_package(capsys):
    import importlib.util
    module = dh.optional_import("diffusers") if importlib.util.find_spec("diffusers") else None
    if module is None:
        pytest.skip("diffusers is not installed here")
    assert module.__name__ == "diffusers" and capsys.readouterr().out == ""


def missing(monkeypatch, name):
    """Make ``import name`` fail, as on a machine without it."""
    import importlib
    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda module, *args: (_ for _ in ()).throw(ImportError(f"No module named {module!r}"))
                        if module == name else real(module, *args))


def test_a_missing_optional_package_is_none_with_one_line_saying_why_and_how(monkeypatch, capsys):
    import subprocess
    from diffusion_helpers.runtime import OPTIONAL_PACKAGES
    missing(monkeypatch, "diffusers")
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pytest.fail("installed outside Colab"))
    assert dh.optional_import("diffusers") is None
    lines = capsys.readouterr().out.strip().splitlines()
    requirement, needed_for = OPTIONAL_PACKAGES["diffusers"]
    assert len(lines) == 1, lines
    assert "diffusers is not installed" in lines[0] and needed_for in lines[0]
    assert f'pip install "{requirement}"' in lines[0] and "make lab" in lines[0]


def test_on_colab_a_missing_optional_package_is_installed_with_pip(monkeypatch, capsys):
    import subprocess
    import sys
    import types
    commands = []
    missing(monkeypatch, "diffusers")
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: commands.append(command))
    assert dh.optional_import("diffusers") is None  # the stand-in pip installs nothing: still missing, said so
    assert commands == [[sys.executable, "-m", "pip", "install", "--quiet", "diffusers>=0.25"]]
    assert "not installed" in capsys.readouterr().out


def test_an_unknown_optional_package_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"name must be one of the optional packages \['diffusers'\]"):
        dh.optional_import("difusers")


def test_make_lab_installs_the_optional_packages_from_pyprojects_extra():
    """One home for the requirement: pyproject's extra holds exactly OPTIONAL_PACKAGES' requirement,
    and `make setup` (which `make lab` runs) installs that extra."""
    import os
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    from diffusion_helpers.runtime import OPTIONAL_PACKAGES
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "pyproject.toml"), "rb") as file:
        extras = tomllib.load(file)["project"]["optional-dependencies"]
    for name, (requirement, _) in OPTIONAL_PACKAGES.items():
        assert extras[name] == [requirement]
    makefile = open(os.path.join(root, "Makefile"), encoding="utf-8").read()
    setup_recipe = makefile.split("\nsetup:")[1].split("\n\n")[0]
    assert '-e ".[diffusers]"' in setup_recipe and "lab: setup" in makefile
