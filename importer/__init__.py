"""importer: record attendee spreadsheets as HubSpot marketing-event participations.

Five stages: loader -> mapper -> chunker -> sender -> reporter, composed by ``pipeline``.
"""

__version__ = "0.1.0"
