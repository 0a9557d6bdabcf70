"""Cold starts, three ways, each run interleaved with the others so that machine noise falls on all:

- `functions`: each function locally (tracing off, a password-less socket URL): a fresh process
  imports its handler and serves its first real request (spawn to answer), with `-X importtime`;
- `as_deployed`: an API call as API Gateway runs it when nothing is warm: the authorizer cold,
  then the route's function cold, each in Lambda's configuration (active tracing; the X-Ray SDK
  off as the template ships it, and on as its TracingSdk parameter makes it; an IAM token signed
  for a TCP connection to RDS Proxy), against the peer as it is usually deployed (one function that
  authenticates the bearer token itself, same tracing, same IAM auth) on psycopg 3. Both reach
  PostgreSQL through the same session-pooling proxy (`support/session_pooler.py`), RDS Proxy's part:
  a new connection is lent a pooled backend that earlier containers warmed;
- `snapstart`: the same call with SnapStart emulated: each function initialised and primed, then
  fork() as the snapshot; the initialising environment then goes away (its connections close, the
  proxy pools their backends) and the restored copy resumes: measured from that resume (the
  after-restore hooks included) to the first response, the fork timed beside it; then the same
  request warm in the restored copy.

Spawn and fork are not Lambda's sandbox start nor its microVM restore (both add platform time to
either side, which Lambda reports apart: Init Duration, Restore Duration); every configuration pays
the same here, and the fork is printed beside every SnapStart figure.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import endpoints, targets
from bench.measure import Summary, import_profile, run_child

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bench.dataset import Dataset

# How many warm repeats of the first request the restored copy serves (the restore ratio's base).
WARM_AFTER_RESTORE = 200


def measure(engine: Engine, database_url: str, data: Dataset, *, runs: int) -> dict[str, Any]:
    from support.session_pooler import session_pooler

    results: dict[str, Any] = {"functions": _functions(engine, database_url, data, runs=max(1, runs // 3))}
    unix_socket = f"{_socket_dir(database_url)}/.s.PGSQL.5432"
    # RDS Proxy asks for the IAM token in a cleartext password exchange: so does the emulation.
    with session_pooler(unix_socket, ask_password=True) as pooler:
        results.update(_as_deployed(engine, database_url, data, pooler.port, runs=runs))
        results["proxy"] = {
            "emulation": "session-pooling proxy: warm backends lent per client connection, reset with"
            " ROLLBACK + DISCARD ALL when it closes, cleartext password exchange (the token is not checked)",
            **vars(pooler.stats),
        }
    return results


def _functions(engine: Engine, database_url: str, data: Dataset, *, runs: int) -> dict[str, Any]:
    first = endpoints.first_requests(engine, data)
    subjects = [(name, targets.payreq(name, database_url), first[name]) for name in targets.FUNCTIONS]
    subjects.append(("peer", targets.peer(database_url, "psycopg"), endpoints.get_pr(data)))
    walls: dict[str, list[float]] = {name: [] for name, _, _ in subjects}
    for round_ in range(runs + 1):
        for name, target, event in subjects:
            result, wall = run_child("cold", target, {"event": event})
            _check(name, result)
            if round_:  # the first round fills the page cache
                walls[name].append(wall * 1000)
    return {
        name: {
            "label": target.label,
            "total_ms": Summary.of(walls[name]).as_dict(),
            "importtime_top_ms": import_profile(target),
        }
        for name, target, _ in subjects
    }


Members = list[tuple[targets.Target, dict[str, Any]]]


def _as_deployed(engine: Engine, database_url: str, data: Dataset, port: int, *, runs: int) -> dict[str, Any]:
    configurations = _configurations(engine, database_url, data, port)
    measured = _Measured.of(configurations)
    for round_ in range(runs + 1):
        for name, (mode, members) in configurations.items():
            measured.run(name, mode, members, port, keep=round_ > 0)  # the first round fills the page cache
    deployed: dict[str, Any] = {}
    for name, (mode, members) in configurations.items():
        deployed[name] = {
            "mode": "fresh init (spawn to answer)" if mode == "cold" else "SnapStart restore (resume to answer)",
            "members": [target.label + f" [{target.module}]" for target, _ in members],
            "total_ms": Summary.of(measured.totals[name]).as_dict(),
            "member_ms_median": [Summary.of(values).median for values in measured.parts[name]],
        }
        if name in measured.forks:
            # The emulation's stand-in for the microVM resume, one per function: not in total_ms.
            deployed[name]["forks_ms_median"] = Summary.of(measured.forks[name]).median
    median = {name: Summary.of(values).median for name, values in measured.totals.items()}
    return {
        "as_deployed": {
            **deployed,
            "ratios": {
                "payreq_snapstart_vs_peer": median["payreq_snapstart"] / median["peer"],
                "payreq_vs_peer": median["payreq"] / median["peer"],
                "payreq_snapstart_vs_peer_snapstart": median["payreq_snapstart"] / median["peer_snapstart"],
                "tracing_sdk_vs_off": median["payreq_tracing_sdk"] / median["payreq"],
            },
        },
        "snapstart": _snapstart(measured),
    }


def _configurations(engine: Engine, database_url: str, data: Dataset, port: int) -> dict[str, tuple[str, Members]]:
    """Each configuration: its mode (`cold` or `snapstart`) and the functions an API call runs in turn."""
    sdk_off, sdk_on = targets.Deployed(port), targets.Deployed(port, tracing_sdk=True)
    authorize, get_pr = endpoints.authorizer_request(engine, data), endpoints.get_pr(data)
    by_itself = _bearer_only(get_pr, authorize)

    def api_call(deployed: targets.Deployed) -> Members:
        return [
            (targets.payreq("AuthorizerFunction", database_url, deployed=deployed), authorize),
            (targets.payreq("PrFunction", database_url, deployed=deployed), get_pr),
        ]

    peer = [(targets.peer(database_url, "psycopg", deployed=sdk_off), by_itself)]
    return {
        "payreq": ("cold", api_call(sdk_off)),
        "payreq_tracing_sdk": ("cold", api_call(sdk_on)),
        "peer": ("cold", peer),
        "payreq_snapstart": ("snapstart", api_call(sdk_off)),
        "peer_snapstart": ("snapstart", peer),
    }


@dataclass
class _Measured:
    """What the rounds measured: each configuration's totals and per-function times, the forks of
    the SnapStart ones, and the parts the measured restored copy reports (`RESTORED_PARTS`)."""

    totals: dict[str, list[float]]
    parts: dict[str, list[list[float]]]
    forks: dict[str, list[float]]
    restored: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in RESTORED_PARTS})

    @classmethod
    def of(cls, configurations: dict[str, tuple[str, Members]]) -> _Measured:
        return cls(
            totals={name: [] for name in configurations},
            parts={name: [[] for _ in members] for name, (_, members) in configurations.items()},
            forks={name: [] for name, (mode, _) in configurations.items() if mode == "snapstart"},
        )

    def run(self, name: str, mode: str, members: Members, port: int, *, keep: bool) -> None:
        """One API call of this configuration, each function in its own child process."""
        total = fork = 0.0
        for index, (target, event) in enumerate(members):
            last = index == len(members) - 1
            warm = WARM_AFTER_RESTORE if name == "payreq_snapstart" and last else 0
            result, wall = run_child(mode, target, {"event": event, "warm": warm, "pooler_port": port})
            _check(f"{name}: {target.label}", result)
            ms = result["restore_to_response_s"] * 1000 if mode == "snapstart" else wall * 1000
            total += ms
            fork += result.get("fork_s", 0.0) * 1000
            if keep:
                self.parts[name][index].append(ms)
                if warm:
                    _restored_parts(result, self.restored)
        if keep:
            self.totals[name].append(total)
            if name in self.forks:
                self.forks[name].append(fork)


def _snapstart(measured: _Measured) -> dict[str, Any]:
    restore_pr = Summary.of(measured.parts["payreq_snapstart"][1])
    warm = Summary.of(measured.restored["warm_same_request_us"])
    with_fork = Summary.of(measured.restored["fork_to_first_response_ms"])
    return {
        "request": "GET /api/v1/prs/{id} (PrFunction, as deployed, through the session-pooling proxy)",
        "restore_starts": "when the restored copy resumes, after the snapshot's environment is gone:"
        " the after-restore hooks and the first invocation; the fork (the emulation's stand-in for"
        " Lambda's microVM resume, reported by Lambda apart as Restore Duration) is timed beside it",
        "restore_to_first_response_ms": restore_pr.as_dict(),
        "warm_same_request_us": warm.as_dict(),
        "ratio": restore_pr.median * 1000 / warm.median,
        "ratio_with_fork": with_fork.median * 1000 / warm.median,
        # Parts of the restore and what a new connection costs, each measured in the restored copy
        # (same settings, same run); nothing is subtracted from the ratio.
        "parts_ms": {
            name: Summary.of(values).as_dict() for name, values in measured.restored.items() if name.endswith("_ms")
        },
    }


# What each restored copy reports beside its first response (bench/child.py), by the name kept here.
RESTORED_PARTS: dict[str, str] = {
    "warm_same_request_us": "warm_ns",
    "fork_ms": "fork_s",
    "fork_to_first_response_ms": "fork_to_response_s",
    "restore_hooks_ms": "restore_hooks_s",
    # The first invocation alone; beside the same request on a new connection later in the same copy,
    # what the first touch of the restored memory costs (copy-on-write faults here, the snapshot's
    # pages loaded on demand in Lambda).
    "first_request_ms": "first_request_s",
    "connect_ms": "connect_ns",
    "request_on_new_connection_ms": "new_connection_request_ns",
}


def _restored_parts(result: dict[str, Any], restored: dict[str, list[float]]) -> None:
    for name, key in RESTORED_PARTS.items():
        if key == "warm_ns":
            restored[name] += [ns / 1000 for ns in result[key][20:]]  # after 20 to settle
        elif key.endswith("_ns"):
            restored[name].append(result[key] / 1e6)
        else:
            restored[name].append(result[key] * 1000)


def _bearer_only(get_pr: dict[str, Any], authorize: dict[str, Any]) -> dict[str, Any]:
    """The GET as a lambdalith gets it: no authorizer ran, the API token is in the header."""
    event = copy.deepcopy(get_pr)
    event["requestContext"].pop("authorizer", None)
    event["headers"]["authorization"] = authorize["headers"]["authorization"]
    return event


def _check(name: str, result: dict[str, Any]) -> None:
    if result["status"] >= 400:
        raise RuntimeError(f"{name}: the first request answered {result['status']}: {result.get('errors')}")


def _socket_dir(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    return str(make_url(database_url).query["host"])
