"""Where a signed-in page's floor goes: the steps of a request, timed inside real requests.

Run from the project root: `.venv/bin/python benchmarks/floor.py` (or `make bench`).
Prints figures; never asserts anything. On a temporary SQLite file, or on the PostgreSQL
database DATABASE_URL names (in a schema of its own, dropped at the end).

benchmarks/pages.py says what each page costs against hello world, and that no signed-in
page of a role costs less than its layout line (the layout around an empty content). This
one says what that line is made of, so that a change to it, or the choice of the floor
the 3× target is measured against (issue 20), can rest on figures:

- the three routes of the floor (hello world, a signed-in request answered with text only,
  the layout around an empty content: pages.py's own routes) for a professional and for
  the demo patient (a parent: her pages also switch between spaces);
- each step timed by a wrapper, with perf_counter_ns, inside ROUNDS × BATCH requests of
  each route, interleaved: Flask's request hooks, the session's opening (its query, and
  the connection it takes) and saving, the render (the template context, the form token,
  the template lookups, the kept layout's marks), the compression, the end of the
  database session. Steps nest (the render holds the template context): each figure is
  the time inside that step, per request, and the figures do not add up to the whole.
- the layout route once more at a person's pace: requests that come back to back (every
  other column) find their session seen a moment ago, and only note activity every
  domain.sessions.TOUCH_EVERY (15 s); a person clicks less often than that, so nearly
  each of their requests also writes its session's activity. That column makes every
  request write it.
- A step costs more inside a request than alone in a loop (the request's code and data
  push it out of the processor's caches): the same query is also timed alone, in a loop,
  to show by how much.

A wrapper costs well under a microsecond; the routes are timed with the wrappers on.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    HELLO_PATH,
    TotpClock,
    bench_instance,
    median,
    print_environment,
    print_finished,
    print_title,
    sign_in,
)
from benchmarks.pages import FLOOR, add_floor_routes  # noqa: E402

ROLES = (("professional", "dr.bernard"), ("patient", "camille.martin"))
WARMUP = 200     # requests per route before measuring
ROUNDS = 10      # rounds; each route runs BATCH requests per round, in shuffled order
BATCH = 200
LOOP = 3_000     # the session's query alone, in a loop

# step -> nanoseconds spent in it during the batch being timed (a dict: the wrappers add).
SPENT: Counter = Counter()


def timed(step: str, function):
    """`function`, adding the time spent in it to SPENT[step]."""
    clock = time.perf_counter_ns

    @wraps(function)
    def wrapper(*args, **kwargs):
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[step] += clock() - started

    return wrapper


def _hook_name(function) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__name__', '?')}"


def instrument(app) -> None:
    """Wrap the steps of a request (module docstring). Done once, after the app is made."""
    import flask.templating

    import extensions
    from domain import db as domain_db
    from domain import sessions as domain_sessions
    from web import csrf, links, security

    for hooks, kind in ((app.before_request_funcs, "before"),
                        (app.after_request_funcs, "after"),
                        (app.teardown_request_funcs, "teardown")):
        for key, functions in hooks.items():
            hooks[key] = [timed(f"{kind}: {_hook_name(f)}", f) for f in functions]
    app.teardown_appcontext_funcs = [timed(f"teardown: {_hook_name(f)}", f)
                                     for f in app.teardown_appcontext_funcs]
    interface = app.session_interface
    interface.open_session = timed("session: open", interface.open_session)
    interface.save_session = timed("session: save", interface.save_session)
    domain_sessions.load = timed("session: open > its lookup", domain_sessions.load)
    domain_db.Prepared._run = timed("  any Prepared statement", domain_db.Prepared._run)
    extensions.RequestSession.connection = timed("  db.session.connection (taking one)",
                                                 extensions.RequestSession.connection)
    flask.templating._render = timed("render: the whole render", flask.templating._render)
    app.update_template_context = timed("render > template context (processors)",
                                        app.update_template_context)
    token = timed("render > form token", csrf.form_token)
    csrf.form_token = token
    app.jinja_env.globals["csrf_token"] = token
    app.jinja_env.globals["layout_part"] = timed("render > kept layout (marks filled)",
                                                 links.layout_part)
    app.jinja_env.get_template = timed("render > template lookups",
                                       app.jinja_env.get_template)
    security._compress_response = timed("after > compression",
                                        security._compress_response)


@contextmanager
def at_pace(pace: bool):
    """With `pace`, every request notes its session's activity, as a person's do."""
    from domain import sessions as domain_sessions

    kept = domain_sessions.TOUCH_EVERY
    if pace:
        domain_sessions.TOUCH_EVERY = timedelta(0)
    try:
        yield
    finally:
        domain_sessions.TOUCH_EVERY = kept


def measure(targets: dict) -> dict:
    """label -> (per request: wall µs median over rounds, {step: µs median}). A target is
    (client, path) or (client, path, True): at a person's pace (at_pace)."""
    for client, path, *pace in targets.values():
        with at_pace(bool(pace)):
            for _ in range(WARMUP):
                client.get(path)
    walls: dict = {label: [] for label in targets}
    steps: dict = {label: {} for label in targets}
    order = list(targets)
    randomly = random.Random(20)
    for _ in range(ROUNDS):
        randomly.shuffle(order)
        for label in order:
            client, path, *pace = targets[label]
            SPENT.clear()
            with at_pace(bool(pace)):
                started = time.perf_counter_ns()
                for _ in range(BATCH):
                    client.get(path)
                walls[label].append((time.perf_counter_ns() - started) / BATCH / 1000)
            for step, spent in SPENT.items():
                steps[label].setdefault(step, []).append(spent / BATCH / 1000)
    return {label: (median(walls[label]),
                    {step: median(values + [0.0] * (ROUNDS - len(values)))
                     for step, values in steps[label].items()})
            for label in targets}


def query_alone(app, client) -> tuple[float, float]:
    """The session's lookup and its statement alone, in a loop, in one request context
    (wall µs each, as in the table): the lookup with a connection taken from the pool and
    given back each time, as a request does; the statement on a connection kept. What
    they cost when nothing else runs between two of them."""
    from domain import sessions as domain_sessions
    from domain.models.base import utcnow
    from extensions import db
    from web.sessions import lifetimes

    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    load = getattr(domain_sessions.load, "__wrapped__", domain_sessions.load)
    statement = domain_sessions._BY_TOKEN  # noqa: SLF001 - the lookup's own statement
    run = getattr(statement._run, "__wrapped__", statement._run)  # noqa: SLF001
    clock = time.perf_counter_ns
    with app.test_request_context("/"):
        spans = lifetimes(app)
        parameters = {"token_hash": domain_sessions.token_hash(cookie), "now": utcnow()}

        def lookup() -> int:
            started = clock()
            load(db.session, cookie, spans)
            spent = clock() - started
            db.session.close()  # the connection back to the pool, as at a request's end
            return spent

        def alone() -> int:
            started = clock()
            run(statement, db.session, [parameters], "all")
            return clock() - started

        figures = []
        for call in (lookup, alone):
            for _ in range(WARMUP):
                call()
            figures.append(sum(call() for _ in range(LOOP)) / LOOP / 1000)
        db.session.close()
    return figures[0], figures[1]


def report(role: str, results: dict, hello: float) -> None:
    print_title(f"{role}: the floor's routes and their steps, µs per request (median of "
                f"{ROUNDS} rounds of {BATCH}); × hello world ({hello:,.0f} µs)")
    labels = list(results)
    print(f"{'step':<52}" + "".join(f"{label:>22}" for label in labels))
    print(f"{'the whole request (wall)':<52}" + "".join(
        f"{results[label][0]:>12,.0f} {results[label][0] / hello:>7.2f}× " for label in labels))
    every = sorted({step for label in labels for step in results[label][1]},
                   key=lambda step: -max(results[label][1].get(step, 0) for label in labels))
    for step in every:
        values = [results[label][1].get(step, 0.0) for label in labels]
        if max(values) < 2:
            continue
        print(f"{step[:52]:<52}" + "".join(
            f"{value:>12,.1f} {value / hello:>7.2f}× " for value in values))


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with bench_instance("floor") as (app, database, tmp):
        add_floor_routes(app)
        instrument(app)
        clock = TotpClock()
        clients = {role: sign_in(app, login, clock) for role, login in ROLES}
        anonymous = app.test_client(use_cookies=False)
        print("Carnet santé — the signed-in floor, step by step (Flask test client, one "
              "process)")
        print_environment(database, tmp)
        for role, client in clients.items():
            targets = {"hello world": (anonymous, HELLO_PATH),
                       **{label.split(",")[0] if "text" in label else "layout": (client, path)
                          for path, label in FLOOR},
                       "layout, person's pace": (client, FLOOR[1][0], True)}
            results = measure(targets)
            report(role, results, results["hello world"][0])
            lookup, statement = query_alone(app, client)
            inside = results["layout"][1]
            print(f"Alone in a loop: the session's lookup {lookup:,.1f} µs (in a request: "
                  f"{inside.get('session: open > its lookup', 0):,.1f}), its statement "
                  f"{statement:,.1f} µs on a connection kept (in a request: "
                  f"{inside.get('  any Prepared statement', 0):,.1f}, taking the "
                  "connection).")
    print_finished("floor.py", started, cpu_started)


if __name__ == "__main__":
    main()
