"""The package as pip and Colab get it: a wheel and an sdist built from the repository (not an
editable install), holding every file of the package that git tracks, built without a warning."""
import os
import re
import subprocess
import tarfile
import zipfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def tracked_package_files():
    """Every file under diffusion_helpers/ that git tracks (None outside a git checkout)."""
    listed = subprocess.run(["git", "ls-files", "diffusion_helpers"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0 or not listed.stdout.strip():
        return None
    return set(listed.stdout.split())


def test_the_wheel_and_the_sdist_hold_every_tracked_file_of_the_package(built_distributions):
    tracked = tracked_package_files()
    if tracked is None:
        pytest.skip("not a git checkout: no list of tracked files to compare with")
    wheel_path, sdist_path, _ = built_distributions
    with zipfile.ZipFile(wheel_path) as wheel:
        names = wheel.namelist()
    in_wheel = {name for name in names if name.startswith("diffusion_helpers/")}
    assert tracked - in_wheel == set(), f"the wheel leaves out {sorted(tracked - in_wheel)}"
    assert in_wheel - tracked == set(), f"the wheel holds untracked files {sorted(in_wheel - tracked)}"
    assert any(name.startswith("diffusion_helpers/exercises/") for name in in_wheel)  # what Colab once lacked
    licenses = {os.path.basename(name) for name in names if "/licenses/" in name}
    assert licenses == {"LICENSE", "LICENSE-notebooks"}
    with tarfile.open(sdist_path) as sdist:
        top = os.path.basename(sdist_path).removesuffix(".tar.gz") + "/"
        in_sdist = {name.removeprefix(top) for name in sdist.getnames()}
    assert tracked - in_sdist == set(), f"the sdist leaves out {sorted(tracked - in_sdist)}"
    assert {"LICENSE", "LICENSE-notebooks", "pyproject.toml", "README.md"} <= in_sdist
    print(f"wheel: {len(names)} files ({len(in_wheel)} of the package, all {len(tracked)} tracked ones); "
          f"sdist: {len(in_sdist)} entries")


def test_the_build_prints_no_warning(built_distributions):
    """setuptools' warnings (a package left out of the configuration, a license pattern that
    matches nothing, a deprecated field) are printed between '!!' banners or as '...Warning:'."""
    _, _, log = built_distributions
    lines = [line for line in log.splitlines() if "byte-compiling is disabled" not in line]  # PYTHONDONTWRITEBYTECODE
    warnings = [line for line in lines if line.strip() == "!!" or re.search(r"Warning\b|WARNING", line)]
    assert warnings == [], "\n".join(warnings[:20])


def test_the_wheel_states_its_licenses(built_distributions):
    wheel_path, _, _ = built_distributions
    with zipfile.ZipFile(wheel_path) as wheel:
        metadata = next(wheel.read(name).decode() for name in wheel.namelist() if name.endswith("/METADATA"))
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata and "License-File: LICENSE-notebooks" in metadata
