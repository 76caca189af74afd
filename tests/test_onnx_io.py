"""ONNX export and import, checked against onnxruntime and scikit-learn, not against ourselves."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from sklearn.neural_network import MLPClassifier, MLPRegressor

from relumap_service.core.network import Network
from relumap_service.onnx_io import OnnxImportError, network_from_onnx, network_to_onnx
from tests.onnx_graphs import fit_quietly, random_layers, run, sklearn_onnx, torch_style_mlp

CASES = {
    # name: (layer sizes, hidden activation, output activation)
    "regressor-1d": ([1, 8, 1], "relu", "identity"),
    "regressor-2d-two-outputs": ([2, 6, 5, 2], "relu", "identity"),
    "regressor-5d": ([5, 7, 1], "relu", "identity"),
    "binary-leaky": ([2, 6, 4, 1], "leaky_relu", "logistic"),
    "multiclass": ([2, 9, 4], "relu", "softmax"),
    "multiclass-4d-leaky": ([4, 5, 5, 3], "leaky_relu", "softmax"),
    "identity-hidden": ([3, 4, 4, 1], "identity", "identity"),
    "single-layer": ([2, 3], "relu", "softmax"),
}


def network(name: str, seed: int = 0) -> Network:
    sizes, hidden, output = CASES[name]
    coefs, intercepts = random_layers(sizes, seed, torch_layout=False)
    # A slope no float32 can hold, so a float32 LeakyRelu attribute would show.
    return Network(coefs, intercepts, hidden, output, negative_slope=0.0123456789)


def points(n_inputs: int, n: int = 400, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=3.0, size=(n, n_inputs))


# -- export --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_export_runs_in_onnxruntime_as_relumap_predicts(name: str) -> None:
    net = network(name)
    X = points(net.n_inputs)
    model = onnx.load_model_from_string(network_to_onnx(net))
    onnx.checker.check_model(model, full_check=True)
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE
    outputs = run(model, X)
    if net.output_activation == "identity":
        (values,) = outputs
        np.testing.assert_allclose(values, net.predict(X), rtol=0, atol=1e-9)
    else:
        probabilities, logits = outputs
        np.testing.assert_allclose(probabilities, net.predict_proba(X), rtol=0, atol=1e-9)
        np.testing.assert_allclose(logits, net.logits(X), rtol=0, atol=1e-9)
        assert probabilities.shape[1] == (2 if net.n_outputs == 1 else net.n_outputs)


def test_export_batch_dimension_is_symbolic_and_labels_are_metadata() -> None:
    net = network("multiclass")
    data = network_to_onnx(net, classes=["cat", 2, True, 1.5], feature_names=["width", "height"])
    model = onnx.load_model_from_string(data)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_value == 2
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props == {"classes": ["cat", 2, True, 1.5], "feature_names": ["width", "height"]}
    assert run(data, points(2, n=1))[0].shape == (1, 4)
    assert run(data, points(2, n=1000))[0].shape == (1000, 4)


@pytest.mark.parametrize("name", CASES)
def test_export_then_import_gives_the_same_network(name: str) -> None:
    net = network(name)
    back = network_from_onnx(network_to_onnx(net, classes=None, feature_names=None))
    assert back.precision == "float64" and back.producer.startswith("relumap")
    # With no hidden layer the graph holds no activation, nor needs one.
    hidden = net.hidden_activation if net.hidden_layer_sizes else "identity"
    assert back.network.hidden_activation == hidden
    assert back.network.output_activation == net.output_activation
    assert back.network.hidden_layer_sizes == net.hidden_layer_sizes
    for mine, theirs in zip(
        net.coefs + net.intercepts,
        back.network.coefs + back.network.intercepts,
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)
    if net.hidden_activation == "leaky_relu":
        assert back.network.negative_slope == net.negative_slope


def test_import_reads_labels_and_feature_names_back() -> None:
    net = network("binary-leaky")
    back = network_from_onnx(network_to_onnx(net, classes=["no", "yes"], feature_names=["a", "b"]))
    assert back.classes == ["no", "yes"] and back.feature_names == ["a", "b"]


# -- import: skl2onnx ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, size=(300, 3))
    return X, X[:, 0] ** 2 - X[:, 1] + 0.5 * np.abs(X[:, 2])


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_sklearn_regressor_in_float64_predicts_as_sklearn(data, activation: str) -> None:
    X, y = data
    est = fit_quietly(
        MLPRegressor(
            hidden_layer_sizes=(8, 6), activation=activation, max_iter=300, random_state=0
        ),
        X,
        y,
    )
    got = network_from_onnx(sklearn_onnx(est, 3))
    assert got.precision == "float64" and got.classes is None
    assert got.network.hidden_activation == activation
    np.testing.assert_allclose(got.network.predict(X)[:, 0], est.predict(X), rtol=0, atol=1e-9)


def test_sklearn_regressor_in_float32_predicts_as_onnxruntime(data) -> None:
    X, y = data
    est = fit_quietly(MLPRegressor(hidden_layer_sizes=(10,), max_iter=300, random_state=0), X, y)
    source = sklearn_onnx(est, 3, np.float32)
    got = network_from_onnx(source)
    assert got.precision == "float32"
    expected = run(source, X.astype(np.float32))[0][:, 0].astype(np.float64)
    values = got.network.predict(X)[:, 0]
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    # The weights are the float32 ones, widened exactly, not sklearn's float64.
    assert np.all(got.network.coefs[0] == est.coefs_[0].astype(np.float32))


@pytest.mark.parametrize("labels", [[0, 1], ["low", "high"], [3, 5, 7], ["a", "b", "c", "d"]])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sklearn_classifier_probabilities_and_labels(data, labels, dtype) -> None:
    X, y = data
    classes = np.asarray(labels)[
        np.digitize(y, np.quantile(y, np.linspace(0, 1, len(labels) + 1)[1:-1]))
    ]
    est = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0), X, classes
    )
    # ZipMap is skl2onnx's default; onnxruntime runs it on float32 only.
    options = {} if dtype == np.float32 else {"zipmap": False}
    source = sklearn_onnx(est, 3, dtype, **options)
    got = network_from_onnx(source)
    assert got.classes == est.classes_.tolist()
    assert got.network.output_activation == ("logistic" if len(labels) == 2 else "softmax")
    proba = got.network.predict_proba(X)
    if dtype == np.float64:
        np.testing.assert_allclose(proba, est.predict_proba(X), rtol=0, atol=1e-9)
    else:
        label, zipped = run(source, X.astype(np.float32))
        expected = np.array([[row[c] for c in est.classes_.tolist()] for row in zipped])
        np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
        assert np.mean(np.asarray(got.classes)[proba.argmax(axis=1)] == label) > 0.99


def test_sklearn_tanh_network_is_refused_naming_the_node(data) -> None:
    X, y = data
    est = fit_quietly(MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", max_iter=50), X, y)
    with pytest.raises(OnnxImportError, match="Tanh") as info:
        network_from_onnx(sklearn_onnx(est, 3))
    assert info.value.op_type == "Tanh" and info.value.node


# -- import: PyTorch-style graphs -----------------------------------------------------------
@pytest.mark.parametrize(
    ("sizes", "activation", "final", "flatten"),
    [
        ([1, 16, 1], "relu", None, False),
        ([2, 8, 8, 3], "relu", None, True),
        ([6, 5, 1], "leaky_relu", "Sigmoid", False),
        ([2, 7, 4], "relu", "Softmax", True),
    ],
)
def test_torch_style_graph_predicts_as_onnxruntime(sizes, activation, final, flatten) -> None:
    weights, biases = random_layers(sizes, seed=len(sizes))
    source = torch_style_mlp(weights, biases, activation=activation, final=final, flatten=flatten)
    got = network_from_onnx(source.SerializeToString())
    X = points(sizes[0])
    fed = X.reshape(len(X), 1, -1) if flatten else X
    expected = run(source, fed.astype(np.float32))[0].astype(np.float64)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got.network.predict(X), expected, rtol=1e-5, atol=1e-5 * scale)
    assert got.precision == "float32" and got.network.hidden_layer_sizes == tuple(sizes[1:-1])
    if activation == "leaky_relu":
        assert got.network.negative_slope == float(np.float32(0.01))


def test_torch_style_graph_in_float64_is_exact() -> None:
    weights, biases = random_layers([2, 8, 8, 1], seed=5)
    source = torch_style_mlp(weights, biases, dtype=np.float64)
    X = points(2)
    expected = run(source, X)[0]
    got = network_from_onnx(source.SerializeToString()).network
    np.testing.assert_allclose(got.predict(X), expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got.coefs[0], weights[0].T)


def chain_graph(nodes, inits, n_in=2, n_out=1, outputs=("y",), elem=TensorProto.DOUBLE):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", elem, ["N", n_in])],
        [helper.make_tensor_value_info(name, elem, None) for name in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_consecutive_adds_identity_nodes_and_a_bias_first() -> None:
    rng = np.random.default_rng(7)
    inits = {
        "shift": rng.normal(size=2),
        "W1": rng.normal(size=(2, 5)),
        "b1": rng.normal(size=5),
        "b1b": rng.normal(size=(1, 5)),
        "W2": rng.normal(size=(5, 1)),
        "b2": rng.normal(size=1),
    }
    nodes = [
        helper.make_node("Add", ["shift", "x"], ["s"], name="shift"),
        helper.make_node("Identity", ["s"], ["s2"], name="id0"),
        helper.make_node("MatMul", ["s2", "W1"], ["m1"], name="mm1"),
        helper.make_node("Add", ["m1", "b1"], ["a1"], name="add1"),
        helper.make_node("Add", ["b1b", "a1"], ["a2"], name="add1b"),
        helper.make_node("Identity", ["a2"], ["a3"], name="id1"),
        helper.make_node("Relu", ["a3"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "W2"], ["m2"], name="mm2"),
        helper.make_node("Add", ["m2", "b2"], ["y"], name="add2"),
    ]
    model = chain_graph(nodes, inits)
    X = points(2)
    got = network_from_onnx(model.SerializeToString()).network
    assert got.hidden_layer_sizes == (5,)
    np.testing.assert_allclose(got.predict(X), run(model, X)[0], rtol=0, atol=1e-9)


def test_two_products_between_activations_compose_into_one_layer() -> None:
    rng = np.random.default_rng(8)
    inits = {f"W{i}": rng.normal(size=s) for i, s in enumerate([(2, 4), (4, 3), (3, 1)])}
    nodes = [
        helper.make_node("MatMul", ["x", "W0"], ["a"], name="mm0"),
        helper.make_node("MatMul", ["a", "W1"], ["b"], name="mm1"),
        helper.make_node("Relu", ["b"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "W2"], ["y"], name="mm2"),
    ]
    model = chain_graph(nodes, inits)
    got = network_from_onnx(model.SerializeToString()).network
    assert got.hidden_layer_sizes == (3,)
    X = points(2)
    np.testing.assert_allclose(got.predict(X), run(model, X)[0], rtol=0, atol=1e-9)


# -- import: refusals ---------------------------------------------------------------------
def refused(model: onnx.ModelProto | bytes, *words: str) -> OnnxImportError:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    with pytest.raises(OnnxImportError) as info:
        network_from_onnx(data)
    for word in words:
        assert word in str(info.value)
    return info.value


def test_unsupported_operator_is_named_with_its_node() -> None:
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["g"], name="fc1", transB=1),
        helper.make_node("Tanh", ["g"], ["t"], name="act1"),
        helper.make_node("Gemm", ["t", "V"], ["y"], name="fc2", transB=1),
    ]
    error = refused(
        chain_graph(nodes, {"W": np.ones((3, 2)), "V": np.ones((1, 3))}), "'act1'", "Tanh"
    )
    assert (error.node, error.op_type) == ("act1", "Tanh")


def test_convolution_is_refused() -> None:
    nodes = [helper.make_node("Conv", ["x", "K"], ["y"], name="conv")]
    error = refused(chain_graph(nodes, {"K": np.ones((1, 1, 1))}), "Conv", "not supported")
    assert error.op_type == "Conv"


@pytest.mark.parametrize("data", [b"", b"not an onnx file", b"\x08\x07" + b"\xff" * 40, b"{}"])
def test_malformed_bytes_are_refused(data: bytes) -> None:
    refused(data, ".onnx file")


def test_residual_connection_is_not_a_chain() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["a"], name="mm"),
        helper.make_node("Relu", ["a"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "V"], ["b"], name="mm2"),
        helper.make_node("Add", ["b", "h"], ["y"], name="residual"),
    ]
    refused(chain_graph(nodes, {"W": np.ones((2, 2)), "V": np.ones((2, 2))}), "'h'", "residual")


def test_branching_is_not_a_chain() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["a"], name="left"),
        helper.make_node("MatMul", ["x", "V"], ["b"], name="right"),
    ]
    model = chain_graph(nodes, {"W": np.ones((2, 1)), "V": np.ones((2, 1))}, outputs=("a", "b"))
    refused(model, "feeds 2 nodes", "'left'", "'right'")


def test_mixed_hidden_activations_are_refused() -> None:
    weights, biases = random_layers([2, 3, 3, 1])
    model = torch_style_mlp(weights, biases)
    model.graph.node[3].op_type = "LeakyRelu"
    refused(model, "differs from the first hidden activation")


def test_weights_that_are_not_constants_are_refused() -> None:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.DOUBLE, ["N", 2]) for n in ("x", "w")],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
    )
    refused(helper.make_model(graph), "2 inputs")


def test_ambiguous_post_processing_is_refused() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["z"], name="mm"),
        helper.make_node("Softmax", ["z"], ["p"], name="softmax", axis=1),
        helper.make_node("Sub", ["one", "p"], ["y"], name="flip"),
    ]
    model = chain_graph(nodes, {"W": np.ones((2, 3)), "one": np.ones(1)})
    error = refused(model, "'flip'", "1 - p")
    assert error.op_type == "Sub"
    nodes[2] = helper.make_node("Log", ["p"], ["y"], name="log")
    assert refused(chain_graph(nodes, {"W": np.ones((2, 3))}), "Log").op_type == "Log"


def test_integer_input_and_activation_at_the_end_are_refused() -> None:
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")]
    refused(chain_graph(nodes, {"W": np.ones((2, 1))}, elem=TensorProto.INT64), "INT64")
    nodes.append(helper.make_node("Relu", ["y"], ["r"], name="relu"))
    refused(chain_graph(nodes, {"W": np.ones((2, 1))}, outputs=("r",)), "does not end")


def test_layers_that_do_not_chain_are_refused() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["a"], name="mm"),
        helper.make_node("Relu", ["a"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "V"], ["y"], name="mm2"),
    ]
    refused(chain_graph(nodes, {"W": np.ones((2, 3)), "V": np.ones((4, 1))}), "'mm2'", "3 units")


def test_stray_nodes_and_outputs_are_refused() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
        helper.make_node("Relu", ["W"], ["z"], name="stray"),
    ]
    refused(chain_graph(nodes, {"W": np.ones((2, 1))}, outputs=("y", "z")), "'stray'")


def test_the_module_needs_no_web_framework() -> None:
    code = (
        "import sys, relumap_service.onnx_io\n"
        "print(sorted(m for m in sys.modules if m.startswith(('flask', 'marshmallow'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


_VALID = [
    network_to_onnx(network("binary-leaky"), classes=["a", "b"]),
    torch_style_mlp(*random_layers([3, 4, 2]), final="Softmax", flatten=True).SerializeToString(),
]


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from([0, 1]),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 10**6),
)
def test_damaged_files_fail_as_import_errors(which: int, edits, cut: int) -> None:
    data = bytearray(_VALID[which])
    for position, value in edits:
        data[position % len(data)] = value
    damaged = bytes(data[: max(1, len(data) - cut % 64)])
    try:
        found = network_from_onnx(damaged)
    except OnnxImportError as exc:
        assert str(exc)
    else:
        assert found.network.n_inputs >= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_fail_as_import_errors(data: bytes) -> None:
    with pytest.raises(OnnxImportError):
        network_from_onnx(data)


def test_dynamo_style_linear_with_a_transposed_weight() -> None:
    # torch.onnx.export(..., dynamo=True) writes nn.Linear through torchlib's
    # aten_linear: MatMul(x, Transpose(weight, perm=[1, 0])) then Add.
    weights, biases = random_layers([2, 6, 1], seed=12)
    inits = {f"l{i}.weight": w for i, w in enumerate(weights)}
    inits.update({f"l{i}.bias": b for i, b in enumerate(biases)})
    nodes = []
    tensor = "x"
    for i in range(2):
        nodes += [
            helper.make_node("Transpose", [f"l{i}.weight"], [f"wt{i}"], name=f"t{i}", perm=[1, 0]),
            helper.make_node("MatMul", [tensor, f"wt{i}"], [f"m{i}"], name=f"matmul{i}"),
            helper.make_node("Add", [f"m{i}", f"l{i}.bias"], [f"a{i}"], name=f"add{i}"),
        ]
        tensor = f"a{i}"
        if i == 0:
            nodes.append(helper.make_node("Relu", [tensor], ["h"], name="relu"))
            tensor = "h"
    nodes[-1].output[0] = "y"
    model = chain_graph(nodes, inits)
    X = points(2)
    got = network_from_onnx(model.SerializeToString()).network
    np.testing.assert_allclose(got.predict(X), run(model, X)[0], rtol=0, atol=1e-9)
    # A Transpose of the data itself is not a layer.
    nodes.insert(0, helper.make_node("Transpose", ["x"], ["xt"], name="flip", perm=[1, 0]))
    nodes[3].input[0] = "xt"
    assert refused(chain_graph(nodes, inits), "'flip'").op_type == "Transpose"


@pytest.mark.parametrize(
    ("final", "n_out", "words"), [("Sigmoid", 3, "3 outputs"), ("Softmax", 1, "one output")]
)
def test_output_activations_need_a_sensible_width(final: str, n_out: int, words: str) -> None:
    weights, biases = random_layers([2, 4, n_out])
    refused(torch_style_mlp(weights, biases, final=final), words)
