"""The JSONPath subset of batch transform's DataProcessing, as SageMaker documents it.

Pure functions: what each accepted form selects from CSV rows (arrays of
fields) and JSON records, and that the forms SageMaker refuses are refused
with its "Invalid JsonPath: <expression>: ..." wording.
"""

from __future__ import annotations

import pytest

from sm_magics.local.sagemaker.jsonpath import JsonPath, JsonPathError, SelectionError

ROW = ["id7", "a", "b", "c", "d", "e", "f"]
RECORD = {"id": 7, "features": [0.5, 1.5, 2.5], "meta": {"source": "x", "day": 3}}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$", ROW),
        ("$[1:]", ROW[1:]),
        ("$[0]", "id7"),
        ("$[1,3]", ["a", "c"]),
        ("$[1,3,5]", ["a", "c", "e"]),
        ("$[-1]", "f"),
        ("$[0,-1]", ["id7", "f"]),
        ("$[0,5:]", ["id7", "e", "f"]),
        ("$[2:5]", ["b", "c", "d"]),  # start included, end excluded
        ("$[:5]", ROW[:5]),
        ("$[2:]", ROW[2:]),
        ("$[-2:]", ["e", "f"]),
        ("$[3,1]", ["c", "a"]),  # in the order written
        ("$[*]", ROW),
        ("$[ 0 , 2 ]", ["id7", "b"]),
    ],
)
def test_index_forms_on_an_array(expression: str, expected: object) -> None:
    path = JsonPath.parse(expression)
    assert path.index_based
    assert path.select(list(ROW)) == expected


@pytest.mark.parametrize(
    "expression, columns",
    [("$", None), ("$[*]", None), ("$[1:]", [1, 2, 3, 4, 5, 6]), ("$[0]", [0]), ("$[0,-1]", [0, 6]), ("$[0,5:]", [0, 5, 6])],
)
def test_columns_of_a_csv_row(expression: str, columns: list[int] | None) -> None:
    assert JsonPath.parse(expression).columns(len(ROW)) == columns


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$.features", [0.5, 1.5, 2.5]),
        ("$.id", 7),
        ("$['id']", 7),
        ('$["id"]', 7),
        ("$['id','features']", {"id": 7, "features": [0.5, 1.5, 2.5]}),
        ("$.meta.source", "x"),
        ("$.meta.*", ["x", 3]),
        ("$.meta.['source','day']", {"source": "x", "day": 3}),
        ("$.features[1:]", [1.5, 2.5]),
        ("$.features[-1]", 2.5),
    ],
)
def test_attribute_forms_on_an_object(expression: str, expected: object) -> None:
    path = JsonPath.parse(expression)
    assert not path.index_based
    assert path.select(RECORD) == expected


def test_wildcard_takes_every_value_of_an_object_or_every_field_of_a_row() -> None:
    assert JsonPath.parse("$.*").select(RECORD) == [7, [0.5, 1.5, 2.5], {"source": "x", "day": 3}]
    assert JsonPath.parse("$.*").columns(len(ROW)) is None  # a CSV row, whole


def test_joined_json_record_keeps_id_and_prediction() -> None:
    joined = {**RECORD, "SageMakerOutput": {"score": 0.25}}
    assert JsonPath.parse("$['id','SageMakerOutput']").select(joined) == {"id": 7, "SageMakerOutput": {"score": 0.25}}
    assert JsonPath.parse("$.SageMakerOutput").select(joined) == {"score": 0.25}
    wrapped = {"SageMakerInput": [1, 2], "SageMakerOutput": [0.5]}
    assert JsonPath.parse("$.SageMakerInput").select(wrapped) == [1, 2]


@pytest.mark.parametrize(
    "expression, why",
    [
        ("features", "starts with the root element $"),
        ("$..features", "recursive descent"),
        ("$[?(@.id > 1)]", "filter and script expressions"),
        ("$[(@.length-1)]", "filter and script expressions"),
        ("$[0:2,246:]", "only single range filters of format (eg: [1:5]) are supported. Format [0:2,246:] is not supported"),
        ("$[::2]", "slice steps are not supported"),
        ("$[1:a]", "is not a slice of whole numbers"),
        ("$[a]", "neither an index nor a quoted name"),
        ("$[]", "empty brackets"),
        ("$[1", "not closed"),
        ("$.", "an attribute name is expected"),
        ("$ .x", "unexpected"),
        ("$.field1.['child1','child2.grandchild']", "nested children inside brackets"),
        ("$[1:3].x", "must end the expression"),
        ("$['a','b'].c", "must end the expression"),
        ("$[" + ",".join(["1"] * 40) + "]", "at most 63 characters"),
    ],
)
def test_forms_sagemaker_refuses(expression: str, why: str) -> None:
    with pytest.raises(JsonPathError) as caught:
        JsonPath.parse(expression)
    message = str(caught.value)
    assert message.startswith(f"Invalid JsonPath: {expression}: "), message
    assert why in message


@pytest.mark.parametrize(
    "expression, value, why",
    [
        ("$[7]", ROW, "index 7 is out of range for a record of 7 element(s)"),
        ("$[-8]", ROW, "index -8 is out of range"),
        ("$.id", ROW, "not an object"),
        ("$[0]", RECORD, "indexes apply to an array, not a object"),
        ("$.label", RECORD, "no attribute 'label'"),
        ("$['id','label']", RECORD, "no attribute 'label'"),
        ("$.id.*", RECORD, "* applies to an object or an array, not a number"),
    ],
)
def test_a_path_that_does_not_fit_the_record(expression: str, value: object, why: str) -> None:
    with pytest.raises(SelectionError) as caught:
        JsonPath.parse(expression).select(value)
    assert why in str(caught.value)


def test_csv_columns_refuse_attribute_paths_and_out_of_range_indexes() -> None:
    with pytest.raises(SelectionError):
        JsonPath.parse("$.features").columns(5)
    with pytest.raises(SelectionError, match="index 5 is out of range"):
        JsonPath.parse("$[0,5]").columns(5)
