"""Schemathesis hooks for tally's contract run (tests/contract/run_schemathesis.py).

One check of tally's own: a request tally refused (4xx) changed nothing,
i.e. the event log's head did not move while it was handled. The run uses
one worker, so no other request moves the head meanwhile.
"""
import json
import os
import urllib.request

import schemathesis

_BASE = os.environ["TALLY_BASE_URL"]
_heads = {}


def _head():
    with urllib.request.urlopen(_BASE + "/healthz", timeout=10) as r:
        return json.load(r)["head"]


@schemathesis.hook
def before_call(context, case, kwargs):
    _heads[id(case)] = _head()


@schemathesis.check
def rejected_request_changes_nothing(ctx, response, case):
    before = _heads.pop(id(case), None)
    # Never vacuous: every call went through before_call.
    assert before is not None, "before_call did not record the log head"
    if response.status_code < 400:
        return None
    after = _head()
    if after != before:
        raise AssertionError(
            f"{case.method} {case.formatted_path} was refused with {response.status_code} "
            f"but the log head moved from {before} to {after}")
    return None
