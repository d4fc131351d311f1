"""A local HubSpot stand-in (real HTTP on 127.0.0.1) for integration tests and ``--sandbox`` runs."""

from .faults import FAULT_KINDS, Fault
from .server import Sandbox
from .wire import ALL_SCOPES, DEFAULT_TOKEN, RequestLog

__all__ = ["ALL_SCOPES", "DEFAULT_TOKEN", "FAULT_KINDS", "Fault", "RequestLog", "Sandbox"]
