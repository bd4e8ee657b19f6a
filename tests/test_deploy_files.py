"""The deployment recipes parse: valid YAML with the fields KubeRay needs, a bash-valid script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

DEPLOY = Path(__file__).parents[1] / "deploy"


def test_kuberay_manifest_has_a_gpu_worker_group_and_token_auth() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kuberay" / "raycluster.yaml").read_text()))
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    groups = cluster["spec"]["workerGroupSpecs"]
    gpu = groups[0]["template"]["spec"]["containers"][0]
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == "1"
    env = {e["name"]: e for e in gpu["env"]}
    assert env["RAY_AUTH_MODE"]["value"] == "token"
    assert "secretKeyRef" in env["RAY_AUTH_TOKEN"]["valueFrom"]
    assert any(d["kind"] == "PersistentVolumeClaim" for d in docs)


def test_slurm_script_is_valid_bash_and_runs_searcher_on_shared_storage() -> None:
    script = DEPLOY / "slurm" / "searcher.sbatch"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "searcher run" in text and "--storage-path" in text and "RAY_AUTH_MODE=token" in text
