"""Code 128 barcodes (sets B and C) as bar modules, for shipping labels. Pure functions."""

from __future__ import annotations

# Element widths (bar, space, bar, space, bar, space) in modules for symbol values 0..105;
# 106 is the stop pattern, which has a final 2-module bar. Every symbol spans 11 modules.
_WIDTHS = [
    "212222",
    "222122",
    "222221",
    "121223",
    "121322",
    "131222",
    "122213",
    "122312",
    "132212",
    "221213",
    "221312",
    "231212",
    "112232",
    "122132",
    "122231",
    "113222",
    "123122",
    "123221",
    "223211",
    "221132",
    "221231",
    "213212",
    "223112",
    "312131",
    "311222",
    "321122",
    "321221",
    "312212",
    "322112",
    "322211",
    "212123",
    "212321",
    "232121",
    "111323",
    "131123",
    "131321",
    "112313",
    "132113",
    "132311",
    "211313",
    "231113",
    "231311",
    "112133",
    "112331",
    "132131",
    "113123",
    "113321",
    "133121",
    "313121",
    "211331",
    "231131",
    "213113",
    "213311",
    "213131",
    "311123",
    "311321",
    "331121",
    "312113",
    "312311",
    "332111",
    "314111",
    "221411",
    "431111",
    "111224",
    "111422",
    "121124",
    "121421",
    "141122",
    "141221",
    "112214",
    "112412",
    "122114",
    "122411",
    "142112",
    "142211",
    "241211",
    "221114",
    "413111",
    "241112",
    "134111",
    "111242",
    "121142",
    "121241",
    "114212",
    "124112",
    "124211",
    "411212",
    "421112",
    "421211",
    "212141",
    "214121",
    "412121",
    "111143",
    "111341",
    "131141",
    "114113",
    "114311",
    "411113",
    "411311",
    "113141",
    "114131",
    "311141",
    "411131",
    "211412",
    "211214",
    "211232",
    "2331112",
]

START_B, START_C = 104, 105
CODE_B, CODE_C = 100, 99  # "switch to set B" / "switch to set C"
STOP = 106
QUIET_MODULES = 10  # the standard asks for at least 10 modules of white on each side

# A run of digits is cheaper in set C (two digits per symbol) once it pays for the switch.
_MIN_DIGITS_INSIDE = 6
_MIN_DIGITS_AT_EDGE = 4


def encode(text: str) -> list[int]:
    """Return the symbol values for text: start, data, checksum, stop."""
    if not text:
        raise ValueError("cannot encode an empty string")
    for char in text:
        if not 32 <= ord(char) <= 126:
            raise ValueError(f"character {char!r} is outside Code 128 set B")

    values: list[int] = []
    code_set = None
    i = 0
    while i < len(text):
        run = _digit_run(text, i)
        at_edge = i == 0 or i + run == len(text)
        use_c = run >= (_MIN_DIGITS_AT_EDGE if at_edge else _MIN_DIGITS_INSIDE) or (
            run == len(text) and run % 2 == 0
        )
        if use_c:
            if run % 2 and code_set is None:
                # An odd run opening the text: pair what pairs in C, leave the last digit to B.
                run -= 1
            elif run % 2:
                # An odd run after letters: its first digit stays in B so the rest pairs up.
                if code_set != "B":
                    values.append(START_B if code_set is None else CODE_B)
                    code_set = "B"
                values.append(ord(text[i]) - 32)
                i += 1
                run -= 1
            if code_set != "C":
                values.append(START_C if code_set is None else CODE_C)
                code_set = "C"
            for j in range(i, i + run, 2):
                values.append(int(text[j : j + 2]))
            i += run
        else:
            if code_set != "B":
                values.append(START_B if code_set is None else CODE_B)
                code_set = "B"
            values.append(ord(text[i]) - 32)
            i += 1

    values.append(checksum(values))
    values.append(STOP)
    return values


def checksum(values: list[int]) -> int:
    """Modulo-103 check value: the start symbol plus each data symbol weighted by its position."""
    return (values[0] + sum(pos * v for pos, v in enumerate(values[1:], start=1))) % 103


def modules(text: str) -> str:
    """Return the barcode as a string of '1' (bar) and '0' (space) modules, without quiet zones."""
    out: list[str] = []
    for value in encode(text):
        for k, width in enumerate(_WIDTHS[value]):
            out.append(("1" if k % 2 == 0 else "0") * int(width))
    return "".join(out)


def _digit_run(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return end - start
