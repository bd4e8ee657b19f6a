"""searcher: coarse-to-fine hyperparameter search on Ray Tune, tracked in MLflow.

    import searcher
    summary = searcher.run("spec.yaml", overrides={"search.seed": 3})
    table = searcher.trials("my_search")          # a pandas DataFrame, best first
    top = searcher.best("my_search")              # BestTrial(key, score, params, run_id, ...)

Importing the package is cheap: Ray, MLflow and torch load only when a function needs them.
"""

from searcher.api import BestTrial, best, report, run, trials
from searcher.errors import SearcherError
from searcher.summary import SearchSummary

__all__ = ["BestTrial", "SearchSummary", "SearcherError", "best", "report", "run", "trials"]
