"""Dispatching a flight again (a worker's restart resumes every unfinished flight) sends only
the tasks the broker does not already hold."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from linepatrol_service.celery_app import QUEUE, CeleryDispatcher, TaskLedger
from linepatrol_service.settings import ServiceSettings

pytestmark = [pytest.mark.redis]


def _dispatcher(url: str) -> CeleryDispatcher:
    return CeleryDispatcher(ServiceSettings(broker_url=url, queue="celery", batch_size=1))


def test_restarts_do_not_pile_up_tasks(redis_url):
    client = redis.Redis.from_url(redis_url)
    dispatcher = _dispatcher(redis_url)
    try:
        dispatcher.dispatch(7, photos=10)  # the submit: fanout 4
        assert client.llen(QUEUE) == 4
        for _ in range(20):  # twenty worker restarts resume the flight
            _dispatcher(redis_url).dispatch(7, photos=10)
        assert client.llen(QUEUE) == 4
        dispatcher.dispatch(8, photos=1)  # another flight is counted apart
        assert client.llen(QUEUE) == 5
        ledger = TaskLedger(dispatcher.settings)
        for _ in range(4):  # the four tasks of flight 7 finish
            ledger.finished(7)
        assert client.get(TaskLedger.key(7)) is None
        dispatcher.dispatch(7, photos=10)  # a resubmit sends them again
        assert client.llen(QUEUE) == 9
        ledger.close()
    finally:
        dispatcher.stop()
        client.close()


def test_without_redis_counting_every_dispatch_is_sent():
    ledger = TaskLedger(ServiceSettings(broker_url="amqp://guest@127.0.0.1//"))
    assert ledger.top_up(1, 4) == 4 and ledger.top_up(1, 4) == 4


def test_a_task_carries_the_submit_request_id(redis_url):
    client = redis.Redis.from_url(redis_url)
    dispatcher = _dispatcher(redis_url)
    try:
        dispatcher.dispatch(9, photos=1, request_id="submit-req-9")
        message = json.loads(client.lindex(QUEUE, 0))
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert args == [9, "submit-req-9"] and kwargs == {}
    finally:
        dispatcher.stop()
        client.close()
