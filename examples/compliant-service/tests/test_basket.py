import unittest
from decimal import Decimal

from cart.app import JsonFormatter, metrics
from cart.basket import InvalidItem, Item, parse_item, total


class BasketTest(unittest.TestCase):
    def test_total(self):
        items = [Item("SKU-1", Decimal("2.50"), 2), Item("SKU-2", Decimal("0.99"), 1)]
        self.assertEqual(total(items), Decimal("5.99"))

    def test_empty_basket(self):
        self.assertEqual(total([]), Decimal("0"))

    def test_parse_rejects_bad_input(self):
        for bad in (None, [], {"sku": "x"}, {"sku": "x", "unitPrice": 1, "quantity": 1},
                    {"sku": "x", "unitPrice": "1", "quantity": 100},
                    {"sku": "x;drop", "unitPrice": "1", "quantity": 1},
                    {"sku": "x", "unitPrice": "abc", "quantity": 1},
                    {"sku": "x", "unitPrice": "1", "quantity": True}):
            with self.subTest(bad=bad), self.assertRaises(InvalidItem):
                parse_item(bad)

    def test_parse(self):
        self.assertEqual(parse_item({"sku": "SKU-1", "unitPrice": "2.50", "quantity": 3}),
                         Item("SKU-1", Decimal("2.50"), 3))


class OpsTest(unittest.TestCase):
    def test_metrics_are_prometheus_text(self):
        self.assertIn('cart_requests_total{outcome="ok"}', metrics())

    def test_logs_are_json(self):
        import json
        import logging

        record = logging.LogRecord("cart", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        self.assertEqual(json.loads(JsonFormatter().format(record))["message"], "hello world")


if __name__ == "__main__":
    unittest.main()
