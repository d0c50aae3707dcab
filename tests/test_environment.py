"""The conda environment and the pip requirements must agree; notebooks follow the conventions."""

from __future__ import annotations

import re

import yaml

from conftest import REPO


def pip_pins_from_requirements() -> set[str]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1
    assert set(pip_sections[0]) == pip_pins_from_requirements()
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python, "environment.yml must pin python"


def test_requirements_are_pinned():
    for pin in pip_pins_from_requirements():
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9.+]*", pin), f"unpinned: {pin}"


def test_notebook_sources_follow_the_conventions():
    sources = sorted((REPO / "notebooks").glob("*.md"))
    assert sources
    for path in sources:
        text = path.read_text()
        header = yaml.safe_load(text.split("---")[1])
        assert header["kernelspec"]["name"] == "python3", path
        assert "md:myst" in header["jupytext"]["formats"], path
        params = re.search(r"```\{code-cell\} ipython3\n:tags: \[parameters[^\]]*\]\n\n(.*?)```", text, re.S)
        assert params, f"{path.name}: no cell tagged 'parameters'"
        assert re.search(r'^scale = "laptop"$', params.group(1), re.M), f"{path.name}: scale must default to laptop"
        assert re.search(r"^seeds? = ", params.group(1), re.M), f"{path.name}: no seed parameter"
