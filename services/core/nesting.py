"""How deep a JSON document nests, measured without recursion."""

from __future__ import annotations

from typing import Any

# Deeper than any document the APIs take, shallow enough for any code that recurses (BSON
# itself refuses documents nested past 100 levels).
MAX_DEPTH = 32


def nested_deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when dicts and lists nest more than `limit` levels."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False
