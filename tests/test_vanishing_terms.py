"""Kernel terms that vanish identically on a configuration (c_std = 0: the w and b terms carry
c^2 = 0; w_std = 0 with tanh: S and G^b stay 0). A rival "the kernel without that term" is then
the kernel itself: kernel_at_init and the main theorem named such rivals and could never
reject them (inconclusive on any budget), and tiers_kernel dropped the b term even when it
was 0. checks._common.vanishing_terms finds them from the derivations; every check that
would name such a rival says instead that it does not, and why. Likewise f_0 = 0 exactly (c or
S drawn at 0, besides antisymmetric initialisation): the output check states that exact claim
and the predicted rate drops the output term."""

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


# ------------------------------------------------- the output at initialisation: f_0 = 0 exactly

ACTIVATIONS = ["tanh", "erf", "sigmoid", "linear"]
ZERO_SETS = [(), ("c",), ("w",), ("b",), ("w", "b"), ("c", "b")]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("zero", ZERO_SETS)
def test_initial_output_vanishes_exactly_when_the_frozen_network_gives_0(activation, zero):
    """Independent code path: numerics.frozen's network of 64 drawn units (the zero groups at
    0) on paths of the default chain's states gives f_0 = 0 at every step exactly when the
    derivation says so (c at 0, or S at 0: w at 0 with sigma(0) = 0)."""
    from derivations.kernel_dependence import initial_output_vanishes
    from numerics.frozen import frozen_outputs

    rng = np.random.default_rng(7)
    n = 64
    c = np.zeros(n) if "c" in zero else rng.normal(0.0, 1.0, n)
    w = np.zeros((n, 1)) if "w" in zero else rng.normal(0.0, 1.0, (n, 1))
    b = np.zeros(n) if "b" in zero else rng.uniform(-0.5, 0.5, n)
    inputs = np.array([-1.0, 0.3, 1.0])[rng.integers(0, 3, size=(5, 6))][..., None]
    f = frozen_outputs(c, w, b, activation, 0.75, inputs, paired=False)
    assert initial_output_vanishes(False, activation, zero) is bool(np.all(f == 0.0))
    assert initial_output_vanishes(True, activation, zero)  # mirrored pairs, any draw


@pytest.mark.parametrize(("assignments", "group"), [
    (["init.c_std=0", "network.beta=0.6"], "c"), (["init.w_std=0", "network.beta=0.6"], "w")])
def test_a_zero_output_configuration_claims_f0_is_0_and_r_without_the_output_term(
        assignments, group):
    from proofs_check.checks import output_at_init
    from proofs_check.checks._common import output_vanishes, predicted_exponent

    config = load_layers(None, assignments).config
    assert output_vanishes(config)
    # r = min(1 - beta, 1/2) = 0.4, not min(beta - 1/2, ...) = 0.1
    assert predicted_exponent("overall", config) == pytest.approx(-0.4, abs=1e-15)
    context = CheckContext(config, TINY, Cache(None, salt="zero-output"), seed=0)
    result = output_at_init.run(context)
    assert result.prediction == 0.0 and result.measured == 0.0 and result.verdict == "pass"
    (rival,) = result.rivals
    assert f"{group} drawn at unit scale" in rival.name
    assert rival.rejected and rival.measured > 1e-3


def test_the_default_still_predicts_the_output_term():
    from proofs_check.checks._common import output_vanishes, predicted_exponent

    config = load_layers(None, ["network.beta=0.6"]).config
    assert not output_vanishes(config)
    assert predicted_exponent("overall", config) == pytest.approx(-0.1, abs=1e-15)


def test_with_two_causes_of_a_zero_output_the_rival_removes_both():
    """Antisymmetric initialisation with c_std = 0: the unpaired network alone still has c = 0,
    so f_0 = 0 there too; the rival must drop the copies and draw c at unit scale."""
    from proofs_check.checks import output_at_init

    config = load_layers(None, ["network.antisymmetric=true", "init.c_std=0"]).config
    result = output_at_init.run(CheckContext(config, TINY, Cache(None, salt="two"), seed=0))
    (rival,) = result.rivals
    assert "without the mirrored copies" in rival.name and "c drawn at unit scale" in rival.name
    assert result.verdict == "pass" and rival.rejected
    assert "mirrored pairs" in result.tolerance_source
    assert "init.c_std = 0" in result.tolerance_source


def _antisymmetric_output_check(monkeypatch=None, change=None):
    from proofs_check.checks import output_at_init

    if change is not None:
        real = output_at_init.frozen_outputs
        monkeypatch.setattr(output_at_init, "frozen_outputs",
                            lambda *args, **kwargs: change(real(*args, **kwargs)))
    config = load_layers(None, ["network.antisymmetric=true"]).config
    return output_at_init.run(CheckContext(config, TINY, Cache(None, salt="antisym"), seed=0))


def test_antisymmetric_initialisation_claims_f0_is_exactly_0_and_rejects_the_unpaired_rival():
    """The mirrored copies (c -> -c, the same w and b) cancel every word's output exactly; the
    unpaired half does not."""
    result = _antisymmetric_output_check()
    (rival,) = result.rivals
    assert result.measured == 0.0 and result.tolerance == 1e-12 and result.verdict == "pass"
    assert "unpaired" in rival.name and rival.rejected and rival.measured > 1e-3


def test_the_zero_output_claim_fails_a_network_off_by_1e_9(monkeypatch):
    """The tolerance is a rounding margin (1e-12), not a window: an output 1e-9 off 0 fails."""
    result = _antisymmetric_output_check(monkeypatch, lambda f: f + 1e-9)
    assert 1e-9 <= result.measured < 2e-9 and not result.accepted and result.verdict == "fail"


def test_the_zero_output_claim_is_inconclusive_when_its_rival_is_zero_too(monkeypatch):
    """When the rival network gives 0 as well (here every output forced to 0), nothing tells
    the claim from the rival: the rival is not rejected and the verdict is not a pass."""
    result = _antisymmetric_output_check(monkeypatch, lambda f: 0.0 * f)
    (rival,) = result.rivals
    assert result.accepted and not rival.rejected and result.verdict == "inconclusive"


def test_tiers_kernel_reads_no_state_0_where_the_dropped_term_would_vanish():
    """erf without recurrence (b = 0, c and w trained) on states (-1, 0, 2): the words (x_0, x_2)
    and (x_2, x_1) had the newest input 0 in v, so G^w(v) = erf'(0) 0 = 0, the w term of A(u, v)
    was 0 and the rival "without its w term" equalled the claim (inconclusive)."""
    config = load_layers(None, ['chain.states=[[-1.0], [0.0], [2.0]]',
                                'network.activation=erf', 'network.trainable=["c", "w"]',
                                'init.b_max=0.0']).config
    assert control_group(config) == "w"
    context = CheckContext(config, TINY, Cache(None, salt="vanishing"), seed=0)
    result = next(r for r in tiers.run(context) if r.name == "tiers_kernel")
    (rival,) = result.rivals
    assert result.verdict == "pass" and rival.rejected
    assert rival.measured > 1e6 * result.tolerance
    assert all(x[0] != 0.0 for word in result.details["words"] for x in word)
