from decimal import Decimal

import pytest

from ims_bot.money import rupees


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0"), "₹0"),
        (Decimal("999.5"), "₹999.50"),
        (Decimal("1000"), "₹1,000"),
        (Decimal("100000"), "₹1,00,000"),
        (Decimal("1234567.5"), "₹12,34,567.50"),
        (Decimal("123456789"), "₹12,34,56,789"),
        (Decimal("-4500.25"), "-₹4,500.25"),
        (12340, "₹12,340"),
    ],
)
def test_rupees_use_indian_digit_grouping(amount, text):
    assert rupees(amount) == text
