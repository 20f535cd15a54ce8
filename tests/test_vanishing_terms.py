"""Kernel terms that vanish identically on a configuration (c_std = 0: the w and b terms carry
c^2 = 0; w_std = 0 with tanh: S and G^b stay 0). A rival "the kernel without that term" is then
the kernel itself: kernel_at_init and the main theorem named such rivals and could never
reject them (inconclusive on any budget), and tiers_kernel dropped the b term even when it
was 0. checks._common.vanishing_terms finds them from the derivations; every check that
would name such a rival says instead that it does not, and why."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.inputs.files import load_layers
from numerics.kernel import kernel_on_words, spec_from_config
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, kernel_at_init, tiers
from proofs_check.checks._common import control_group, omitted_rivals_note, vanishing_terms
from proofs_check.checks._limit import KERNEL_RIVAL, rival_solvers

SETTINGS = [
    (["init.c_std=0"], ("w", "b")),
    (["init.w_std=0"], ("c", "b")),
    (["init.c_std=0", 'network.trainable=["c","w"]'], ("w",)),
    (["init.w_std=0", 'network.activation=sigmoid'], ()),  # sigmoid(0) = 1/2: S != 0
    (["init.b_max=0", 'network.trainable=["c","w"]'], ()),
    ([], ()),
]


@pytest.mark.parametrize(("assignments", "expected"), SETTINGS)
def test_vanishing_terms_are_the_terms_the_quadrature_finds_zero(assignments, expected):
    """Independent code path: numerics.kernel's quadrature of each group's term on every word
    of length 2 is exactly 0 for the groups named, and not for the others."""
    config = load_layers(None, assignments).config
    assert vanishing_terms(config) == expected
    result = kernel_on_words(spec_from_config(config), 2)
    for group in config.network.trainable:
        zero = not np.any(result.by_group[group])
        assert zero is (group in expected), group


def test_kernel_at_init_names_no_rival_that_is_the_prediction():
    config = load_layers(None, ["init.c_std=0"]).config
    context = CheckContext(config, TINY, Cache(None, salt="vanishing"), seed=0)
    bound, _ = kernel_at_init.run(context)
    names = [r.name for r in bound.rivals]
    assert "A^N converges to A without its c term" in names
    assert not any("without its w term" in n or "without its b term" in n for n in names)
    note = bound.details["omitted_rivals"]
    assert "without its w term" in note and "without its b term" in note
    assert "init.c_std = 0" in note and "these terms of A are identically 0" in note


def test_the_limit_rivals_drop_no_vanishing_term():
    limit = {"K": np.eye(2), "pi_L": np.full(2, 0.5), "ybar": np.ones(2), "alpha": 1.0,
             "wrong_target_name": "w", "ybar_wrong": np.zeros(2),
             "K_c": np.eye(2), "K_w": np.zeros((2, 2)), "K_b": np.zeros((2, 2))}
    names = set(rival_solvers(limit, ("c", "w", "b"), ("w", "b")))
    assert names == {"f^N converges to the limit of w",
                     "no learning: the kernel without its only nonzero term (g = 0)"}
    everything = set(rival_solvers(limit, ("c", "w", "b")))
    assert {KERNEL_RIVAL.format(g) for g in "cwb"} <= everything


def test_tiers_kernel_drops_a_term_that_is_there():
    config = load_layers(None, ["init.c_std=0"]).config
    assert control_group(config) == "c"
    context = CheckContext(config, TINY, Cache(None, salt="vanishing"), seed=0)
    result = next(r for r in tiers.run(context) if r.name == "tiers_kernel")
    assert result.verdict == "pass" and result.rivals[0].name == "double kernel without its c term"


def test_no_note_when_nothing_vanishes():
    config = load_layers(None, []).config
    assert omitted_rivals_note(config, vanishing_terms(config), KERNEL_RIVAL) == ""
