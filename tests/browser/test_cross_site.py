"""A page on another origin, opened in the same browser, tries what cross-site request
forgery can: an auto-submitted form that empties a queue through rq-dashboard's POST
route, an image whose URL requeues failed jobs on GET, and a form that submits games
through the JSON API. Nothing changes; the dashboard's own page still can."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rq import Queue
from rq.job_lifecycle import record_job_failure

from snakebench.queueing import HEALTH_CHECK, SERIALIZER

pytestmark = pytest.mark.slow

PROBE_QUEUE = "csrf-probe"  # no worker listens to it: its jobs stay until removed
# A text/plain form's body is "name=value": this one reads as a JSON batch request.
JSON_BODY = '{"model_a":"greedy","model_b":"random","x":"'


def attacker_page(target: str) -> bytes:
    return f"""<!doctype html><html><body>
<iframe name="sink" hidden></iframe>
<form id="empty" method="post" target="sink"
      action="{target}/rq/queue/{PROBE_QUEUE}/queued/empty"></form>
<form id="submit" method="post" target="sink" enctype="text/plain"
      action="{target}/api/batches"><input name='{JSON_BODY}' value='"}}'></form>
<img id="requeue" src="{target}/rq/requeue/{PROBE_QUEUE}">
<script>
  document.getElementById("empty").submit();
  setTimeout(() => document.getElementById("submit").submit(), 200);
  setTimeout(() => {{ document.title = "sent"; }}, 1200);
</script></body></html>""".encode()


@pytest.fixture
def attacker(site: Any, other_origin: Callable[[bytes], str]) -> str:
    """Another origin serving the forging page."""
    return other_origin(attacker_page(site.base_url))


def test_another_sites_page_changes_nothing_here(page: Any, site: Any, attacker: str) -> None:
    probe = Queue(PROBE_QUEUE, connection=site.redis, serializer=SERIALIZER)
    for number in range(3):
        probe.enqueue(HEALTH_CHECK, job_id=f"probe-{number}")
    failed = probe.fetch_job("probe-2")  # one failed job, for the requeue-on-GET image
    assert failed is not None
    probe.remove(failed)
    with site.redis.pipeline() as pipe:
        record_job_failure(failed, "boom", pipe)
        pipe.execute()
    batches = len(page.request.get("/api/batches").json())

    # The forging page, in the same browser (same logins), in a tab of its own.
    forger = page.context.new_page()
    answers: dict[str, int] = {}
    forger.on("response", lambda r: answers.update({r.url.split(site.base_url)[-1]: r.status}))
    forger.goto(attacker)
    forger.wait_for_function("() => document.title === 'sent'")
    forger.wait_for_timeout(500)  # the last request's answer
    forger.close()
    assert probe.count == 2, "a cross-site form emptied the queue"
    assert len(page.request.get("/api/batches").json()) == batches
    assert answers[f"/rq/queue/{PROBE_QUEUE}/queued/empty"] == 403
    assert answers["/api/batches"] == 403
    assert probe.failed_job_registry.get_job_ids(cleanup=False) == ["probe-2"]  # not requeued

    # The dashboard's own page, same origin, still changes things.
    page.goto("/rq/")
    status = page.evaluate(
        "async q => (await fetch(`/rq/queue/${q}/queued/empty`, {method: 'POST'})).status",
        PROBE_QUEUE,
    )
    assert status == 200 and probe.count == 0
