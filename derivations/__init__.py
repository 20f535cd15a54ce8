"""Symbolic tier: configuration, the model, derivations, closed forms, Poisson, code generation.

Data flows derivations -> generated code -> numerics -> proofs_check. This package must not
import ``numerics`` at import time.
"""
