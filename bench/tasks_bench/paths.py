"""Where the repository, the bare apps, the wrk script and the results live."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = BENCH_DIR.parent
APPS_DIR = BENCH_DIR / "apps"
LUA_SCRIPT = BENCH_DIR / "lua" / "request.lua"
RESULTS_DIR = BENCH_DIR / "results"
SPEC_DIR = REPO_ROOT / "spec"
WEB_DIR = REPO_ROOT / "web"
# The servers of the bare apps come from the ports' own virtualenvs: the same builds the ports run on.
WSGI_VENV = REPO_ROOT / "impl-raw-wsgi" / ".venv"
ASGI_VENV = REPO_ROOT / "impl-fastapi" / ".venv"
# granian is no port's server any more (it cannot meet the spec's HTTP/1.1 framing rows), so its ceilings
# run from the bench's own virtualenv.
BENCH_VENV = BENCH_DIR / ".venv"
