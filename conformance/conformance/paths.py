"""Where the suite's own files and the repository's spec live."""

from pathlib import Path

CONFORMANCE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = CONFORMANCE_DIR.parent
SPEC_DIR = REPO_ROOT / "spec"
WEB_DIR = REPO_ROOT / "web"
SCHEMATHESIS_CONFIG = CONFORMANCE_DIR / "schemathesis.toml"
BEHAVIOUR_TESTS = CONFORMANCE_DIR / "tests" / "behaviour"
TRANSPORT_TESTS = CONFORMANCE_DIR / "tests" / "transport"
FAULTS_TESTS = CONFORMANCE_DIR / "tests" / "faults"
DEFAULT_REPORT_DIR = REPO_ROOT / "reports"

# The key the spec documents as the default; the matrix passes its own to server and suite alike.
DEFAULT_SECRET_KEY = "insecure-dev-secret-change-me"


def behaviour_modules() -> list[str]:
    """Names of the behaviour modules, one matrix row each, known even when pytest cannot run."""
    return sorted(path.stem for path in BEHAVIOUR_TESTS.glob("test_*.py"))


def faults_modules() -> list[str]:
    """Names of the faults experiments (tests/faults/test_*.py), one matrix row each."""
    return sorted(path.stem for path in FAULTS_TESTS.glob("test_*.py"))
