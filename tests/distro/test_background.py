"""The background thread: jobs run in order, a full queue runs on the caller (counted), flush is complete,
writes go out once a batch, and the gathering window gives way to urgent jobs and to ``flush()``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from rythmiq_otel.distro._background import BATCH_BYTES, BATCH_JOBS, Background


def test_jobs_from_many_threads_run_once_each_in_the_order_they_were_queued() -> None:
    background = Background()
    ran: list[tuple[int, int]] = []
    order: list[tuple[int, int]] = []
    lock = threading.Lock()

    def submit_many(thread: int) -> None:
        for n in range(500):
            with lock:  # the queue order, as the submitters saw it
                order.append((thread, n))
                background.submit(ran.append, (thread, n))

    threads = [threading.Thread(target=submit_many, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    background.flush()
    assert ran == order


def test_a_full_queue_runs_the_job_on_the_caller_after_the_queued_ones_and_counts_it() -> None:
    background = Background(max_queue=3)
    started, gate = threading.Event(), threading.Event()
    ran: list[int] = []

    def hold(_: None) -> None:  # keeps the thread busy while the queue fills up
        started.set()
        gate.wait(5)

    background.submit(hold, None)
    assert started.wait(5)
    for n in range(3):
        background.submit(ran.append, n)
    threading.Timer(0.2, gate.set).start()
    background.submit(ran.append, 3)  # the queue is full: waits for the running job, then runs 0..3 here
    assert ran == [0, 1, 2, 3]
    assert background.synchronous == 1


def test_a_job_submitted_by_a_running_job_runs_inline_before_it_returns() -> None:
    background = Background()
    ran: list[str] = []

    def outer(_: None) -> None:
        ran.append("outer starts")
        background.submit(ran.append, "inner")
        ran.append("outer ends")

    background.submit(outer, None)
    background.flush()
    assert ran == ["outer starts", "inner", "outer ends"]


def test_a_failing_job_is_reported_once_and_loses_no_later_job() -> None:
    background = Background()
    failed = threading.Event()
    reported: list[BaseException | None] = []
    ran: list[int] = []

    def fail(_: None) -> None:
        failed.set()
        raise RuntimeError("boom")

    hook, threading.excepthook = threading.excepthook, lambda args: reported.append(args.exc_value)
    try:
        background.submit(fail, None)
        assert failed.wait(5)
        background.submit(ran.append, 1)
        background.flush()
        _wait_for(lambda: reported)  # the hook runs after the failed thread's last line
    finally:
        threading.excepthook = hook
    assert ran == [1]
    assert [str(error) for error in reported] == ["boom"]


def test_a_forked_child_runs_its_jobs_on_a_new_thread_of_its_own() -> None:
    background = Background()
    background.submit(lambda _: None, None)
    background.before_fork()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        background.after_fork_in_child()
        done = threading.Event()

        def report_thread(_: None) -> None:
            os.write(write_end, threading.current_thread().name.encode())
            done.set()

        background.submit(report_thread, None)
        os._exit(0 if done.wait(5) else 1)
    background.after_fork_in_parent()
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.read(read_end, 100) == b"rythmiq-otel-background"
    background.submit(lambda _: None, None)  # the parent's lock was released after the fork
    background.flush()


class _Stream:
    """Records every ``write`` call (so the tests can count them) and every flush."""

    def __init__(self, *, fail: bool = False) -> None:
        self.writes: list[str] = []
        self.flushes = 0
        self.fail = fail

    def write(self, text: str) -> int:
        if self.fail:
            raise OSError("stream closed")
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        self.flushes += 1


def _held(background: Background) -> threading.Event:
    """Keep ``background``'s thread inside a job (the first of a batch) until the returned event is set."""
    started, gate = threading.Event(), threading.Event()

    def hold(_: None) -> None:
        started.set()
        gate.wait(5)

    background.submit(hold, None)
    assert started.wait(5)
    return gate


def _writer(background: Background, stream: _Stream, errors: list[object]) -> Callable[[str], None]:
    return lambda text: background.write(stream, text, errors.append, text)


def test_a_batch_writes_its_texts_in_order_with_one_write_and_flush_per_stream() -> None:
    background = Background(gather_s=0)
    first, second, errors = _Stream(), _Stream(), []
    gate = _held(background)
    for n in range(6):  # queued behind the held job: the same batch runs them
        background.submit(_writer(background, first if n < 4 else second, errors), f"{n}\n")
    gate.set()
    background.flush()
    assert (first.writes, first.flushes) == (["0\n1\n2\n3\n"], 1)
    assert (second.writes, second.flushes) == (["4\n5\n"], 1)
    assert errors == []


def test_an_urgent_text_goes_out_at_once_with_the_texts_before_it() -> None:
    background = Background(gather_s=0)
    stream, errors = _Stream(), []
    write = _writer(background, stream, errors)

    def job(text: str) -> None:
        if text == "error\n":
            background.write(stream, text, errors.append, text, urgent=True)
            assert stream.writes == ["info\nerror\n"]  # before the batch ends
        else:
            write(text)

    gate = _held(background)
    for text in ("info\n", "error\n", "later\n"):
        background.submit(job, text)
    gate.set()
    background.flush()
    assert stream.writes == ["info\nerror\n", "later\n"]


def test_a_batch_holds_at_most_batch_bytes_of_text_and_batch_jobs_jobs() -> None:
    background = Background(gather_s=0)
    stream, errors = _Stream(), []
    gate = _held(background)
    big = "x" * (BATCH_BYTES // 2) + "\n"
    for text in (big, big, "small\n"):
        background.submit(_writer(background, stream, errors), text)
    for n in range(2 * BATCH_JOBS):
        background.submit(_writer(background, stream, errors), f"{n}\n")
    gate.set()
    background.flush()
    assert stream.writes[0] == big + big  # over BATCH_BYTES: written before the batch ends
    assert "".join(stream.writes) == big + big + "small\n" + "".join(f"{n}\n" for n in range(2 * BATCH_JOBS))
    assert len(stream.writes) >= 3  # 2 * BATCH_JOBS + 4 jobs cannot run in one batch


def test_a_text_written_outside_a_batch_is_written_at_once() -> None:
    background, stream, errors = Background(), _Stream(), []
    background.write(stream, "now\n", errors.append, "now")
    assert (stream.writes, stream.flushes, errors) == (["now\n"], 1, [])


def test_a_failing_stream_is_reported_once_per_run_and_the_other_streams_still_get_their_texts() -> None:
    background = Background(gather_s=0)
    broken, working, errors = _Stream(fail=True), _Stream(), []
    gate = _held(background)
    for stream, text in ((broken, "a\n"), (broken, "b\n"), (working, "c\n"), (broken, "d\n")):
        background.submit(_writer(background, stream, errors), text)
    gate.set()
    background.flush()
    assert errors == ["a\n", "d\n"]  # the first text of each run that failed
    assert working.writes == ["c\n"]


def test_the_texts_of_a_batch_are_written_even_when_a_job_in_it_raises() -> None:
    background = Background(gather_s=0)
    stream, errors, reported = _Stream(), [], []

    def fail(_: None) -> None:
        raise RuntimeError("boom")

    hook, threading.excepthook = threading.excepthook, lambda args: reported.append(args.exc_value)
    try:
        gate = _held(background)
        background.submit(_writer(background, stream, errors), "before\n")
        background.submit(fail, None)
        background.submit(_writer(background, stream, errors), "after\n")
        gate.set()
        background.flush()
        _wait_for(lambda: reported)  # the hook runs after the failed thread's last line
    finally:
        threading.excepthook = hook
    assert "".join(stream.writes) == "before\nafter\n"
    assert [str(error) for error in reported] == ["boom"]


def test_an_idle_thread_wakes_for_each_lone_job_without_a_flush() -> None:
    background = Background(gather_s=0)
    for n in range(50):
        done = threading.Event()
        background.submit(lambda event: event.set(), done)
        assert done.wait(5), f"job {n} was not run by the thread"


def test_the_thread_lets_jobs_gather_but_an_urgent_job_or_a_flush_runs_them_at_once() -> None:
    background = Background(gather_s=60)
    ran: list[str] = []
    urgent_ran = threading.Event()
    background.submit(ran.append, "wakes the thread, which then waits for more")
    time.sleep(0.2)
    assert ran == []  # still gathering (60 s)
    background.submit(ran.append, "info")
    background.submit(lambda _: urgent_ran.set(), None, urgent=True)
    assert urgent_ran.wait(5)
    assert ran == ["wakes the thread, which then waits for more", "info"]
    background.submit(ran.append, "next")  # the thread is gathering again: flush does not wait for it
    started = time.monotonic()
    background.flush()
    assert ran[-1] == "next" and time.monotonic() - started < 5


def test_an_urgent_job_that_wakes_an_idle_thread_runs_without_gathering() -> None:
    background = Background(gather_s=60)
    for _ in range(3):
        done = threading.Event()
        background.submit(lambda event: event.set(), done, urgent=True)
        assert done.wait(5)


def test_flush_returns_once_the_jobs_queued_before_it_ran_while_another_thread_keeps_queueing() -> None:
    """A service thread that never stops logging must not keep ``flush()`` (at exit, before fork) running."""
    background = Background(gather_s=0)
    ran: list[int] = []
    last = 2000
    helper = ThreadPoolExecutor(1)

    def chain(n: int) -> None:  # each job has another thread queue the next before it returns
        ran.append(n)
        if n < last:
            helper.submit(background.submit, chain, n + 1).result()

    try:
        background.submit(chain, 0)
        background.flush()
        flushed_after = len(ran)
        _wait_for(lambda: len(ran) > last, timeout=30)
    finally:
        helper.shutdown()
    assert flushed_after < last
    assert ran == list(range(last + 1))


def test_a_job_queued_behind_a_failing_one_runs_without_another_submit_or_flush() -> None:
    background = Background()
    go = threading.Event()
    ran = threading.Event()

    def fail(_: None) -> None:
        go.wait(5)
        raise RuntimeError("boom")

    hook, threading.excepthook = threading.excepthook, lambda args: None
    try:
        background.submit(fail, None)
        background.submit(lambda _: ran.set(), None)  # queued while ``fail`` runs
        go.set()
        assert ran.wait(5)
    finally:
        threading.excepthook = hook


def _wait_for(condition: Callable[[], object], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def test_flush_from_inside_a_job_writes_the_texts_its_batch_wrote_so_far() -> None:
    """Even with nothing queued behind it: a job that flushes (or forks) sees its batch's lines out."""
    background = Background()
    stream, seen = _Stream(), []

    def job(_: None) -> None:
        background.write(stream, "before\n", print, None)
        background.flush()
        seen.append("".join(stream.writes))

    background.submit(job, None)
    background.flush()
    assert seen == ["before\n"]
