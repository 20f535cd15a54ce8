"""BLAS and LAPACK on one thread, in every command and every cached job, so that no number a
command prints or writes depends on the thread count (README "Same numbers everywhere").

A multithreaded BLAS splits a matrix product or a LAPACK factorisation by the number of its
threads and rounds differently with each count: measured on the default configuration (before
this module), `rnnkl limit --word-length 4` gave g_t differing in the last bits with
OPENBLAS_NUM_THREADS=1 and 2, `rnnkl poisson --word-length 5` a different u, and `rnnkl report
--budget quick` 88 different numbers in results.json (its cached jobs were pinned already; the
driver's own products, rival limits and fits were not). Two layers, because a BLAS reads its
environment once, when it is loaded, and threadpoolctl can limit only what is loaded:

* :func:`blas_environment_pinned` sets the thread variables of OpenBLAS, MKL and BLIS to 1
  before a command imports NumPy or SciPy (over the user's own values: the bits of a result must
  not depend on them), and restores them after (for an in-process caller, e.g. the tests);
* :func:`blas_on_one_thread` limits every BLAS already loaded (threadpoolctl), for a process
  that imported NumPy before (an in-process caller, a Dask worker's job).

The price, measured on a quiet 2-core machine: `rnnkl limit --word-length 7` on the default
configuration in 6.0 s against 4.1 s with two OpenBLAS threads; on a busy machine one thread is
faster, since OpenBLAS's second thread spin-waits for a busy core (the d = 2 example's limit at
load 3: 48 s wall with two threads against 17 s with one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# The variables through which OpenBLAS, MKL and BLIS read their thread count at load time.
# OMP_NUM_THREADS is left alone: numba's OpenMP threading layer would read it too, and the fast
# Monte Carlo's threads are reproducible by construction (numerics.fast_kernels).
BLAS_THREAD_VARIABLES: tuple[str, ...] = (
    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


@contextmanager
def blas_environment_pinned() -> Iterator[None]:
    """Inside the block every variable of BLAS_THREAD_VARIABLES is "1" (effective for each BLAS
    loaded inside it); after it, each has its previous value again (or is unset)."""
    previous = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    os.environ.update({name: "1" for name in BLAS_THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def blas_on_one_thread() -> Iterator[None]:
    """Every BLAS loaded in this process runs on one thread inside the block (threadpoolctl; the
    previous limits are restored after it)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
