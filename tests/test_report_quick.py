"""The quick-budget report end to end (issue 5): on the built-in default configuration and on
an example (linear_two_state, the fastest shipped example: 39 s against 79 s for
erf_no_recurrence and 150 s for antisymmetric_beta_half, measured), every check passes and every
negative control is rejected; `rnnkl report` exits 0; results.json matches report.md.
Slow (about a minute each): marked ``slow``."""

from __future__ import annotations

import json
import re

import pytest

from proofs_check.cli import main


def _table(md: str) -> list[list[str]]:
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]


@pytest.mark.slow
@pytest.mark.parametrize("config", [None, "examples/linear_two_state.toml"])
def test_quick_report_all_pass(config, tmp_path):
    args = ["report", "--budget", "quick", "--out", str(tmp_path), "--no-progress"]
    if config:
        args += ["--config", config]
    code = main(args)
    doc = json.loads((tmp_path / "results.json").read_text())
    failures = [(c["name"], c["verdict"], c["negative_control"]["verdict"],
                 c.get("details", {}).get("error")) for c in doc["checks"]
                if c["verdict"] != "pass" or c["negative_control"]["verdict"] != "rejected"]
    assert not failures
    # Independent cross-checks: any that ran are within tolerance (not installed: not run).
    assert doc["crosschecks_status"]["status"] in ("ran", "not run")
    assert all(entry["passed"] for entry in doc["crosschecks"])
    assert code == 0
    names = {c["name"] for c in doc["checks"]}
    assert {"tiers_generated", "tiers_poisson", "tiers_kernel", "tiers_limit",
            "memory_contraction",
            "sobolev_bounds", "kernel_at_init", "output_at_init", "parameter_drift",
            "poisson_pathwise", "poisson_variance", "poisson_drift", "main_theorem",
            "frozen_network"} <= names
    rows = _table((tmp_path / "report.md").read_text().partition("## Independent cross-checks")[0])
    assert [(r[0], r[6], r[8]) for r in rows] == [
        (c["name"], c["verdict"], c["negative_control"]["verdict"]) for c in doc["checks"]]
    for check in doc["checks"]:
        if check["ci"] is not None:
            lo, hi = check["ci"]
            assert lo <= check["measured"] <= hi
