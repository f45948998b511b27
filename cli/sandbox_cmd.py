"""`arc-top sandbox`: run the embedded ARC cluster in the foreground for kubectl, arc-top and rehearsals."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

DEFAULT_KUBECONFIG = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                  "arc-top", "sandbox.kubeconfig")


def add_parser(sub) -> None:
    p = sub.add_parser("sandbox", help="run the embedded sandbox ARC cluster (a Kubernetes API on 127.0.0.1)",
                       description="Run the embedded sandbox cluster in the foreground until Ctrl-C.")
    p.add_argument("--scenario", help="scenario to load (see --list); default: incident")
    p.add_argument("--from", dest="replay_files", nargs="+", metavar="FILE",
                   help="replay saved files instead of a scenario: an 'arc-top dump' or 'kubectl get … -A -o yaml' "
                        "output (several files: one cluster); statuses are recomputed by the simulation, credentials "
                        "become fake-GitHub ones of the same shape, what the files lack is added (one line each)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free port)")
    p.add_argument("--kubeconfig", default=DEFAULT_KUBECONFIG,
                   help=f"where to write the kubeconfig (default: {DEFAULT_KUBECONFIG})")
    p.add_argument("--set", dest="params", action="append", default=[], metavar="KEY=VALUE",
                   help="scenario parameter, e.g. --set scale_sets=5 (large scenario)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--verbose", action="store_true", help="log every API request to stderr")
    p.set_defaults(run=run)


def _params(pairs: list[str]) -> dict:
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set wants KEY=VALUE, got {pair!r}")
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def replay_objects(paths: list[str]) -> tuple[list[dict], object] | str:
    """The objects of saved files, read within kube.untrusted's limits, and what the checks read in them beyond the
    objects (sandbox.replay.DumpFacts: the GitHub verdicts a dump recorded, the CRDs' version, failed
    registrations, the scale sets' ages; cli/replay_facts.py); or a one-line problem."""
    from arc_top.cli.replay_facts import facts
    from arc_top.kube.offline import OfflineError, load_files

    try:
        offline = load_files(paths, keep_raw=True)
    except OfflineError as exc:
        return str(exc)
    return offline.raw, facts(offline)


def completion_lines(sandbox) -> list[str]:
    """What a replay added (defaults for what the files lack), then what of the files' state it kept."""
    return ([f"  added: {line}" for line in sandbox.completions]
            + [f"  kept: {line}" for line in getattr(sandbox, "reproduced", ())])


def _fail(message: str) -> int:
    print(f"arc-top sandbox: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from arc_top.sandbox.scenario import list_scenarios

    scenarios = dict(list_scenarios())
    if args.list:
        width = max(len(n) for n in scenarios)
        for name, description in scenarios.items():
            print(f"{name:<{width}}  {description}")
        return 0
    replay, facts = None, None
    if args.replay_files:
        if args.scenario or args.params:
            return _fail("--from replays saved files: it takes no --scenario or --set")
        loaded = replay_objects(args.replay_files)
        if isinstance(loaded, str):
            return _fail(loaded)
        replay, facts = loaded
    args.scenario = args.scenario or "incident"
    if replay is None and args.scenario not in scenarios:
        return _fail(f"unknown scenario {args.scenario!r}; choose one of: {', '.join(scenarios)}")
    try:
        params = _params(args.params)
    except ValueError as exc:
        return _fail(str(exc))
    from arc_top.sandbox.run import start_sandbox

    try:
        sandbox = start_sandbox(args.scenario, port=args.port, params=params,
                                kubeconfig_path=args.kubeconfig, verbose=args.verbose, replay=replay,
                                facts=facts)
    except OSError as exc:
        return _fail(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}")
    except ValueError as exc:
        return _fail(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C stops it even when started from a shell that ignored SIGINT (a background job of a script):
    # Python then keeps SIGINT ignored, and the banner's promise would not hold.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    users = [u for u in sandbox.scenario.users if u != "admin"]
    if replay is not None:
        print(f"arc-top sandbox: {sandbox.scenario.description} ({', '.join(args.replay_files)})")
        for line in completion_lines(sandbox):
            print(line)
    else:
        print(f'arc-top sandbox: scenario "{args.scenario}" - {scenarios[args.scenario]}')
    print(f"API server: {sandbox.url}")
    print(f"kubeconfig: {sandbox.kubeconfig_path}")
    print("  contexts: arc-sandbox (admin)" + "".join(f", arc-sandbox-{u}" for u in users))
    print("Try:")
    print(f"  export KUBECONFIG={sandbox.kubeconfig_path}")
    print("  kubectl get autoscalingrunnersets,ephemeralrunners -A")
    print(f"  kubectl get pods,pvc -n {sandbox.scenario.namespace}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        print("arc-top sandbox: stopped.")
    return 0
