"""portfile: port.toml parsed once, the same way for every tool."""

from pathlib import Path

import pytest

import portfile

REPO_ROOT = Path(__file__).resolve().parents[2]

MANIFEST = """\
name = "demo"
setup = [["uv", "sync", "--frozen"]]

[env]
WEB_CONCURRENCY = 2

[[start]]
name = "gunicorn"
command = [".venv/bin/gunicorn", "--bind", "{host}:{port}", "app:application"]

[[start]]
name = "other"
command = ["serve", "{port}"]
"""


def write(root: Path, directory: str, text: str) -> Path:
    manifest = root / directory / "port.toml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(text)
    return manifest


def test_load_reads_every_field(tmp_path):
    port = portfile.load(write(tmp_path, "impl-demo", MANIFEST))
    assert port.name == "demo"
    assert port.directory == tmp_path / "impl-demo"
    assert port.ready == "/readyz"
    assert port.setup == [["uv", "sync", "--frozen"]]
    assert port.env == {"WEB_CONCURRENCY": "2"}
    assert [start.name for start in port.starts] == ["gunicorn", "other"]
    assert port.starts[0].argv("127.0.0.1", 8000) == [
        ".venv/bin/gunicorn",
        "--bind",
        "127.0.0.1:8000",
        "app:application",
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('name = "x"\n', "no \\[\\[start\\]\\] entry"),
        ("ready = '/'\n", "no name"),
        ("name = \n", "port.toml"),
    ],
)
def test_a_broken_manifest_is_a_value_error_naming_the_file(tmp_path, text, why):
    with pytest.raises(ValueError, match=why):
        portfile.load(write(tmp_path, "impl-x", text))


def test_discover_sorts_by_name_and_filters(tmp_path):
    write(tmp_path, "impl-b", MANIFEST.replace('"demo"', '"zeta"'))
    write(tmp_path, "impl-a", MANIFEST.replace('"demo"', '"alpha"'))
    write(tmp_path, "other", MANIFEST)  # not impl-*: not a port
    assert [port.name for port in portfile.discover(tmp_path)] == ["alpha", "zeta"]
    assert [port.name for port in portfile.discover(tmp_path, ["zeta"])] == ["zeta"]
    with pytest.raises(ValueError, match="unknown port\\(s\\): nope; known: alpha, zeta"):
        portfile.discover(tmp_path, ["nope"])


def test_the_repository_ports_load():
    ports = portfile.discover(REPO_ROOT)
    assert ports, "no impl-*/port.toml in the repository"
    assert all(port.starts for port in ports)
