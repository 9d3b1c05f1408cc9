"""``sluice cluster …`` through CliRunner, with the config file in a temporary folder."""

import json
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from sluice.cli.config import CONFIG_ENV
from sluice.cli.main import app


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "config.yaml"


def sluice(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args], input=stdin)


def stored(config: Path) -> dict[str, object]:
    data = yaml.safe_load(config.read_text())
    assert isinstance(data, dict)
    return data


def test_first_cluster_added_is_the_default(config: Path) -> None:
    result = sluice(config, "cluster", "add", "local", "http://127.0.0.1:8080", "oscar", "pw")
    assert result.exit_code == 0, result.output
    assert "added cluster 'local' (default)" in result.stdout
    assert stored(config) == {
        "oscar": {
            "local": {
                "endpoint": "http://127.0.0.1:8080",
                "auth_user": "oscar",
                "auth_password": "pw",
                "ssl_verify": True,
            }
        },
        "default": "local",
    }


def test_file_is_private(config: Path) -> None:
    sluice(config, "cluster", "add", "local", "http://h:1", "u", "p")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700


def test_password_from_stdin_and_disable_ssl(config: Path) -> None:
    args = ["cluster", "add", "remote", "https://r:443", "u", "--password-stdin", "--disable-ssl"]
    assert sluice(config, *args, stdin="s3cret\n").exit_code == 0
    entry = stored(config)["oscar"]["remote"]  # type: ignore[index]
    assert (entry["auth_password"], entry["ssl_verify"]) == ("s3cret", False)


def test_password_missing_or_twice(config: Path) -> None:
    missing = sluice(config, "cluster", "add", "c", "http://h:1", "u")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "error: give PASSWORD or --password-stdin"
    twice = sluice(config, "cluster", "add", "c", "http://h:1", "u", "p", "--password-stdin")
    assert twice.exit_code == 1
    assert not config.exists()


def test_endpoint_must_be_a_url(config: Path) -> None:
    result = sluice(config, "cluster", "add", "c", "localhost:8080", "u", "p")
    assert result.exit_code == 1
    assert "endpoint must start with http:// or https://" in result.stderr


def test_list_table_and_json(config: Path) -> None:
    sluice(config, "cluster", "add", "a", "http://a:1", "ua", "pa")
    sluice(config, "cluster", "add", "b", "https://b:2", "ub", "pb", "--disable-ssl")
    table = sluice(config, "cluster", "list")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "ENDPOINT", "USER", "SSL", "VERIFY", "DEFAULT"]
    assert lines[1].split() == ["a", "http://a:1", "ua", "yes", "*"]
    assert lines[2].split() == ["b", "https://b:2", "ub", "no"]
    assert "pa" not in table.stdout.split()
    listed = json.loads(sluice(config, "cluster", "list", "--output", "json").stdout)
    assert listed == [
        {"id": "a", "endpoint": "http://a:1", "user": "ua", "ssl_verify": True, "default": True},
        {"id": "b", "endpoint": "https://b:2", "user": "ub", "ssl_verify": False, "default": False},
    ]


def test_list_when_empty(config: Path) -> None:
    result = sluice(config, "cluster", "list", "-o", "json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_default_show_and_set(config: Path) -> None:
    assert sluice(config, "cluster", "default").stderr.startswith("error: no default cluster")
    sluice(config, "cluster", "add", "a", "http://a:1", "u", "p")
    sluice(config, "cluster", "add", "b", "http://b:1", "u", "p")
    assert sluice(config, "cluster", "default").stdout == "a\n"
    assert sluice(config, "cluster", "default", "b").exit_code == 0
    assert sluice(config, "cluster", "default").stdout == "b\n"
    unknown = sluice(config, "cluster", "default", "zzz")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "error: unknown cluster 'zzz' (configured: a, b)"


def test_remove(config: Path) -> None:
    sluice(config, "cluster", "add", "a", "http://a:1", "u", "p")
    sluice(config, "cluster", "add", "b", "http://b:1", "u", "p")
    result = sluice(config, "cluster", "remove", "a")
    assert result.exit_code == 0
    assert "removed cluster 'a'" in result.stdout
    assert "no default cluster now" in result.stderr
    assert stored(config) == {"oscar": {"b": stored(config)["oscar"]["b"]}}  # type: ignore[index]
    assert sluice(config, "cluster", "remove", "a").exit_code == 1


def test_replace_keeps_unknown_keys(config: Path) -> None:
    config.parent.mkdir()
    config.write_text(
        "oscar:\n  a:\n    endpoint: http://a:1\n    auth_user: u\n    auth_password: p\n"
        "    oidc_account_name: egi\n    memory: 256Mi\ndefault: a\n"
    )
    sluice(config, "cluster", "add", "b", "http://b:1", "u", "p")
    assert stored(config)["oscar"]["a"]["oidc_account_name"] == "egi"  # type: ignore[index]


def test_config_from_environment(config: Path) -> None:
    runner = CliRunner(env={CONFIG_ENV: str(config)})
    assert runner.invoke(app, ["cluster", "add", "a", "http://a:1", "u", "p"]).exit_code == 0
    assert config.exists()


def test_json_config_written_as_json(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    sluice(config, "cluster", "add", "a", "http://a:1", "u", "p")
    assert json.loads(config.read_text())["default"] == "a"


def test_broken_config_file(config: Path) -> None:
    config.parent.mkdir()
    config.write_text("oscar: [\n")
    result = sluice(config, "cluster", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {config}: not a valid cluster configuration")


def test_info_on_an_unreachable_cluster_is_one_line(config: Path) -> None:
    sluice(config, "cluster", "add", "a", "http://127.0.0.1:9", "u", "p")
    result = sluice(config, "cluster", "info")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: cannot reach Sluice at http://127.0.0.1:9: connection refused; "
        "is `sluice up` running?\n"
    )


def test_commands_without_any_cluster(config: Path) -> None:
    result = sluice(config, "service", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no cluster given and no default cluster")
