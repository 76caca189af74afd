"""Data sets through the client: generate, upload in every accepted form, list, fetch, delete."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

import relumap


def test_generate_returns_the_stored_data_set(api: relumap.Client) -> None:
    data = api.generate("sine", n_samples=50, noise=0.1, random_state=3, name="my sine")
    assert isinstance(data, relumap.Dataset)
    assert len(data.id) == 32
    assert (data.name, data.source, data.n_samples, data.n_features) == (
        "my sine",
        "generated",
        50,
        1,
    )
    assert data.task_hint == "regression" and data.classes is None
    assert data.generator == {
        "kind": "sine",
        "n_samples": 50,
        "noise": 0.1,
        "random_state": 3,
        "task": "regression",
    }
    X, y = data.data()
    assert X.shape == (50, 1) and y.shape == (50,)
    np.testing.assert_array_equal(data.bounds, [[X.min()], [X.max()]])
    assert data.created_at is not None and data.created_at.tzinfo is not None


def test_the_same_random_state_gives_the_same_points(api: relumap.Client) -> None:
    first = api.generate("moons", n_samples=40, noise=0.1, random_state=7)
    second = api.generate("moons", n_samples=40, noise=0.1, random_state=7)
    assert first.id != second.id
    np.testing.assert_array_equal(first.data()[0], second.data()[0])
    np.testing.assert_array_equal(first.data()[1], second.data()[1])
    assert first.classes == [0, 1] and first.n_features == 2


X2 = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, -1.0], [3.0, 2.5]])
Y = np.array([0.5, 1.5, -2.0, 4.25])


@pytest.mark.parametrize(
    ("X", "y"),
    [
        (X2, Y),
        (X2.tolist(), Y.tolist()),
        (pd.DataFrame(X2, columns=["a", "b"]), pd.Series(Y)),
        (X2.astype(np.float32), Y.astype(np.float32)),
    ],
    ids=["numpy", "lists", "pandas", "float32"],
)
def test_upload_round_trips_the_points(api: relumap.Client, X: object, y: object) -> None:
    data = api.upload(X, y, name="four points")
    got_X, got_y = api.dataset(data.id).data()
    np.testing.assert_allclose(
        got_X,
        np.asarray(X2, dtype=np.float32 if "float32" in str(getattr(X, "dtype", "")) else float),
        rtol=1e-7,
    )
    np.testing.assert_allclose(got_y.astype(float), np.asarray(y, dtype=float), rtol=1e-7)
    assert data.name == "four points" and data.source == "upload"


def test_upload_one_dimensional_X_is_one_feature(api: relumap.Client) -> None:
    data = api.upload([0.0, 1.0, 2.0], [0.0, 1.0, 4.0])
    assert data.n_features == 1
    np.testing.assert_array_equal(data.data()[0], [[0.0], [1.0], [2.0]])


def test_upload_string_labels_makes_a_classification_set(api: relumap.Client) -> None:
    data = api.upload([[0.0], [1.0], [2.0], [3.0]], np.array(["cat", "dog", "cat", "dog"]))
    assert data.task_hint == "classification" and data.classes == ["cat", "dog"]
    assert data.data()[1].tolist() == ["cat", "dog", "cat", "dog"]


def test_upload_a_data_frame_with_target_column(api: relumap.Client) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "price": [1.0, 2.0, 3.5]})
    data = api.upload(frame, target="price")
    assert data.n_features == 1
    np.testing.assert_array_equal(data.data()[1], [1.0, 2.0, 3.5])


def test_upload_a_csv_path_with_target(api: relumap.Client, tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("size,rooms,price\n50,2,100.5\n80,3,150\n120,4,260\n")
    data = api.upload(path, target="price")
    assert (data.name, data.n_samples, data.n_features) == ("houses.csv", 3, 2)
    X, y = data.data()
    np.testing.assert_array_equal(X, [[50, 2], [80, 3], [120, 4]])
    np.testing.assert_array_equal(y, [100.5, 150, 260])
    assert api.upload(str(path), target="price", name="named").name == "named"


def test_upload_rejects_non_finite_values_before_sending(api: relumap.Client) -> None:
    with pytest.raises(relumap.ValidationError, match="NaN or infinity in row 1") as info:
        api.upload([[0.0], [np.nan]], [1.0, 2.0])
    assert info.value.status is None and isinstance(info.value, ValueError)


def test_a_missing_csv_file_is_a_validation_error(api: relumap.Client, tmp_path: Path) -> None:
    with pytest.raises(relumap.ValidationError, match="cannot read the CSV file"):
        api.upload(tmp_path / "nope.csv")


def test_bad_csv_target_is_the_services_validation_error(
    api: relumap.Client, tmp_path: Path
) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(relumap.ValidationError) as info:
        api.upload(path, target="price")
    assert info.value.status == 422 and "price" in info.value.detail


def test_datasets_follows_every_page(api: relumap.Client, live_url: str) -> None:
    made = {api.generate("abs", n_samples=10, random_state=i).id for i in range(3)}
    listed = api.datasets(page_size=2)
    ids = [d.id for d in listed]
    assert made <= set(ids) and len(ids) == len(set(ids))
    total = requests.get(f"{live_url}/v1/datasets", params={"page_size": 2}, timeout=10)
    assert len(ids) == int(__import__("json").loads(total.headers["X-Pagination"])["total"])
    first_page = api.datasets(page=1, page_size=2)
    assert [d.id for d in first_page] == ids[:2]


def test_dataset_fetches_one_and_refresh_keeps_it(
    api: relumap.Client, square: relumap.Dataset
) -> None:
    fetched = api.dataset(square.id)
    assert fetched.to_dict() == {k: v for k, v in square.to_dict().items() if k not in ("X", "y")}
    assert fetched.refresh() is fetched and "Dataset" in repr(fetched)


def test_to_frame_has_the_points(square: relumap.Dataset) -> None:
    frame = square.to_frame()
    assert list(frame.columns) == ["x", "y"] and len(frame) == 160
    np.testing.assert_array_equal(frame["x"], square.data()[0][:, 0])


def test_delete_needs_cascade_while_models_use_it(api: relumap.Client) -> None:
    data = api.generate("abs", n_samples=30)
    model = api.fit(data, hidden_layer_sizes=[2], wait=False)
    with pytest.raises(relumap.Conflict, match="cascade"):
        data.delete()
    data.delete(cascade=True)
    with pytest.raises(relumap.NotFound):
        api.dataset(data.id)
    with pytest.raises(relumap.NotFound):
        model.refresh()


def test_dataset_fit_is_client_fit(api: relumap.Client) -> None:
    data = api.generate("step", n_samples=60)
    model = data.fit(hidden_layer_sizes=[3], activation="identity")
    assert model.dataset_id == data.id and model.params["activation"] == "identity"
    assert model.task == "regression"  # a generated step knows its targets are values


def test_dataset_plot(square: relumap.Dataset, xor: relumap.Dataset, artifacts: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    assert square.plot(left) is left and xor.plot(right) is right
    offsets = np.asarray(left.collections[0].get_offsets())
    np.testing.assert_array_equal(offsets[:, 0], square.data()[0][:, 0])
    assert len(right.collections) == 2  # one scatter per class
    fig.savefig(artifacts / "datasets_square_xor.png", dpi=80)
    plt.close(fig)
