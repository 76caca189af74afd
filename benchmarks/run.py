"""Time the exact geometry engine on seeded He-initialised networks, and /regions end to end.

Run with ``make bench`` or ``.venv/bin/python benchmarks/run.py [--json]``. See
benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import os

# One core: BLAS threads would otherwise compete with the measurement.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import orjson  # noqa: E402

from relumap_service.core import Network, knots_1d, regions_2d  # noqa: E402

BOX = ((-3.0, -3.0), (3.0, 3.0))
CASES: list[tuple[str, tuple[int, ...]]] = [
    ("regions", (2, 64, 1)),
    ("regions", (2, 64, 64, 1)),
    ("regions", (2, 64, 64, 64, 1)),
    ("regions", (2, 128, 128, 1)),
    ("knots", (1, 256, 256, 256, 1)),
    # What GET /regions adds to the computation: the JSON document, encoded as the API does.
    ("encode", (2, 64, 64, 64, 1)),
]
BIG = ("regions", (2, 320, 320, 1))
# /regions through a real server (gunicorn) to the client's arrays: ~10k, ~17k, ~30k regions.
E2E_CASES: list[tuple[int, ...]] = [(2, 64, 64, 1), (2, 64, 64, 64, 1), (2, 128, 128, 1)]
# The largest map: in one process (regions_2d) and in strips on worker processes.
MILLION = (2, 800, 800, 1)
ENCODINGS = ("identity", "gzip", "br", "zstd")
# The fit timed through POST /v1/models?wait=30 and in-process.
FIT_LAYERS = (16,)
FIT_SAMPLES = 200


def he_network(sizes: tuple[int, ...], seed: int = 0) -> Network:
    """Weights N(0, 2 / n_in) (He et al. 2015), biases N(0, 0.1^2), seeded."""
    rng = np.random.default_rng(seed)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    coefs = [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)) for a, b in pairs]
    intercepts = [rng.normal(0.0, 0.1, b) for b in sizes[1:]]
    return Network(coefs, intercepts)


def runner(kind: str, net: Network) -> Callable[[], int]:
    if kind == "knots":
        return lambda: knots_1d(net, -3.0, 3.0).n_knots
    if kind == "encode":
        regions = regions_2d(net, BOX)
        return lambda: len(orjson.dumps(regions.to_dict())) and regions.n_regions
    return lambda: regions_2d(net, BOX, max_regions=1_000_000).n_regions


def measure(kind: str, sizes: tuple[int, ...], repeats: int) -> dict[str, Any]:
    net = he_network(sizes)
    call = runner(kind, net)
    count = call()  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    median = statistics.median(times)
    return {
        "kind": kind,
        "network": "-".join(map(str, sizes)),
        "domain": "[-3,3]" if kind == "knots" else "[-3,3]^2",
        "count": count,
        "unit": "knots" if kind == "knots" else "regions",
        "repeats": repeats,
        "median_s": median,
        "min_s": min(times),
        "cpu_median_s": statistics.median(cpu),
        "per_second": count / median,
        "tracemalloc_peak_mb": peak / 2**20,
    }


def _median_time(call: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _rss_and_cpu(pid: int) -> tuple[int, float]:
    """Resident set (kB) and CPU seconds (user + system) of a process, 0 if gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0.0
    rss = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
    )
    return rss, (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def big_map_child(sizes: tuple[int, ...], processes: int) -> dict[str, Any]:
    """Map ``sizes`` once in this fresh process: time, CPU of all processes, peak memory.

    ``processes`` 1 is :func:`regions_2d`; more is
    :func:`~relumap_service.core.parallel_regions.regions_2d_parallel` with
    that many worker processes and strips, forked from a forkserver that has
    imported the engine, started before the clock. Every 50 ms a thread sums
    the resident sets of this process and all below it (the forkserver and
    the workers) and notes each one's CPU time: ``peak_rss_mb`` is the largest sum, ``cpu_s`` this
    process's CPU (without the sampling thread's) plus the others' last seen.
    """
    import multiprocessing
    import threading

    from relumap_service.core.parallel_regions import regions_2d_parallel

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["relumap_service.core.parallel_regions"])
    net = he_network(sizes)
    me = os.getpid()
    # The service starts its forkserver once; here too, before the clock starts.
    # ensure_running returns before the server has imported the engine: a first
    # process waits for that (half a second), as the service's first fit
    # process does at startup.
    if processes > 1:
        from multiprocessing import forkserver

        forkserver.ensure_running()
        ready = context.Process(target=os.getpid)
        ready.start()
        ready.join()
    cpu_before = {pid: _rss_and_cpu(pid)[1] for pid in _tree(me) if pid != me}
    peak, cpu_of, sampler_cpu = [0], dict(cpu_before), [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            total = 0
            for pid in _tree(me):
                rss, cpu = _rss_and_cpu(pid)
                total += rss
                if pid != me:
                    cpu_of[pid] = max(cpu, cpu_of.get(pid, 0.0))
            peak[0] = max(peak[0], total)
        sampler_cpu[0] = time.thread_time()

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start, start_cpu = time.perf_counter(), time.process_time()
    if processes == 1:
        count = regions_2d(net, BOX, max_regions=2_000_000).n_regions
    else:
        regions = regions_2d_parallel(net, BOX, max_regions=2_000_000, processes=processes)
        count = regions.n_regions
        del regions
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    done.set()
    watcher.join()
    return {
        "network": "-".join(map(str, sizes)),
        "processes": processes,
        "count": count,
        "wall_s": wall,
        "cpu_s": cpu - sampler_cpu[0] + sum(cpu_of.values()) - sum(cpu_before.values()),
        "peak_rss_mb": peak[0] / 1024,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def big_map_rows(sizes: tuple[int, ...], repeats: int) -> list[dict[str, Any]]:
    """Run :func:`big_map_child` in fresh processes, 1 and 2 processes alternately."""
    import subprocess

    rows = []
    for _ in range(repeats):
        for processes in (1, 2):
            out = subprocess.run(
                [sys.executable, __file__, "--big-map-child", "-".join(map(str, sizes))]
                + ["--processes", str(processes)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows.append(json.loads(out))
    return rows


def big_map_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'network':14} {'processes':>9} {'regions':>8} {'wall s':>7} {'cpu s':>7} "
        f"{'peak RSS MB':>11} {'maxrss MB':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['network']:14} {r['processes']:>9} {r['count']:>8} {r['wall_s']:>7.2f} "
            f"{r['cpu_s']:>7.2f} {r['peak_rss_mb']:>11.0f} {r['maxrss_mb']:>9.0f}"
        )
    return "\n".join(lines)


def _server_ms(log: Path, request_ids: list[str]) -> float:
    """Median of the server's own durations (its JSON request log) of these requests."""
    wanted, durations = set(request_ids), []
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"duration_ms"' in line:
            entry = json.loads(line)
            if entry.get("request_id") in wanted:
                durations.append(entry["duration_ms"])
    return statistics.median(durations)


def end_to_end(sizes: tuple[int, ...], url: str, repeats: int, log: Path) -> dict[str, Any]:
    """Time ``GET /regions`` to the client's arrays beside the core's time for the same map.

    ``first``: a map the server has not computed yet (each run asks with another
    ``max_regions``, so its cache cannot answer); ``repeat``: the same view
    again (``Model.regions()`` of the same model), each on a new connection, so
    that either gunicorn worker may take it (served from its cache or the cache
    the workers share). Both through
    ``Model.regions()``, which asks for .npz. ``not modified``: the repeat with
    ``If-None-Match`` (a 304), also on a new connection. ``json first``: the
    JSON answer, uncompressed, parsed with ``Regions.from_dict``. Bytes per
    region: the JSON answer as sent with each ``Accept-Encoding``, and the .npz.
    ``server_first_ms`` and ``server_repeat_ms``: the server's own medians of the same
    requests (from request to answer, in its request log, found by request id):
    what the caches save the service, without the client's HTTP exchange and
    decoding, which both pay alike.
    """
    import requests

    import relumap
    from relumap.regions import NPZ, Regions

    net = he_network(sizes)
    core = _median_time(lambda: regions_2d(net, BOX, max_regions=200_000), repeats)
    count = regions_2d(net, BOX, max_regions=200_000).n_regions
    with relumap.Client(url, timeout=(3.05, 120)) as api:
        model = api.network(
            [w.tolist() for w in net.coefs],
            [b.tolist() for b in net.intercepts],
            domain=[list(BOX[0]), list(BOX[1])],
        )
        seen: list[str] = []
        api.session.hooks["response"].append(
            lambda r, *a, **k: seen.append(r.headers.get("X-Request-ID", ""))
        )
        fresh = iter(range(200_000, 0, -1))  # a new query each time: never cached
        first = _median_time(lambda: model.regions(max_regions=next(fresh)), repeats)
        first_ids = seen[-repeats:]
        model.regions(max_regions=150_000)  # computed and cached once

        def repeated() -> Regions:
            api.session.close()  # the next request opens a new connection
            return model.regions(max_regions=150_000)

        repeat = _median_time(repeated, repeats)
        repeat_ids = seen[-repeats:]
        path = f"{url}/v1/models/{model.id}/regions"
        etag = requests.get(
            path, params={"max_regions": 150_000}, headers={"Accept": NPZ}, timeout=120
        ).headers["ETag"]

        def revalidated() -> None:
            response = requests.get(
                path,
                params={"max_regions": 150_000},
                headers={"If-None-Match": etag, "Accept": NPZ},
                timeout=120,
            )
            assert response.status_code == 304, response.status_code

        not_modified = _median_time(revalidated, repeats)

        def json_arrays() -> Regions:
            response = requests.get(
                path,
                params={"max_regions": next(fresh)},
                headers={"Accept-Encoding": "identity"},
                timeout=120,
            )
            return Regions.from_dict(response.json())

        json_first = _median_time(json_arrays, repeats)
        sizes_sent = {}
        for encoding in ENCODINGS:
            response = requests.get(path, headers={"Accept-Encoding": encoding}, timeout=120)
            assert response.headers.get("Content-Encoding", "identity") == encoding
            sizes_sent[encoding] = int(response.headers["Content-Length"])
        response = requests.get(path, headers={"Accept": NPZ}, timeout=120)
        sizes_sent["npz"] = int(response.headers["Content-Length"])
    return {
        "network": "-".join(map(str, sizes)),
        "count": count,
        "core_s": core,
        "first_s": first,
        "repeat_s": repeat,
        "server_first_ms": _server_ms(log, first_ids),
        "server_repeat_ms": _server_ms(log, repeat_ids),
        "not_modified_s": not_modified,
        "json_first_s": json_first,
        "bytes_per_region": {k: v / count for k, v in sizes_sent.items()},
    }


def _busy_cores() -> float | None:
    """Cores busy on this machine over the last quarter second (None without /proc/stat)."""
    try:
        counts = []
        for _ in range(2):
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
            # user nice system idle iowait irq softirq steal: idle and iowait are not busy.
            counts.append((sum(fields[:8]) - fields[3] - fields[4], sum(fields[:8])))
            time.sleep(0.25)
    except (OSError, ValueError, IndexError):
        return None
    (busy0, total0), (busy1, total1) = counts
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def settle(limit: float = 30.0) -> None:
    """Wait until the machine is quiet: a server just started still warms up in the background.

    ``/readyz`` answers as soon as one web process is up; the other one and
    the fit process server (which imports scikit-learn and fits two tiny
    networks) go on starting for about a second, and the first maps timed then
    took twice as long as later ones. Returns after two quarter seconds in a
    row with under a fifth of a core busy, or after ``limit`` seconds.
    """
    deadline, quiet = time.monotonic() + limit, 0
    while time.monotonic() < deadline and quiet < 2:
        busy = _busy_cores()
        if busy is None:
            time.sleep(2.0)
            return
        quiet = quiet + 1 if busy < 0.2 else 0


def end_to_end_rows(repeats: int) -> list[dict[str, Any]]:
    """Run :func:`end_to_end` on each case against two gunicorn workers on loopback."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.e2e.servers import running_service

    with tempfile.TemporaryDirectory() as data_dir:
        # Two workers (the default): a repeat may reach the one that did not compute it.
        with running_service(Path(data_dir), "--workers", "2") as url:
            settle()
            log = Path(data_dir) / "server.log"
            return [end_to_end(sizes, url, repeats, log) for sizes in E2E_CASES]


def _fit_data() -> tuple[np.ndarray, np.ndarray]:
    """200 points of a noisy sine on [-pi, pi], seeded."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-np.pi, np.pi, (FIT_SAMPLES, 1))
    return X, np.sin(X[:, 0]) + rng.normal(0.0, 0.1, FIT_SAMPLES)


def fit_latency(url: str, repeats: int) -> dict[str, Any]:
    """Time a [16]-unit fit on 200 points through ``POST /v1/models?wait=30`` and in-process.

    Runs alternate: scikit-learn's ``MLPRegressor`` alone (what the fit calls),
    ``core.fitting.fit_network`` (the whole fit: split, scalers, scikit-learn,
    baseline, metrics), then the same fit through the server, which answers
    201 when it finished within the wait. Each run is a new model. Wall-clock.
    """
    import requests
    from sklearn.neural_network import MLPRegressor

    from relumap_service.core.fitting import FitParams, fit_network

    X, y = _fit_data()
    params = FitParams(hidden_layer_sizes=FIT_LAYERS)
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    session = requests.Session()
    response = session.post(
        f"{url}/v1/datasets", json={"X": X.tolist(), "y": y.tolist()}, timeout=30
    )
    assert response.status_code == 201, response.text
    body = {"dataset_id": response.json()["id"], "hidden_layer_sizes": list(FIT_LAYERS)}

    def through_server() -> None:
        answer = session.post(f"{url}/v1/models", params={"wait": 30}, json=body, timeout=60)
        assert answer.status_code == 201, (answer.status_code, answer.text)

    def first_fit() -> None:
        # The first fit may wait for a worker that is still starting.
        answer = session.post(f"{url}/v1/models", params={"wait": 30}, json=body, timeout=60)
        deadline = time.monotonic() + 300
        while answer.json()["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.5)
            answer = session.get(f"{url}/v1/models/{answer.json()['id']}", timeout=60)

    def scikit_learn() -> None:
        MLPRegressor(
            hidden_layer_sizes=FIT_LAYERS, solver="lbfgs", max_iter=1000, random_state=0
        ).fit(standardized, (y - y.mean()) / y.std())

    calls = {
        "sklearn_s": scikit_learn,
        "fit_network_s": lambda: fit_network(X, y, params, "regression"),
        "server_s": through_server,
    }
    for call in (scikit_learn, calls["fit_network_s"], first_fit):
        call()  # warm-up: imports, the worker and its fit process server, connections
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()} | {
        "repeats": repeats
    }


def fit_latency_rows(repeats: int) -> list[dict[str, Any]]:
    """Run :func:`fit_latency` on the embedded default and on the Redis worker topology."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.e2e.servers import SCRIPT, free_port, running_service

    rows = []
    with tempfile.TemporaryDirectory() as data_dir:
        with running_service(Path(data_dir)) as url:
            rows.append({"topology": "embedded (SQLite)", **fit_latency(url, repeats)})
            print(fit_table(rows[-1:]), file=sys.stderr)
    from tests.conftest import _unreachable, postgres_database, redis_queue

    if _unreachable() is not None:
        print(f"fit latency on Redis skipped: {_unreachable()}", file=sys.stderr)
        return rows
    saved = dict(os.environ)
    with (
        tempfile.TemporaryDirectory() as data_dir,
        postgres_database() as database_url,
        redis_queue() as queue,
    ):
        os.environ.update(
            RELUMAP_DATABASE_URL=database_url,
            RELUMAP_QUEUE_URL=queue["QUEUE_URL"],
            RELUMAP_QUEUE_NAME=queue["QUEUE_NAME"],
            RELUMAP_LOG_LEVEL="WARNING",
        )
        try:
            with running_service(Path(data_dir), "--no-embedded-worker") as url:
                worker = subprocess.Popen(
                    [str(SCRIPT), "worker", "--workers", "1", "--no-migrate"]
                    + ["--metrics-port", str(free_port())],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    row = fit_latency(url, repeats)
                finally:
                    worker.terminate()
                    worker.wait(30)
            rows.append({"topology": "Redis worker (PostgreSQL)", **row})
            print(fit_table(rows[-1:]), file=sys.stderr)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return rows


def fit_latency_apart(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run :func:`fit_latency_rows` in a fresh process (``--fit-only``), as a run of its own.

    After the engine's cases this process holds hundreds of megabytes and has
    run the largest maps; the fits are measured apart from that, as the big
    map's runs are.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--fit-only", "--json", "--fit-repeats", str(args.fit_repeats)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    rows: list[dict[str, Any]] = json.loads(out)["fit_latency"]
    return rows


def fit_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'topology':28} {'sklearn ms':>10} {'fit_network ms':>14} {'?wait=30 ms':>11} "
        f"{'- fit_network':>13}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['topology']:28} {1e3 * r['sklearn_s']:>10.1f} {1e3 * r['fit_network_s']:>14.1f} "
            f"{1e3 * r['server_s']:>11.1f} {1e3 * (r['server_s'] - r['fit_network_s']):>+13.1f}"
        )
    return "\n".join(lines)


def e2e_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'network':16} {'regions':>7} {'core ms':>8} {'first ms':>9} {'x core':>6} "
        f"{'repeat ms':>9} {'/first':>6} {'server ms':>9} {'repeat':>6} {'/first':>6} "
        f"{'304 ms':>7} {'/first':>6} {'json ms':>8} "
        + " ".join(f"{'B/r ' + e:>10}" for e in (*ENCODINGS, "npz"))
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        per = r["bytes_per_region"]
        lines.append(
            f"{r['network']:16} {r['count']:>7} {1e3 * r['core_s']:>8.1f} "
            f"{1e3 * r['first_s']:>9.1f} {r['first_s'] / r['core_s']:>6.2f} "
            f"{1e3 * r['repeat_s']:>9.1f} {r['repeat_s'] / r['first_s']:>6.3f} "
            f"{r['server_first_ms']:>9.1f} {r['server_repeat_ms']:>6.1f} "
            f"{r['server_repeat_ms'] / r['server_first_ms']:>6.3f} "
            f"{1e3 * r['not_modified_s']:>7.1f} {r['not_modified_s'] / r['first_s']:>6.3f} "
            f"{1e3 * r['json_first_s']:>8.1f} "
            + " ".join(f"{per[e]:>10.1f}" for e in (*ENCODINGS, "npz"))
        )
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'what':8} {'network':20} {'count':>7} {'median ms':>10} {'min ms':>8} {'cpu ms':>8} "
    head += f"{'per second':>11} {'peak MB':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['kind']:8} {r['network']:20} {r['count']:>7} {1e3 * r['median_s']:>10.1f} "
            f"{1e3 * r['min_s']:>8.1f} {1e3 * r['cpu_median_s']:>8.1f} {r['per_second']:>11,.0f} "
            f"{r['tracemalloc_peak_mb']:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case (default 7)")
    parser.add_argument("--no-big", action="store_true", help="skip the ~200,000-region run")
    parser.add_argument(
        "--e2e-only", action="store_true", help="only /regions through a real server"
    )
    parser.add_argument(
        "--fit-only", action="store_true", help="only the fit latency through a real server"
    )
    parser.add_argument(
        "--fit-repeats", type=int, default=15, help="timed fits per topology (default 15)"
    )
    parser.add_argument(
        "--no-million", action="store_true", help="skip the largest map (1 and 2 processes)"
    )
    parser.add_argument("--big-map-child", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--no-browser", action="store_true", help="skip drawing in Chromium")
    parser.add_argument(
        "--browser-only",
        action="store_true",
        help="only drawing in Chromium (benchmarks/browser.py)",
    )
    args = parser.parse_args(argv)
    if args.big_map_child:
        sizes = tuple(int(n) for n in args.big_map_child.split("-"))
        print(json.dumps(big_map_child(sizes, args.processes)))
        return 0
    # benchmarks/browser.py imports the tests' server and browser helpers from the repository.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.browser_only:
        from benchmarks.browser import browser_rows, browser_table

        drawn = browser_rows(max(3, args.repeats // 2))
        print(json.dumps(drawn, indent=2) if args.json else browser_table(drawn))
        return 0

    core_only = args.e2e_only or args.fit_only
    rows = [] if core_only else [measure(kind, sizes, args.repeats) for kind, sizes in CASES]
    if not (args.no_big or core_only):
        rows.append(measure(*BIG, repeats=1))
    million = [] if (args.no_million or core_only) else big_map_rows(MILLION, repeats=1)
    e2e = [] if args.fit_only else end_to_end_rows(max(3, args.repeats // 2))
    fits = fit_latency_rows(args.fit_repeats) if args.fit_only else fit_latency_apart(args)
    drawn: list[dict[str, Any]] = []
    if not (args.no_browser or core_only):
        from benchmarks.browser import browser_rows

        drawn = browser_rows(max(3, args.repeats // 2))
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    meta = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "threads": os.environ["OPENBLAS_NUM_THREADS"],
        "process_maxrss_mb": maxrss_mb,
        "load_average_1min": os.getloadavg()[0],
    }
    if args.json:
        document = {
            "meta": meta,
            "results": rows,
            "million": million,
            "end_to_end": e2e,
            "fit_latency": fits,
            "browser": drawn,
        }
        print(json.dumps(document, indent=2))
    else:
        if rows:
            print(table(rows))
        if million:
            print("\nThe largest map, in one process and in four strips on two worker processes\n")
            print(big_map_table(million))
            print(
                "fresh process per run, 1 and 2 processes alternately; cpu s: all processes "
                "(workers and forkserver included); peak RSS: largest sum of the resident sets "
                "of all of them, sampled every 50 ms"
            )
        if e2e:
            print("\nGET /regions through gunicorn to the client's arrays (Model.regions(), npz)\n")
            print(e2e_table(e2e))
        print(
            f"\nA {list(FIT_LAYERS)}-unit fit on {FIT_SAMPLES} points (lbfgs, regression): "
            f"median wall time of {args.fit_repeats} runs each, alternating\n"
        )
        print(fit_table(fits))
        print(
            f"\nwall-clock median and minimum of {args.repeats} runs after one warm-up (the big "
            f"run: 1 run); cpu ms: median process CPU time;\nper second: count / median; peak "
            f"MB: tracemalloc peak of one extra call (numpy buffers included);\nwhole-process "
            f"max RSS {maxrss_mb:.0f} MB; one BLAS thread; numpy {np.__version__}, "
            f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}"
        )
        print(
            "end to end: median of runs; first = a query the server has not answered yet, "
            "repeat = the same again on a new connection (either worker; the caches), and "
            "304 = the same with If-None-Match,\nboth also as a fraction of first; server ms, "
            "repeat: the server's own time for first and repeat (its request log); json ms = "
            "first, uncompressed JSON to Regions.from_dict;\nB/r = bytes sent per region: "
            "JSON by Accept-Encoding, and the .npz"
        )
        if drawn:
            from benchmarks.browser import browser_table

            print("\nThe playground in headless Chromium (benchmarks/browser.py), medians\n")
            print(browser_table(drawn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
