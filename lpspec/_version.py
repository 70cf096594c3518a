"""The version of lpspec, in a module of its own: submodules read it without importing the package."""

__version__ = "0.1.0"
