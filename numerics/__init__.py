"""Numeric tier: chains, finite-RNN Monte Carlo, kernel quadrature, limit ODE, generated code.

This package never imports ``proofs_check``.
"""
