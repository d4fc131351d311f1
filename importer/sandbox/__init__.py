"""A local HubSpot stand-in (real HTTP on 127.0.0.1) for integration tests and ``--sandbox`` runs."""

from .faults import FAULT_KINDS, Fault
from .model import ALL_SCOPES, DEFAULT_TOKEN, RequestLog
from .server import Sandbox

__all__ = ["ALL_SCOPES", "DEFAULT_TOKEN", "FAULT_KINDS", "Fault", "RequestLog", "Sandbox"]
