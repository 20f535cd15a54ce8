"""The input layer: what a user writes, read and checked before any work starts.

* :mod:`derivations.inputs.config`: the configuration schema (frozen dataclasses), TOML -> Config,
  and the accessors every tier uses (transition matrix, states, contraction rate);
* :mod:`derivations.inputs.fields`: the typed field readers (exact numbers, integers, lists)
  with their one-line messages;
* :mod:`derivations.inputs.validation`: the domain checks of theory.md §1-§2 (stochastic,
  irreducible, aperiodic chain; beta in [1/2, 1); rho < 1; ...);
* :mod:`derivations.inputs.files`: configuration layers (default.toml, a file, --set);
* :mod:`derivations.inputs.expression`: the whitelisted parser of target expressions (no eval,
  no sympify), and :mod:`derivations.inputs.exact_evaluation`, its bounded exact evaluation.

It sits in the ground tier (``derivations``) because every tier reads configurations.
"""
