"""Basket arithmetic, kept free of I/O so that it is easy to test."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MAX_QUANTITY = 99


class InvalidItem(ValueError):
    """An item that cannot go into a basket."""


@dataclass(frozen=True)
class Item:
    sku: str
    unit_price: Decimal
    quantity: int

    def __post_init__(self) -> None:
        if not self.sku or len(self.sku) > 32 or not self.sku.replace("-", "").isalnum():
            raise InvalidItem(f"invalid sku {self.sku!r}")
        if self.unit_price < 0:
            raise InvalidItem("unit price must not be negative")
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise InvalidItem(f"quantity must be between 1 and {MAX_QUANTITY}")


def parse_item(data: object) -> Item:
    """Validate untrusted JSON input (guideline 6.c) into an Item."""
    if not isinstance(data, dict) or set(data) != {"sku", "unitPrice", "quantity"}:
        raise InvalidItem("expected an object with sku, unitPrice and quantity")
    sku, price, quantity = data["sku"], data["unitPrice"], data["quantity"]
    if not isinstance(sku, str) or not isinstance(price, str) or type(quantity) is not int:
        raise InvalidItem("sku and unitPrice are strings, quantity an integer")
    try:
        unit_price = Decimal(price)
    except ArithmeticError as exc:
        raise InvalidItem("unitPrice is not a decimal number") from exc
    return Item(sku, unit_price, quantity)


def total(items: list[Item]) -> Decimal:
    return sum((i.unit_price * i.quantity for i in items), Decimal("0"))
