"""The one YAML reader for yiju's own files: yiju.yaml, domain.yaml, safety policies, adapter train configs.

- UTF-8 with or without a byte-order mark (utf-8-sig: Windows editors write one);
- safe loading only; a key written twice in one mapping is refused (YAML would silently keep the last
  one, so a second `disclaimer:` would replace the first without a word);
- every error names the file and the line (`domain.yaml:12: not valid YAML: …`), and `line_of` finds the
  line of a dotted field path (`rules.2.pattern`) so validation errors can name it too.

It lives at the bottom of the import chain (knowledge/) so every package can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import YijuError

YAML_ENCODING = "utf-8-sig"


class YamlFileError(YijuError, ValueError):
    """A YAML file cannot be read or parsed; the message starts with `file[:line]:`."""

    def __init__(self, file: str | Path, message: str, line: int | None = None) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        super().__init__(f"{file}:{line}: {message}" if line is not None else f"{file}: {message}")


# libyaml's parser when PyYAML was built with it: the pure-Python one spends ~0.4 s CPU on the shipped safety
# policies, in every one-question `yiju ask` process. Marks (line numbers) and our constructor work with both.
_SafeLoaderBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoaderBase):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses a key written twice in one mapping (merge keys `<<` still work)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first written on line {first + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str | Path) -> Any:
    """Parse YAML text (from `source`, named in errors). YamlFileError with the line on a syntax error or
    a duplicate key."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context and "duplicate key" not in problem else problem
        raise YamlFileError(source, f"not valid YAML: {detail}", mark.line + 1 if mark else None) from None


def read_yaml_text(path: Path) -> str:
    """The file's text (utf-8-sig); YamlFileError when it cannot be read or is not UTF-8."""
    try:
        return Path(path).read_text(encoding=YAML_ENCODING)
    except FileNotFoundError:
        raise YamlFileError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise YamlFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise YamlFileError(path, f"cannot read: {exc.strerror or exc}") from None


def load_yaml(path: Path) -> Any:
    """Read and parse one YAML file (None for an empty file)."""
    return parse_yaml(read_yaml_text(path), path)


def load_yaml_mapping(path: Path, what: str = "file") -> tuple[dict[str, Any], str]:
    """(mapping, text) of a YAML file whose top level must be a mapping (an empty file is {})."""
    text = read_yaml_text(path)
    data = parse_yaml(text, path)
    if data is None:
        return {}, text
    if not isinstance(data, dict):
        raise YamlFileError(
            path, f"the top level of a {what} must be a mapping, got {type(data).__name__}", 1
        )
    return data, text


def line_of(text: str, loc: Sequence[Any]) -> int | None:
    """1-based line of the YAML node at field path `loc` (keys and list indexes, e.g. ("rules", 2,
    "pattern")); the deepest node found when the path goes further than the file (best effort)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(key):
                    line = k.start_mark.line + 1
                    nxt = v
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def dotted(loc: Sequence[Any]) -> str:
    """A field path as people write it: ("generator", "kind") -> "generator.kind"."""
    return ".".join(str(p) for p in loc)
