# tsx-hv fleet events: one JSON object per line for every tsx-hv step of every host.
#
# A notification callback (it prints nothing itself; the stdout callback still does). `tsx-hv
# fleet` enables it and reads the lines from the file descriptor it passes; labs that run
# ansible-playbook themselves can enable it too (docs/fleet.md):
#   ANSIBLE_CALLBACK_PLUGINS=<tsx-hv>/ansible/callback_plugins
#   ANSIBLE_CALLBACKS_ENABLED=tsx_hv_events
#   TSX_HV_FLEET_EVENTS=/path/to/events.ndjson      (or fd:N for an open descriptor)
#
# Events (field "event"):
#   play    a play (or, with `serial`, one batch of a play: Ansible starts the play again for
#           each batch) starts: name, wave (the rollout's batch number, from 1)
#   step    a task named "tsx-hv: STEP" ended on a host: host, step, status (ok, changed,
#           failed, skipped, unreachable), duration_s, msg (failures), wave
#   result  a task named "tsx-hv: result" reported a host's outcome: host, wave and the
#           fields of its msg (result, reason, speed, boot_s, ...)
#   stats   the playbook ended: per host ok, changed, failures, unreachable, skipped, rescued
# The callback API is Ansible's (ansible.plugins.callback.CallbackBase, v2_* methods), as the
# callbacks shipped with ansible-core use it.
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: tsx_hv_events
    type: notification
    short_description: NDJSON events of tsx-hv fleet steps
    description:
      - >-
        Writes one JSON object per line for every task whose name starts with the tsx-hv
        prefix to the file (or fd:N) named by the environment variable TSX_HV_FLEET_EVENTS.
    requirements:
      - enabled in callbacks_enabled
"""

STEP_PREFIX = "tsx-hv: "
ROLLOUT_PLAY = "tsx-hv rollout"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "tsx_hv_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._out = None
        self._wave = 0
        self._started = {}
        where = os.environ.get("TSX_HV_FLEET_EVENTS", "")
        if where.startswith("fd:"):
            self._out = os.fdopen(int(where[3:]), "w", buffering=1)
        elif where:
            self._out = open(where, "a", buffering=1)

    def _emit(self, **event):
        if self._out is None:
            return
        event["time"] = round(time.time(), 3)
        self._out.write(json.dumps(event, default=str) + "\n")
        self._out.flush()

    def v2_playbook_on_play_start(self, play):
        name = play.get_name().strip()
        if name == ROLLOUT_PLAY:
            self._wave += 1
        self._emit(event="play", name=name, wave=self._wave if name == ROLLOUT_PLAY else None)

    def _step(self, task):
        name = task.get_name().strip()
        # Included role tasks are named "ROLE : NAME"; the step is what follows our prefix.
        at = name.find(STEP_PREFIX)
        return name[at + len(STEP_PREFIX):] if at >= 0 else None

    def v2_runner_on_start(self, host, task):
        if self._step(task) is not None:
            self._started[(host.get_name(), task._uuid)] = time.time()

    def _result(self, result, status):
        step = self._step(result._task)
        if step is None:
            return
        host = result._host.get_name()
        began = self._started.pop((host, result._task._uuid), None)
        res = result._result
        if step == "result" and status == "ok":
            fields = res.get("msg")
            if isinstance(fields, dict):
                self._emit(event="result", host=host, wave=self._wave or None, **fields)
            return
        event = {
            "event": "step",
            "host": host,
            "step": step,
            "status": status,
            "wave": self._wave or None,
            "duration_s": round(time.time() - began, 3) if began else None,
        }
        if status in ("failed", "unreachable"):
            msg = res.get("msg") or ""
            stderr = (res.get("stderr") or "").strip()
            if stderr:
                msg = (msg + ": " if msg else "") + stderr.splitlines()[-1]
            event["msg"] = msg
        data = res.get("tsx_hv") or (res.get("ansible_facts") or {}).get("tsx_hv_step")
        if data is not None:
            event["data"] = data
        self._emit(**event)

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ok" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for h in sorted(stats.processed.keys()):
            s = stats.summarize(h)
            hosts[h] = {k: s.get(k, 0) for k in ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")}
        self._emit(event="stats", hosts=hosts)
