"""The FDL reference documents every service field the server accepts."""

from pathlib import Path

from sluice.domain.service import Service

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "fdl.md"


def test_every_field_has_a_row() -> None:
    text = REFERENCE.read_text()
    missing = [name for name in Service.model_fields if f"| `{name}` |" not in text]
    assert missing == []
