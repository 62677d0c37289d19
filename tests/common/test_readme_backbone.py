"""The README's "Adding a backbone" section, followed literally.

The code blocks are read out of README.md (after their ``<!-- test: ... -->`` markers), so
the README can't drift from what works:

* built-in: the file goes into ``vision/`` of a scratch copy of the package (symlinks to the
  real files plus the new one) and nothing else changes; a fresh process that imports that
  copy finds and builds the backbone;
* plugin: the ``pyproject.toml`` and the module are installed with ``pip install --target``
  and found through the entry point.
"""
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_block(tag: str) -> tuple[str, str]:
    """``(the marker's argument, the code block after it)``."""
    match = re.search(rf"<!-- test: {tag} (\S+) -->\n```\w*\n(.*?)\n```", README, re.S)
    assert match, f"README.md has no block marked 'test: {tag}'"
    return match.group(1), match.group(2) + "\n"


def test_the_builtin_backbone_is_under_40_lines():
    _, source = readme_block("builtin")
    assert len(source.splitlines()) < 40


def scratch_package(tmp_path: Path, new_file: str, source: str) -> Path:
    """``tmp_path/transferkit``: the real package by symlinks, with one new file added."""
    pkg = tmp_path / "transferkit"
    pkg.mkdir()
    folder = Path(new_file).parts[0]
    for item in ROOT.iterdir():
        if item.name.startswith(".") or item.name in {"tests", "benchmarks", folder}:
            continue
        (pkg / item.name).symlink_to(item)
    (pkg / folder).mkdir()
    for item in (ROOT / folder).iterdir():
        if item.name != "__pycache__":
            (pkg / folder / item.name).symlink_to(item)
    (pkg / new_file).write_text(source)
    return tmp_path


@pytest.mark.slow
def test_a_builtin_backbone_is_one_new_file(tmp_path):
    new_file, source = readme_block("builtin")
    root = scratch_package(tmp_path, new_file, source)
    code = ("import numpy as np, transferkit\n"
            "from transferkit.common.testing import check_backbone\n"
            "assert transferkit.__file__.startswith(%r), transferkit.__file__\n"
            "b = transferkit.create_backbone('tiny_cnn', weights=None, size=32)\n"
            "x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype('float32')\n"
            "r = check_backbone(lambda: transferkit.create_backbone('tiny_cnn', weights=None,"
            " size=32), x)\n"
            "print(b.spec.origin, b.output_shape, r['feature_shape'], "
            "'tiny_cnn' in transferkit.list_backbones('vision'))\n") % str(root)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={**_env(), "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-2000:]
    origin, *rest = out.stdout.strip().split(" ", 1)
    assert origin == "transferkit.vision.tiny_cnn.tiny_cnn"
    assert rest[0] == "(16,) (16,) True"


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture()
def installed_readme_plugin(tmp_path):
    from transferkit.common.model.registry import unregister_backbone

    _, pyproject = readme_block("plugin")
    _, module = readme_block("builtin")
    pkg = tmp_path / "pkg"
    (pkg / "my_backbones").mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(pyproject)
    (pkg / "my_backbones" / "__init__.py").write_text(module)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--no-build-isolation", "--disable-pip-version-check",
                    "--target", str(site), str(pkg)], check=True, cwd=tmp_path)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("my_backbones", None)
    importlib.invalidate_caches()
    unregister_backbone("tiny_cnn")


def test_a_plugin_package_is_found_through_its_entry_point(installed_readme_plugin, capsys):
    from transferkit.common import plugins
    from transferkit.common.cli.parser import main
    from transferkit.common.model.registry import create_backbone

    assert "my_backbones" in plugins.load_plugins(force=True)
    backbone = create_backbone("tiny_cnn", weights=None, size=24)
    assert backbone.spec.origin == "my_backbones.tiny_cnn"
    x = np.random.default_rng(0).uniform(0, 255, (2, 24, 24, 3)).astype("float32")
    assert backbone.model(x).shape == (2, 16) and backbone.contract.size == 24
    assert main(["backbones", "--domain", "vision"]) == 0
    assert any(line.startswith("tiny_cnn ") for line in capsys.readouterr().out.splitlines())
