"""Generate the client with openapi-python-client; fail on any warning, dropped schema or Any-typed field."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parent.parent
REPO = CLIENT_DIR.parent
SPEC = REPO / "spec" / "openapi.yaml"
CONFIG = CLIENT_DIR / "generator.yaml"
BUILD = CLIENT_DIR / "build"  # git-ignored (client/.gitignore): generated code is never committed
PACKAGE = "tasks_api_client"
OUTPUT = BUILD / PACKAGE
GENERATOR = "openapi-python-client"
TIMEOUT = 300.0

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The first line of each block the generator prints for something it skipped, could not type or dropped
# (openapi_python_client/cli.py prints a header per GeneratorError, then its detail and data).
BLOCK_HEADER = re.compile(
    r"^(WARNING |ERROR |Unable to |Enum values |Unsupported |Conflicting |Found conflicting |"
    r"invalid data |Endpoint requires |Skipping |Failed to |Invalid (JSON|YAML) )"
)
BANNER = "encountered while generating"  # "Warning(s) encountered ..." / "Error(s) encountered ..."
DROPPED_INTRO = "Failure to process schema has resulted in the removal of:"
# An attribute of a generated model typed Any: a schema the generator gave up typing (not a warning).
ANY_FIELD = re.compile(r"^    (?!additional_properties\b)(\w+): (.*\bAny\b.*?)(?: = .*)?$")


@dataclass
class Report:
    """What one generator run said and produced."""

    returncode: int
    output: str
    warnings: list[str]  # the header line of each warning or error block
    dropped: list[str]  # schemas the generator removed (/components/schemas/...)
    unexpected: list[str]  # any other line the generator printed
    any_fields: list[str]  # module.attribute: annotation, for each model attribute typed Any
    models: int
    operations: int
    seconds: float

    @property
    def ok(self) -> bool:
        """True when the generator exited 0, said nothing but "Generating", and typed every field."""
        problems = self.warnings or self.dropped or self.unexpected or self.any_fields
        return self.returncode == 0 and not problems

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"{len(self.warnings)} warning(s), {len(self.dropped)} dropped schema(s), "
            f"{len(self.any_fields)} Any-typed field(s); {self.models} models, {self.operations} operations "
            f"in {self.seconds:.1f} s"
        )


def parse_output(text: str) -> tuple[list[str], list[str], list[str]]:
    """(warning headers, dropped schemas, unclassified lines) from the generator's combined output."""
    lines = [ANSI.sub("", line).rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("Generating ")]
    warnings = [line for line in lines if BLOCK_HEADER.match(line.lstrip())]
    dropped: list[str] = []
    for index, line in enumerate(lines):
        if line.strip() == DROPPED_INTRO:
            for name in lines[index + 1 :]:
                if not name.strip().startswith("/"):
                    break
                dropped.append(name.strip())
    # Anything printed without a block we recognise is still a failure: never pass on unread output.
    recognised = bool(warnings) or any(BANNER in line for line in lines)
    unexpected = [] if recognised else lines
    return warnings, dropped, unexpected


def any_typed_fields(package: Path) -> list[str]:
    """`module.attribute: annotation` for every generated model attribute whose type mentions Any."""
    found = []
    for module in sorted((package / "models").glob("*.py")):
        for line in module.read_text(encoding="utf-8").splitlines():
            match = ANY_FIELD.match(line)
            if match:
                found.append(f"{module.stem}.{match[1]}: {match[2]}")
    return found


def generator_version() -> str:
    """The installed generator's version (pinned in client/uv.lock)."""
    from importlib.metadata import version

    return version(GENERATOR)


def generate(spec: Path = SPEC, output: Path = OUTPUT) -> Report:
    """Run the generator on `spec` into `output` (replaced) and read what it said."""
    executable = Path(sys.executable).parent / GENERATOR
    argv = [str(executable), "generate", "--path", str(spec), "--meta", "none", "--config", str(CONFIG)]
    argv += ["--output-path", str(output), "--overwrite", "--fail-on-warning"]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
    started = time.monotonic()
    completed = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False, cwd=CLIENT_DIR
    )
    seconds = time.monotonic() - started
    output_text = completed.stdout + completed.stderr
    warnings, dropped, unexpected = parse_output(output_text)
    exists = (output / "models").is_dir()
    return Report(
        returncode=completed.returncode,
        output=output_text,
        warnings=warnings,
        dropped=dropped,
        unexpected=unexpected,
        any_fields=any_typed_fields(output) if exists else [],
        models=len(list((output / "models").glob("[!_]*.py"))) if exists else 0,
        operations=len(list((output / "api").glob("*/[!_]*.py"))) if exists else 0,
        seconds=seconds,
    )


def check(spec: Path = SPEC, output: Path = OUTPUT) -> bool:
    """Generate, print a summary (and on failure everything the generator said); True when clean."""
    report = generate(spec, output)
    where = output.relative_to(REPO) if output.is_relative_to(REPO) else output
    print(f"== client: {GENERATOR} {generator_version()} on {spec.name} -> {where}: {report.summary()}")
    if report.ok:
        return True
    print(report.output.rstrip())
    for title, items in (
        ("warnings", report.warnings),
        ("dropped schemas", report.dropped),
        ("unexpected output", report.unexpected),
        ("fields typed Any", report.any_fields),
    ):
        if items:
            print(f"-- {title} ({len(items)}):")
            print("\n".join(f"   {item}" for item in items))
    print(
        f"client: the generator exited {report.returncode}; the spec must generate with no warning, "
        "no dropped schema and no field typed Any (client/README.md)"
    )
    return False
