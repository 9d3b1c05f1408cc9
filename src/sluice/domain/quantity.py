"""Kubernetes resource quantities ("500m", "256Mi", "129e6") as numbers."""

import re
from decimal import ROUND_CEILING, Decimal, DecimalException

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>\d+(?:\.\d*)?|\.\d+)"
    r"(?P<suffix>[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?"
)
_BINARY = {f"{prefix}i": Decimal(1024) ** power for power, prefix in enumerate("KMGTPE", 1)}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_FRACTIONAL_SUFFIXES = ("n", "u", "m")
_MAX_CPU = Decimal(1_000_000)
_MAX_MEMORY = Decimal(2**63 - 1)

CPU_FORMS = "cores such as '1', '0.5' or '2.5', or millicores such as '500m'"
MEMORY_FORMS = (
    "bytes such as '128974848' or '129e6', or a number with a suffix: "
    "Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024, e.g. '256Mi', '1.5Gi') or "
    "k, M, G, T, P, E (powers of 1000, e.g. '512M')"
)


def _multiplier(suffix: str) -> Decimal:
    if suffix in _BINARY:
        return _BINARY[suffix]
    if suffix in _DECIMAL:
        return _DECIMAL[suffix]
    return Decimal(10) ** int(suffix[1:])  # a decimal exponent: "e3", "E-2"


def _parse(value: str, kind: str, forms: str, maximum: Decimal) -> tuple[Decimal, str]:
    """The quantity's value and its suffix; ValueError naming ``forms`` when it is not one."""
    match = _QUANTITY.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a {kind} quantity; use {forms}")
    if match["sign"] == "-":
        raise ValueError(f"{kind} quantity {value!r} must not be negative")
    suffix = match["suffix"] or ""
    try:
        amount = Decimal(match["number"]) * _multiplier(suffix)
    except DecimalException:
        amount = maximum + 1  # the exponent overflowed: far too large either way
    if amount > maximum:
        raise ValueError(f"{kind} quantity {value!r} is too large")
    return amount, suffix


def parse_cpu(value: str) -> float:
    """CPU cores: "1" → 1.0, "0.2" → 0.2, "500m" → 0.5."""
    amount, _ = _parse(value, "CPU", CPU_FORMS, _MAX_CPU)
    return float(amount)


def parse_memory(value: str) -> int:
    """Bytes: "256Mi" → 268435456, "512M" → 512000000, "1e3" → 1000.

    Fractions of a byte round up, as Kubernetes does. The milli/micro/nano suffixes are
    refused: "512m" is half a byte, which is always a typo for "512M" or "512Mi".
    """
    amount, suffix = _parse(value, "memory", MEMORY_FORMS, _MAX_MEMORY)
    if suffix in _FRACTIONAL_SUFFIXES:
        stem = value.strip()[:-1]
        raise ValueError(
            f"memory quantity {value!r} is a fraction of a byte; "
            f"did you mean '{stem}M' or '{stem}Mi'?"
        )
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def is_valid_cpu(value: str) -> bool:
    try:
        parse_cpu(value)
    except ValueError:
        return False
    return True


def is_valid_memory(value: str) -> bool:
    try:
        parse_memory(value)
    except ValueError:
        return False
    return True


def format_memory(size: int) -> str:
    """Bytes in the largest binary unit that keeps a leading digit: 67108864 → "64Mi"."""
    amount, unit = float(size), ""
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        if abs(amount) < 1024:
            break
        amount, unit = amount / 1024, suffix
    return f"{amount:.4g}{unit}"
