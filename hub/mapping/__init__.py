"""The mapping engine: YAML files that turn one raw source record into a partial canonical record.

A mapping (``mappings/<name>.yaml``) maps canonical target paths to value specs: a source field, or
``{from: ..., pipe: [...], default: ...}`` / ``{const: ...}``; a target ending in ``[]`` takes a
list of item specs. Transforms are a closed set of named functions registered by plugins through
``register_transforms``; nothing is evaluated. The grammar is documented in ``docs/mappings.md``.

    path = find_mapping("webform_contact", config.mappings_dirs)
    mapping = load_mapping(path)          # ConfigError: one line naming file, path and fix
    partial = mapping.apply(raw_record)   # RecordError: every failing field, never a value
"""

from hub.mapping.engine import Mapping
from hub.mapping.errors import TransformError
from hub.mapping.loader import find_mapping, load_mapping

__all__ = ["Mapping", "TransformError", "find_mapping", "load_mapping"]
