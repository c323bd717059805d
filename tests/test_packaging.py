"""What a user installs and a distribution packages: the sdist and wheel `python -m build`
makes, as twine checks them, and the pre-commit hook run as a repository would run it."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, ROOT

#: the one place the version is written (tomllib is not in Python 3.10)
VERSION = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(encoding="utf-8"),
                    re.MULTILINE)[1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, and the wheel built from it (build's default), from a copy of the tree.

    Without isolation, so no download: build checks that the environment has the
    build-system requirements of pyproject.toml, and fails if not."""
    source = tmp_path_factory.mktemp("source")
    # a copy: building writes the egg-info next to pyproject.toml
    shutil.copytree(ROOT, source, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".tox", "*.egg-info", "build", "dist", "_build", "__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                    str(source)], check=True, capture_output=True, text=True)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_twine_finds_nothing_wrong(dists):
    completed = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dists.values())],
        capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("PASSED") == 2


def test_the_wheel_is_typed_licensed_and_holds_only_the_package(dists):
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"sphinxext_rabbit-{VERSION}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        licence = wheel.read(f"{info}/licenses/LICENSE").decode()
    assert "sphinxext_rabbit/py.typed" in names
    # the stylesheet the HTML pages link (tables that fit, dark-mode diagrams)
    assert "sphinxext_rabbit/extension/static/sphinxext-rabbit.css" in names
    assert {name.split("/")[0] for name in names} == {"sphinxext_rabbit", info}
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "BSD-2-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert "BSD 2-Clause License" in licence
    assert not [c for c in metadata.get_all("Classifier") if c.startswith("License ::")]


def test_the_sdist_runs_the_suite(dists, tmp_path):
    with tarfile.open(dists["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        sdist.extractall(tmp_path, filter="data")
    for needed in ("LICENSE", "CHANGELOG.md", "tox.ini", "scripts/rabbitmq.sh",
                   "sample_docs/conf.py", "sample_docs/broker/definitions.json",
                   "tests/conftest.py", "tests/roots/test-basic/conf.py",
                   "tests/fixtures/secrets.json"):
        assert needed in names
    assert not [name for name in names if "__pycache__" in name or "/_build" in name]
    # tests that read the roots, the fixtures and sample_docs, run from the unpacked sdist
    (unpacked,) = tmp_path.iterdir()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/test_export.py",
         "tests/test_sphinx.py::test_text_builder_gets_a_readable_fallback"],
        cwd=unpacked, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert " passed" in completed.stdout.splitlines()[-1]


def test_the_version_comes_from_the_installed_metadata():
    completed = subprocess.run([sys.executable, "-m", "sphinxext_rabbit", "--version"],
                               capture_output=True, text=True, check=True)
    assert completed.stdout == f"sphinxext-rabbit {VERSION}\n"
    import sphinxext_rabbit

    assert sphinxext_rabbit.__version__ == VERSION


def test_a_package_that_is_not_installed_has_an_unknown_version(tmp_path):
    """A conf.py may put a checkout on sys.path instead of installing it."""
    shutil.copytree(ROOT / "sphinxext_rabbit", tmp_path / "sphinxext_rabbit")
    completed = subprocess.run(
        [sys.executable, "-S", "-c",
         "import sphinxext_rabbit; print(sphinxext_rabbit.__version__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True)
    assert completed.stdout == "unknown version\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                    *args], cwd=repo, check=True, capture_output=True)


def test_the_pre_commit_hook_passes_a_good_file_and_fails_a_broken_one(tmp_path):
    """`pre-commit try-repo` installs the package from a commit of this tree into an
    environment of its own (from PyPI) and runs the hook as a repository's commit would."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in",
                 ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hooks)
    shutil.copytree(ROOT / "sphinxext_rabbit", hooks / "sphinxext_rabbit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _git(hooks, "init", "-q")
    _git(hooks, "add", ".")
    _git(hooks, "commit", "-q", "-m", "hooks")

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "sample_docs" / "broker" / "definitions.json", project / "good.json")
    shutil.copy(FIXTURES / "broken.json", project / "broken.json")
    _git(project, "init", "-q")
    _git(project, "add", ".")

    def try_repo(file: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(hooks),
             "sphinxext-rabbit-check", "--files", file],
            cwd=project, capture_output=True, text=True,
            # pip keeps its own cache, so only the first run downloads the dependencies
            env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")})

    good = try_repo("good.json")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    broken = try_repo("broken.json")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Failed" in broken.stdout
    assert "broken.json:" in broken.stdout and "error: not valid JSON" in broken.stdout
