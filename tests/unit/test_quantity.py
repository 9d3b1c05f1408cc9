import pytest

from sluice.domain.quantity import (
    format_memory,
    is_valid_cpu,
    is_valid_memory,
    parse_cpu,
    parse_memory,
)


@pytest.mark.parametrize(
    ("text", "cores"),
    [
        ("0.2", 0.2),
        ("1", 1.0),
        ("500m", 0.5),
        ("2.5", 2.5),
        ("100m", 0.1),
        ("1e1", 10.0),
        (".5", 0.5),
    ],
)
def test_parse_cpu(text: str, cores: float) -> None:
    assert parse_cpu(text) == pytest.approx(cores)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256Mi", 256 * 2**20),
        ("1Gi", 2**30),
        ("512M", 512_000_000),
        ("1e3", 1000),
        ("1E3", 1000),
        ("128974848", 128974848),
        ("129e6", 129_000_000),
        ("123Ki", 123 * 1024),
        ("1.5Gi", 3 * 2**29),
        ("1k", 1000),
        ("0.5", 1),  # fractions of a byte round up, as in Kubernetes
        (" 64Mi ", 64 * 2**20),
    ],
)
def test_parse_memory(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1Mb", "1 Gi", "Mi", "1e", "0x10", "1GiB"])
def test_malformed_memory_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"Mi, Gi.*'512M'"):
        parse_memory(text)
    assert not is_valid_memory(text)


@pytest.mark.parametrize("text", ["", "one", "500 m", "m", "1c"])
def test_malformed_cpu_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="millicores such as '500m'"):
        parse_cpu(text)
    assert not is_valid_cpu(text)


def test_negative_quantities_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_cpu("-1")
    with pytest.raises(ValueError, match="negative"):
        parse_memory("-1Gi")


def test_huge_quantities_are_refused_without_building_huge_numbers() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_memory("1e999999999999")
    with pytest.raises(ValueError, match="too large"):
        parse_memory("16Ei")
    with pytest.raises(ValueError, match="too large"):
        parse_cpu("1e30")


def test_milli_memory_is_a_typo_not_half_a_byte() -> None:
    with pytest.raises(ValueError, match="did you mean '512M' or '512Mi'"):
        parse_memory("512m")


def test_validity_helpers() -> None:
    assert is_valid_cpu("250m")
    assert is_valid_memory("1Gi")
    assert not is_valid_cpu("1 core")
    assert not is_valid_memory("512m")


@pytest.mark.parametrize(
    ("size", "text"),
    [(64 * 2**20, "64Mi"), (1000, "1000"), (3 * 2**30, "3Gi"), (int(80.25 * 2**20), "80.25Mi")],
)
def test_format_memory(size: int, text: str) -> None:
    assert format_memory(size) == text
    assert parse_memory(text) == size
