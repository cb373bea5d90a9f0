"""`ftop --ring LINES`: how many lines the live view keeps; bad values are one line."""

from __future__ import annotations

import pytest

from ftop.cli import RING_LINES_RANGE, build_parser


def test_ring_takes_a_number_of_lines_with_separators() -> None:
    p = build_parser(None)
    assert p.parse_args(["--ring", "200,000"]).ring == 200_000
    assert p.parse_args(["--ring", "1_000"]).ring == 1_000
    assert p.parse_args([]).ring is None  # the ring's own default


@pytest.mark.parametrize("bad", ["abc", "999", str(RING_LINES_RANGE[1] + 1), "-5"])
def test_a_ring_out_of_range_is_refused_in_one_line(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        build_parser(None).parse_args(["--ring", bad])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ftop: error: argument --ring: "), err
