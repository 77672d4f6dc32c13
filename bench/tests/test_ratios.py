"""The report's math: ratios to hello, nginx and the floor; the gateway's expectations; the targets."""

import pytest

from tasks_bench import tables
from tasks_bench.summary import Summary, add_ratios


def cell(variant, group, server, scenario, rps, database="", connections=64, failed=False):
    return Summary(
        key=f"{variant} {scenario} c{connections}",
        variant=variant,
        group=group,
        server=server,
        scenario=scenario,
        connections=connections,
        runs=1,
        kept=1,
        failed=failed,
        all_disturbed=False,
        rps=rps,
        database=database,
    )


def test_a_port_gets_its_own_hello_nginx_and_floor_of_the_same_database():
    summaries = [
        cell("nginx", "ceiling", "nginx", "hello", 10000),
        cell("hello:gunicorn-gthread", "ceiling", "gunicorn-gthread", "hello", 5000),
        cell("floor:gunicorn-gthread", "floor", "gunicorn-gthread", "get_task", 2000, "sqlite"),
        cell("floor:gunicorn-gthread@pg", "floor", "gunicorn-gthread", "get_task", 4000, "postgres"),
        cell("flask:gunicorn", "port", "gunicorn-gthread", "get_task", 1000, "sqlite"),
        cell("flask:gunicorn@pg", "port", "gunicorn-gthread", "get_task", 1000, "postgres"),
    ]
    add_ratios(summaries)
    sqlite, postgres = summaries[4], summaries[5]
    assert sqlite.vs_hello == pytest.approx(0.2)
    assert sqlite.vs_nginx == pytest.approx(0.1)
    assert sqlite.vs_floor == pytest.approx(0.5)
    assert sqlite.floor == "floor:gunicorn-gthread"
    assert postgres.vs_floor == pytest.approx(0.25)
    assert summaries[2].vs_hello == pytest.approx(0.4)  # a floor against its hello
    assert summaries[2].vs_floor is None


def test_the_faster_floor_of_a_family_is_the_limit_and_a_failed_one_never():
    summaries = [
        cell("floor:gunicorn-uvicorn", "floor", "gunicorn-uvicorn", "get_task", 1000, "sqlite"),
        cell("floor:gunicorn-uvicorn-async", "floor", "gunicorn-uvicorn", "get_task", 1600, "sqlite"),
        cell("floor:x", "floor", "gunicorn-uvicorn", "get_task", 9000, "sqlite", failed=True),
        cell("fastapi:gunicorn-uvicorn", "port", "gunicorn-uvicorn", "get_task", 800, "sqlite"),
    ]
    add_ratios(summaries)
    assert summaries[3].vs_floor == pytest.approx(0.5)
    assert summaries[3].floor == "floor:gunicorn-uvicorn-async"


def test_a_304_is_compared_with_the_floors_304_and_other_connections_never():
    summaries = [
        cell("floor:gunicorn-gthread", "floor", "gunicorn-gthread", "get_task_304", 3000, "sqlite"),
        cell("floor:gunicorn-gthread", "floor", "gunicorn-gthread", "get_task", 2000, "sqlite"),
        cell("raw-wsgi:gunicorn", "port", "gunicorn-gthread", "get_task_304", 1500, "sqlite"),
        cell("raw-wsgi:gunicorn", "port", "gunicorn-gthread", "get_task", 1000, "sqlite", connections=1),
    ]
    add_ratios(summaries)
    assert summaries[2].vs_floor == pytest.approx(0.5)
    assert summaries[3].vs_floor is None


def as_dict(summary):
    from dataclasses import asdict

    return {**asdict(summary), "order": 0}


def test_the_gateway_against_the_sum_and_the_one_core_expectation():
    ports = [
        cell(f"p{i}:s@pg", "port", "gunicorn-gthread", "get_task", rps, "postgres")
        for i, rps in enumerate([1000, 500, 1000, 500])
    ]
    gateway = cell("gateway:4-ports", "gateway", "gateway", "get_task", 600, "postgres")
    [row] = tables.gateway_rows([as_dict(c) for c in [*ports, gateway]])
    assert row["sum"] == 3000
    # One core shared evenly: each request costs 1/1000 or 1/500 s, so 4 requests take 6 ms.
    assert row["one_core"] == pytest.approx(4 / (2 / 1000 + 2 / 500))
    assert row["vs_sum"] == pytest.approx(0.2)
    assert row["vs_one_core"] == pytest.approx(600 / row["one_core"])


def test_targets_raw_wsgi_needs_60_percent_of_hello_the_others_40():
    summaries = [
        cell("hello:gunicorn-gthread", "ceiling", "gunicorn-gthread", "hello", 1000),
        cell("floor:gunicorn-gthread", "floor", "gunicorn-gthread", "get_task", 900, "sqlite"),
        cell("raw-wsgi:gunicorn", "port", "gunicorn-gthread", "get_task", 500, "sqlite"),
        cell("flask:gunicorn", "port", "gunicorn-gthread", "get_task", 500, "sqlite"),
    ]
    add_ratios(summaries)
    rows = {t["variant"]: t for t in tables.targets([as_dict(s) for s in summaries])}
    assert rows["raw-wsgi:gunicorn"]["read_hello_ok"] is False
    assert rows["flask:gunicorn"]["read_hello_ok"] is True
    assert rows["flask:gunicorn"]["read_floor_ok"] is True  # 500 / 900 = 56%


def test_a_run_without_a_response_is_left_out_and_noted_and_all_such_runs_fail_the_cell():
    from pathlib import Path

    from tasks_bench.measure import Run
    from tasks_bench.plan import Cell
    from tasks_bench.scenarios import Scenario
    from tasks_bench.servers import Variant
    from tasks_bench.summary import summarize

    def run(requests):
        return Run(requests, 1.0, float(requests), 1.0, 2.0, {"200": requests}, {}, 0, 100.0, 0.0, None)

    cell_ = Cell(
        Variant("p:s", "port", "gunicorn-gthread", [], Path("."), 1), Scenario("r", "GET", "/"), 64, 1
    )
    some = summarize(cell_, [run(0), run(10), run(30)], 0.25)
    assert not some.failed
    assert some.rps == 20
    assert some.notes == ["no response"]
    assert summarize(cell_, [run(0), run(0)], 0.25).failed
