"""The SMS gateway adapter against a fake gateway on loopback that checks the credentials
and the body: retries with backoff on 5xx, 429 and time-outs, none on other 4xx, and one
idempotency key so a retried time-out never sends twice."""

from __future__ import annotations

import json

import pytest

from domain.notify import DeliveryError
from domain.sms import SmsGateway, SmsSettings
from tests.fake_services import FakeSmsGateway, Reply

TOKEN = "jeton-de-la-passerelle-0123456789"


@pytest.fixture
def gateway():
    fake = FakeSmsGateway(token=TOKEN)
    yield fake
    fake.stop()


def adapter(url: str, waits: list[float] | None = None, **settings) -> SmsGateway:
    options = {"token": TOKEN, "sender": "CarnetSante", "timeout_seconds": 0.5,
               "tries": 3, "backoff_seconds": 0.2, **settings}
    record = waits.append if waits is not None else (lambda _seconds: None)
    return SmsGateway(SmsSettings(url=url, **options), sleep=record)


def test_accepted_with_the_stated_wire_format(gateway):
    adapter(gateway.url).send("+33612345678", "Votre code est 123456.", "cle-1")
    (request,) = gateway.requests
    headers = request["headers"]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Idempotency-Key"] == "cle-1"
    assert json.loads(request["body"]) == {"to": "+33612345678",
                                           "text": "Votre code est 123456.",
                                           "sender": "CarnetSante"}
    assert gateway.delivered == [json.loads(request["body"])]


def test_basic_credentials_work_too():
    fake = FakeSmsGateway(user="carnet", password="mot-de-passe-passerelle")
    try:
        adapter(fake.url, token="", user="carnet",
                password="mot-de-passe-passerelle").send("+33612345678", "Code", "k")
        assert len(fake.delivered) == 1
    finally:
        fake.stop()


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_too_many_requests_are_retried_with_backoff(gateway, status):
    gateway.script = [Reply(status), Reply(status)]
    waits: list[float] = []
    adapter(gateway.url, waits).send("+33612345678", "Code", "cle-2")
    assert len(gateway.requests) == 3 and len(gateway.delivered) == 1
    assert waits == [0.2, 0.4]  # doubled each time
    assert {request["headers"]["Idempotency-Key"] for request in gateway.requests} == {"cle-2"}


def test_retry_after_is_honoured_up_to_a_cap(gateway):
    gateway.script = [Reply(429, headers={"Retry-After": "3"}),
                      Reply(429, headers={"Retry-After": "3600"})]
    waits: list[float] = []
    adapter(gateway.url, waits).send("+33612345678", "Code", "cle-3")
    assert waits == [3.0, 10.0]


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_client_errors_are_final_and_not_retried(gateway, status):
    gateway.script = [Reply(status)]
    with pytest.raises(DeliveryError) as refused:
        adapter(gateway.url).send("+33612345678", "Code", "cle-4")
    assert refused.value.final is True and str(status) in refused.value.reason
    assert len(gateway.requests) == 1 and gateway.delivered == []


def test_wrong_credentials_are_final(gateway):
    with pytest.raises(DeliveryError) as refused:
        adapter(gateway.url, token="pas-le-bon").send("+33612345678", "Code", "cle-5")
    assert refused.value.final is True and "401" in refused.value.reason
    assert len(gateway.requests) == 1


def test_a_time_out_is_retried_with_the_same_key_and_sent_once(gateway):
    # The gateway accepts the first request but answers after the client gave up.
    gateway.script = [Reply(200, delay=1.5)]
    adapter(gateway.url).send("+33612345678", "Votre code est 654321.", "cle-6")
    assert len(gateway.requests) == 2
    assert [request["headers"]["Idempotency-Key"] for request in gateway.requests] == [
        "cle-6", "cle-6"]
    assert gateway.delivered == [{"to": "+33612345678", "text": "Votre code est 654321.",
                                  "sender": "CarnetSante"}]


def test_when_every_try_fails_the_error_may_pass_later(gateway):
    gateway.script = [Reply(503)] * 3
    with pytest.raises(DeliveryError) as failed:
        adapter(gateway.url).send("+33612345678", "Code", "cle-7")
    assert failed.value.final is False and failed.value.reason == "SMS gateway 503"
    assert gateway.delivered == []


def test_an_unreachable_gateway_may_pass_later():
    from tests.fake_services import free_port

    with pytest.raises(DeliveryError) as failed:
        adapter(f"http://127.0.0.1:{free_port()}/v1/sms").send("+33612345678", "Code", "k")
    assert failed.value.final is False and failed.value.reason == "SMS gateway unreachable"


def test_only_http_urls_and_no_credentials_in_a_repr():
    with pytest.raises(ValueError):
        SmsGateway(SmsSettings(url="file:///etc/passwd"))
    gateway = SmsGateway(SmsSettings(url="https://sms.example.org/v1", token=TOKEN))
    assert TOKEN not in repr(gateway) and TOKEN not in repr(gateway.__dict__.get("_sleep"))
