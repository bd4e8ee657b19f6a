"""Everything that imports Ray: the session, cluster checks, the tuner, its Searcher adapter and
callback, the trainable that runs in workers, and Ray Jobs. Nothing outside imports Ray."""
