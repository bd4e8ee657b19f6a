"""The search spec: YAML in, validated objects out, every error one line naming the field."""

from searcher.spec.load import Spec, apply_overrides, load_spec, validate_spec

__all__ = ["Spec", "apply_overrides", "load_spec", "validate_spec"]
