"""The one-letter actions as data: key, label, help and the policy action each one needs.

Screens, the footer, the `?` help and the command palette all read this table, so a key is
described in one place. Each write action is bound twice: the visible binding (greyed out when
policy refuses it) and a hidden one on the same key that explains the refusal when pressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from engine.ops import WriteAction


@dataclass(frozen=True)
class ActionSpec:
    name: str
    key: str
    label: str
    help: str
    write: WriteAction | None = None


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "retry", "r", "Retry", "Apply the selected (or the marked) failed items again", "retry"
        ),
        ActionSpec(
            "retry_run", "R", "Retry all", "Retry every failed item of the selected run", "retry"
        ),
        ActionSpec("skip", "k", "Skip", "Stop trying the item until its source changes", "skip"),
        ActionSpec(
            "skip_run", "K", "Skip all", "Skip every open failed item of the selected run", "skip"
        ),
        ActionSpec("sync", "s", "Sync", "Run the tenant now", "sync"),
        ActionSpec("dry_run", "d", "Dry run", "Plan the tenant without applying anything"),
        ActionSpec("approve", "a", "Approve", "Apply the held plan", "approve"),
        ActionSpec("reject", "x", "Reject", "Throw the held plan away", "reject"),
        ActionSpec("elevate", "e", "Elevate", "Ask for a time-boxed elevation (silver, gold)"),
        ActionSpec("logs", "l", "Logs", "Open the run's log"),
        ActionSpec("explain", "i", "Explain", "Follow the record from source to target"),
        ActionSpec("copy_id", "y", "Copy id", "Copy the selected id to the clipboard"),
    )
}


@dataclass(frozen=True)
class Target:
    """What an action would act on, from the selected row of the current screen.

    ``unavailable`` says why the action does not apply to this row (it is then shown disabled).
    ``summary`` is the sentence a confirm dialog shows: what will change and how much.
    """

    tenant: str | None = None
    summary: str = ""
    op_ids: tuple[int, ...] = ()
    run_id: int | None = None
    text: str = ""  # the id to copy, or the query to explain
    record_type: str = ""
    record_key: str = ""
    unavailable: str = ""


def unavailable(reason: str) -> Target:
    return Target(unavailable=reason)


def bindings(*names: str) -> list[BindingType]:
    """Bindings for the named actions: the visible one and the hidden refusal explainer."""
    out: list[BindingType] = []
    for name in names:
        spec = ACTIONS[name]
        out.append(
            Binding(spec.key, f"do('{name}')", spec.label, tooltip=spec.help, id=f"ess.{name}")
        )
        out.append(Binding(spec.key, f"refused('{name}')", spec.label, show=False))
    return out
