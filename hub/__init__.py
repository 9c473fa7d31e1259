"""custhub: a customer-information integration hub.

Plugin authors import the hook marker from here::

    from hub import hookimpl

    @hookimpl
    def register_sources(register):
        register(MySource())
"""

from hub.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
