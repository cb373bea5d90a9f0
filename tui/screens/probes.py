"""The probes screen: create, enable and remove kprobe and uprobe events.

A definition is typed the way kprobetrace.rst writes it (``p:myopen
do_sys_openat2 dfd=%di:s32``); ftop checks its shape, then the kernel judges
it. When the kernel refuses, its ``error_log`` entry is shown with the caret
under the part it refused. What ftop creates is journaled and removed on exit.
"""

from __future__ import annotations

from typing import Callable, Iterable, List, Optional

from ftop.engine.errors import FtopError, TracefsError
from ftop.engine.ftrace.probes import (
    Probe,
    explain_refusal,
    list_probes,
    parse_probe,
    plan_create,
    plan_enable,
    plan_remove,
)
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.widgets.base import FtopScreen, ThemeColors
from ftop.tui.widgets.dialogs import EditDialog, error_lines
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import ChangesMixin, ChoiceDialog, RowList
from ftop.tui.widgets.printable import printable
from rich.markup import escape
from rich.text import Text
from textual import work
from textual.widget import Widget
from textual.widgets import Static

__all__ = ["ProbeDialog", "ProbesScreen", "probe_refusal_text"]

S = "probes"
command(
    "probes.kprobe",
    "k",
    "new_kprobe",
    "New kprobe",
    "define a kprobe (p:NAME SYMBOL ARGS, r: for return)",
)
command(
    "probes.uprobe", "u", "new_uprobe", "New uprobe", "define a uprobe (p:NAME /PATH:OFFSET ARGS)"
)
command(
    "probes.enable",
    "space",
    "toggle_row",
    "On/off",
    "enable or disable the probe's event",
    key_display="space",
)
command(
    "probes.remove",
    "delete,d",
    "remove",
    "Remove",
    "remove the probe (disabled first)",
    key_display="Del",
)

KPROBE_TEMPLATE = "p:kprobes/myprobe do_sys_openat2 dfd=%di:s32 filename=+0(%si):ustring"
UPROBE_TEMPLATE = "p:uprobes/myprobe /bin/bash:0x4245c0"


def probe_refusal_text(err: FtopError) -> Text:
    """A refused definition: the kernel's reason with the caret line, then errno and error_log."""
    t = Text()
    if isinstance(err, TracefsError):
        t.append(explain_refusal(err) + "\n\n", style="bold")
    t.append_text(error_lines(err))
    return t


class ProbeDialog(EditDialog):
    """Type a probe definition; a refusal shows the kernel's error_log with its caret."""

    def __init__(self, kind: str, template: str, create: Callable[[str], None]) -> None:
        hints = (
            [
                "p[:[GROUP/]NAME] SYMBOL[+OFFS] [ARGS]   r[:NAME] SYMBOL [ARGS] (on return)",
                "args: NAME=%reg|$argN|+OFFS(FETCH)|$retval[:TYPE], TYPE u8..u64 s* x* string ustring",
            ]
            if kind == "kprobe"
            else [
                "p[:[GROUP/]NAME] /PATH:OFFSET [ARGS]   r[:NAME] /PATH:OFFSET (on return)",
                "OFFSET: the instruction's offset in the file (e.g. from objdump or nm)",
            ]
        )
        super().__init__(
            f"New {kind}",
            template,
            create,
            # Labels read markup: the brackets of the syntax must stay literal.
            hints=[escape(h) for h in [*hints, "created enabled; removed when ftop exits"]],
        )

    def _refused(self, err: FtopError) -> None:
        super()._refused(err)
        self.query_one("#error", Static).update(probe_refusal_text(err))


class ProbesScreen(ChangesMixin, FtopScreen):
    """kprobe_events and uprobe_events as a list, with create/enable/remove."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    ProbesScreen #cols { height: 1; background: $panel; text-style: bold; }
    ProbesScreen #probes { height: 1fr; }
    ProbesScreen #detail { height: auto; max-height: 8; padding: 0 1; background: $surface; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.loaded = False
        self.available: List[str] = []
        self.list: RowList[Probe] = RowList(self._render_probe, id="probes")

    def compose_body(self) -> Iterable[Widget]:
        yield Static(id="cols")
        yield self.list
        yield Static(id="detail")

    def on_mount(self) -> None:
        self.list.focus()
        self.query_one("#cols", Static).update(
            Text(f" {'on':<4}{'kind':<11}{'event':<30}definition")
        )
        self.reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.loaded:
            self.reload()

    def reload(self) -> None:
        self._load(self.begin_read("probes-load"))

    @work(thread=True, exclusive=True, group="probes-load", exit_on_error=False)
    def _load(self, gen: int) -> None:
        caps = self.backend.caps
        available = [n for n in ("kprobe_events", "uprobe_events") if caps.has(n)]
        probes = list_probes(self.tracefs)
        self.deliver_read("probes-load", gen, self._loaded, probes, available)

    def _loaded(self, probes: List[Probe], available: List[str]) -> None:
        self.loaded = True
        self.available = available
        keep = self.list.current
        self.list.set_rows(probes, keep=(lambda p: p.name == keep.name) if keep else None)
        self.show_detail()

    def on_row_list_moved(self, event: RowList.Moved) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        tv = ThemeColors(self.app)
        muted = tv.get("foreground-muted", "")
        t = Text()
        p = self.list.current
        if p is not None:
            t.append(printable(p.definition()) + "\n", style="bold")
            t.append(
                f"events/{p.group}/{p.event}: "
                + ("enabled" if p.enabled else "disabled" if p.enabled is False else "?")
                + "; its lines stream in the live view (1)\n",
                style=muted,
            )
        elif self.loaded:
            t.append("no kprobe or uprobe events defined\n", style=muted)
        have = [n.split("_")[0] for n in self.available]
        if have:
            keys = " ".join(f"{n[0]}: new {n}" for n in have)
            t.append(keys, style=muted)
        else:
            t.append(
                "this kernel has neither kprobe_events nor uprobe_events",
                style=tv.get("error", "red"),
            )
        self.query_one("#detail", Static).update(t)

    def _render_probe(self, p: Probe, width: int) -> Text:
        lst = self.list
        t = Text()
        t.append(
            f" {glyphs().on} " if p.enabled else f" {glyphs().off} ",
            style=lst.style_of("mark") if p.enabled else lst.style_of("dim"),
        )
        t.append(" ")
        kind = ("kret" if p.kind == "kprobe" else "uret") + "probe" if p.ret else p.kind
        t.append(f"{kind:<11}")
        t.append(f"{p.name:<30}", style="bold")
        t.append(" ".join([p.target, *p.args]), style=lst.style_of("dim"))
        return t

    # -- actions ----------------------------------------------------------------------------

    def _new(self, kind: str) -> None:
        file = f"{kind}_events"
        if file not in self.available:
            self.app.notify(f"this kernel has no {file}", severity="error")
            return
        sess = self.backend

        def create(value: str) -> None:
            probe = parse_probe(value.strip(), kind)  # ConfigError: shown in the dialog
            sess.apply(plan_create(probe, enable=True))

        def done(result: Optional[str]) -> None:
            if result is not None:
                self.app.notify(f"{kind} created and enabled: {result.split()[0]}", title="probe")
            self.reload()
            self.ftop.poll_now()

        template = KPROBE_TEMPLATE if kind == "kprobe" else UPROBE_TEMPLATE
        self.app.push_screen(ProbeDialog(kind, template, create), done)

    def action_new_kprobe(self) -> None:
        self._new("kprobe")

    def action_new_uprobe(self) -> None:
        self._new("uprobe")

    def action_toggle_row(self) -> None:
        # Not action_toggle: that is Textual's own action (toggle an attribute).
        p = self.list.current
        if p is None:
            return
        on = not bool(p.enabled)
        self.apply_changes(
            [plan_enable(p, on)], f"{'enable' if on else 'disable'} {p.name}", self.reload
        )

    def action_remove(self) -> None:
        p = self.list.current
        if p is None:
            return

        def answer(key: Optional[str]) -> None:
            if key == "y":
                self.apply_changes(plan_remove(p), f"remove {p.name}", self.reload)

        self.app.push_screen(
            ChoiceDialog(f"Remove {p.name}?", Text(p.definition()), [("y", "remove it")]),
            answer,
        )


register_screen(
    ScreenSpec(
        S,
        "Probes",
        "0",
        ProbesScreen,
        "kprobe and uprobe events: create, enable, remove; the kernel's refusal shown",
        order=100,
    )
)
