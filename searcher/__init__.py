"""searcher: coarse-to-fine hyperparameter search on Ray Tune, tracked in MLflow.

Importing the package is cheap: Ray, MLflow and torch load only in the modules that need them.
"""
