"""In-tree connectors of custhub; each sub-package is a plugin registered like a third-party one."""

import hub  # noqa: F401 - first: it decides which build of the compiled modules loads (hub.native)
