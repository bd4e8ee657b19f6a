"""searcher: coarse-to-fine hyperparameter search on Ray Tune, tracked in MLflow.

    import searcher
    summary = searcher.run("spec.yaml", overrides={"search.seed": 3})
    summary = searcher.resume("my_search")        # continue it after a crash
    summary = searcher.extend("my_search", 20)    # 20 more trials for a finished one
    table = searcher.trials("my_search")          # a pandas DataFrame, best first
    top = searcher.best("my_search")              # BestTrial(key, score, params, run_id, ...)

Importing the package is cheap: Ray, MLflow and torch load only when a function needs them.
"""

from searcher.api import BestTrial, best, extend, report, resume, run, trials
from searcher.errors import SearcherError
from searcher.summary import SearchSummary

__all__ = [
    "BestTrial",
    "SearchSummary",
    "SearcherError",
    "best",
    "extend",
    "report",
    "resume",
    "run",
    "trials",
]
