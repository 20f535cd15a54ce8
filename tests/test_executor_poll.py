"""DaskExecutor.result awaits a job in slices of POLL_SECONDS. A job that finished just as a
slice ran out used to be reported with the wait's own TimeoutError ("timed out after 5 s"),
which the report turned into a failed check: `.ci/run` saw tiers_generated FAIL on a loaded
2-core machine (local cluster of 2 workers). Fakes stand in for the client and the future, so
the race is replayed exactly, without Dask."""

from __future__ import annotations

import pytest

from proofs_check.executor import DaskExecutor


class FakeClient:
    def scheduler_info(self) -> dict:
        return {"workers": {"tcp://worker": {}}}


class FinishesAsTheWaitRunsOut:
    """result(timeout) raises the wait's TimeoutError; by then the job is done."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome
        self.waits = 0

    def result(self, timeout: float | None = None) -> object:
        if timeout is not None and self.waits == 0:
            self.waits += 1
            raise TimeoutError("timed out after 5 s.")
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def done(self) -> bool:
        return self.waits > 0


def test_a_job_done_as_the_wait_runs_out_returns_its_value() -> None:
    handle = FinishesAsTheWaitRunsOut(42)
    assert DaskExecutor(FakeClient()).result(handle) == 42
    assert handle.waits == 1


def test_a_jobs_own_timeout_error_is_still_the_jobs() -> None:
    own = TimeoutError("the job's own timeout")
    with pytest.raises(TimeoutError, match="the job's own timeout"):
        DaskExecutor(FakeClient()).result(FinishesAsTheWaitRunsOut(own))


def test_a_job_still_running_is_awaited_again() -> None:
    """Not done after a slice: the workers are counted and the wait goes on."""

    class SlowJob(FinishesAsTheWaitRunsOut):
        def done(self) -> bool:
            return False

        def result(self, timeout: float | None = None) -> object:
            self.waits += 1
            if self.waits < 3:
                raise TimeoutError("timed out after 5 s.")
            return "value"

    handle = SlowJob(None)
    assert DaskExecutor(FakeClient()).result(handle) == "value"
    assert handle.waits == 3
