"""The background thread: jobs run in order, a full queue runs on the caller (counted), flush is complete."""

from __future__ import annotations

import os
import threading

from rythmiq_otel.distro._background import Background


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
