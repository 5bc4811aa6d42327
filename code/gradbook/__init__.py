"""gradbook: the shared package of the executable textbook on vanishing and exploding gradients.

Import it as ``import gradbook as gb``. Each module holds one idea:

* :mod:`gradbook.seeding` - ``set_seed`` (honours ``GRADBOOK_SEED``)
* :mod:`gradbook.data` - the digits with one fixed split; synthetic Gaussian inputs
* :mod:`gradbook.activations` - activations (maxout and PReLU too), their derivatives, dead-unit counts
* :mod:`gradbook.models` - ``mlp`` and ``initialise`` with explicit init schemes
* :mod:`gradbook.probes` - per-layer gradient norms, Nielsen's statistic, activation statistics
* :mod:`gradbook.backprop` - chapter 1's hand-written backpropagation
* :mod:`gradbook.plotting` - the book's figure style
* :mod:`gradbook.checks` - checks for the coding exercises
* :mod:`gradbook.ledger` - "source says / we measure" tables for the claims ledger
* :mod:`gradbook.multiseed` - many seeds trained at once as one batched model (chapter 3)
* :mod:`gradbook.monitor` - a gradient monitor that catches explosions early (chapter 4)
* :mod:`gradbook.randmat` - products and norms of random matrices (chapter 4)
* :mod:`gradbook.jacobian` - layer and input-output Jacobians, forward/backward spread (chapter 5)
* :mod:`gradbook.recurrent` - RNN, IRNN, LSTM and GRU cells written out; gradients through time (chapters 7-9)
* :mod:`gradbook.clipping` - clipping by norm and by value; Pascanu's one-unit cliff (chapter 8)
* :mod:`gradbook.tasks` - long-range sequence tasks: the latch task (chapter 8), the adding problem (chapter 9)
* :mod:`gradbook.parallel` - independent training jobs side by side, one per core (chapter 9)

Modules not imported below load on first use: ``gb.monitor.GradientMonitor`` just works.
"""

from . import checks
from .activations import (
    ACTIVATIONS,
    activation_module,
    gain_interval_width,
    sigmoid_prime,
    sigmoid_second,
    tanh_prime,
)
from .backprop import (
    chain_bias_grads,
    chain_forward,
    two_layer_relu_grads,
    two_layer_relu_loss,
    two_layer_relu_problem,
)
from .data import gaussian_inputs, load_digits, one_hot
from .ledger import Claim, claims_markdown, collect, show_claims
from .models import INITS, initialise, linear_layers, mlp
from .plotting import PALETTE, figure, log_axis, plot_layer_norms, use_style
from .probes import activation_stats, grad_norms, nielsen_delta_norms
from .seeding import default_seed, set_seed

__version__ = "0.1.0"


def __getattr__(name: str):
    """Load a submodule on first use, so ``gb.monitor`` works without importing it here."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'gradbook' has no attribute {name!r}")

__all__ = [
    "ACTIVATIONS", "INITS", "PALETTE", "Claim", "claims_markdown", "collect", "show_claims",
    "activation_module", "activation_stats", "chain_bias_grads", "chain_forward", "checks",
    "default_seed", "figure", "gain_interval_width", "gaussian_inputs", "grad_norms",
    "initialise", "linear_layers", "load_digits", "log_axis", "mlp", "nielsen_delta_norms",
    "one_hot", "plot_layer_norms", "set_seed", "sigmoid_prime", "sigmoid_second",
    "tanh_prime", "two_layer_relu_grads", "two_layer_relu_loss", "two_layer_relu_problem",
    "use_style",
]
