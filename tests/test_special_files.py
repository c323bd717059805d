"""Only regular files are read: a FIFO, a device, a socket or a folder where a file is
expected is refused with a message naming it, at once (a FIFO would block for ever,
/dev/zero never ends); and a folder source reads no file that leads out of the folders
a build may read.

Every run has a timeout: a hang fails the test instead of the test run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, ROOT, page_text, shown_type

#: seconds any of these runs may take; reading a FIFO would block until killed
TIMEOUT = 60
NOT_A_FILE = "cannot read it: it is {kind}, and only regular files are read"


def check(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sphinxext_rabbit", "check", *args],
                          capture_output=True, text=True, cwd=ROOT, check=False,
                          timeout=TIMEOUT, stdin=stdin)


def definitions(queue: str) -> str:
    return json.dumps({"queues": [{"name": queue, "vhost": "/", "durable": True,
                                   "auto_delete": False, "arguments": {}}]})


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "definitions.json"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path):
    path = tmp_path / "broker.json"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))
        yield path


# -- the command line -------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [
    ("fifo", "a FIFO (named pipe)"), ("/dev/zero", "a character device"),
    ("/dev/null", "a character device"), ("unix_socket", "a socket")])
def test_a_source_that_is_no_regular_file_is_one_message(name: str, kind: str, request):
    path = str(request.getfixturevalue(name)) if name.isidentifier() else name
    completed = check(path)
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == f"{path}: error: {NOT_A_FILE.format(kind=kind)} [rabbitmq.io]\n"


def test_stdin_is_read_when_it_is_a_file_and_refused_when_it_is_a_pipe():
    with open(FIXTURES / "export-3.7.json", "rb") as export:
        assert check("/dev/stdin", stdin=export.fileno()).returncode == 0
    completed = check("/dev/stdin", stdin=subprocess.PIPE)  # a pipe nobody writes to
    assert completed.returncode == 1
    refused = NOT_A_FILE.format(kind="a FIFO (named pipe)")
    assert completed.stderr == f"/dev/stdin: error: {refused} [rabbitmq.io]\n"


def test_a_folder_reads_its_files_and_refuses_what_is_no_file(tmp_path: Path):
    folder = tmp_path / "broker"
    folder.mkdir()
    # a file read tells by its own problem: a field no export has
    (folder / "a.json").write_text(definitions("orders.created").replace(
        '"durable"', '"durabel": true, "durable"'), encoding="utf-8")
    os.mkfifo(folder / "b.json")
    os.symlink("/dev/zero", folder / "c.json")
    (folder / "d.json").mkdir()  # a subfolder: not read, as any other
    completed = check(str(folder))
    assert completed.stderr == (
        f"{folder}/a.json:1: warning: queues[0] has an unknown field 'durabel' "
        "[rabbitmq.unknown-field]\n"
        f"{folder}/b.json: error: {NOT_A_FILE.format(kind='a FIFO (named pipe)')} "
        "[rabbitmq.io]\n"
        f"{folder}/c.json: error: {NOT_A_FILE.format(kind='a character device')} "
        "[rabbitmq.io]\n")
    assert completed.returncode == 1


# -- a Sphinx build -------------------------------------------------------------------------------

def project(root: Path, pages: dict[str, str], **conf: object) -> Path:
    root.mkdir(parents=True)
    settings = {"extensions": ["sphinxext_rabbit"], **conf}
    (root / "conf.py").write_text("".join(f"{key} = {value!r}\n"
                                          for key, value in settings.items()), encoding="utf-8")
    toctree = "".join(f"   {name}\n" for name in pages)
    (root / "index.rst").write_text(f"Files\n=====\n\n.. toctree::\n\n{toctree}",
                                    encoding="utf-8")
    for name, source in pages.items():
        (root / f"{name}.rst").write_text(
            f"{name}\n{'=' * len(name)}\n\n.. rabbitmq-topology:: {source}\n   :show: diagram, "
            "queues\n", encoding="utf-8")
    return root


def build(srcdir: Path) -> tuple[list[str], Path]:
    """Build in a process of its own, with a timeout: the warnings, and the HTML folder."""
    outdir = srcdir / "_build"
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-N", "-E", str(srcdir), str(outdir)],
        capture_output=True, text=True, check=False, timeout=TIMEOUT)
    assert completed.returncode == 0, completed.stderr
    return completed.stderr.splitlines(), outdir


def test_a_build_refuses_a_fifo_and_a_device_and_draws_the_rest(tmp_path: Path):
    srcdir = tmp_path / "src"
    pages = {"fifo": "broker.json", "zero": os.path.relpath("/dev/zero", srcdir),
             "good": "good.json"}
    project(srcdir, pages, rabbitmq_topology_allowed_dirs=["/dev"])
    os.mkfifo(srcdir / "broker.json")
    (srcdir / "good.json").write_text(definitions("orders.created"), encoding="utf-8")
    warnings, outdir = build(srcdir)
    assert sorted(warnings) == [
        f"{srcdir}/fifo.rst:4: WARNING: broker.json: "
        f"{NOT_A_FILE.format(kind='a FIFO (named pipe)')}" + shown_type("io"),
        f"{srcdir}/zero.rst:4: WARNING: {pages['zero']}: "
        f"{NOT_A_FILE.format(kind='a character device')}" + shown_type("io")]
    assert "orders.created" in page_text((outdir / "good.html").read_text(encoding="utf-8"))


def test_a_link_in_a_folder_to_a_file_outside_the_source_directory_is_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(definitions("outside.secret"), encoding="utf-8")
    srcdir = project(tmp_path / "src", {"broker": "broker"})
    folder = srcdir / "broker"
    folder.mkdir()
    (folder / "a.json").write_text(definitions("orders.created"), encoding="utf-8")
    os.symlink(outside / "secret.json", folder / "b.json")
    # a link that stays inside is read as its target is
    (srcdir / "shared.json").write_text(definitions("orders.shared"), encoding="utf-8")
    os.symlink("../shared.json", folder / "c.json")
    warnings, outdir = build(srcdir)
    assert warnings == [
        f"{srcdir}/broker.rst:4: WARNING: broker/b.json: it leads out of the folders "
        "definitions may be read from (the source directory and "
        "rabbitmq_topology_allowed_dirs); not read" + shown_type("path")]
    html = page_text((outdir / "broker.html").read_text(encoding="utf-8"))
    assert "orders.created" in html and "orders.shared" in html
    assert "outside.secret" not in html

    # rabbitmq_topology_allowed_dirs lets it in
    conf = srcdir / "conf.py"
    conf.write_text(conf.read_text() + "rabbitmq_topology_allowed_dirs = ['../outside']\n",
                    encoding="utf-8")
    warnings, outdir = build(srcdir)
    assert warnings == []
    assert "outside.secret" in page_text((outdir / "broker.html").read_text(encoding="utf-8"))


def test_a_link_out_of_a_folder_of_saved_api_output_is_not_read(tmp_path: Path):
    outside = tmp_path / "outside"
    shutil.copytree(FIXTURES / "api" / "endpoints", outside)
    srcdir = project(tmp_path / "src", {"api": "api"})
    folder = srcdir / "api"
    folder.mkdir()
    for endpoint in outside.iterdir():
        if endpoint.name == "queues.json":
            os.symlink(endpoint, folder / endpoint.name)
        else:
            shutil.copy(endpoint, folder / endpoint.name)
    warnings, outdir = build(srcdir)
    refused = [w for w in warnings if "it leads out of the folders" in w]
    assert refused == [
        f"{srcdir}/api.rst:4: WARNING: api/queues.json: it leads out of the folders "
        "definitions may be read from (the source directory and "
        "rabbitmq_topology_allowed_dirs); not read" + shown_type("path")]
    # the other files are read: the bindings reach queues that only the link declares
    text = page_text((outdir / "api.html").read_text(encoding="utf-8"))
    assert "Queues (as of" in text
    assert f"{srcdir}/api.rst:4: WARNING: api (vhost 'mgmt-fixture'): a binding from 'orders' " \
        "to 'orders.created' refers to queue 'orders.created', which is not declared" \
        + shown_type("dangling") in warnings
    assert re.search(r"orders\.created\s+\(missing\)", text)
