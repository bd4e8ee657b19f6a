"""Checks against the Ray cluster a search is about to use, so it fails fast instead of hanging."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searcher.errors import SearcherError


@dataclass(frozen=True)
class NodeInfo:
    """An alive node and what it offers."""

    node_id: str
    address: str
    cpu: float
    gpu: float
    memory: float = math.inf  # bytes Ray may place trials' memory requests in

    def describe(self) -> str:
        memory = f", {self.memory / 1e9:.3g}GB memory" if math.isfinite(self.memory) else ""
        return f"{self.address} ({self.cpu:g} CPU, {self.gpu:g} GPU{memory})"


def alive_nodes() -> list[NodeInfo]:
    """The alive nodes of the connected Ray cluster."""
    import ray

    return [
        NodeInfo(
            n["NodeID"],
            n.get("NodeManagerAddress", "?"),
            float(n["Resources"].get("CPU", 0)),
            float(n["Resources"].get("GPU", 0)),
            float(n["Resources"].get("memory", math.inf)),
        )
        for n in ray.nodes()
        if n.get("Alive")
    ]


def check_trial_fits(nodes: list[NodeInfo], cpu: float, gpu: float, memory: float = 0.0) -> None:
    """At least one node must offer a trial's CPUs, GPUs and memory, or every trial would stay
    PENDING (Tune's own check looks at CPUs and GPUs only)."""
    if any(n.cpu >= cpu and n.gpu >= gpu and n.memory >= memory for n in nodes):
        return
    total_gpu = sum(n.gpu for n in nodes)
    ask = f"each trial asks for {cpu:g} CPU and {gpu:g} GPU (resources.cpu/resources.gpu)"
    if memory > 0:
        ask = (
            f"each trial asks for {cpu:g} CPU, {gpu:g} GPU and {memory / 1e9:.3g}GB memory "
            "(resources.cpu/gpu/memory; Ray offers about 70 % of a node's free memory)"
        )
    if gpu > 0 and total_gpu == 0:
        raise SearcherError(f"{ask}, but the Ray cluster has no GPUs; set resources.gpu: 0")
    offered = "; ".join(n.describe() for n in nodes) or "no alive nodes"
    raise SearcherError(f"{ask}, but no node of the Ray cluster has that: {offered}")


def trial_slots(nodes: list[NodeInfo], cpu: float, gpu: float, memory: float = 0.0) -> int:
    """How many trials the cluster can run at once (each must fit on one node)."""
    total = 0
    for node in nodes:
        fits = int(node.cpu // cpu) if cpu > 0 else 10**6
        if gpu > 0:
            fits = min(fits, int(node.gpu // gpu))
        if memory > 0 and math.isfinite(node.memory):
            fits = min(fits, int(node.memory // memory))
        total += fits
    return max(1, total)


def is_uri(path: str) -> bool:
    """Storage Ray reaches by URI (s3://, gs://, …) is shared by construction."""
    return "://" in path and not path.startswith("file://")


def unshared_nodes(visible: dict[str, bool]) -> list[str]:
    """Nodes that could not see the driver's marker file."""
    return sorted(node for node, seen in visible.items() if not seen)


def check_shared_storage(storage: str, nodes: list[NodeInfo]) -> None:
    """On a multi-node cluster, a local storage path must be a filesystem every node shares.

    Ray keeps the experiment state there; on a node-local path trials on other nodes write
    where the driver never looks. Checked by a marker file the driver writes and every node
    must see.
    """
    if len(nodes) < 2 or is_uri(storage):
        return
    root = Path(storage.removeprefix("file://"))
    root.mkdir(parents=True, exist_ok=True)
    marker = root / f".searcher-probe-{uuid.uuid4().hex}"
    marker.write_text("probe")
    try:
        visible = _probe(str(marker), nodes)
    finally:
        marker.unlink(missing_ok=True)
    missing = unshared_nodes(visible)
    if missing:
        names = ", ".join(n.describe() for n in nodes if n.node_id in missing)
        raise SearcherError(
            f"storage_path {storage} is not shared by every node of the cluster (not visible on "
            f"{names}); use a shared filesystem path or a URI such as s3://bucket/path"
        )


def _probe(marker: str, nodes: list[NodeInfo]) -> dict[str, bool]:
    """Ask each node, by a zero-CPU task pinned to it, whether it sees the marker file."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    def sees(path: str) -> bool:
        import os

        return os.path.exists(path)

    refs: dict[str, Any] = {
        n.node_id: sees.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n.node_id, soft=False)
        ).remote(marker)
        for n in nodes
    }
    return {node: bool(ray.get(ref, timeout=60)) for node, ref in refs.items()}
