"""A program's rounding rule turns spend into whole currency units before points."""

from __future__ import annotations

import pytest

from backroom.loyalty.models import EarnRounding, LoyaltyProgram
from backroom.loyalty.service import points_for


@pytest.mark.parametrize(
    ("rule", "spend_minor", "multiplier", "points"),
    [
        (EarnRounding.down, 1260, 100, 24),  # 12.60 counts as 12, two points a unit
        (EarnRounding.nearest, 1260, 100, 26),
        (EarnRounding.nearest, 1250, 100, 26),  # halves go up
        (EarnRounding.nearest, 1249, 100, 24),
        (EarnRounding.up, 1210, 100, 26),
        (EarnRounding.up, 1200, 100, 24),  # a whole amount is not rounded up further
        (EarnRounding.nearest, 1260, 150, 39),  # 13 units x 2 x 1.5
        (EarnRounding.up, 1, 100, 2),
        (EarnRounding.down, 99, 100, 0),
    ],
)
def test_spend_is_rounded_by_the_program_s_rule(rule, spend_minor, multiplier, points):
    program = LoyaltyProgram(currency="USD", points_per_unit=2, earn_rounding=rule)
    assert points_for(program, spend_minor, multiplier) == points


def test_zero_decimal_currencies_have_nothing_to_round():
    for rule in EarnRounding:
        assert points_for(LoyaltyProgram(currency="JPY", points_per_unit=1, earn_rounding=rule), 1260) == 1260
