"""The gateway scenario's nginx main context: deploy/nginx/main.local.conf.in, every placeholder filled."""

import re
from pathlib import Path

from tasks_bench import gateway


def test_main_conf_fills_every_placeholder(tmp_path: Path) -> None:
    text = gateway.main_conf(tmp_path)
    assert not re.search(r"@[A-Z_]+@", text)
    assert f"pid {tmp_path}/nginx.pid;" in text
    assert f"error_log {tmp_path}/error.log warn;" in text
    assert f"include {gateway.GATEWAY_CONF};" in text


def test_write_config_writes_the_three_files(tmp_path: Path) -> None:
    main = gateway.write_config(tmp_path / "gw", ["127.0.0.1:9001", "127.0.0.1:9002"], 9000)
    assert main.read_text() == gateway.main_conf(tmp_path / "gw")
    assert (
        tmp_path / "gw" / "upstreams.conf"
    ).read_text() == "server 127.0.0.1:9001;\nserver 127.0.0.1:9002;\n"
    assert (tmp_path / "gw" / "listen.conf").read_text().startswith("listen ")
