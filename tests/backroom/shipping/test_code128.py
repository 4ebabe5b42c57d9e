"""Code 128: symbol values and check digits worked out by hand; the pattern table's invariants."""

from __future__ import annotations

import pytest

from backroom.shipping import code128


def test_text_in_set_b_with_hand_computed_checksum() -> None:
    # Start B = 104; 'A' = 65 - 32 = 33; 'B' = 34.
    # Check = (104 + 1*33 + 2*34) mod 103 = 205 mod 103 = 102.
    assert code128.encode("AB") == [104, 33, 34, 102, 106]


def test_even_digits_use_set_c_pairs() -> None:
    # Start C = 105; pairs 12, 34, 56. Check = (105 + 12 + 2*34 + 3*56) mod 103 = 353 mod 103 = 44.
    assert code128.encode("123456") == [105, 12, 34, 56, 44, 106]


def test_letters_then_a_digit_run_switch_from_b_to_c() -> None:
    # B: 'B' = 34, 'R' = 50; Code C = 99; then 12, 34, 56.
    # Check = 104 + 34 + 2*50 + 3*99 + 4*12 + 5*34 + 6*56 = 1089; 1089 mod 103 = 59.
    assert code128.encode("BR123456") == [104, 34, 50, 99, 12, 34, 56, 59, 106]


def test_odd_leading_digits_pair_first_then_finish_in_b() -> None:
    # C: 12, 34; Code B = 100; '5' = 21, 'A' = 33.
    # Check = 105 + 12 + 2*34 + 3*100 + 4*21 + 5*33 = 734; 734 mod 103 = 13.
    assert code128.encode("12345A") == [105, 12, 34, 100, 21, 33, 13, 106]


def test_modules_frame_the_data_with_start_b_and_stop() -> None:
    bars = code128.modules("AB")

    assert bars.startswith("11010010000")  # Start B
    assert bars.endswith("1100011101011")  # Stop, with its final two-module bar
    assert len(bars) == 4 * 11 + 13  # start, A, B, check, then the 13-module stop


def test_pattern_table_invariants() -> None:
    widths = code128._WIDTHS
    assert len(widths) == 107 and len(set(widths)) == 107
    for value, pattern in enumerate(widths):
        assert sum(map(int, pattern)) == (13 if value == 106 else 11), value
        # Code 128 parity: the bars of every symbol cover an even number of modules.
        assert sum(int(w) for w in pattern[0::2]) % 2 == 0, value


@pytest.mark.parametrize("bad", ["", "café", "tab\there"])
def test_text_outside_set_b_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        code128.encode(bad)
