"""custhub: a customer-information integration hub.

Plugin authors import the hook marker from here::

    from hub import hookimpl

    @hookimpl
    def register_sources(register):
        register(MySource())
"""

from hub import native

native.install()  # before any compiled module loads: stale or unwanted builds load from source

from hub.hookspecs import hookimpl  # noqa: E402

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
