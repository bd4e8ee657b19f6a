"""Claiming a search to resume it: a compare-and-set that exactly one of two claimants started
at the same instant wins, round after round, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.errors import SearcherError
from searcher.tracking import tags as T
from searcher.tracking.claim import RELEASED, claim_search, compare_and_set, release_search
from searcher.tracking.orphans import owner_tags
from tests.conftest import make_store

ROUNDS = 25


def _claimant(uri: str, run_id: str, start: mp.Barrier, results: mp.Queue) -> None:
    client = MlflowClient(uri)
    client.get_run(run_id)  # connected and warm before the race
    for _ in range(ROUNDS):
        start.wait(60)  # the referee has reset the owner
        seen = client.get_run(run_id).data.tags.get(T.OWNER)  # as a resume plans from it
        start.wait(60)
        try:
            claim_search(client, run_id, seen=seen)
            results.put((os.getpid(), "won"))
        except SearcherError as exc:
            results.put((os.getpid(), str(exc)))
        except Exception as exc:  # noqa: BLE001 - the referee shows it
            results.put((os.getpid(), f"raised {exc!r}"))
        start.wait(60)  # the referee resets the owner before the next round


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
@pytest.mark.parametrize("first", ["a released search", "a search of 0.1.0 (no owner tag)"])
def test_of_two_claims_at_the_same_instant_exactly_one_wins(
    tmp_path: Path, store: str, first: str
) -> None:
    with make_store(store, tmp_path) as uri:
        client = MlflowClient(uri)
        run_id = client.create_run(client.create_experiment("claims")).info.run_id
        context = mp.get_context("spawn")  # forked, they would share the parent's connections
        start, results = context.Barrier(3), context.Queue()
        claimants = [
            context.Process(target=_claimant, args=(uri, run_id, start, results)) for _ in range(2)
        ]
        for proc in claimants:
            proc.start()
        winners = []
        try:
            for _ in range(ROUNDS):
                if first.startswith("a released"):
                    client.set_tag(run_id, T.OWNER, RELEASED)
                elif T.OWNER in client.get_run(run_id).data.tags:
                    client.delete_tag(run_id, T.OWNER)
                start.wait(60)
                start.wait(60)
                said = dict(results.get(timeout=60) for _ in claimants)
                won = [pid for pid, text in said.items() if text == "won"]
                assert len(won) == 1, said
                [lost] = [text for text in said.values() if text != "won"]
                assert lost.startswith(f"search {run_id} ")
                assert f"pid {won[0]} on " in lost, "the loser is told who won"
                assert client.get_run(run_id).data.tags[T.OWNER].split()[1] == str(won[0])
                winners += won
                start.wait(60)
        finally:
            for proc in claimants:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()
        print(f"\n{store}, {first}: {ROUNDS} rounds, wins {sorted(set(winners))} "
              f"{[winners.count(p) for p in sorted(set(winners))]}")  # fmt: skip


def test_a_live_owner_is_refused_and_a_released_or_dead_one_is_taken(tmp_path: Path) -> None:
    with make_store("sqlite", tmp_path) as uri:
        client = MlflowClient(uri)
        run_id = client.create_run(client.create_experiment("claims")).info.run_id
        host = owner_tags()[T.HOST]

        def claim(token: str, force: bool = False) -> None:
            client.set_tag(run_id, T.OWNER, token)
            claim_search(client, run_id, seen=token, force=force)

        parent = os.getppid()  # alive, and not this process
        with pytest.raises(SearcherError, match=f"is being run by pid {parent} on {host}"):
            claim(f"{host} {parent}")
        claim(f"{host} 999999999")  # no such process
        assert client.get_run(run_id).data.tags[T.OWNER] == owner_tags()[T.OWNER]
        claim_search(client, run_id, seen=owner_tags()[T.OWNER])  # ours already: nothing to do
        release_search(client, run_id)
        released = client.get_run(run_id).data.tags[T.OWNER]
        assert released.startswith(f"{RELEASED} {owner_tags()[T.OWNER]} ")
        claim(released)
        with pytest.raises(SearcherError, match="pid 12 on elsewhere"):
            claim("elsewhere 12 3")
        claim("elsewhere 12 3", force=True)
        with pytest.raises(SearcherError, match=r"is being run by pid \? on oneword"):
            claim("oneword")  # an odd token is refused in words, not with a traceback


def test_a_plan_made_before_another_resume_ran_and_released_the_search_loses(
    tmp_path: Path,
) -> None:
    """A resume planned from a snapshot; another claims, runs and releases meanwhile."""
    with make_store("sqlite", tmp_path) as uri:
        client = MlflowClient(uri)
        run_id = client.create_run(client.create_experiment("claims")).info.run_id
        release_search(client, run_id)
        planned_from = client.get_run(run_id).data.tags[T.OWNER]
        client.set_tag(run_id, T.OWNER, "otherhost 41 1")  # the other resume's claim…
        client.set_tag(run_id, T.OWNER, f"{RELEASED} otherhost 41 1 2")  # …and its release
        with pytest.raises(SearcherError, match="was claimed a moment ago"):
            claim_search(client, run_id, seen=planned_from)
        assert client.get_run(run_id).data.tags[T.OWNER] == f"{RELEASED} otherhost 41 1 2"


def test_compare_and_set_changes_only_what_it_expects(tmp_path: Path) -> None:
    with make_store("sqlite", tmp_path) as uri:
        client = MlflowClient(uri)
        run_id = client.create_run(client.create_experiment("cas")).info.run_id
        assert compare_and_set(client, run_id, "k", None, "a")
        assert not compare_and_set(client, run_id, "k", None, "b"), "the row is there"
        assert not compare_and_set(client, run_id, "k", "x", "b"), "not what it holds"
        assert compare_and_set(client, run_id, "k", "a", "b")
        assert client.get_run(run_id).data.tags["k"] == "b"
