"""Start the port in the current directory as its port.toml says (`make run PORT=name`), printing its URL."""

import os
import sys
import tomllib


def main(host: str, port: str) -> None:
    """Exec the first [[start]] command with {host} and {port} filled in and the port's [env] set."""
    with open("port.toml", "rb") as manifest:
        data = tomllib.load(manifest)
    command = [part.replace("{host}", host).replace("{port}", port) for part in data["start"][0]["command"]]
    for key, value in data.get("env", {}).items():
        os.environ.setdefault(key, str(value))  # the caller's environment wins: DATABASE_URL=... make run
    print(f"{data['name']} on http://{host}:{port}/ (the live page; /docs the API), Ctrl-C stops", flush=True)
    os.execv(command[0], command)  # the server replaces this process, so Ctrl-C and SIGTERM reach it


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
