"""The events screen (search, toggle, filter, trigger, format) and the dashboard (tables, drill-down)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ftop.engine.demo.session import DemoSession
from ftop.tui.app import FtopApp
from ftop.tui.screens.dashboard import NameTable
from ftop.tui.screens.events import EventList, EventsScreen, Row
from ftop.tui.screens.live import LiveScreen
from ftop.tui.widgets.base import StatusBand
from ftop.tui.widgets.dialogs import EditDialog, TextDialog
from ftrace_util import OpenScreen
from pilot_util import text_of, until
from textual.widgets import DataTable

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)


def elist(app: FtopApp) -> EventList:
    assert isinstance(app.screen, EventsScreen) and app.screen.list is not None
    return app.screen.list


async def test_catalog_tree_lists_every_system_and_event(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("events") as (app, pilot, _):
        lst = elist(app)
        assert set(lst.catalog) == set(demo.data.catalog)
        assert sum(map(len, lst.catalog.values())) == sum(map(len, demo.data.catalog.values()))
        assert lst.enabled == demo.kernel.enabled
        # Collapsed: one row per system; right expands.
        assert all(r.event is None for r in lst.rows)
        await pilot.press("right")
        assert any(r.event is not None for r in lst.rows)


async def test_typing_searches_events_as_you_type(open_screen: OpenScreen) -> None:
    async with open_screen("events") as (app, pilot, _):
        lst = elist(app)
        await pilot.press(*"sched_switch")
        assert lst.search_text == "sched_switch"
        assert lst.current == Row("sched", "sched_switch")
        await pilot.press("escape")
        assert lst.search_text == ""
        await pilot.press("slash", *"sched:sched_wak*")
        found = {r.event for r in lst.rows if r.event}
        assert found >= {"sched_waking", "sched_wakeup", "sched_wakeup_new"}
        assert all(e.startswith("sched_wak") for e in found)


async def test_space_toggles_an_event_through_the_session_and_the_band_follows(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("events", size=(140, 40)) as (app, pilot, _):
        lst = elist(app)
        await pilot.press(*"kmem:kfree", "down")
        assert lst.current == Row("kmem", "kfree")
        await pilot.press("space")
        await until(pilot, lambda: "kmem/kfree" in demo.kernel.enabled)
        await until(pilot, lambda: "kmem/kfree" in lst.enabled)
        assert demo.journal is not None, "the change went through the session (journal first)"
        await until(pilot, lambda: "12 events" in str(app.screen.query_one(StatusBand).render()))
        await pilot.press("space")
        await until(pilot, lambda: "kmem/kfree" not in demo.kernel.enabled)


async def test_space_on_a_system_toggles_all_its_events(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("events", size=(140, 40)) as (app, pilot, _):
        lst = elist(app)
        await pilot.press(*"timer:", "down")
        lst.cursor = lst.rows.index(Row("timer", None))
        await pilot.press("space")
        timer = {f"timer/{e}" for e in demo.data.catalog["timer"]}
        await until(pilot, lambda: timer <= demo.kernel.enabled)
        await pilot.press("space")
        await until(pilot, lambda: not (timer & demo.kernel.enabled))


async def test_bad_filter_shows_the_kernels_error_log_with_caret_and_changes_nothing(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("events") as (app, pilot, _):
        await pilot.press(*"sched_switch", "down", "f4")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        gen = demo.kernel.generation
        await pilot.press(*"prev_pid === 0", "enter")
        dialog = app.screen
        assert isinstance(dialog, EditDialog)
        await until(pilot, lambda: dialog.error is not None)
        shown = str(dialog.query_one("#error").render())
        assert "Invalid value (did you forget quotes)?" in shown
        assert "  Command: prev_pid === 0" in shown
        caret = [ln for ln in shown.splitlines() if ln.strip() == "^"]
        assert caret and caret[0].index("^") == len("  Command: ") + 12
        assert "nothing was changed" in shown
        assert "sched/sched_switch" not in demo.kernel.filters
        assert demo.kernel.generation == gen + 1  # one refused write, nothing else
        # Fix it in place: the same dialog applies the corrected filter.
        await pilot.press("ctrl+a", "ctrl+k", *"prev_pid == 0", "enter")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen))
        assert demo.kernel.filters["sched/sched_switch"] == "prev_pid == 0"


async def test_trigger_is_added_and_shown(open_screen: OpenScreen, demo: DemoSession) -> None:
    async with open_screen("events") as (app, pilot, _):
        lst = elist(app)
        await pilot.press(*"sched_switch", "down", "f5")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        await pilot.press(*"traceoff:1", "enter")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen))
        assert demo.kernel.triggers["sched/sched_switch"] == ["traceoff:count=1"]
        await until(pilot, lambda: "sched/sched_switch" in lst.triggers)


async def test_the_count_line_says_1_filter_not_1_filters(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("events") as (app, pilot, screen):
        lst = elist(app)
        await pilot.press(*"sched_switch", "down", "f4")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        await pilot.press(*"prev_pid == 0", "enter")
        await until(pilot, lambda: "sched/sched_switch" in lst.filters)
        await until(pilot, lambda: "1 filter," in text_of(screen.query_one("#count")))
        assert "1 filters" not in text_of(screen.query_one("#count"))


async def test_view_format_shows_the_format_file(open_screen: OpenScreen) -> None:
    async with open_screen("events") as (app, pilot, _):
        await pilot.press(*"sched_switch", "down", "f3")
        await until(pilot, lambda: isinstance(app.screen, TextDialog))
        assert "field:pid_t prev_pid" in app.screen.text  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, EventsScreen)


async def test_q_types_into_the_search_on_the_events_screen(open_screen: OpenScreen) -> None:
    """Letters search here ("qdisc" is an event system): q must not quit."""
    async with open_screen("events") as (app, pilot, _):
        lst = elist(app)
        await pilot.press(*"qdisc")
        assert lst.search_text == "qdisc" and app.is_running


async def test_f6_shows_only_enabled_events(open_screen: OpenScreen, demo: DemoSession) -> None:
    async with open_screen("events") as (app, pilot, _):
        lst = elist(app)
        await pilot.press("f6")
        shown = {f"{r.system}/{r.event}" for r in lst.rows if r.event}
        assert shown == demo.kernel.enabled


async def test_enabled_events_show_their_live_rate(open_screen: OpenScreen) -> None:
    async with open_screen("events") as (app, pilot, _):
        lst = elist(app)
        await until(pilot, lambda: lst.rates.get("sched_switch", 0) > 0)
        await pilot.press(*"sched_switch", "down")
        strip = lst.render_line(lst.cursor - int(lst.scroll_y))
        assert "/s" in "".join(seg.text for seg in strip)


async def test_dashboard_tables_sort_and_enter_filters_the_live_view(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("dashboard") as (app, pilot, screen):
        table = screen.query_one("#top-events", NameTable)
        await until(pilot, lambda: table.row_count > 2)
        counts = [table.values[str(k.value)][0] for k in table.rows]
        ordered = [
            table.values[str(table.coordinate_to_cell_key((i, 0)).row_key.value)][0]
            for i in range(table.row_count)
        ]
        assert ordered == sorted(counts, reverse=True)
        await pilot.press("s")  # -> by rate
        await pilot.press("s")  # -> by name
        names = [
            str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)
        ]
        assert names == sorted(names)
        await pilot.press("r")
        names = [
            str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)
        ]
        assert names == sorted(names, reverse=True)
        target = table.current_name()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        v = app.screen.view  # type: ignore[attr-defined]
        assert str(v.filter) == f"ev:{target}"
        assert v.rows > 0 and all(
            f" {target}:" in demo.ring.get(v.seq_at(r)) for r in range(v.rows)
        )


async def test_dashboard_shows_per_cpu_rates_and_loss(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("dashboard") as (app, pilot, screen):
        cpu = screen.query_one("#cpu-table")
        await until(pilot, lambda: cpu.row_count == demo.data.cpus)  # type: ignore[attr-defined]
        demo.aggregates.ingest(["CPU:0 [LOST 77 EVENTS]"], demo.clock())
        app.poll_now()
        await until(pilot, lambda: "77" in str(cpu.get_cell("0", "lost")))  # type: ignore[attr-defined]


async def test_dashboard_exact_counts_say_why_not_where_the_kernel_cannot(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    """The demo's kernel (like the build machine's) has neither hist triggers nor the
    function profiler: `x` says so and writes nothing."""
    async with open_screen("dashboard") as (app, pilot, screen):
        journal_before = demo.journal
        await pilot.press("x")
        await until(
            pilot, lambda: any("no exact counts" in str(n.message) for n in app._notifications)
        )
        msg = next(
            str(n.message) for n in app._notifications if "no exact counts" in str(n.message)
        )
        assert "hist triggers" in msg or "nothing traced" in msg, msg
        assert demo.journal is journal_before, "nothing was written"
        assert not screen.exact_events and not screen.exact_profiler


async def test_dashboard_of_a_saved_trace_counts_per_cpu_and_shows_the_files_own_figures(
    tmp_path: Path, demo: DemoSession
) -> None:
    """Regression: per-CPU entries read 0 for a saved trace, and the title a frozen 'now'."""
    from ftop.tui.screens.dashboard import DashboardScreen
    from pilot_util import show
    from saved_trace_util import saved_trace_app

    app = saved_trace_app(tmp_path, demo)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await show(app, pilot, "3", DashboardScreen)
        table = screen.query_one("#cpu-table", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        per_cpu = [int(str(table.get_cell(str(c), "entries")).replace(",", "")) for c in (0, 1)]
        assert sum(per_cpu) == len(demo.ring) and all(n > 0 for n in per_cpu)
        title = text_of(screen.query_one("#spark-title"))
        assert "average" in title and f"{len(demo.ring):,} events over" in title
        assert "now" not in title and "since start" not in title
        assert screen.check_action("exact", ()) is False  # no kernel to count in


async def test_dashboard_says_what_the_demo_replay_cannot_apply(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("dashboard") as (app, pilot, screen):
        notes = screen.query_one("#replay-notes")
        assert not notes.has_class("shown")
        demo.add_event_trigger("sched", "sched_switch", "traceoff")
        app.poll_now()
        await until(pilot, lambda: notes.has_class("shown"))
        assert "never fires them" in text_of(notes)


async def test_the_events_screen_shows_the_last_polls_rates_as_it_opens(
    make_app: AppFactory,
) -> None:
    """The rates of the poll before it, at once: not only from the next poll, a poll
    interval later (a snapshot taken under load had none)."""
    app = make_app()
    app.poll_interval = 0.2
    async with app.run_test(size=(120, 30)) as pilot:
        await until(
            pilot,
            lambda: (
                app.status_info is not None and any(n.rate for n in app.status_info.snap.top_events)
            ),
        )
        app.poll_interval = 3600.0  # no poll from here on (after the one waiting now)
        await pilot.pause(0.3)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen))
        await until(pilot, lambda: any(elist(app).rates.values()), timeout=1.0)
