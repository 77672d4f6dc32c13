"""The vocabulary check: a port's tasks_api/ against vocabulary.toml and its README's exceptions."""

from pathlib import Path

import pytest
from concordance.model import PortDir

from concordance import cli, vocabulary

VOCABULARY = {"__init__.py": "the package", "app.py": "the app", "views/__init__.py": "the handlers"}


def make_port(root: Path, files: list[str], readme: str = "", name: str = "demo") -> PortDir:
    directory = root / f"impl-{name}"
    for path in files:
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_text("")
    (directory / "README.md").write_text(readme)
    (directory / "port.toml").write_text(f'name = "{name}"\n[[start]]\nname = "x"\ncommand = ["x"]\n')
    return PortDir(name, directory)


def check(port: PortDir) -> list[str]:
    return vocabulary.port_problems(port, VOCABULARY)


SHARED = ["tasks_api/__init__.py", "tasks_api/app.py", "tasks_api/views/__init__.py"]


def test_a_port_with_exactly_the_vocabulary_passes(tmp_path):
    assert check(make_port(tmp_path, SHARED)) == []


def test_an_unlisted_extra_module_fails_naming_port_and_file(tmp_path):
    port = make_port(tmp_path, [*SHARED, "tasks_api/http.py"])
    [problem] = check(port)
    assert problem.startswith("demo: tasks_api/http.py is not in the vocabulary")
    assert "impl-demo/README.md" in problem


def test_a_missing_vocabulary_module_fails(tmp_path):
    port = make_port(tmp_path, ["tasks_api/__init__.py", "tasks_api/views/__init__.py"])
    [problem] = check(port)
    assert problem.startswith("demo: tasks_api/app.py is missing (the app)")
    assert "- no `tasks_api/app.py`: where instead" in problem


def test_readme_exceptions_make_the_difference_legal(tmp_path):
    readme = """# impl-demo

## Framework-specific files

- `tasks_api/apps.py`: the framework's app registry wants it
- `tasks_api/backends/sqlite3/base.py`: the database backend with our pragmas
- `tasks_project/settings.py`: outside tasks_api/, only checked to exist
- no `tasks_api/app.py`: the framework's wsgi.py builds the application

## Next section

- `tasks_api/other.py`: not in the section, so not an exception
"""
    files = [
        "tasks_api/__init__.py",
        "tasks_api/views/__init__.py",
        "tasks_api/apps.py",
        "tasks_api/backends/sqlite3/base.py",
        "tasks_project/settings.py",
    ]
    assert check(make_port(tmp_path, files, readme)) == []


def test_a_bullet_outside_the_section_is_no_exception(tmp_path):
    readme = "## Other\n\n- `tasks_api/http.py`: listed in the wrong section\n"
    port = make_port(tmp_path, [*SHARED, "tasks_api/http.py"], readme)
    assert [p for p in check(port) if "tasks_api/http.py is not in the vocabulary" in p]


def test_stale_readme_entries_fail(tmp_path):
    readme = """## Framework-specific files

- `tasks_api/gone.py`: listed, but deleted since
- no `tasks_api/app.py`: says absent, but the file exists
- `tasks_api/app.py`: a vocabulary module listed as framework-specific
- no `tasks_api/never.py`: not a vocabulary module
- tasks_api/plain.py without backticks
"""
    problems = check(make_port(tmp_path, SHARED, readme))
    joined = "\n".join(problems)
    assert "tasks_api/gone.py is listed as framework-specific but missing" in joined
    assert "tasks_api/app.py is listed as absent (`no`) but exists" in joined
    assert "tasks_api/app.py is in the vocabulary; do not list it" in joined
    assert "`no tasks_api/never.py` names a file outside the vocabulary" in joined
    assert "not a `- `path`: why`" in joined
    assert len(problems) == 5


def test_caches_and_non_python_files_are_ignored(tmp_path):
    port = make_port(tmp_path, [*SHARED, "tasks_api/static/app.js", "tasks_api/__pycache__/x.py"])
    assert check(port) == []


def test_the_shipped_vocabulary_loads():
    modules = vocabulary.load_vocabulary()
    assert "__init__.py" in modules
    assert "errors.py" in modules
    assert all(name.endswith(".py") for name in modules)


def test_concordance_check_fails_on_a_deliberate_violation(tmp_path, monkeypatch, capsys):
    """End to end: `concordance check --root` on a repository whose one port has a stray module."""
    monkeypatch.setattr(vocabulary, "load_vocabulary", lambda path=None: VOCABULARY)
    monkeypatch.setattr(cli, "load_fundamentals", lambda: ([], []))
    make_port(tmp_path, [*SHARED, "tasks_api/stray.py"])
    assert cli.main(["--root", str(tmp_path), "check"]) == 1
    assert "vocabulary: demo: tasks_api/stray.py is not in the vocabulary" in capsys.readouterr().err
    (tmp_path / "impl-demo" / "tasks_api" / "stray.py").unlink()
    assert cli.main(["--root", str(tmp_path), "check"]) == 0


@pytest.mark.parametrize("heading", ["## Framework-specific files", "## Framework-specific files  "])
def test_the_section_heading_tolerates_trailing_spaces(tmp_path, heading):
    readme = f"{heading}\n\n- `tasks_api/extra.py`: why\n"
    assert check(make_port(tmp_path, [*SHARED, "tasks_api/extra.py"], readme)) == []
