"""iotad: streaming anomaly detection for healthcare IoT gateways.

The installed package maps the repository's top-level folders into one namespace:
``iotad.schemas`` (the contract shared by both sides), ``iotad.offline`` (training) and
``iotad.stream`` (serving). ``iotad`` itself holds the CLI, settings, errors and the local broker.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iotad")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
