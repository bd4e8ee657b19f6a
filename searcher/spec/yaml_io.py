"""YAML reading and writing with the number rules people expect (``1e-4`` is a float)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from search_spaces.scales import short_repr


class _Loader(yaml.SafeLoader):
    """Safe loader that also reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``).

    Aliases are refused before anything is expanded (a "billion laughs" file would otherwise
    take minutes and gigabytes), and a key given twice is an error instead of the last one
    silently winning.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"expected no aliases, got *{event.anchor}", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class says so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"expected each key once, got {short_repr(key)} again",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_binary(self, node: Any) -> Any:
        """Bytes are nothing a spec holds (no field or value takes them)."""
        raise yaml.constructor.ConstructorError(
            None, None, "expected text, got a !!binary value", node.start_mark
        )


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.add_constructor("tag:yaml.org,2002:binary", _Loader.construct_yaml_binary)
_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """Parse YAML text safely."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def dump_yaml(data: Any) -> str:
    """Write YAML keeping the key order of ``data``."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
