"""In-tree connectors of custhub; each sub-package is a plugin registered like a third-party one."""
