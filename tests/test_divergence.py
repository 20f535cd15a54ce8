"""A trained network that overflows (non-finite outputs) makes every rate fit of the
trained-network checks non-finite. Each such check now says so in its own "divergence" line:
how many replicas diverged at which N, and what to do (the advice `rnnkl simulate` gives)."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.inputs.files import load_layers
from numerics.simulate import DIVERGENCE_ADVICE
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.checks._simulations import divergence
from proofs_check.render import _detail_lines


def _levels(bad_per_rung: list[int], replicas: int = 5) -> list[dict[str, np.ndarray]]:
    levels = []
    for bad in bad_per_rung:
        f = np.ones((replicas, 7))
        f[:bad, 3] = np.nan if bad % 2 else np.inf
        levels.append({"f": f})
    return levels


def test_divergence_counts_the_replicas_with_a_non_finite_output_per_rung():
    note = divergence(_levels([0, 2, 5]), (64, 128, 256))["divergence"]
    assert "2 of 5 replicas at N = 128; 5 of 5 replicas at N = 256" in note
    assert "N = 64" not in note and note.endswith(DIVERGENCE_ADVICE)
    assert divergence(_levels([0, 0]), (64, 128)) == {}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow itself (the report records it)
def test_a_diverging_network_says_so_in_each_trained_network_check():
    """training.alpha = 1e30 overflows every replica at every N (theory.md §2's SGD step
    alpha N^(2 beta - 2) is astronomically large); before, the sections showed nan slopes with
    only the rival's "a diverged network, or an error exactly 0 at some N only"."""
    from proofs_check.checks import lazy_training, main_theorem, parameter_drift

    config = load_layers(None, ["training.alpha=1e30"]).config
    context = CheckContext(config, TINY, Cache(None, salt="diverging"), seed=0)
    results = [*parameter_drift.run(context), *lazy_training.run(context),
               *main_theorem.run(context)]
    assert len(results) == 10  # drift 4, lazy training 2, main theorem and frozen network 4
    expected = "; ".join(f"8 of 8 replicas at N = {n}" for n in TINY.n_ladder)
    for result in results:
        line = dict(_detail_lines(result))["divergence"]
        assert expected in line, (result.name, line)
        assert result.verdict == "fail"


def test_a_finite_network_has_no_divergence_line():
    from proofs_check.checks import parameter_drift

    context = CheckContext(load_layers(None, []).config, TINY, Cache(None, salt="finite"),
                           seed=0)
    assert all("divergence" not in r.details for r in parameter_drift.run(context))
