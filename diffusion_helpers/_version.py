"""The package's version, in one place: ``dh.__version__`` and every checkpoint's metadata read it."""
__version__ = "0.1.0"
