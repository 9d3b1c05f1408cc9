"""FDL loading: definitions ready to send, and errors that name file, line and field."""

from pathlib import Path

import pytest

from sluice.fdl import FdlError, load_fdl, locate_errors, resolve_cluster

GOOD = """\
functions:
  oscar:
  - local:
      name: cowsay
      image: ghcr.io/grycap/cowsay
      cpu: 1.0
      memory: 1Gi
      script: scripts/cowsay.sh
      log_level: CRITICAL
      environment:
        Variables:
          INPUT_TYPE: json
          RETRIES: 3
      input:
      - storage_provider: minio.default
        path: cowsay/in
      output:
      - storage_provider: s3.aws
        path: results/out
  - default-cluster:
      name: grayify
      image: ghcr.io/grycap/imagemagick
      script: /ABSOLUTE/gray.sh
      storage_providers:
        s3:
          own: {access_key: c, secret_key: d, region: eu-west-1}
storage_providers:
  s3:
    aws: {access_key: a, secret_key: b, region: us-east-1}
clusters:
  remote:
    endpoint: https://remote.example
    auth_user: u
    auth_password: p
    ssl_verify: false
"""


def write(folder: Path, text: str, name: str = "fdl.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "cowsay.sh").write_bytes(b"#!/bin/sh\r\necho hi\r\n")
    gray = tmp_path / "gray.sh"
    gray.write_text("convert in out\n")
    return write(tmp_path, GOOD.replace("/ABSOLUTE/gray.sh", str(gray)))


def test_script_resolved_against_the_fdl_folder_and_crlf_normalised(good: Path) -> None:
    cowsay, grayify = load_fdl(good).services
    assert cowsay.definition["script"] == "#!/bin/sh\necho hi\n"
    assert grayify.definition["script"] == "convert in out\n"


def test_fdl_is_loaded_the_same_from_another_working_directory(
    good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/")
    assert load_fdl(good).services[0].definition["script"].startswith("#!/bin/sh")


def test_cluster_id_is_the_key(good: Path) -> None:
    cowsay, grayify = load_fdl(good).services
    assert (cowsay.cluster_id, cowsay.definition["cluster_id"]) == ("local", "local")
    assert grayify.cluster_id == "default-cluster"


def test_storage_providers_and_clusters_copied_into_every_service(good: Path) -> None:
    cowsay, grayify = load_fdl(good).services
    aws = {"access_key": "a", "secret_key": "b", "region": "us-east-1"}
    assert cowsay.definition["storage_providers"] == {"s3": {"aws": aws}}
    assert grayify.definition["storage_providers"]["s3"]["aws"] == aws
    assert grayify.definition["storage_providers"]["s3"]["own"]["region"] == "eu-west-1"
    for service in (cowsay, grayify):
        assert service.definition["clusters"]["remote"]["ssl_verify"] is False


def test_fields_kept_as_written(good: Path) -> None:
    definition = load_fdl(good).services[0].definition
    assert definition["environment"] == {"Variables": {"INPUT_TYPE": "json", "RETRIES": 3}}
    assert definition["input"] == [{"storage_provider": "minio.default", "path": "cowsay/in"}]
    assert definition["memory"] == "1Gi"
    assert definition["cpu"] == "1.0"  # a YAML number, sent as a string as oscar-python does


def test_line_of_fields(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    assert cowsay.name == "cowsay"
    assert cowsay.line_of("memory") == 7
    assert cowsay.line_of("input") == 14
    assert cowsay.line_of("input.0.path") == 16
    assert cowsay.line_of("input[0].storage_provider") == 15
    assert cowsay.line_of("environment.Variables.RETRIES") == 13
    assert cowsay.line_of("environment.variables.RETRIES") == 13  # the server's spelling
    assert cowsay.line_of("vo") is None
    assert cowsay.line_of("input.3.path") is None


def test_location_falls_back_to_the_closest_ancestor(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    assert cowsay.location("input.0.path") == f"{good}:16"
    assert cowsay.location("input.0.suffix") == f"{good}:15"
    assert cowsay.location("vo") == f"{good}:4"


def test_delete_does_not_need_the_scripts(tmp_path: Path) -> None:
    fdl = write(tmp_path, GOOD)
    assert [s.name for s in load_fdl(fdl, read_scripts=False).services] == ["cowsay", "grayify"]


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(FdlError) as caught:
        load_fdl(path)
    return str(caught.value)


def test_broken_yaml_names_line_and_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, "functions:\n  oscar:\n  - local: {name: x\n")
    assert message.startswith(f"{tmp_path / 'fdl.yaml'}:4:1: invalid YAML")


def test_yaml_tab_indentation(tmp_path: Path) -> None:
    message = load_error(tmp_path, "functions:\n\toscar: []\n")
    assert message.startswith(f"{tmp_path / 'fdl.yaml'}:2:1: invalid YAML")


def test_document_not_a_mapping(tmp_path: Path) -> None:
    message = load_error(tmp_path, "- just\n- a list\n")
    assert message == f"{tmp_path / 'fdl.yaml'}:1:1: (document): an FDL must be a mapping"


def test_empty_file(tmp_path: Path) -> None:
    assert "fdl.yaml: (document): an FDL must be a mapping" in load_error(tmp_path, "")


def test_missing_functions(tmp_path: Path) -> None:
    message = load_error(tmp_path, "storage_providers: {}\n")
    assert (
        message == f"{tmp_path / 'fdl.yaml'}:1:1: functions.oscar: missing 'functions.oscar' list"
    )


def test_functions_oscar_not_a_list(tmp_path: Path) -> None:
    message = load_error(tmp_path, "functions:\n  oscar:\n    local: {}\n")
    assert (
        message == f"{tmp_path / 'fdl.yaml'}:2:3: functions.oscar: missing 'functions.oscar' list"
    )


def test_item_not_a_single_key_map(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - a: {name: x}\n    b: {name: y}\n"
    message = load_error(tmp_path, text)
    assert message == (
        f"{tmp_path / 'fdl.yaml'}:3:5: functions.oscar.0: "
        "expected a single-key map {cluster-id: service}"
    )


def test_item_a_scalar(tmp_path: Path) -> None:
    message = load_error(tmp_path, "functions:\n  oscar:\n  - cowsay\n")
    assert message.startswith(f"{tmp_path / 'fdl.yaml'}:3:5: functions.oscar.0: expected")


def test_service_not_a_mapping(tmp_path: Path) -> None:
    message = load_error(tmp_path, "functions:\n  oscar:\n  - local:\n")
    assert message == (
        f"{tmp_path / 'fdl.yaml'}:3:5: functions.oscar.0.local: "
        "the service definition must be a mapping"
    )


def test_service_without_name(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - local:\n      image: x\n      script: s.sh\n"
    message = load_error(tmp_path, text)
    assert message == f"{tmp_path / 'fdl.yaml'}:4:7: name: missing 'name'"


def test_service_with_empty_name(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - local:\n      image: x\n      name: ''\n"
    message = load_error(tmp_path, text)
    assert message == f"{tmp_path / 'fdl.yaml'}:5:7: name: must be a non-empty string"


def test_service_without_script(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - local:\n      name: cowsay\n      image: x\n"
    message = load_error(tmp_path, text)
    assert message == f"{tmp_path / 'fdl.yaml'}:4:7: script: missing 'script' in service 'cowsay'"


def test_script_file_missing_names_the_resolved_path(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - local:\n      name: cowsay\n      script: nope/s.sh\n"
    message = load_error(tmp_path, text)
    assert message == (
        f"{tmp_path / 'fdl.yaml'}:5:7: script: script file not found: {tmp_path / 'nope' / 's.sh'}"
    )


def test_script_not_a_string(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - local:\n      name: cowsay\n      script: [a]\n"
    message = load_error(tmp_path, text)
    assert message == f"{tmp_path / 'fdl.yaml'}:5:7: script: must be the path of a script file"


def test_unreadable_fdl(tmp_path: Path) -> None:
    with pytest.raises(FdlError, match=r"missing\.yaml: cannot read FDL file"):
        load_fdl(tmp_path / "missing.yaml")


def test_resolve_cluster(good: Path) -> None:
    cowsay, grayify = load_fdl(good).services
    assert resolve_cluster(cowsay, {"local", "other"}, default="other") == "local"
    assert resolve_cluster(grayify, {"local", "other"}, default="other") == "other"


def test_unknown_cluster_names_file_line_and_key(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    with pytest.raises(FdlError) as caught:
        resolve_cluster(cowsay, {"prod", "dev"}, default="prod")
    assert str(caught.value).startswith(
        f"{good}:3:5: local: unknown cluster (configured: dev, prod)"
    )


def test_default_cluster_key_without_a_default(good: Path) -> None:
    grayify = load_fdl(good).services[1]
    with pytest.raises(FdlError) as caught:
        resolve_cluster(grayify, {"local"}, default=None)
    assert str(caught.value) == f"{good}:20:5: default-cluster: no default cluster is configured"


def test_server_errors_located_at_the_field(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    text = "invalid service 'cowsay': memory: must be a Kubernetes quantity"
    assert locate_errors(cowsay, text) == f"{good}:7: memory: must be a Kubernetes quantity"


def test_several_server_errors_and_index_spellings(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    text = "input[0].path: needs a folder\noutput.0.storage_provider: unknown provider\n"
    assert locate_errors(cowsay, text).splitlines() == [
        f"{good}:16: input[0].path: needs a folder",
        f"{good}:18: output.0.storage_provider: unknown provider",
    ]


def test_server_error_prefixes(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    expected = f"{good}:9: log_level: bad"
    assert locate_errors(cowsay, "invalid service: log_level: bad") == expected
    assert locate_errors(cowsay, 'invalid service "it\'s": log_level: bad') == expected


def test_server_error_on_a_field_absent_below_a_present_one(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    assert locate_errors(cowsay, "input.0.suffix: bad") == f"{good}:15: input.0.suffix: bad"


def test_server_errors_without_a_known_field_point_at_the_service(good: Path) -> None:
    cowsay = load_fdl(good).services[0]
    assert locate_errors(cowsay, "A service with the provided name already exists") == (
        f"{good}:4: service 'cowsay': A service with the provided name already exists"
    )
    assert (
        locate_errors(cowsay, "vo: not allowed") == f"{good}:4: service 'cowsay': vo: not allowed"
    )
    assert locate_errors(cowsay, "") == f"{good}:4: service 'cowsay': invalid service"


# OSCAR's own examples/simple-test FDL has CRLF line ends and tabs after a value; oscar-cli
# reads it, so Sluice does too (this file is written here, in the same shape).
TABBED = (
    "functions:\r\n"
    "  oscar:\r\n"
    "  - local:\r\n"
    "     name: tabbed\r\n"
    "     script: run.sh\r\n"
    "     log_level: CRITICAL\t\t\r\n"
    "     memory:\t256Mi\r\n"
    "     input:\r\n"
    "     - storage_provider: minio.default\r\n"
    "       path: tabbed/input\r\n"
)


def test_tabs_between_tokens_are_spaces_as_for_oscar_cli(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text('echo "\\nAnalysis:"\n')
    path = tmp_path / "fdl.yaml"
    path.write_bytes(TABBED.encode())
    [service] = load_fdl(path).services
    assert service.definition["log_level"] == "CRITICAL"
    assert service.definition["memory"] == "256Mi"
    assert service.definition["input"] == [
        {"storage_provider": "minio.default", "path": "tabbed/input"}
    ]
    assert service.line_of("memory") == 7  # positions are unchanged by the fix


def test_a_tab_that_indents_is_still_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "functions:\n  oscar:\n  - local:\n\tname: x\n")
    with pytest.raises(FdlError) as caught:
        load_fdl(path)
    assert (
        str(caught.value)
        == f"{path}:4:1: invalid YAML: a tab indents this line; indent with spaces"
    )


def test_tabs_inside_a_block_scalar_are_kept(tmp_path: Path) -> None:
    text = "functions:\n  oscar:\n  - local:\n      name: x\n      script: |\n        a\tb\t\n"
    [service] = load_fdl(write(tmp_path, text), read_scripts=False).services
    assert service.definition["script"] == "a\tb\t\n"


def test_server_warnings_point_at_the_fdl_line(good: Path) -> None:
    service = load_fdl(good).services[0]
    located = locate_errors(service, "log_level: unknown field, ignored")
    assert located == f"{good}:9: log_level: unknown field, ignored"
