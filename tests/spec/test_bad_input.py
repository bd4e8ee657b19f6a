"""Bad input is one line, fast, and writes nothing: the cases users hit and generated ones.

Every case goes through `searcher run` with a store path of its own: exit code 2, a single
`error: FILE: ...` line, under 2 s, and no store file or artifact folder created. Memory is
measured apart, in a fresh process, where a peak belongs to the validation alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searcher.cli import cli
from searcher.spec.yaml_io import dump_yaml
from tests.conftest import postgres_database

BASE: dict[str, Any] = {
    "name": "bad_input",
    "workload": "mnist_mlp",
    "data": {"dataset": "mnist", "download": False, "train_size": 800},
    "metric": {"name": "val_accuracy", "mode": "max"},
    "budget": {"epochs": 2},
    "space": {
        "lr": {"scale": "log", "low": 1e-4, "high": 3e-2},
        "batch_size": {"scale": "pow2", "low": 32, "high": 128},
        "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.99},
    },
    "search": {"strategy": "random", "seed": 1, "trials": 2},
    "resources": {"cpu": 1, "gpu": 0},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """BASE with the value at a dotted path replaced."""
    spec: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    spec["space"] = {k: dict(v) for k, v in BASE["space"].items()}
    node = spec
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return spec


def _check(text: bytes, folder: Path, store: str | None = None) -> str:
    """Run the spec: one line, exit 2, fast, small, nothing written. Returns the line."""
    spec = folder / "spec.yaml"
    spec.write_bytes(text)
    store = store or str(folder / "store" / "mlruns.db")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["run", str(spec), "--tracking-uri", store])
    seconds = time.monotonic() - started
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith(f"error: {spec}: "), result.output
    assert len(lines[0]) < 600, "an offending value must be cut, not repeated"
    assert seconds < 2.0, seconds
    assert sorted(p.name for p in folder.iterdir()) == ["spec.yaml"], "nothing else is written"
    return lines[0]


def _yaml(spec: dict[str, Any]) -> bytes:
    return dump_yaml(spec).encode()


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)
KNOWN = [
    ("billion laughs", LAUGHS.encode(), "expected no aliases, got *a"),
    ("an alias", _yaml(BASE) + b"extra: &e 1\nmore: *e\n", "expected no aliases, got *e"),
    ("duplicate key", _yaml(BASE) + b"name: again\n", "expected each key once, got 'name' again"),
    ("latin-1", _yaml(BASE).replace(b"bad_input", b"bad_\xe9input"), "expected UTF-8 text"),
    ("utf-16", dump_yaml(BASE).encode("utf-16"), "expected UTF-8 text"),
    ("empty workload parts", _yaml(_with("workload", ":")), "workload: expected one of"),
    ("1e30 trials", _yaml(_with("search.trials", 10**30)), "search.trials: expected an integer"),
    ("infinite cpu", _yaml(_with("resources.cpu", float("inf"))), "resources.cpu: expected"),
    ("epochs true", _yaml(_with("budget.epochs", True)), "budget.epochs: expected an integer"),
    (
        "lr up to 1e308",
        _yaml(_with("space.lr.high", 1e308)),
        "space.lr.high: expected 0 or a normal float",
    ),
    (
        "lr from 1e-320",
        _yaml(_with("space.lr.low", 1e-320)),
        "space.lr.low: expected 0 or a normal float",
    ),
    (
        "batch size up to 2^1000",
        _yaml(_with("space.batch_size.high", 2**1000)),
        "space.batch_size.high: expected",
    ),
    ("a 100,000-character name", _yaml(_with("name", "n" * 100_000)), "name: expected 1 to 100"),
    (
        "experiment outside the store",
        _yaml(_with("tracking", {"experiment": "../../evil"})),
        "tracking.experiment: expected 1 to 100",
    ),
    (
        "a grid of 10^15 points",
        _yaml(_with("search", {"strategy": "grid", "grid_points": 1000})),
        "search: expected at most 100000 planned trials",
    ),
    # Issue 20's generated specs, which used to validate.
    (
        "a click group as the workload",
        _yaml(_with("workload", "searcher.cli:cli")),
        "workload: expected one of catdog_cnn, mnist_cnn, mnist_mlp or module:function, got "
        "'searcher.cli:cli' (it is neither a function fit(params, report) nor a Workload)",
    ),
    (
        "nesterov with momentum 0",
        _yaml(
            {
                **_with("space.momentum", 0.0),
                "space": {**BASE["space"], "momentum": 0.0, "nesterov": True},
            }
        ),
        "space.nesterov: expected momentum > 0 for nesterov, got momentum 0",
    ),
    (
        "hidden_layers up to 10^9",
        _yaml(_with("space.momentum", {"scale": "int_log", "low": 1, "high": 10**9})).replace(
            b"momentum", b"hidden_layers"
        ),
        "space.hidden_layers: expected an integer >= 0 and <= 100, got 1000000000",
    ),
    ("a !!binary value", _yaml(BASE).replace(b"bad_input", b"!!binary aGVsbG8="), "!!binary"),
    (
        "a hyperparameter named like the metric",
        _yaml({**BASE, "workload": "paced:fit", "metric": {"name": "lr"}}),
        "space.lr: expected a name other than the metric's, got 'lr'",
    ),
    (
        "a trial timeout without a unit word",
        _yaml(_with("budget", {"trial_timeout": "20 minutes"})),
        "budget.trial_timeout: expected a duration such as 90s, 20m, 2h or 1h30m",
    ),
    (
        "a memory limit of 4 bytes",
        _yaml(_with("resources", {"memory": 4})),
        "resources.memory: expected a size such as 4GB or 512MiB",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), KNOWN, ids=[k[0] for k in KNOWN])
def test_known_bad_input(case: str, text: bytes, message: str, tmp_path: Path) -> None:
    assert message in _check(text, tmp_path)


# Validates each spec named on the command line, then prints the process's peak RSS in KiB.
PEAK_RSS = """
import resource, sys
from searcher.errors import SpecError
from searcher.spec import load_spec
for path in sys.argv[1:]:
    try:
        load_spec(path)
    except SpecError:
        pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_mb(paths: list[Path]) -> float:
    child = [sys.executable, "-c", PEAK_RSS, *map(str, paths)]
    done = subprocess.run(child, capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.split()[-1]) / 1024


def test_known_bad_input_costs_little_memory(tmp_path: Path) -> None:
    # An expanded alias bomb or a built grid of 10^15 points would take gigabytes.
    good = tmp_path / "good.yaml"
    good.write_bytes(_yaml(BASE))
    bad = [tmp_path / f"bad{i}.yaml" for i in range(len(KNOWN))]
    for path, (_, text, _) in zip(bad, KNOWN, strict=True):
        path.write_bytes(text)
    baseline = _peak_rss_mb([good])
    grown = _peak_rss_mb([good, *bad]) - baseline
    assert grown < 50, f"bad specs took {grown:.0f} MB more than a good one ({baseline:.0f} MB)"


WRONG_TYPES = st.one_of(
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
HUGE = st.integers(min_value=10**12, max_value=10**40)
NOT_FINITE = st.sampled_from([float("inf"), float("-inf"), float("nan")])
BAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(
        st.text(min_size=101, max_size=300),
        st.sampled_from(["", "a/b", "../x", "-x", "a b"]),
        st.integers(),
    ),
    "budget.epochs": st.one_of(
        st.integers(max_value=0), HUGE, st.booleans(), NOT_FINITE, WRONG_TYPES
    ),
    "search.trials": st.one_of(
        st.integers(max_value=0), HUGE, st.booleans(), st.floats(allow_nan=True), WRONG_TYPES
    ),
    "search.seed": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**63, max_value=2**80),
        st.booleans(),
        st.floats(),
        WRONG_TYPES,
    ),
    "search.strategy": st.text(max_size=20).filter(
        lambda s: s not in ("random", "grid", "coarse_to_fine", "optuna_tpe", "optuna_gp")
    ),
    "resources.cpu": st.one_of(
        st.floats(max_value=0),
        st.floats(min_value=10_001, allow_infinity=True),
        NOT_FINITE,
        st.booleans(),
        WRONG_TYPES,
    ),
    "resources.gpu": st.one_of(
        st.floats(max_value=-0.001),
        st.sampled_from([1.5, 2.25, 1e9]),
        NOT_FINITE,
        st.booleans(),
        WRONG_TYPES,
    ),
    "metric.mode": st.text(max_size=10).filter(lambda s: s not in ("max", "min")),
    "metric.name": st.sampled_from(["accuracy", "val_acc", "loss", "", "a b", "x" * 300]),
    "space.lr.low": st.one_of(
        st.floats(max_value=0),
        st.floats(min_value=3e-2),
        st.sampled_from([1e-320, 1e-310, 5e-324, 1e301]),
        NOT_FINITE,
        st.booleans(),
        WRONG_TYPES,
    ),
    "space.lr.scale": st.text(max_size=12).filter(lambda s: s not in ("log", "linear")),
    "space.batch_size.high": st.one_of(
        st.integers(min_value=2**31, max_value=2**1100),
        st.sampled_from([48, 100, 0, -64]),
        st.booleans(),
        WRONG_TYPES,
    ),
    "space.momentum.high": st.one_of(
        st.floats(min_value=1.0), st.floats(max_value=0.5), NOT_FINITE, WRONG_TYPES
    ),
    "data.val_fraction": st.one_of(
        st.floats(max_value=0), st.floats(min_value=1), NOT_FINITE, st.booleans(), WRONG_TYPES
    ),
    "data.train_size": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=10**9 + 1, max_value=10**30),
        st.booleans(),
        st.floats(),
        WRONG_TYPES,
    ),
    "tracking.experiment": st.one_of(
        st.text(min_size=101, max_size=200),
        st.sampled_from(["../evil", "a/b", "/abs", ".hidden"]),
        st.integers(),
    ),
    "workload": st.text(max_size=30).filter(
        lambda s: ":" not in s and s not in ("mnist_mlp", "mnist_cnn", "catdog_cnn")
    ),
    "unknown_key": st.integers(),
}


@st.composite
def bad_specs(draw: st.DrawFn) -> bytes:
    field = draw(st.sampled_from(sorted(BAD_FIELDS)))
    value = draw(BAD_FIELDS[field])
    if field == "tracking.experiment":
        spec = _with("tracking", {"experiment": value})
    elif field == "unknown_key":
        spec = {**BASE, draw(st.sampled_from(["colour", "epochs", "seeds", "Space"])): value}
    else:
        spec = _with(field, value)
    text = _yaml(spec)
    mangle = draw(st.sampled_from(["none", "none", "none", "alias", "duplicate", "bytes"]))
    if mangle == "alias":
        text += b"z1: &z [1, 2]\nz2: *z\n"
    elif mangle == "duplicate":
        text += b"budget: {epochs: 3}\n"
    elif mangle == "bytes":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\x80abc"])) + text[at:]
    return text


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_specs())
def test_generated_bad_specs_are_one_line(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(text, Path(folder))


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[str]:
    with postgres_database() as uri:
        yield uri


def _tables(uri: str) -> int:
    import psycopg

    with psycopg.connect(uri) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    return int(row[0]) if row else 0


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad_specs())
def test_generated_bad_specs_leave_a_postgres_store_untouched(
    postgres_store: str, text: bytes
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(text, Path(folder), postgres_store)
    assert _tables(postgres_store) == 0, "a bad spec created MLflow's schema"
