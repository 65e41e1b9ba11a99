"""ONNX export of `MLPClassifier` and `MLPRegressor` through skl2onnx (the ``onnx`` extra).

skl2onnx converts a model by looking up its class in a registry of
converters; LightGBM and XGBoost add their models to it with
``skl2onnx.update_registered_converter``, and so does this module.  fastnn's
estimators hold the same network as scikit-learn's MLPs, so each converter
hands skl2onnx's own MLP converter a scikit-learn MLP holding fastnn's
weights (a local operator, the way skl2onnx's ensemble converters reuse
other converters), and adds only what that converter lacks:

- the Poisson regressor's ``exp`` output: skl2onnx knows no "exp" output
  activation, so the network is converted with an identity output and
  ``Exp`` is applied after it;
- multi-output regression: skl2onnx's regressor converter reshapes its
  output to a single column, (n_samples * n_outputs, 1), so the output is
  reshaped back to (n_samples, n_outputs);
- multilabel classification: skl2onnx's classifier converter takes a
  model with two labels for a binary one (and gives it four probability
  columns), so the multilabel outputs are built here: the sigmoids, and
  ``p > 0.5`` as the labels (``Greater``, which onnxruntime also runs in
  double precision, unlike ``Binarizer``);
- fastnn's other name for the logistic activation, "sigmoid".

Registration must not cost ``import fastnn`` the import of skl2onnx and
onnx (seconds), so `install_registration` registers at once only when
skl2onnx is already imported, and otherwise puts a finder on
``sys.meta_path`` that registers as soon as skl2onnx has been imported,
then removes itself.  `register_onnx_converters` does the same on request.
"""

import sys
import warnings

__all__ = ["register_onnx_converters"]

#: The aliases under which skl2onnx knows fastnn's estimators.
CLASSIFIER_ALIAS = "FastnnMLPClassifier"
REGRESSOR_ALIAS = "FastnnMLPRegressor"

#: fastnn's hidden activations under the names skl2onnx's MLP converter knows.
_SKLEARN_ACTIVATION = {"sigmoid": "logistic"}

#: The output layers (``out_activation_``) that the converters can export.
_OUTPUT_LAYERS = ("identity", "exp", "logistic", "softmax")

# The options of skl2onnx's converter for scikit-learn's MLPClassifier, which
# its classifier parser handles for any classifier.  "nocl" is only allowed
# off (its shape calculator reads it): that converter writes the class labels
# whatever its value.
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "output_class_labels": [False, True],
    "nocl": [False],
}


def register_onnx_converters() -> None:
    """Register fastnn's estimators with skl2onnx, so that ``skl2onnx.to_onnx`` converts them.

    fastnn does this by itself as soon as both ``fastnn.estimators`` (that
    is, `fastnn.MLPClassifier` or `fastnn.MLPRegressor`) and skl2onnx are
    imported, in either order; call this function only where that cannot
    work, for example after an import hook manager has reset
    ``sys.meta_path``.  Registering again is harmless.

    Raises
    ------
    ImportError
        When skl2onnx (the ``onnx`` extra) is not installed.

    Notes
    -----
    The converted graph computes what ``predict``, ``predict_proba`` and
    the regressor's ``predict`` compute: the classifier gives the labels
    (``output_label``) and the probabilities (``output_probability``, a list
    of dicts unless ``options={"zipmap": False}``), the regressor one
    (n_samples, n_outputs) tensor ``variable``, with the exponential of the
    network's output for ``loss="poisson"``.  The graph computes in float32
    for a float32 (or integer) ``X`` and in float64 for a float64 ``X``,
    whatever the precision of the fitted network.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skl2onnx import to_onnx
    >>> from fastnn import MLPRegressor
    >>> from fastnn.estimators import register_onnx_converters
    >>> register_onnx_converters()  # already done on import; harmless
    >>> X = np.linspace(0, 1, 40, dtype=np.float32).reshape(-1, 1)
    >>> reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(), solver="lbfgs")
    >>> reg = reg.fit(X, np.arange(40) % 5)
    >>> onx = to_onnx(reg, X)
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString(),
    ...                                        providers=["CPUExecutionProvider"])
    >>> (predicted,) = session.run(None, {"X": X})
    >>> bool(np.allclose(predicted.ravel(), reg.predict(X), rtol=1e-5))
    True
    """
    from skl2onnx import update_registered_converter

    from .classifier import MLPClassifier
    from .regressor import MLPRegressor

    update_registered_converter(
        MLPClassifier,
        CLASSIFIER_ALIAS,
        _classifier_output_shapes,
        _convert_classifier,
        options=_CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        MLPRegressor, REGRESSOR_ALIAS, _regressor_output_shapes, _convert_regressor
    )


# --- registration without importing skl2onnx ----------------------------------------


def install_registration() -> None:
    """Register now if skl2onnx is imported, else once it is (``fastnn.estimators`` calls this)."""
    if "skl2onnx" in sys.modules:
        _register_or_warn()
    elif not any(isinstance(finder, _RegisterAfterImport) for finder in sys.meta_path):
        # First in line, so that it sees the import before the finder that
        # will find skl2onnx; it finds nothing itself.
        sys.meta_path.insert(0, _RegisterAfterImport())


def _register_or_warn():
    # A failure here surfaces inside someone else's ``import``, where an
    # exception would break code that never asked for ONNX: warn instead.
    try:
        register_onnx_converters()
    except Exception as error:
        warnings.warn(
            f"fastnn could not register its ONNX converters with skl2onnx ({error!r}), so "
            "skl2onnx.to_onnx will not convert fastnn's estimators; "
            "fastnn.estimators.register_onnx_converters() raises the error in full",
            RuntimeWarning,
            stacklevel=3,
        )


class _RegisterAfterImport:
    """A ``sys.meta_path`` finder that lets skl2onnx be found as usual and wraps its loader,
    so that fastnn's converters are registered once skl2onnx's ``__init__`` has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "skl2onnx":
            return None
        # Ask the other finders directly (importlib.util.find_spec would ask
        # this one again); they include editable-install finders.
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None

    def invalidate_caches(self):
        pass


class _RegisteringLoader:
    """skl2onnx's own loader, which registers fastnn's converters after executing skl2onnx."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Give the module its own loader back first: nothing of this wrapper
        # outlives the import.
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RegisterAfterImport)]
        _register_or_warn()

    def __getattr__(self, name):
        # Everything else (resource readers, get_code, ...) is the real loader's.
        return getattr(self._loader, name)


# --- shape calculators ------------------------------------------------------------------


def _check_exportable(model):
    if model.out_activation_ not in _OUTPUT_LAYERS:
        raise NotImplementedError(
            f"{type(model).__name__} has out_activation_={model.out_activation_!r}, which "
            f"fastnn's ONNX converter cannot export; it exports {list(_OUTPUT_LAYERS)}"
        )


def _multilabel(model):
    return model._label_binarizer.y_type_ == "multilabel-indicator"


def _classifier_output_shapes(operator):
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    model = operator.raw_operator
    _check_exportable(model)
    calculate_linear_classifier_output_shapes(operator)
    if _multilabel(model):
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type.shape = [n_rows, model.n_outputs_]


def _regressor_output_shapes(operator):
    from skl2onnx.common.shape_calculator import calculate_linear_regressor_output_shapes

    model = operator.raw_operator
    _check_exportable(model)
    calculate_linear_regressor_output_shapes(operator)
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type.shape = [n_rows, model.n_outputs_]


# --- converters ---------------------------------------------------------------------------


def _sklearn_twin(model, sklearn_class, out_activation):
    """A scikit-learn MLP of class ``sklearn_class`` holding ``model``'s fitted network,
    with the output layer ``out_activation``; the attributes are those skl2onnx reads."""
    # The fitted network's activation, which predict uses, rather than the
    # hyperparameter (which set_params may have changed since fit).
    activation = model.mlp_.activation
    twin = sklearn_class(activation=_SKLEARN_ACTIVATION.get(activation, activation))
    twin.coefs_ = model.coefs_
    twin.intercepts_ = model.intercepts_
    twin.n_layers_ = model.n_layers_
    twin.n_outputs_ = model.n_outputs_
    twin.n_features_in_ = model.n_features_in_
    twin.out_activation_ = out_activation
    return twin


def _float_type(operator):
    """The tensor type skl2onnx computes in for this operator's input: double or float."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    return DoubleTensorType if double else FloatTensorType


def _network_output(scope, operator, container, output_name):
    """Write the network's output, shape (n_samples, n_outputs), to ``output_name``."""
    from sklearn.neural_network import MLPRegressor
    from skl2onnx.common._apply_operation import apply_exp, apply_reshape

    model = operator.raw_operator
    exp = model.out_activation_ == "exp"
    twin = _sklearn_twin(model, MLPRegressor, "identity" if exp else model.out_activation_)
    network = scope.declare_local_operator("SklearnMLPRegressor", twin)
    network.inputs = operator.inputs
    column = scope.declare_local_variable("network_output", _float_type(operator)())
    network.outputs.append(column)
    # skl2onnx's MLPRegressor converter flattens the outputs to one column.
    shaped_name = scope.get_unique_variable_name("network_output_rows") if exp else output_name
    apply_reshape(scope, column.onnx_name, shaped_name, container,
                  desired_shape=(-1, model.n_outputs_))
    if exp:
        apply_exp(scope, shaped_name, output_name, container)


def _convert_regressor(scope, operator, container):
    _network_output(scope, operator, container, operator.outputs[0].full_name)


def _convert_classifier(scope, operator, container):
    from sklearn.neural_network import MLPClassifier
    from skl2onnx.common._apply_operation import apply_cast, apply_greater, apply_identity
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.proto import onnx_proto

    model = operator.raw_operator
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    if _multilabel(model):
        _network_output(scope, operator, container, probabilities)
        half = scope.get_unique_variable_name("half")
        container.add_initializer(half, guess_proto_type(_float_type(operator)()), [], [0.5])
        # predict's rule: label j is on when its probability exceeds 0.5.
        above = scope.get_unique_variable_name("above_half")
        apply_greater(scope, [probabilities, half], above, container)
        apply_cast(scope, above, label, container, to=onnx_proto.TensorProto.INT64)
        return
    twin = _sklearn_twin(model, MLPClassifier, model.out_activation_)
    twin.classes_ = model.classes_
    twin._label_binarizer = model._label_binarizer
    network = scope.declare_local_operator("SklearnMLPClassifier", twin)
    network.inputs = operator.inputs
    for variable, name in zip(operator.outputs, ("label", "probabilities")):
        local = scope.declare_local_variable(name, variable.type.__class__())
        network.outputs.append(local)
        apply_identity(scope, local.onnx_name, variable.full_name, container)
