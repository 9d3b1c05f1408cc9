"""The checker the conformance tests use finds what breaks OSCAR's OpenAPI description."""

from tests.oscar_spec import operations, schema_errors

STATUS = {"$ref": "#/definitions/types.ServiceDeploymentStatus"}


def good_status() -> dict[str, object]:
    return {
        "service_name": "s",
        "state": "ready",
        "active_instances": 1,
        "affected_instances": 0,
        "resource_kind": "knative_service",
    }


def test_a_conforming_answer_passes() -> None:
    assert schema_errors(good_status(), STATUS) == []


def test_wrong_types_missing_fields_and_nulls_are_found() -> None:
    broken = {**good_status(), "active_instances": "1", "affected_instances": True}
    del broken["state"]
    broken["reason"] = None
    errors = schema_errors(broken, STATUS)
    assert "$.active_instances: str where the spec has integer" in errors
    assert "$.affected_instances: bool where the spec has integer" in errors
    assert "$: types.ServiceDeploymentStatus lacks 'state'" in errors
    assert any(e.startswith("$.reason: null") for e in errors)


def test_nested_references_and_maps_are_followed() -> None:
    config = {"$ref": "#/definitions/types.ConfigForUser"}
    errors = schema_errors(
        {
            "config": {"oidc_groups": [1]},
            "minio_provider": {"verify": "no"},
            "allowed_image_repositories": [],
        },
        config,
    )
    assert "$.config.oidc_groups[0]: int where the spec has string" in errors
    assert "$.minio_provider.verify: str where the spec has boolean" in errors
    jobs = {"$ref": "#/definitions/types.JobsResponse"}
    assert schema_errors({"jobs": {"j": {"status": 3}}}, jobs) == [
        "$.jobs['j'].status: int where the spec has string"
    ]


def test_the_spec_has_every_route_of_oscar_v4_1_2() -> None:
    assert len(operations()) == 43
    assert ("post", "/system/buckets/{bucket}/presign") in operations()
