"""Client requests go first: engines give way while one is served, never for long, and their own calls do not count."""

from __future__ import annotations

import threading
import time

from botocore.config import Config

from localcloud.foreground import ENGINE_USER_AGENT, FOREGROUND, WORK_QUANTUM_SECONDS, ForegroundRequests
from tests.localcloud.test_firehose import SLEEPING_HANDLER, aws, module_clients, role_arn  # noqa: F401

NAPPING_HANDLER = SLEEPING_HANDLER.replace("time.sleep(5)", "time.sleep(1.5)\n    return {'records': [\n"
                                           "        {'recordId': r['recordId'], 'result': 'Ok', 'data': r['data']}\n"
                                           "        for r in event.get('records', [])]}")


def test_background_work_waits_while_a_client_request_is_served():
    requests, done = ForegroundRequests(), threading.Event()
    with requests.serving():
        waiter = threading.Thread(target=lambda: (requests.give_way(max_wait=10), done.set()))
        waiter.start()
        assert not done.wait(0.3)
    assert done.wait(2), "give_way() did not return when the request ended"
    waiter.join()


def test_background_work_is_delayed_never_starved():
    requests = ForegroundRequests()
    with requests.serving():
        started = time.monotonic()
        requests.give_way(max_wait=0.1)
        assert requests.requests_in_flight == 1
    assert time.monotonic() - started < 5


def test_a_thread_that_just_gave_way_carries_on_until_its_work_quantum_is_used():
    """Callers give way every so many items, some of 1 µs: each call would otherwise wait for the next request."""
    requests = ForegroundRequests()
    requests.give_way()
    with requests.serving():
        started = time.perf_counter()
        requests.give_way(max_wait=0.2)  # within the quantum: at once
        soon = time.perf_counter() - started
        time.sleep(WORK_QUANTUM_SECONDS)
        started = time.perf_counter()
        requests.give_way(max_wait=0.2)  # the quantum is used: waits for the request, here up to max_wait
        later = time.perf_counter() - started
    assert soon < 0.05 and later >= 0.19, (soon, later)


def test_no_request_in_flight_means_no_wait():
    requests = ForegroundRequests()
    requests.give_way(max_wait=60)  # returns at once, or this test would hang
    assert requests.requests_in_flight == 0


def _wake_up_delays_beside_a_busy_thread(pause) -> list[float]:
    """How late a thread wakes from 2 ms sleeps while another thread computes, calling pause() every ~0.1 ms.

    Waking takes the GIL back, which is what a client request that has just arrived must do first.
    """
    stop = threading.Event()

    def compute() -> None:
        while not stop.is_set():
            sum(range(2_000))
            pause()

    busy = threading.Thread(target=compute)
    busy.start()
    delays = []
    for _ in range(60):
        started = time.perf_counter()
        time.sleep(0.002)
        delays.append(time.perf_counter() - started - 0.002)
    stop.set()
    busy.join()
    return sorted(delays)


def test_giving_way_lets_a_thread_waiting_for_the_gil_in_at_once():
    """Without a request in flight give_way() still lets go of the GIL, or a request arriving then would wait
    for Python's switch interval (5 ms) before it could even count itself."""
    requests = ForegroundRequests()
    holding_on = _wake_up_delays_beside_a_busy_thread(lambda: None)
    giving_way = _wake_up_delays_beside_a_busy_thread(requests.give_way)
    assert giving_way[30] < holding_on[30] / 3, (giving_way[30], holding_on[30])


def _peak_in_flight_during(call) -> int:
    """The most client requests FOREGROUND counted while call() ran in another thread."""
    worker = threading.Thread(target=call)
    worker.start()
    peak = 0
    while worker.is_alive():
        peak = max(peak, FOREGROUND.requests_in_flight)
        time.sleep(0.02)
    worker.join()
    return peak


def test_a_client_invoke_counts_and_an_engine_marked_one_does_not(aws, session):
    function = aws.function(NAPPING_HANDLER)
    client = session.client("lambda")
    engine_like = session.client("lambda", config=Config(user_agent_extra=ENGINE_USER_AGENT))
    assert _peak_in_flight_during(lambda: client.invoke(FunctionName=function, Payload=b"{}")) >= 1
    assert _peak_in_flight_during(lambda: engine_like.invoke(FunctionName=function, Payload=b"{}")) == 0


def test_firehose_invoking_its_processor_is_not_a_client_request(aws):
    bucket = aws.bucket()
    processing = {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": aws.function(NAPPING_HANDLER)},
        {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "1"}]}]}
    name = aws.delivery_stream(aws.destination(bucket, ProcessingConfiguration=processing))
    aws.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"napped\n"})
    # The Lambda naps 1.5 s, invoked about 1 s from now; nothing else calls the server meanwhile.
    assert _peak_in_flight_during(lambda: time.sleep(3.5)) == 0
    assert b"napped" in b"".join(aws.wait_for(bucket).values())
