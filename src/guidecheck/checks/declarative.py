"""Evaluator for declarative rules (``declarative:`` in ``rules/*.yaml``).

    declarative:
      for-each: container          # container | pod | object
      containers: long-running     # all | long-running | app
      kinds: [Deployment]          # optional; default: every workload kind
      require: [resources.limits.cpu, resources.limits.memory]
      forbid: [securityContext.privileged]   # must be absent, false, null or empty
      message: "container '{container}' has no {missing}"

A required path is satisfied when every key exists and the value is not
null/empty; a forbidden path when it is absent or false/null/empty.  One
finding per item, naming every missing ({missing}) and present ({present})
path.  The team's own rules (``custom-rules:`` in .guidecheck.yaml) use the
same language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from guidecheck.checks import Context, NotApplicable, workload_containers, workload_object
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import col_of, line_of


def _present(node: Any, path: str) -> bool:
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return node is not False and node not in (None, "", [], {})


def make_check(spec: dict[str, Any]) -> Callable[[Target, Context], Iterator[Hit]]:
    each = spec["for-each"]
    which = spec.get("containers", "all")
    kinds = tuple(spec.get("kinds") or ())
    require = tuple(spec.get("require") or ())
    forbid = tuple(spec.get("forbid") or ())
    message = spec["message"]
    try:
        message.format(missing="", present="", container="", kind="", name="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"message {message!r}: unknown or malformed placeholder {exc}") from None

    def check(target: Target, ctx: Context) -> Iterator[Hit]:
        obj = workload_object(target, ctx)
        kind = obj.get("kind")
        if kinds and kind not in kinds:
            raise NotApplicable(f"{kind} is not a kind this rule checks")
        if which == "long-running" and not k8s.is_long_running(obj):
            raise NotApplicable(f"{kind} is not long-running")
        if each == "object":
            items = [(None, obj, target.line, 1)]
        elif each == "pod":
            spec_ = k8s.pod_spec(obj)
            if spec_ is None:
                raise NotApplicable("no pod spec")
            items = [(None, spec_, line_of(spec_, target.line), col_of(spec_))]
        else:
            items = [(c.name, c.data, c.line, c.column) for c in workload_containers(obj, which)]
        for name, node, line, column in items:
            missing = [p for p in require if not _present(node, p)]
            present = [p for p in forbid if _present(node, p)]
            if missing or present:
                yield Hit(
                    message.format(
                        missing=" and ".join(missing),
                        present=" and ".join(present),
                        container=name,
                        kind=kind,
                        name=target.ref.name,
                    ),
                    line=line,
                    column=column,
                    container=name,
                    about=(missing or present)[0].split(".")[0],
                )

    return check
