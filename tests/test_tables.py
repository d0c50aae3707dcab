"""Tables for people (edgelearn.core.plotting.table): the defects issue 14 found in the notebooks'
tables do not come back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgelearn.core.plotting import table


def _cells(styler) -> list[list[str]]:
    html = styler.to_html()
    body = html.split("<tbody>")[1]
    return [
        [cell.split(">", 1)[1].split("</td")[0].strip() for cell in row.split("<td")[1:]]
        for row in body.split("<tr>")[1:]
    ]


def _header(styler) -> list[str]:
    head = styler.to_html().split("<thead>")[1].split("</thead>")[0]
    return [cell.split(">", 1)[1].split("</th")[0].strip() for cell in head.split("<th")[1:]]


def test_numbers_are_shown_for_people():
    frame = pd.DataFrame(
        {
            "load": [0.1, 0.3],
            "eta": [0.00031, 0.0072],
            "count": [100.0, 200.0],
            "flops": [18692096.0, np.nan],
            "ok": [True, False],
            "widths": [(np.float64(0.2), np.float64(0.6)), (1, 2)],
        }
    )
    rows = _cells(table(frame))
    assert rows[0][:5] == ["0.100", "0.00031", "100", "18,692,096", "yes"]
    assert rows[1][:5] == ["0.300", "0.0072", "200", "—", "no"]
    assert rows[0][5] == "0.2, 0.6" and "np.float64" not in "".join(rows[0])


def test_no_index_column_and_named_columns():
    frame = pd.DataFrame({"method": ["a", "b"], "lo": [1.5, 2.5], "wall_s": [0.5, 1.5]}).set_index("method")
    styled = table(frame)
    assert _header(styled) == ["method", "95% CI low", "wall (s)"]
    assert _cells(styled)[0][0] == "a"
    grouped = pd.DataFrame({"m": ["x", "y"], "v": [1.0, 2.5]}).groupby("m").agg(["min", "max"])
    assert _header(table(grouped)) == ["m", "v min", "v max"]


def test_every_row_is_shown():
    frame = pd.DataFrame({"x": np.arange(500) / 7})
    with pd.option_context("display.max_rows", 10):
        assert len(_cells(table(frame))) == 500


def test_settings_table_flattens_nested_configurations_and_records():
    from dataclasses import dataclass, field

    from edgelearn.core.plotting import settings_table

    @dataclass(frozen=True)
    class Inner:
        steps: int = 20_000
        sizes: tuple[int, ...] = (1, 2, 3)

    @dataclass(frozen=True)
    class Outer:
        env: str = "cartpole"
        teacher: Inner = field(default_factory=Inner)

    shown = settings_table(Outer()).data
    assert list(shown.setting) == ["env", "teacher.steps", "teacher.sizes"]
    assert list(shown.value) == ["cartpole", "20000", "1, 2, 3"]
    record = settings_table({"scale": "smoke", "code": {"hash": "abc"}, "none": None}).data
    assert list(record.setting) == ["scale", "code.hash", "none"] and record.value.iloc[-1] == "—"


def test_the_recorders_summary_sums_the_wall_time_of_its_tables(results_dir):
    import pandas as pd

    from edgelearn.core.results import Recorder

    rec = Recorder("exp3", "smoke", seeds=[0], data_source="synthetic losses")
    rec.save("a", pd.DataFrame({"x": [1]}))
    rec.save("b", pd.DataFrame({"x": [2]}))
    brief = rec.summary(extra_field=1)
    assert brief["scale"] == "smoke" and brief["data_source"] == "synthetic losses" and brief["extra_field"] == 1
    assert len(brief["code fingerprint"]) == 12 and brief["wall time of the tables (s)"] >= 0


def test_by_scale_stacks_one_summary_per_scale_with_the_scale_first():
    from edgelearn.core.plotting import by_scale

    laptop = pd.DataFrame({"method": ["A", "B"], "mean": [1.0, 2.0]})
    deciding = pd.DataFrame({"mean": [3.0]}, index=pd.Index(["A"], name="method"))  # a named index becomes a column
    out = by_scale({"laptop": laptop, "deciding": deciding})
    assert list(out.columns) == ["scale", "method", "mean"]
    assert out.scale.tolist() == ["laptop", "laptop", "deciding"]
    assert out.method.tolist() == ["A", "B", "A"] and out["mean"].tolist() == [1.0, 2.0, 3.0]
    two_levels = pd.concat({"reward": laptop.set_index("method")}, axis=1)  # (quantity, statistic) columns
    stacked = by_scale({"laptop": two_levels, "deciding": two_levels})
    assert stacked.columns[0] == ("scale", "") and stacked[("scale", "")].tolist() == ["laptop"] * 2 + ["deciding"] * 2
    assert _cells(table(stacked))[0][0] == "laptop"
    with pytest.raises(ValueError, match="'tables'"):
        by_scale({})
