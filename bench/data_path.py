"""Where a trial's time goes: decoding images vs the decode cache, and the training loop's speed.

    python bench/data_path.py                 # CPU-sized, about a minute
    python bench/data_path.py --root ~/data/PetImages --per-class 2000
    python bench/data_path.py --gpu           # also 1, 2 and 4 trials packed on one GPU via Ray

Prints tables and ratios; see bench/README.md for numbers measured so far.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trials import image_cache  # noqa: E402
from trials.config import DataConfig, DataSource  # noqa: E402
from trials.data import load_split  # noqa: E402
from trials.registry import WORKLOADS, ModelWorkload  # noqa: E402
from trials.sources import resolve_source  # noqa: E402
from trials.train import make_optimizer, train  # noqa: E402

MNIST_PARAMS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 128, "channels": 16}
CATDOG_PARAMS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "channels": 32, "blocks": 4}


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def synthetic_photos(root: Path, per_class: int, size: int) -> None:
    """JPEGs of photo-like size (noise plus a gradient), so decoding costs what it would."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    for label, name in enumerate(("Cat", "Dog")):
        folder = root / "PetImages" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            noise = rng.normal(0, 40, (size, size, 3))
            pixels = np.clip(noise + ramp[:, None, None] * (0.5 + label * 0.3), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.jpg", quality=90)


def bench_decode(cfg: DataConfig, trials: int, scratch: Path) -> dict[str, float]:
    """(a) every trial decodes the folder itself vs (b) every trial maps the driver's cache."""

    def decode_once(i: int) -> None:
        fresh = cfg.model_copy(update={"cache_dir": str(scratch / f"nocache-{i}")})
        load_split(fresh, resolve_source(fresh))
        load_split.cache_clear()

    decode = sum(timed(lambda i=i: decode_once(i)) for i in range(trials)) / trials
    source = resolve_source(cfg)  # built once, as the driver does

    def from_cache() -> None:
        load_split(cfg, source)
        load_split.cache_clear()  # a new worker process each time: nothing kept in memory

    with patch.object(image_cache, "decode_image", wraps=image_cache.decode_image) as decoder:
        cached = sum(timed(from_cache) for _ in range(trials)) / trials
    assert not decoder.called, "a cached load decoded images"
    images = len(load_split(cfg, source).train_y) + len(load_split(cfg, source).val_y)
    return {"images": images, "decode_s": decode, "cache_s": cached}


def _model(name: str) -> ModelWorkload:
    return WORKLOADS[name]


def dataloader_epoch(
    workload: str, params: dict[str, Any], cfg: DataConfig, source: DataSource, device: str
) -> float:
    """Images/s of the textbook loop: DataLoader over CPU tensors, a copy to device per batch."""
    from torch.utils.data import DataLoader, TensorDataset

    split = load_split(cfg, source)
    wl = _model(workload)
    hp = {**wl.defaults, **params}
    model = wl.build_model({**hp, "num_classes": split.num_classes}).to(device)
    optimizer = make_optimizer(model.parameters(), hp)
    loader = DataLoader(
        TensorDataset(split.train_x, split.train_y), batch_size=hp["batch_size"], shuffle=True
    )
    model.train()
    started, seen = time.perf_counter(), 0
    for x, y in loader:
        x, y = split.to("cpu").inputs(x).to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - started)


def our_loop(
    workload: str,
    params: dict[str, Any],
    cfg: DataConfig,
    source: DataSource,
    device: str,
    epochs: int = 2,
) -> float:
    """Images/s of trials.train.train (tensors on the device, batches sliced there)."""
    reports: list[dict[str, Any]] = []
    train(_model(workload), params, cfg, source, epochs, 0, reports.append, device=device)
    return reports[-1]["samples_per_second"]  # the last epoch: warm caches, as in a long run


def packed_on_gpu(
    workload: str, params: dict[str, Any], cfg: DataConfig, source: DataSource, epochs: int
) -> list[tuple[float, int, float]]:
    """Aggregate images/s of 1, 2 and 4 trials sharing one GPU (Ray resources.gpu 1, 0.5, 0.25)."""
    import ray

    from searcher.engine.session import quiet_ray_env

    quiet_ray_env()
    ray.init(num_gpus=1, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    rows = []
    for fraction in (1.0, 0.5, 0.25):
        count = int(round(1 / fraction))

        @ray.remote(num_gpus=fraction, num_cpus=1)
        def one_trial(seed: int) -> float:
            reports: list[dict[str, Any]] = []
            wl = _model(workload)
            train(wl, params, cfg, source, epochs, seed, reports.append, device="cuda")
            return reports[-1]["samples_per_second"]

        speeds = ray.get([one_trial.remote(seed) for seed in range(count)])
        rows.append((fraction, count, float(sum(speeds))))
    ray.shutdown()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="an image folder (default: synthetic photos)")
    parser.add_argument("--per-class", type=int, default=250)
    parser.add_argument("--source-size", type=int, default=320, help="synthetic photo side")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--mnist-train", type=int, default=3000)
    parser.add_argument("--gpu", action="store_true", help="also pack 1/2/4 trials on one GPU")
    parser.add_argument("--gpu-epochs", type=int, default=3)
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(f"device: {name}, torch {torch.__version__}, {torch.get_num_threads()} threads")

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        root = Path(args.root).expanduser() if args.root else scratch / "photos"
        if not args.root:
            synthetic_photos(root, args.per_class, args.source_size)
        catdog = DataConfig(
            dataset="catdog",
            root=str(root),
            image_size=args.image_size,
            per_class=args.per_class,
            cache_dir=str(scratch / "cache"),
        )
        d = bench_decode(catdog, args.trials, scratch)
        print(f"\ncatdog data per trial ({int(d['images'])} images at {args.image_size}px):")
        print(f"  (a) decode the images   {d['decode_s']:8.3f} s")
        print(f"  (b) memory-map cache    {d['cache_s']:8.3f} s")
        print(f"  ratio a/b               {d['decode_s'] / d['cache_s']:8.1f}x")

        mnist = DataConfig(root=str(scratch / "mnist"), download=False, train_size=args.mnist_train)
        mnist_src = resolve_source(mnist)
        catdog_src = resolve_source(catdog)
        rows = []
        for label, wl, params, cfg, src in (
            ("mnist_cnn", "mnist_cnn", MNIST_PARAMS, mnist, mnist_src),
            ("catdog_cnn", "catdog_cnn", {**CATDOG_PARAMS, "augment": False}, catdog, catdog_src),
        ):
            ours = our_loop(wl, params, cfg, src, device)
            loader = dataloader_epoch(wl, params, cfg, src, device)
            rows.append((label, ours, loader))
        print(f"\ntraining loop on {name} (images/s, last epoch):")
        print(f"  {'workload':<12}{'in-memory':>12}{'DataLoader':>12}{'ratio':>8}")
        for label, ours, loader in rows:
            print(f"  {label:<12}{ours:12.0f}{loader:12.0f}{ours / loader:7.2f}x")

        if args.gpu:
            if device != "cuda":
                print("\n--gpu: no CUDA device here (torch.cuda.is_available() is False); skipped")
                return
            print(f"\ntrials packed on one {name} (aggregate images/s):")
            print(f"  {'workload':<12}{'gpu/trial':>10}{'trials':>8}{'images/s':>12}")
            for label, params, cfg, src in (
                ("mnist_cnn", MNIST_PARAMS, mnist, mnist_src),
                (
                    "catdog_cnn",
                    {**CATDOG_PARAMS, "amp": "bf16", "channels_last": True},
                    catdog,
                    catdog_src,
                ),
            ):
                for fraction, count, speed in packed_on_gpu(
                    label, params, cfg, src, args.gpu_epochs
                ):
                    print(f"  {label:<12}{fraction:10.2f}{count:8d}{speed:12.0f}")


if __name__ == "__main__":
    main()
