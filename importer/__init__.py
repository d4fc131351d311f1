"""importer: record attendee spreadsheets as HubSpot marketing-event participations.

Five stages: loader -> mapper -> chunker -> sender -> reporter, composed by ``pipeline`` (run, retry)
through ``planning`` and ``execute``.

The public names below are loaded on first use, so ``importer --help`` and ``import importer``
stay quick (the pipeline pulls in pandas and pyarrow).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that owns it
_EXPORTS = {
    "BatchRejected": "errors",
    "Config": "config",
    "ImporterError": "errors",
    "InputError": "errors",
    "Outcome": "models",
    "Reason": "models",
    "ReportWriteError": "errors",
    "RetryableError": "errors",
    "RunResult": "execute",
    "Services": "services",
    "State": "models",
    "StopRun": "errors",
    "VerifyResult": "checking",
    "build_config": "config",
    "inspect": "inspecting",
    "retry": "pipeline",
    "run": "pipeline",
    "verify": "checking",
}

__all__ = sorted([*_EXPORTS, "__version__"])

_RENAMED = {"build_config": "build"}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
