"""The setup screen (options, buffer, clock, cpumask, instance) and the probes screen (kprobes,
uprobes, the kernel's error_log on refusal) on the demo kernel."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from ftop.engine.demo.session import DemoSession
from ftop.engine.ftrace.probes import list_probes
from ftop.tui.screens.probes import ProbeDialog
from ftop.tui.screens.setup import cpu_list, parse_cpu_list
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChoiceDialog
from ftrace_util import OpenScreen
from pilot_util import text_of, until


def option(demo: DemoSession, name: str) -> str:
    return demo.tfs.read(f"options/{name}").strip()


def test_cpu_lists_read_and_write_the_kernels_form() -> None:
    assert parse_cpu_list("0-3,6") == {0, 1, 2, 3, 6}
    assert parse_cpu_list(" 1 ") == {1}
    assert cpu_list({0, 1, 2, 3, 6}) == "0-3,6"
    assert cpu_list([]) == ""
    for bad in ("a", "3-1", "1-"):
        try:
            parse_cpu_list(bad)
        except Exception as e:  # ConfigError
            assert "CPU" in str(e) or "range" in str(e)
        else:
            raise AssertionError(bad)


async def test_options_are_toggles_with_descriptions_and_space_flips_one_in_the_kernel(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("setup") as (_, pilot, screen):
        rows = {o.name: o for o in screen.options.rows}
        # For nop: the generic options only; funcgraph-* belong to function_graph.
        assert "sym-offset" in rows and "funcgraph-proc" not in rows
        assert rows["sym-offset"].description
        screen.options.move_to(list(rows).index("sym-offset"))
        assert option(demo, "sym-offset") == "0"
        await pilot.press("space")
        await until(pilot, lambda: option(demo, "sym-offset") == "1")
        await until(
            pilot, lambda: any(o.name == "sym-offset" and o.enabled for o in screen.options.rows)
        )
        # a: every tracer's options.
        await pilot.press("a")
        assert "funcgraph-proc" in {o.name for o in screen.options.rows}


async def test_b_sets_buffer_size_kb_and_a_bad_size_is_refused_in_the_dialog(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("setup") as (app, pilot, screen):
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = "0"
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        dialog.query_one("#value").value = "4096"
        await pilot.press("enter")
        await until(pilot, lambda: demo.tfs.read("buffer_size_kb").strip() == "4096")
        await until(
            pilot, lambda: screen.settings is not None and screen.settings.buffer_kb == 4096
        )
        assert "4,096 KB" in text_of(screen.query_one("#side"))


async def test_C_chooses_the_trace_clock(open_screen: OpenScreen, demo: DemoSession) -> None:
    async with open_screen("setup") as (app, pilot, screen):
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        choices = dict(app.screen.choices)  # type: ignore[attr-defined]
        key = next(k for k, v in choices.items() if v == "global")
        await pilot.press(key)
        await until(pilot, lambda: "[global]" in demo.tfs.read("trace_clock"))
        await until(
            pilot, lambda: screen.settings is not None and screen.settings.clock == "global"
        )


async def test_M_sets_tracing_cpumask_from_a_cpu_list(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("setup") as (app, pilot, screen):
        assert "0-1" in text_of(screen.query_one("#side"))
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = "1"
        await pilot.press("enter")
        await until(pilot, lambda: demo.tfs.read("tracing_cpumask").strip() == "2")


async def test_B_works_in_a_new_instance_and_D_removes_it(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    """The demo simulates instances (issue 8): B with a bad name is refused and changes
    nothing; a new name creates the instance and the session works in it; D removes it
    and the session is back at the top level."""
    async with open_screen("setup") as (app, pilot, _):
        await pilot.press("D")  # nothing to remove yet: said, not asked
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ChoiceDialog)
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog: Any = app.screen
        await pilot.press(*"../x", "enter")
        await until(pilot, lambda: dialog.error is not None)
        assert "instance names" in str(dialog.error)
        assert demo.tfs.instance is None and not demo.tfs.exists("instances/x")
        await pilot.press("escape")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        await pilot.press(*"ftop-x", "enter")
        await until(pilot, lambda: demo.tfs.instance == "ftop-x")
        assert (demo.tfs.root / "instances" / "ftop-x").is_dir()
        await until(pilot, lambda: not isinstance(app.screen, EditDialog))
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("a")
        await until(pilot, lambda: not (demo.tfs.root / "instances" / "ftop-x").exists())
        assert demo.tfs.instance is None


# -- probes -----------------------------------------------------------------------------


async def test_k_creates_an_enabled_kprobe_space_disables_delete_removes(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("probes") as (app, pilot, screen):
        assert screen.list.rows == []
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ProbeDialog))
        dialog: Any = app.screen
        assert dialog.query_one("#value").value.startswith("p:kprobes/myprobe do_sys_openat2")
        dialog.query_one("#value").value = "p:kprobes/ftop_open do_sys_openat2 dfd=%di:s32"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ProbeDialog))
        probes = list_probes(demo.tfs)
        assert [(p.name, p.target, p.args, p.enabled) for p in probes] == [
            ("kprobes/ftop_open", "do_sys_openat2", ("dfd=%di:s32",), True)
        ]
        await until(pilot, lambda: [p.name for p in screen.list.rows] == ["kprobes/ftop_open"])
        assert "● " in screen._render_probe(screen.list.rows[0], 100).plain
        await pilot.press("space")
        await until(pilot, lambda: list_probes(demo.tfs)[0].enabled is False)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("y")
        await until(pilot, lambda: list_probes(demo.tfs) == [])
        await until(pilot, lambda: screen.list.rows == [])


async def test_a_refused_kprobe_shows_the_kernels_error_log_with_the_caret(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("probes") as (app, pilot, _):
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ProbeDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = "p:bad no_such_symbol_q"
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        shown = text_of(dialog.query_one("#error"))
        # The lab kernel's own message (tests/fixtures/lab-6.1-rt/error_log.bad-kprobe.txt).
        assert "Invalid probed address or symbol" in shown
        lines = shown.splitlines()
        cmd = next(ln for ln in lines if ln.strip().startswith("Command: p:kprobes/bad"))
        caret = lines[lines.index(cmd) + 1]
        assert caret.index("^") == cmd.index("no_such_symbol_q")
        assert "ENOENT" in shown and "nothing was changed" in shown
        # Regression: the caret block was shown twice (the sentence, then error_log).
        assert sum(1 for ln in lines if ln.strip() == "^") == 1
        assert shown.count("Invalid probed address or symbol") == 2  # sentence + error_log
        assert list_probes(demo.tfs) == []


async def test_a_uprobe_on_a_missing_file_says_the_file_is_missing_once(
    open_screen: OpenScreen, demo: DemoSession, tmp_path: Path
) -> None:
    """Regression: it said 'not built into this kernel', twice."""
    async with open_screen("probes") as (app, pilot, _):
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ProbeDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = f"p:uprobes/gone {tmp_path}/no-such-program:0x10"
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        shown = text_of(dialog.query_one("#error"))
        assert "does not exist" in shown and "no-such-program" in shown
        assert "built" not in shown and "not available" not in shown
        assert shown.count("does not exist") == 1
        assert list_probes(demo.tfs) == []


async def test_a_malformed_definition_is_refused_before_the_kernel(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("probes") as (app, pilot, _):
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ProbeDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = "x:nonsense"
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        assert "expected 'p|r[:[GRP/]EVENT] TARGET" in text_of(dialog.query_one("#error"))
        assert list_probes(demo.tfs) == []


async def test_u_creates_a_uprobe_on_a_file(open_screen: OpenScreen, demo: DemoSession) -> None:
    target = os.path.realpath(sys.executable)
    async with open_screen("probes") as (app, pilot, screen):
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ProbeDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = f"p:uprobes/pymain {target}:0x1000"
        await pilot.press("enter")
        await until(pilot, lambda: [p.name for p in screen.list.rows] == ["uprobes/pymain"])
        assert list_probes(demo.tfs)[0].kind == "uprobe"


def test_a_cpu_list_naming_cpus_not_present_is_refused() -> None:
    from ftop.engine.errors import ConfigError
    from ftop.tui.screens.setup import check_cpus_present

    assert check_cpus_present({0, 1}, {0, 1, 2, 3}) == {0, 1}
    with pytest.raises(ConfigError, match="no CPU 4-7 here: this machine has CPUs 0-3"):
        check_cpus_present({0, 4, 5, 6, 7}, {0, 1, 2, 3})


async def test_M_refuses_cpus_beyond_those_present_before_writing(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    """Regression: `0-7` on a 2-CPU machine went to the kernel."""
    async with open_screen("setup") as (app, pilot, _):
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog: Any = app.screen
        dialog.query_one("#value").value = "0-7"
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        assert "no CPU 2-7 here: this machine has CPUs 0-1" in text_of(dialog.query_one("#error"))
        assert demo.tfs.read("tracing_cpumask").strip() == "3"


async def test_over_a_saved_trace_setup_says_it_needs_a_live_tracefs_and_offers_no_keys(
    tmp_path: Path, demo: DemoSession
) -> None:
    """Regression: `ftop FILE` showed a blank Setup screen."""
    from ftop.tui.screens.setup import SetupScreen
    from pilot_util import show
    from saved_trace_util import saved_trace_app

    app = saved_trace_app(tmp_path, demo)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await show(app, pilot, "9", SetupScreen)
        note = text_of(screen.query_one("#saved-trace"))
        assert "is a saved trace: it holds the trace lines only" in note
        assert "Trace options, buffer size" in note and "need a live tracefs" in note
        for action in ("edit_buffer", "edit_cpumask", "choose_instance"):
            assert screen.check_action(action, ()) is False
        footer = {b.binding.action for b in screen.active_bindings.values() if b.enabled}
        assert "edit_buffer" not in footer


async def test_an_older_read_of_the_probes_landing_last_does_not_undo_a_newer_one(
    open_screen: OpenScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the remove dialog reloads the list while the removal still runs; the
    removal's own reload follows. A thread worker that ``exclusive`` cancels still
    finishes: the older read, landing last, listed the removed probe (a CI failure)."""
    import threading

    from ftop.engine.ftrace.probes import Probe
    from ftop.tui.screens import probes as probes_mod

    stale = Probe(kind="kprobe", ret=False, group="kprobes", event="gone", target="do_exit")
    release = threading.Event()
    calls: list[int] = []
    real = probes_mod.list_probes

    def list_probes_slow_first(tfs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            release.wait(5)  # the older read: made before the removal, delivered last
            return [stale]
        return real(tfs)

    async with open_screen("probes") as (_app, pilot, screen):
        await until(pilot, lambda: screen.loaded)
        monkeypatch.setattr(probes_mod, "list_probes", list_probes_slow_first)
        screen.reload()  # the older read: held
        await until(pilot, lambda: len(calls) == 1)
        screen.reload()  # the newer read: done at once
        await until(pilot, lambda: len(calls) == 2)
        await pilot.pause(0.2)
        release.set()
        await pilot.pause(0.5)
        assert screen.list.rows == real(screen.tracefs)
