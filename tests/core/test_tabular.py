from __future__ import annotations

import pytest

from relumap_service.core.tabular import DataError, parse_csv, validate_training_data


def test_hints_regression_for_real_targets_and_classes_for_few_integers() -> None:
    reg = validate_training_data([[0.0], [1.0], [2.0]], [0.5, 1.5, 2.25], max_samples=10)
    assert reg.task_hint == "regression" and reg.classes is None
    assert reg.bounds == {"min": [0.0], "max": [2.0]}
    cls = validate_training_data([[0, 1], [1, 0], [2, 2]], [2, 0, 2], max_samples=10)
    assert cls.task_hint == "classification" and cls.classes == [0, 2]
    text = validate_training_data([[0], [1]], ["yes", "no"], max_samples=10)
    assert text.classes == ["no", "yes"]


@pytest.mark.parametrize(
    ("X", "y", "field", "fragment"),
    [
        ([], [], "X", "non-empty"),
        ([[1.0]] * 11, [0] * 11, "limit", "limit of 10"),
        ([[1.0], [1.0, 2.0]], [0, 1], "X", "ragged"),
        ([[1.0] * 65] * 2, [0, 1], "X", "65 feature columns; relumap takes 1 to 64"),
        ([[1.0]], [0], "X", "at least 2"),
        ([[1.0], [float("inf")]], [0, 1], "X", "row 1"),
        ([[1.0], [2.0]], [0, 1, 2], "y", "3 values"),
        ([[1.0], [2.0]], [0, "a"], "y", "all numbers"),
        ([[True], [2.0]], [0, 1], "X", "numbers only"),
    ],
)
def test_bad_data_names_the_field_and_the_problem(
    X: list[list[float]], y: list[object], field: str, fragment: str
) -> None:
    with pytest.raises(DataError, match=fragment) as caught:
        validate_training_data(X, y, max_samples=10)
    assert caught.value.field == field


def test_parse_csv_with_a_named_target_and_text_labels() -> None:
    X, y = parse_csv("a,b,kind\n1,2,cat\n3,4,dog\n\n", target="kind")
    assert X == [[1.0, 2.0], [3.0, 4.0]] and y == ["cat", "dog"]
    X, y = parse_csv("x,y\n0,1\n1,2.5\n")
    assert X == [[0.0], [1.0]] and y == [1, 2.5]


def test_parse_csv_reads_any_line_end_and_rejects_unreadable_text() -> None:
    assert parse_csv("x,y\r1,2\r3,4\r")[0] == [[1.0], [3.0]]
    assert parse_csv("x,y\r\n1,2\r\n")[1] == [2]
    with pytest.raises(DataError, match="no target column"):
        parse_csv("\r0")
    with pytest.raises(DataError, match="cannot be read"):
        parse_csv('x,y\n"' + "a" * 200_000 + '"\n')  # over the csv module's field limit
