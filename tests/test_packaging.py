"""Packaging: the tutorial notebooks ship in the wheel, ``sm-magics tutorials`` copies them out, and a
source build without Node.js stops with one line.

The wheel is built for real (pip and the project's own build backend, from a copy of the working
tree holding every file git would commit, plus the already built panel), unpacked, and the
``sm-magics`` command is run from it, so what is tested is what ``pip install`` would give.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
PANEL = REPO / "sm_magics" / "labextension"


def shipped_notebooks() -> list[str]:
    """Every notebook of the repository, as a path under notebooks/: what the wheel must hold."""
    return sorted(str(p.relative_to(NOTEBOOKS)) for p in NOTEBOOKS.glob("*/*.ipynb"))


def source_copy(target: Path, *, panel: bool = True) -> Path:
    """The files git would put in a commit (tracked, and untracked but not ignored), plus the built panel."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if name.startswith("sm_magics/labextension") or not source.is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    if panel:
        shutil.copytree(PANEL, target / "sm_magics" / "labextension", symlinks=False)  # so the build hook does not rebuild it
    return target


def pip_wheel(source: Path, dist: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)]
    if importlib.util.find_spec("hatchling") and importlib.util.find_spec("hatch_jupyter_builder"):
        command.insert(4, "--no-build-isolation")  # the backend is here: no download
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (PANEL / "static" / "style.js").is_file():
        pytest.skip("the panel is not built (./scripts/setup builds it)")
    root = tmp_path_factory.mktemp("wheel")
    source = source_copy(root / "src")
    # a Jupyter checkpoint lying next to the notebooks must not ship
    (source / "notebooks" / "en" / ".ipynb_checkpoints").mkdir()
    (source / "notebooks" / "en" / ".ipynb_checkpoints" / "01_kmeans_mnist-checkpoint.ipynb").write_text("{}")
    built = pip_wheel(source, root / "dist")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (path,) = (root / "dist").glob("sm_magics-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked as pip would lay out its purelib: a directory to put on PYTHONPATH."""
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def sm_magics(args: list[str], cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(pythonpath)
    code = "import sys, sm_magics.cli; sys.exit(sm_magics.cli.main())"  # what the sm-magics console script runs
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_holds_every_notebook_and_no_checkpoint(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    shipped = sorted(n.removeprefix("sm_magics/notebooks/") for n in names if n.startswith("sm_magics/notebooks/") and n.endswith(".ipynb"))
    assert shipped == shipped_notebooks()
    assert {"en/01_kmeans_mnist.ipynb", "fr/01_kmeans_mnist.ipynb", "zh-TW/02_linear_learner_zero_or_not.ipynb"} <= set(shipped)
    assert "sm_magics/notebooks/README.md" in names
    assert not [n for n in names if "checkpoint" in n]
    assert "sm_magics/tutorials.py" in names and "sm_magics/cli.py" in names


def test_tutorials_copies_every_language_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    done = sm_magics(["tutorials", "mine"], tmp_path, installed)
    assert done.returncode == 0, done.stderr
    copied = sorted(str(p.relative_to(tmp_path / "mine")) for p in (tmp_path / "mine").rglob("*.ipynb"))
    assert copied == shipped_notebooks()
    for name in copied:
        assert (tmp_path / "mine" / name).read_bytes() == (NOTEBOOKS / name).read_bytes()
    assert (tmp_path / "mine" / "README.md").is_file()
    lines = done.stdout.splitlines()
    assert len(lines) == len(copied) + 2  # one line per file (the notebooks and the README), then a summary
    assert lines[-1] == f"{len(copied)} notebooks in mine; open them with: jupyter lab mine"


def test_tutorials_refuses_to_overwrite_unless_forced(installed: Path, tmp_path: Path) -> None:
    assert sm_magics(["tutorials", "mine", "--lang", "fr"], tmp_path, installed).returncode == 0
    mine = tmp_path / "mine" / "01_kmeans_mnist.ipynb"
    mine.write_text("my own edits")
    refused = sm_magics(["tutorials", "mine", "--lang", "fr"], tmp_path, installed)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert mine.read_text() == "my own edits"  # nothing overwritten
    forced = sm_magics(["tutorials", "mine", "--lang", "fr", "--force"], tmp_path, installed)
    assert forced.returncode == 0
    assert mine.read_bytes() == (NOTEBOOKS / "fr" / "01_kmeans_mnist.ipynb").read_bytes()


def test_tutorials_in_one_language_and_a_wrong_one(installed: Path, tmp_path: Path) -> None:
    done = sm_magics(["tutorials", "--lang", "zh-TW"], tmp_path, installed)
    assert done.returncode == 0, done.stderr
    default = tmp_path / "sm-magics-tutorials"
    assert sorted(p.name for p in default.iterdir()) == sorted(p.name for p in (NOTEBOOKS / "zh-TW").glob("*.ipynb"))
    wrong = sm_magics(["tutorials", "elsewhere", "--lang", "de"], tmp_path, installed)
    assert wrong.returncode == 2 and wrong.stderr == "sm-magics tutorials: no tutorials in 'de'; choose one of: en, fr, zh-TW\n"
    assert not (tmp_path / "elsewhere").exists()  # nothing half-created


def test_tutorials_into_a_file_is_one_line(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    done = sm_magics(["tutorials", "taken"], tmp_path, installed)
    assert done.returncode == 2 and done.stderr == "sm-magics tutorials: taken exists and is not a folder\n"


def test_tutorials_from_a_source_checkout(tmp_path: Path) -> None:
    """Installed in development mode, the package finds the repository's notebooks/."""
    done = sm_magics(["tutorials", "out", "--lang", "en"], tmp_path, REPO)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in (NOTEBOOKS / "en").glob("*.ipynb"))


def test_a_source_build_without_node_says_so_in_one_line(tmp_path: Path) -> None:
    """No panel built yet and no ``node`` on PATH: the build hook's one line, no traceback, no wheel."""
    source = source_copy(tmp_path / "src", panel=False)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}  # pip runs the backend with its own interpreter; only node is looked up
    env.pop("SKIP_JUPYTER_BUILDER", None)
    built = pip_wheel(source, tmp_path / "dist", env)
    output = built.stdout + built.stderr
    assert built.returncode != 0 and not list(tmp_path.glob("dist/*.whl"))
    said = [line.strip() for line in output.splitlines() if line.strip().startswith("sm_magics:")]
    assert said == ["sm_magics: building from source compiles the JupyterLab panel, which needs Node.js 20 or later "
                    "(no `node` on PATH); install it (Debian/Ubuntu: apt install nodejs), or install sm_magics from its wheel"]
    assert "Traceback" not in output
