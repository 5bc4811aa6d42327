"""gradbook: the shared package of the executable textbook on vanishing and exploding gradients.

Import it as ``import gradbook as gb``. One rule for the whole package: every name a
chapter uses is ``gb.<name>`` (listed in ``__all__``); the exercise checks are the one
namespace of their own, ``gb.checks.<name>``. Results come back as small frozen
dataclasses (``gb.FitRecord``, ``gb.ActivationStats``, ...), never as dicts.

Each module holds one idea; :data:`MODULES` below says which (CONTRIBUTING.md has the
same map with a line on each). A name is looked up in its module on first use, so
``import gradbook`` itself loads nothing but this file.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Every public name, by the module that holds it (in the order a reader meets them).
MODULES: dict[str, tuple[str, ...]] = {
    "seeding": ("ENV_VAR", "MAX_SEED", "THREADS", "default_seed", "set_seed"),
    "data": ("N_CLASSES", "N_PIXELS", "N_TRAIN", "N_VAL", "gaussian_inputs", "load_digits", "one_hot"),
    "activations": (
        "ACTIVATIONS", "ELEMENTWISE", "SELU_ALPHA", "SELU_LAMBDA", "Maxout", "activation_fn", "activation_module",
        "derivative", "elu_prime", "gain_interval_width", "leaky_relu_prime", "maxout_prime", "relu_prime",
        "selu_prime", "sigmoid_prime", "sigmoid_second", "tanh_prime",
    ),
    "models": ("INITS", "initialise", "linear_layers", "maxout_mlp", "mlp"),
    "probes": (
        "ActivationStats", "DeltaNorms", "activation_outputs", "activation_stats", "dead_unit_fraction",
        "dead_units", "delta_norms", "grad_norms", "nielsen_delta_norms", "total_norm",
    ),
    "train": ("OPTIMIZERS", "FitRecord", "accuracy", "fit"),
    "stacked": (
        "NORMS", "RESIDUALS", "STACKED_LOSSES", "GradientWalk", "StackedFit", "StackedMLP", "fit_stacked",
        "gradient_walk", "stacked_accuracy", "stacked_layer_grad_norms", "stacked_member",
    ),
    "stacked_rnn": ("STACKED_KINDS", "StackedRNN"),
    "backprop": (
        "CHAIN_ACTIVATIONS", "chain_bias_grads", "chain_forward", "two_layer_relu_grads", "two_layer_relu_loss",
        "two_layer_relu_problem",
    ),
    "multiseed": (
        "NIELSEN", "MultiseedRun", "multiseed_accuracy", "multiseed_backprop", "multiseed_cost",
        "multiseed_delta_norms", "multiseed_forward", "multiseed_init", "multiseed_orders", "multiseed_train",
    ),
    "monitor": ("GradientMonitor", "NonFiniteError", "NonFiniteEvent"),
    "diagnosis": ("THRESHOLDS", "ActivationReport", "Diagnosis", "LayerReport", "diagnose"),
    "randmat": ("growth_per_factor", "log_growth_per_factor", "product_norms", "spectral_norms"),
    "jacobian": (
        "SignalSpread", "forward_backward_std", "input_output_jacobian", "jacobian_singular_values",
        "layer_jacobians",
    ),
    "rnn": ("KINDS", "RecurrentNet", "recurrent_net", "scaled_orthogonal"),
    "through_time": (
        "hidden_gradient_norms", "jacobian_product_norms", "net_jacobian", "state_gradient_norms", "step_jacobians",
    ),
    "clipping": ("clip_by_norm", "clip_by_value", "cosine"),
    "cliff": ("CliffPath", "cliff_descent", "cliff_loss_and_grad"),
    "tasks": ("ADDING_BASELINE_MSE", "adding_problem", "latch_task"),
    "parallel": ("BACKENDS", "run_parallel"),
    "formatting": ("humanize", "number"),
    "explorers": ("Explorer", "explorer"),
    "plotting": ("PALETTE", "WIDTH", "PowerOfTenFormatter", "figure", "log_axis", "plot_layer_norms",
                 "use_style"),
    "ledger": (
        "CLAIM_KINDS", "Claim", "Criterion", "above", "at_least", "at_most", "below", "between",
        "claims_markdown", "collect", "equal", "format_measured", "ledger_counts", "ledger_markdown", "near",
        "show_claims", "true", "within_factor",
    ),
}

_HOME = {name: module for module, names in MODULES.items() for name in names}

__all__ = sorted(_HOME) + ["checks"]


def __getattr__(name: str):
    """Look ``name`` up in the module that holds it (see :data:`MODULES`), once."""
    if name in _HOME:
        value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    elif name == "checks" or name in MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'gradbook' has no attribute {name!r}; the public names are in gb.__all__")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
